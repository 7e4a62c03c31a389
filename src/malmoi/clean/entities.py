"""Entity labels in doubt: tag sequences a CRF finds improbable under cross-validation.

Each of ``splits`` random partitions into ``folds`` folds trains a small CRF tagger on all folds
but one and scores the held-out fold, so every utterance is judged ``splits`` times by taggers that
never saw it. For an utterance with tokens ``x`` and given tags ``y`` (from its entity spans),
``p_wrong = 1 - mean over checkers of p(y | x)``; it is a suspect when that reaches the threshold
and the checkers' best path (Viterbi, the most frequent over the checkers) differs from ``y``.
The suggested spans are that path's; each difference is named as ``malmoi test`` names entity
errors (:func:`malmoi.entity.metrics.span_errors`), but from the file's point of view: the file
has a *missing entity* (the checkers find one it lacks), a *wrong type*, a *wrong boundary*, or an
*extra entity* the checkers do not find.

The tagger is deliberately small so that ``splits x folds`` fits take seconds: the emissions
are a linear function of sparse token features (the token, its part of speech, its first and
last characters, and the tokens next to it), under malmoi's own constrained CRF
(:class:`malmoi.entity.crf.CRF`, BIOES). Tokens are cut at the given entity boundaries, as
training cuts them, so every given span is a run of whole tokens.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from malmoi.data.schema import Entity, Example

__all__ = ["EntityCleanResult", "EntitySuspect", "find_entity_issues"]

# span_errors names errors from the prediction's side; a suspect's kinds are said from the file's.
_KIND_OF_FILE = {"missed": "extra entity", "spurious": "missing entity", "wrong_type": "wrong type",
                 "wrong_boundary": "wrong boundary", "wrong_type_and_boundary": "wrong type and boundary"}


@dataclass(frozen=True)
class EntitySuspect:
    """An utterance whose entity tags are in doubt, with the checkers' suggestion."""

    rank: int
    text: str
    intent: str | None
    p_wrong: float  # 1 - mean p(given tags | tokens) over the checkers that held it out
    kinds: tuple[str, ...]  # "missing entity", "extra entity", "wrong type", "wrong boundary", ...
    given: tuple[Entity, ...]
    suggested: tuple[Entity, ...]
    times_checked: int
    source: str

    def to_dict(self) -> dict[str, Any]:
        def spans(entities: tuple[Entity, ...]) -> list[dict[str, Any]]:
            return [{"start": e.start, "end": e.end, "type": e.type, "value": e.value} for e in entities]

        return {"rank": self.rank, "text": self.text, "intent": self.intent, "p_wrong": round(self.p_wrong, 4),
                "kinds": list(self.kinds), "given": spans(self.given), "suggested": spans(self.suggested),
                "times_checked": self.times_checked, "source": self.source}


@dataclass
class EntityCleanResult:
    examples: list[Example]
    p_wrong: np.ndarray  # (n,) in the examples' order
    suspects: list[EntitySuspect]
    settings: dict[str, Any]
    seconds: float

    def summary(self) -> dict[str, Any]:
        return {"examples": len(self.examples), "suspects": len(self.suspects),
                "kinds": dict(Counter(k for s in self.suspects for k in s.kinds)), "settings": self.settings,
                "seconds": round(self.seconds, 2)}


