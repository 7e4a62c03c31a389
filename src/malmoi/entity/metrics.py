"""Entity metrics: exact-match span F1 per type and micro-averaged, and what the errors are.

**Scores** follow conlleval, the CoNLL-2000 shared-task script (Tjong Kim Sang & Buchholz
2000) that slot-filling papers (SNIPS, ATIS) report: an entity counts as right only when its
type and both boundaries match a gold entity. Precision is right / predicted, recall right /
gold, F1 their harmonic mean (:func:`malmoi.metrics.prf`); micro-averaging pools the counts of
every type. Where a ratio is undefined (no entity predicted, or none in the gold data) conlleval
reports 0, and so does this module, except for a data set with no entity at all that the model
leaves without one, which scores 1.0 (the convention of :mod:`malmoi.metrics`).

Entities are spans ``(start, end, type)`` with ``end`` exclusive, in characters or tokens
alike. :func:`conlleval_chunks` reads them from tag sequences the way conlleval does, so
:func:`conlleval` gives conlleval's figures from tags: for BIO exactly ``conlleval.pl``'s
rules (an ``I-X`` that continues nothing starts an entity; a type change starts a new one);
``E-``/``S-`` (and BILOU's ``L-``/``U-``) close an entity as in the Python ports of conlleval
and seqeval's default mode, since the Perl script predates them.

conlleval's rules (its ``endOfChunk`` and ``startOfChunk``) are not implemented separately
here: for tags with the prefixes ``B I E S L U`` and ``O`` they decode exactly as malmoi's one
decoding rule, :func:`malmoi.data.tags.tags_to_word_spans`. In conlleval a chunk is open after
every tag but ``O``, and it continues only into an ``I``/``E`` of the same type after a ``B``/``I``;
anything else ends it, and every tag but ``O`` that does not continue one starts one. That is
the rule of ``tags_to_word_spans``, whose ``E``/``S`` close the chunk at once. Tags read
leniently (:func:`malmoi.labels.split_tag`) may differ from the Perl script only where it has no
defined meaning: a lowercase or unknown prefix (``b-X``, ``Q-X``) is read here as malmoi reads
it, and the script's ``[``/``]`` and ``.`` bracket tags are not supported.

**Errors** are sorted into the categories of the MUC evaluations (Chinchor & Sundheim 1993),
as SemEval-2013 task 9.1 and the ``nervaluate`` package use them. Each gold entity that is not
matched exactly is one error, named after the best predicted entity overlapping it:

- ``wrong_type``: a prediction with the same boundaries but another type;
- ``wrong_boundary``: an overlapping prediction of the same type, boundaries off;
- ``wrong_type_and_boundary``: an overlapping prediction that differs in both;
- ``missed``: no prediction overlaps it;

and each prediction that overlaps no gold entity is ``spurious``. A near miss is therefore
counted once, on the gold side, although conlleval counts it twice (a missed gold entity and a
wrong prediction).

>>> gold = [[(0, 2, "DATE"), (3, 5, "LOCATION")]]
>>> predicted = [[(0, 2, "DATE"), (3, 7, "LOCATION")]]
>>> round(span_scores(gold, predicted)["micro"]["f1"], 2)
0.5
>>> entity_confusion(gold, predicted)["wrong_boundary"]
1
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from malmoi.data.tags import tags_to_word_spans
from malmoi.labels import split_tag
from malmoi.metrics import prf

Span = tuple[int, int, str]  # (start, end exclusive, type)

ERROR_KINDS = ("wrong_type", "wrong_boundary", "wrong_type_and_boundary", "missed", "spurious")


def span_scores(
    gold: Sequence[Iterable[Span]], predicted: Sequence[Iterable[Span]]
) -> dict[str, Any]:
    """Exact-match precision, recall and F1 per entity type and micro-averaged.

    ``gold[i]`` and ``predicted[i]`` are the entities of utterance ``i``. Returns
    ``{"micro": {...}, "per_type": {type: {...}}}``, each with ``precision``, ``recall``,
    ``f1``, ``support`` (gold entities), ``predicted`` and ``correct``. Types are those of
    the gold or the predicted entities, sorted.
    """
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold utterances but {len(predicted)} predicted; expected one each")
    n_gold: Counter[str] = Counter()
    n_predicted: Counter[str] = Counter()
    correct: Counter[str] = Counter()
    for g, p in zip(gold, predicted):
        g_set, p_set = set(g), set(p)
        n_gold.update(span[2] for span in g_set)
        n_predicted.update(span[2] for span in p_set)
        correct.update(span[2] for span in g_set & p_set)
    per_type = {
        type_: prf(correct[type_], n_gold[type_], n_predicted[type_])
        for type_ in sorted(n_gold.keys() | n_predicted.keys())
    }
    micro = prf(sum(correct.values()), sum(n_gold.values()), sum(n_predicted.values()))
    return {"micro": micro, "per_type": per_type}


def conlleval_chunks(tags: Sequence[str]) -> list[Span]:
    """The entities of one tag sequence as conlleval reads them: ``(first, last + 1, type)``.

    >>> conlleval_chunks(["O", "I-LOC", "I-LOC", "B-LOC", "I-PER", "O"])
    [(1, 3, 'LOC'), (3, 4, 'LOC'), (4, 5, 'PER')]
    """
    return [(first, last + 1, type_) for first, last, type_ in tags_to_word_spans(tags, lenient=True)]


def _token_tag(tag: str) -> tuple[str, str]:
    """A tag for token accuracy: BILOU's ``L``/``U`` count as BIOES's ``E``/``S``."""
    prefix, type_ = split_tag(tag, lenient=True)
    return {"L": "E", "U": "S"}.get(prefix, prefix), type_


def conlleval(gold_tags: Sequence[Sequence[str]], predicted_tags: Sequence[Sequence[str]]) -> dict[str, Any]:
    """conlleval's figures from tag sequences: token ``accuracy``, ``micro`` and ``per_type``.

    Figures are fractions (conlleval prints percentages).

    >>> result = conlleval([["B-PER", "I-PER", "O", "B-LOC"]], [["B-PER", "I-PER", "O", "B-ORG"]])
    >>> result["accuracy"], result["micro"]["f1"]
    (0.75, 0.5)
    """
    if len(gold_tags) != len(predicted_tags):
        raise ValueError(f"{len(gold_tags)} gold sequences but {len(predicted_tags)} predicted")
    right = total = 0
    for i, (g, p) in enumerate(zip(gold_tags, predicted_tags)):
        if len(g) != len(p):
            raise ValueError(f"sequence {i}: {len(g)} gold tags but {len(p)} predicted; expected as many")
        right += sum(_token_tag(a) == _token_tag(b) for a, b in zip(g, p))
        total += len(g)
    scores = span_scores([conlleval_chunks(g) for g in gold_tags], [conlleval_chunks(p) for p in predicted_tags])
    return {"accuracy": right / total if total else 0.0, **scores}


def _overlaps(a: Span, b: Span) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def span_errors(gold: Iterable[Span], predicted: Iterable[Span]) -> list[tuple[str, Span | None, Span | None]]:
    """The entity errors of one utterance: ``(kind, gold span, predicted span)``, gold order.

    ``kind`` is one of :data:`ERROR_KINDS`. The gold span is ``None`` for ``spurious``, the
    predicted one for ``missed``; for the other kinds it is the prediction that stands for the
    error (of several overlapping ones, the one that overlaps most).

    >>> span_errors([(0, 2, "DATE"), (3, 5, "LOC")], [(0, 2, "DATE"), (3, 5, "ORG"), (6, 8, "LOC")])
    [('wrong_type', (3, 5, 'LOC'), (3, 5, 'ORG')), ('spurious', None, (6, 8, 'LOC'))]
    """
    g_set, p_set = set(gold), set(predicted)
    rest_p = p_set - g_set
    errors: list[tuple[str, Span | None, Span | None]] = []
    for span in sorted(g_set - p_set):
        near = [q for q in rest_p if _overlaps(span, q)]
        same_bounds = sorted(q for q in near if q[:2] == span[:2])
        same_type = sorted(q for q in near if q[2] == span[2])
        if same_bounds:
            errors.append(("wrong_type", span, same_bounds[0]))
        elif same_type:
            errors.append(("wrong_boundary", span, same_type[0]))
        elif near:
            # The prediction that overlaps most stands for the error.
            best = max(near, key=lambda q: (min(q[1], span[1]) - max(q[0], span[0]), q))
            errors.append(("wrong_type_and_boundary", span, best))
        else:
            errors.append(("missed", span, None))
    for span in sorted(rest_p):
        if not any(_overlaps(span, q) for q in g_set):
            errors.append(("spurious", None, span))
    return errors


def entity_confusion(
    gold: Sequence[Iterable[Span]], predicted: Sequence[Iterable[Span]]
) -> dict[str, Any]:
    """Sort entity errors into wrong type, wrong boundary, both, missed and spurious.

    Returns the counts of ``correct`` and of each kind in :data:`ERROR_KINDS`, plus
    ``by_type``: for each gold type (and predicted type, for ``spurious``) its counts, and
    ``type_pairs``: ``"GOLD -> PREDICTED"`` counts for the errors that changed the type,
    most frequent first. Each error is one of :func:`span_errors`.
    """
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold utterances but {len(predicted)} predicted; expected one each")
    totals: Counter[str] = Counter({kind: 0 for kind in ("correct", *ERROR_KINDS)})
    by_type: dict[str, Counter[str]] = defaultdict(Counter)
    pairs: Counter[str] = Counter()
    for g, p in zip(gold, predicted):
        g_set, p_set = set(g), set(p)
        for span in g_set & p_set:
            totals["correct"] += 1
            by_type[span[2]]["correct"] += 1
        for kind, gold_span, predicted_span in span_errors(g_set, p_set):
            totals[kind] += 1
            counted = gold_span if gold_span is not None else predicted_span
            assert counted is not None
            by_type[counted[2]][kind] += 1
            if kind in ("wrong_type", "wrong_type_and_boundary") and gold_span and predicted_span:
                pairs[f"{gold_span[2]} -> {predicted_span[2]}"] += 1
    return {
        **totals,
        "by_type": {t: {k: c[k] for k in ("correct", *ERROR_KINDS)} for t, c in sorted(by_type.items())},
        "type_pairs": dict(pairs.most_common()),
    }


def entity_report(gold: Sequence[Iterable[Span]], predicted: Sequence[Iterable[Span]]) -> dict[str, Any]:
    """Per-type scores and the error breakdown together, as ``evaluate()`` reports them."""
    gold, predicted = [list(g) for g in gold], [list(p) for p in predicted]
    return {"per_type": span_scores(gold, predicted)["per_type"], "confusion": entity_confusion(gold, predicted)}
