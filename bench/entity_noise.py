"""Entity-label cleaning (``malmoi clean --entities``) on SNIPS slots with planted tag errors.

Protocol: a seeded sample of SNIPS train utterances (``--sample``, default 3,000; 7 intents, 39
slot types, BIO per word); in 10 % of the utterances that have an entity one error is planted,
a third each: ``missing`` (an entity removed), ``wrong type`` (an entity gets another type seen
in the data), ``wrong boundary`` (an entity grows by the next word, or the previous one, where
that word is outside every entity; else it loses its last word). Then
:func:`malmoi.clean.entities.find_entity_issues` with its defaults (2 splits x 5 folds, threshold
0.5). Figures: detection precision, recall, F1 and AUROC of ``p_wrong`` against the planted
utterances; of the planted ones found, the share whose kind is named right and whose suggested
spans are exactly the true ones; wall time. No cleanlab anchor: it has no sequence-label method.

Run: python bench/entity_noise.py [--sample 3000]
"""

from __future__ import annotations

import random
import time

import numpy as np

import _cli
import _userpath as up
from malmoi.clean.entities import find_entity_issues
from malmoi.data.schema import Entity, Example

KIND_NAME = {"missing": "missing entity", "type": "wrong type", "boundary": "wrong boundary"}


def snips(sample: int, seed: int) -> list[tuple[list[str], list[tuple[int, int, str]], str]]:
    """(words, word spans (first, last, type), intent) of a seeded sample of SNIPS train."""
    folder = up.DATA / "snips" / "train"
    words = [line.split() for line in (folder / "seq.in").read_text(encoding="utf-8").splitlines()]
    tags = [line.split() for line in (folder / "seq.out").read_text(encoding="utf-8").splitlines()]
    intents = (folder / "label").read_text(encoding="utf-8").splitlines()
    rows = []
    for w, t, intent in zip(words, tags, intents):
        spans, open_span = [], None
        for j, tag in enumerate(t + ["O"]):
            if open_span and (tag == "O" or tag.startswith("B-") or tag[2:] != open_span[2]):
                spans.append((open_span[0], j - 1, open_span[2]))
                open_span = None
            if tag != "O" and open_span is None:
                open_span = (j, j, tag[2:])
        rows.append((w, spans, intent))
    return random.Random(seed).sample(rows, min(sample, len(rows)))


def to_example(words: list[str], spans: list[tuple[int, int, str]], intent: str, source: str) -> Example:
    text = " ".join(words)
    starts = np.cumsum([0] + [len(w) + 1 for w in words[:-1]]).tolist()
    entities = tuple(Entity(starts[a], starts[b] + len(words[b]), type_, text[starts[a] : starts[b] + len(words[b])])
                     for a, b, type_ in sorted(spans))
    return Example(text, intent, entities, source)


def plant(spans: list[tuple[int, int, str]], n_words: int, kind: str, types: list[str],
          rng: random.Random) -> list[tuple[int, int, str]]:
    k = rng.randrange(len(spans))
    a, b, type_ = spans[k]
    rest = spans[:k] + spans[k + 1 :]
    if kind == "missing":
        return rest
    if kind == "type":
        return rest + [(a, b, rng.choice([t for t in types if t != type_]))]
    taken = {j for s in spans for j in range(s[0], s[1] + 1)}
    if b + 1 < n_words and b + 1 not in taken:
        return rest + [(a, b + 1, type_)]
    if a > 0 and a - 1 not in taken:
        return rest + [(a - 1, b, type_)]
    return rest + [(a, b - 1, type_)] if b > a else rest  # a one-word entity with no room: becomes missing


def main() -> None:
    parser = _cli.Parser(description=__doc__.split("\n")[0])
    parser.add_argument("--sample", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_out(up.RESULTS / "entity_noise.json")
    args = parser.parse_args()
    rows = snips(args.sample, args.seed)
    types = sorted({s[2] for _, spans, _ in rows for s in spans})
    rng = random.Random(args.seed + 1)
    candidates = [i for i, (_, spans, _) in enumerate(rows) if spans]
    planted = rng.sample(candidates, round(0.1 * len(candidates)))
    kinds = {i: ("missing", "type", "boundary")[n % 3] for n, i in enumerate(planted)}
    examples, truth_spans = [], {}
    for i, (words, spans, intent) in enumerate(rows):
        given = plant(spans, len(words), kinds[i], types, rng) if i in kinds else spans
        examples.append(to_example(words, given, intent, f"snips:{i}"))
        truth_spans[i] = {(e.start, e.end, e.type) for e in to_example(words, spans, intent, "").entities}
    if len(set(examples)) != len(examples):
        print("note: some sampled utterances repeat")
    print(f"{len(examples)} utterances, {len(types)} entity types, {len(planted)} planted errors", flush=True)
    started = time.perf_counter()
    result = find_entity_issues(examples, "en", progress=lambda m: print("  " + m, flush=True))
    seconds = time.perf_counter() - started
    truth = np.zeros(len(examples), bool)
    truth[planted] = True
    flagged = np.zeros(len(examples), bool)
    by_index = {int(s.source.split(":")[1]): s for s in result.suspects}
    flagged[list(by_index)] = True
    tp = int((flagged & truth).sum())
    precision, recall, f1 = up.prf(tp, int(flagged.sum()), int(truth.sum()))
    found = [i for i in planted if i in by_index]
    kind_right = [KIND_NAME[kinds[i]] in by_index[i].kinds for i in found]
    exact = [{(e.start, e.end, e.type) for e in by_index[i].suggested} == truth_spans[i] for i in found]
    per_kind = {k: {"planted": sum(v == k for v in kinds.values()),
                    "found": sum(kinds[i] == k for i in found)} for k in KIND_NAME}
    row = {"data": "snips", "utterances": len(examples), "types": len(types), "planted": len(planted),
           "suspects": len(result.suspects), "precision": precision, "recall": recall, "f1": f1,
           "auroc": up.auroc(result.p_wrong[truth].tolist(), result.p_wrong[~truth].tolist()),
           "kind_named": float(np.mean(kind_right)) if found else float("nan"),
           "suggestion_exact": float(np.mean(exact)) if found else float("nan"),
           "per_kind": per_kind, "seconds": round(seconds, 1),
           # The operating curve: F1 if only suspects with p_wrong >= t were flagged.
           "f1_by_threshold": {str(t): up.prf(int((truth & flagged & (result.p_wrong >= t)).sum()),
                                               int((flagged & (result.p_wrong >= t)).sum()), int(truth.sum()))[2]
                               for t in (0.5, 0.9, 0.99, 0.999)}}
    print(up.format_table([row], ["data", "utterances", "planted", "suspects", "precision", "recall", "f1", "auroc",
                                  "kind_named", "suggestion_exact", "seconds"]))
    print(per_kind, "F1 by threshold:", row["f1_by_threshold"])
    up.save(args.out, {"benchmark": "entity_noise", "protocol": (__doc__ or "").split("Run:")[0].strip(),
                       "command": up.command_line(), "machine": up.machine(), "settings": result.settings,
                       "result": row})


if __name__ == "__main__":
    main()