def find_entity_issues(
    examples: Sequence[Example],
    language: str = "ko",
    *,
    splits: int = 2,
    folds: int = 5,
    epochs: int = 6,
    threshold: float = 0.5,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> EntityCleanResult:
    """Rank ``examples`` by the probability that their entity tags are wrong (see the module).

    Raises ``ValueError`` when no example has an entity (there is nothing to learn from).
    """
    import torch

    from malmoi.model.training import tag_labels
    from malmoi.text import entities_to_tags, entity_boundaries, tags_to_entities
    from malmoi.text.doc import Analyzer

    started = time.perf_counter()
    examples = list(examples)
    types = sorted({e.type for x in examples for e in x.entities})
    if not types:
        raise ValueError("no utterance has an entity: there are no entity labels to check")
    if folds < 2:
        raise ValueError("folds must be at least 2: a checker needs examples it did not train on")
    analyzer = Analyzer(language)
    docs = [analyzer.retokenized(d, entity_boundaries(x.entities)) if x.entities else d
            for d, x in zip(analyzer.many([x.text for x in examples]), examples)]
    tags = tag_labels(types, "BIOES")
    tag_index = {t: i for i, t in enumerate(tags)}
    keep = [i for i, d in enumerate(docs) if d.tokens]
    given = {i: np.array([tag_index[t] for t in entities_to_tags(docs[i].tokens, list(examples[i].entities))])
             for i in keep}
    features, size = _token_features([docs[i] for i in keep])
    rng = np.random.default_rng(seed)
    log_p = np.zeros(len(examples))
    checked = np.zeros(len(examples), np.int64)
    paths: list[Counter[tuple[int, ...]]] = [Counter() for _ in examples]
    with _one_thread():
        for split in range(splits):
            fold_of = rng.integers(folds, size=len(keep))
            for fold in range(folds):
                train = [k for k in range(len(keep)) if fold_of[k] != fold]
                check = [k for k in range(len(keep)) if fold_of[k] == fold]
                if not train or not check:
                    continue
                model = _fit(features, [given[keep[k]] for k in range(len(keep))], train, size, tags,
                             epochs, int(rng.integers(2**31)), torch)
                scores, best = _judge(model, features, [given[keep[k]] for k in range(len(keep))], check, torch)
                for k, score, path in zip(check, scores, best):
                    i = keep[k]
                    log_p[i] = np.logaddexp(log_p[i], score) if checked[i] else score
                    checked[i] += 1
                    paths[i][tuple(path)] += 1
            if progress is not None:
                progress(f"entities: split {split + 1} of {splits} checked ({time.perf_counter() - started:.1f} s)")
    # Mean of the checkers' probabilities of the given tags (log-sum-exp above, then / count).
    p_given = np.where(checked > 0, np.exp(log_p - np.log(np.maximum(checked, 1))), 1.0)
    p_wrong = 1.0 - np.clip(p_given, 0.0, 1.0)
    suspects_at: list[tuple[int, tuple[Entity, ...], tuple[str, ...]]] = []
    for i in keep:
        if p_wrong[i] < threshold or not paths[i]:
            continue
        best_path = paths[i].most_common(1)[0][0]
        if list(best_path) == given[i].tolist():
            continue
        text = docs[i].normalized
        suggested = tuple(tags_to_entities(docs[i].tokens, [tags[t] for t in best_path], text))
        kinds = _kinds(examples[i].entities, suggested)
        if kinds:
            suspects_at.append((i, suggested, kinds))
    suspects_at.sort(key=lambda s: -p_wrong[s[0]])
    suspects = [
        EntitySuspect(rank, examples[i].text, examples[i].intent, float(p_wrong[i]), kinds,
                      tuple(examples[i].entities), suggested, int(checked[i]), examples[i].source)
        for rank, (i, suggested, kinds) in enumerate(suspects_at, 1)
    ]
    settings = {"splits": splits, "folds": folds, "epochs": epochs, "threshold": threshold, "seed": seed}
    return EntityCleanResult(examples, p_wrong, suspects, settings, time.perf_counter() - started)


def _kinds(given: Sequence[Entity], suggested: Sequence[Entity]) -> tuple[str, ...]:
    from malmoi.entity.metrics import span_errors

    errors = span_errors([(e.start, e.end, e.type) for e in given], [(e.start, e.end, e.type) for e in suggested])
    return tuple(sorted({_KIND_OF_FILE[kind] for kind, _, _ in errors}))


def _token_features(docs: Sequence[Any]) -> tuple[list[list[list[int]]], int]:
    """Per document, per token: ids of its sparse features (vocabulary built over all documents;
    no labels are read, so this leaks nothing between folds)."""
    vocabulary: dict[str, int] = {}

    def ids(names: list[str]) -> list[int]:
        return [vocabulary.setdefault(n, len(vocabulary)) for n in names]

    out = []
    for doc in docs:
        words = [t.text.lower() for t in doc.tokens]
        rows = []
        for j, token in enumerate(doc.tokens):
            w = words[j]
            names = ["bias", f"w={w}", f"pos={token.pos}", f"pre={w[:2]}", f"suf={w[-2:]}",
                     f"digit={any(c.isdigit() for c in w)}",
                     f"w-1={words[j - 1] if j else '<s>'}", f"w+1={words[j + 1] if j + 1 < len(words) else '</s>'}",
                     f"pos-1={doc.tokens[j - 1].pos if j else '<s>'}",
                     f"pos+1={doc.tokens[j + 1].pos if j + 1 < len(words) else '</s>'}"]
            rows.append(ids(names))
        out.append(rows)
    return out, len(vocabulary)


def _batch(features: list[list[list[int]]], tags: list[np.ndarray], rows: Sequence[int], torch: Any) -> tuple[Any, ...]:
    """Padded (feature ids, offsets) for an EmbeddingBag, tag ids and mask of the sentences ``rows``;
    a padding token has no features (its emissions are 0 and the mask leaves it out)."""
    length = max(len(features[r]) for r in rows)
    counts = np.zeros((len(rows), length), np.int64)
    tag_ids = np.zeros((len(rows), length), np.int64)
    flat: list[int] = []
    for b, r in enumerate(rows):
        sentence = features[r]
        counts[b, : len(sentence)] = [len(f) for f in sentence]
        tag_ids[b, : len(tags[r])] = tags[r]
        for f in sentence:
            flat += f
    offsets = np.concatenate([[0], np.cumsum(counts.ravel())[:-1]])
    return (torch.tensor(flat, dtype=torch.long), torch.from_numpy(offsets), torch.from_numpy(tag_ids),
            torch.from_numpy(counts > 0), length)


class _Tagger:
    def __init__(self, size: int, tags: list[str], torch: Any):
        from malmoi.entity.crf import CRF

        self.emit = torch.nn.EmbeddingBag(max(size, 1), len(tags), mode="sum")
        torch.nn.init.zeros_(self.emit.weight)
        self.crf = CRF(tags, "BIOES")

    def emissions(self, batch: tuple[Any, ...]) -> Any:
        flat, offsets, _, _, length = batch
        return self.emit(flat, offsets).view(-1, length, self.crf.num_tags)


def _fit(features: list[list[list[int]]], tags: list[np.ndarray], train: list[int], size: int, tag_names: list[str],
         epochs: int, seed: int, torch: Any) -> _Tagger:
    rng = np.random.default_rng(seed)
    model = _Tagger(size, tag_names, torch)
    optimizer = torch.optim.Adam([*model.emit.parameters(), *model.crf.parameters()], lr=0.1)
    order = np.array(train)
    for _ in range(epochs):
        shuffled = order[rng.permutation(len(order))]
        for start in range(0, len(shuffled), 256):
            rows = shuffled[start : start + 256].tolist()
            batch = _batch(features, tags, rows, torch)
            loss = model.crf.neg_log_likelihood(model.emissions(batch), batch[2], batch[3])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return model


def _judge(model: _Tagger, features: list[list[list[int]]], tags: list[np.ndarray], check: list[int],
           torch: Any) -> tuple[list[float], list[list[int]]]:
    """log p(given tags) and the best path of each sentence ``check``."""
    from malmoi.entity.decode import viterbi

    transitions, start, end = model.crf.decode_numpy()
    scores: list[float] = []
    paths: list[list[int]] = []
    with torch.inference_mode():
        for first in range(0, len(check), 512):
            rows = check[first : first + 512]
            batch = _batch(features, tags, rows, torch)
            emissions = model.emissions(batch)
            scores += model.crf.log_likelihood(emissions, batch[2], batch[3]).tolist()
            numpy_emissions = emissions.numpy()
            paths += [viterbi(numpy_emissions[b, : len(features[r])], transitions, start, end)
                      for b, r in enumerate(rows)]
    return scores, paths


class _one_thread:
    """torch on one thread while the small taggers fit (their operations are tiny)."""

    def __enter__(self) -> None:
        import torch

        self.before = torch.get_num_threads()
        torch.set_num_threads(1)

    def __exit__(self, *exc: object) -> None:
        import torch

        torch.set_num_threads(self.before)
