"""KMOU NER as a bot: Korean entities inside words, written as malmoi's inline YAML.

Data: Korean NER 2016 (news; github kmounlp/NER, 2016klp), read by path from
../shared/data/kmou-ner/ner.{train,dev,test}: in each block the line starting with ``$`` is the
sentence with inline marks ``<홍길동:PS>이보다는`` (types PS, LC, OG, DT, TI). Entities sit inside
words ("홍길동이보다는"), so whitespace tokens cannot carry them: this tests the inline format.

Protocol (the user-path check ../shared/check/kmou-ner):
- the bot: ner.train + ner.dev (3,294 sentences) as ``data/intents/intents.yaml``, each mark
  ``<value:TYPE>`` rewritten as ``[value](TYPE)``; a bot needs two intents, so each sentence's
  "intent" is a harmless length class (``long`` over 40 characters, else ``short``) that is not
  scored; sentences holding ``[``, ``]`` (reserved by the format) are left out and counted;
  Korean, no out-of-domain data, bot.yaml without settings (or a variant's);
- ``malmoi train``, then ``malmoi parse`` on the ner.test sentences (366), marks removed;
- entity precision, recall, F1: exact (start, end, type) character spans, micro over all
  entities, and per type.

Classical floor, optional (``pip install sklearn-crfsuite``; skipped with a message without it, or
with ``--no-baseline``): a linear-chain CRF (sklearn-crfsuite, L-BFGS, c1 = c2 = 0.1, 100 iterations)
on Kiwi's morphemes of the same sentences, BIO per morpheme (a morpheme is inside an entity when
it starts inside it), with features of the morpheme and its neighbours within two: form, part of
speech, suffixes, the word it sits in, where it sits in that word; predicted spans run from the
first to the last morpheme of a B-I run and are scored exactly like malmoi's.

Run (full):
    python bench/kmou_ner.py [--variant NAME=JSON ...]
Smoke test:
    OMP_NUM_THREADS=1 python bench/kmou_ner.py --limit 150
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import _userpath as up

DATA = up.DATA / "kmou-ner"
MARK = r"<([^<>:]+):([A-Z]{2,3})>"
COLUMNS = ["name", "entity_f1", "entity_precision", "entity_recall", "train_seconds"]

Sentence = tuple[str, str, list[up.Span]]  # (text, length class, gold spans)


def load(split: str) -> list[Sentence]:
    out = []
    for line in (DATA / f"ner.{split}").read_text(encoding="utf-8").splitlines():
        if line.startswith("$"):
            text, spans = up.inline_spans(line[1:], MARK)
            if text.strip():
                out.append((text, "long" if len(text) > 40 else "short", spans))
    return out


def figures(results: list[dict[str, Any]], test: list[Sentence]) -> dict[str, Any]:
    scores = up.span_scores([up.predicted_spans(r) for r in results], [set(s) for _, _, s in test])
    return {
        "entity_f1": scores["f1"],
        "entity_precision": scores["precision"],
        "entity_recall": scores["recall"],
        "entities_gold": scores["gold"],
        "entities_predicted": scores["predicted"],
        "entity_per_type": scores["per_type"],
    }


# --- the classical CRF floor ----------------------------------------------------------------------

Morpheme = tuple[int, int, str, str]  # (start, end, form, part of speech)


def morphemes(texts: list[str]) -> list[list[Morpheme]]:
    from kiwipiepy import Kiwi

    kiwi = Kiwi()
    return [[(t.start, t.start + t.len, t.form, t.tag) for t in kiwi.tokenize(text)] for text in texts]


def features(text: str, morphs: list[Morpheme]) -> list[dict[str, Any]]:
    def word_of(start: int, end: int) -> tuple[str, bool, bool]:
        left = text.rfind(" ", 0, start) + 1
        right = text.find(" ", end)
        right = len(text) if right < 0 else right
        return text[left:right], start == left, end == right

    own: list[dict[str, Any]] = []
    for start, end, form, tag in morphs:
        word, first, last = word_of(start, end)
        own.append(
            {
                "form": form,
                "tag": tag,
                "tag2": tag[:2],
                "suffix1": form[-1:],
                "suffix2": form[-2:],
                "surface": text[start:end],
                "word": word,
                "word_first": first,
                "word_last": last,
                "digit": form.isdigit(),
            }
        )
    rows = []
    for i, f in enumerate(own):
        row: dict[str, Any] = {"bias": 1.0, **f}
        for d in (-2, -1, 1, 2):
            j = i + d
            if 0 <= j < len(own):
                row.update({f"{d}:form": own[j]["form"], f"{d}:tag": own[j]["tag"]})
            else:
                row[f"{d}:edge"] = True
        if i > 0:
            row["tags-1,0"] = f"{own[i - 1]['tag']}|{f['tag']}"
        if i + 1 < len(own):
            row["tags0,+1"] = f"{f['tag']}|{own[i + 1]['tag']}"
        rows.append(row)
    return rows


def bio(morphs: list[Morpheme], spans: list[up.Span]) -> list[str]:
    tags = []
    for start, _, _, _ in morphs:
        inside = next((s for s in spans if s[0] <= start < s[1]), None)
        if inside is None:
            tags.append("O")
        else:
            tags.append(("B-" if not tags or start == inside[0] or tags[-1] == "O" else "I-") + inside[2])
    return tags


def decode(morphs: list[Morpheme], tags: list[str]) -> set[up.Span]:
    spans: set[up.Span] = set()
    current: list[Any] | None = None
    for (start, end, _, _), tag in zip(morphs, tags):
        prefix, _, typ = tag.partition("-")
        if prefix == "I" and current and current[2] == typ:
            current[1] = end
            continue
        if current:
            spans.add((current[0], current[1], current[2]))
        current = [start, end, typ] if typ else None
    if current:
        spans.add((current[0], current[1], current[2]))
    return spans


def crf_floor(train: list[Sentence], test: list[Sentence]) -> dict[str, Any] | None:
    try:
        import sklearn_crfsuite
    except ImportError:
        print("classical CRF floor skipped: sklearn-crfsuite is not installed (pip install sklearn-crfsuite)")
        return None
    started = time.perf_counter()
    train_morphs = morphemes([t for t, _, _ in train])
    crf = sklearn_crfsuite.CRF(algorithm="lbfgs", c1=0.1, c2=0.1, max_iterations=100, all_possible_transitions=True)
    crf.fit(
        [features(t, m) for (t, _, _), m in zip(train, train_morphs)],
        [bio(m, s) for (_, _, s), m in zip(train, train_morphs)],
    )
    seconds = time.perf_counter() - started
    test_morphs = morphemes([t for t, _, _ in test])
    predicted = crf.predict([features(t, m) for (t, _, _), m in zip(test, test_morphs)])
    scores = up.span_scores([decode(m, p) for m, p in zip(test_morphs, predicted)], [set(s) for _, _, s in test])
    # The floor's ceiling: gold spans that Kiwi's morpheme boundaries can express at all.
    reachable = sum(len(decode(m, bio(m, s)) & set(s)) for m, (_, _, s) in zip(test_morphs, test))
    return {
        "name": "crf on kiwi morphemes (floor)",
        "model": "sklearn-crfsuite lbfgs c1=0.1 c2=0.1 100 iterations; BIO on Kiwi morphemes; form, POS, "
        "suffixes, word, position in word, neighbours within 2",
        "entity_f1": scores["f1"],
        "entity_precision": scores["precision"],
        "entity_recall": scores["recall"],
        "entity_per_type": scores["per_type"],
        "gold_spans_reachable_by_morphemes": reachable / max(scores["gold"], 1),
        "train_seconds": round(seconds, 2),
    }


def main() -> None:
    parser = up.parser(__doc__, "kmou_ner", baseline="CRF on Kiwi morphemes, needs sklearn-crfsuite")
    args = parser.parse_args()

    train = up.per_intent(load("train") + load("dev"), lambda x: x[1], args.limit)
    test = up.spread(load("test"), args.limit)
    trainable = [x for x in train if not any(c in x[0] for c in "[]\n")]  # what the inline bot keeps
    print(
        f"KMOU NER: {len(train)} training sentences ({len(train) - len(trainable)} with brackets left out), "
        f"{len(test)} test",
        flush=True,
    )

    def write_bot(bot: Path, settings: dict[str, Any]) -> None:
        up.write_bot_inline(bot, train, language="ko", name="kmou-ner", settings=settings)

    def evaluate(trained: up.Trained) -> tuple[dict[str, Any], float]:
        results, seconds = up.parse(trained.model, [t for t, _, _ in test], timeout=args.timeout)
        return figures(results, test), seconds

    rows = up.run_all(up.workdir("kmou-ner"), up.runs(args.variant), write_bot, evaluate, timeout=args.timeout)
    floor = crf_floor(trainable, test) if args.baseline else None

    shown = [r for r in rows if "error" not in r] + ([floor] if floor else [])
    print()
    print(up.format_table(shown, COLUMNS))
    types = sorted({t for r in shown for t in r["entity_per_type"]})
    print()
    print(
        up.format_table(
            [
                {
                    "type": t,
                    "support": shown[0]["entity_per_type"].get(t, {}).get("support"),
                    **{f"F1 {r['name']}": r["entity_per_type"].get(t, {}).get("f1", float("nan")) for r in shown},
                }
                for t in types
            ],
            ["type", "support", *(f"F1 {r['name']}" for r in shown)],
        )
    )
    up.save(
        args.out,
        up.result(
            "kmou-ner",
            "bot: ner.train+ner.dev as inline YAML ([value](TYPE)), intent = length class (not scored), no "
            "out-of-domain data, bot.yaml settings per row; ner.test through `malmoi parse`; exact character-span "
            "P/R/F1, micro, and per type",
            args,
            data={
                "train": len(train),
                "train_left_out_brackets": len(train) - len(trainable),
                "test": len(test),
                "test_entities": sum(len(s) for _, _, s in test),
            },
            rows=rows,
            classical_floor=floor,
        ),
    )


if __name__ == "__main__":
    main()
