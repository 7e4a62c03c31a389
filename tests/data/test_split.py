"""`malmoi split`: a stratified, seeded held-out split that both halves load as bot directories
(retrain reads DIR/test), and the stratified folds of cross-validation."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from malmoi.cli import main
from malmoi.data import load_bot
from malmoi.data.schema import Example
from malmoi.data.split import held_out_mask, stratified_folds, write_split


def counts(examples) -> Counter:
    return Counter(e.intent for e in examples)


def signature(e: Example) -> tuple:
    return e.text, e.intent, tuple((x.start, x.end, x.type) for x in e.entities)


def test_split_holds_out_the_same_share_of_every_intent(tiny_bot: Path, tmp_path: Path) -> None:
    _, data = load_bot(tiny_bot)
    out = tmp_path / "split"
    result = write_split(tiny_bot, out, test=0.2, seed=3)
    assert result.notes == []
    _, train = load_bot(out)
    _, test = load_bot(out / "test")
    every = counts([*data.examples, *data.ood])
    held = counts([*test.examples, *test.ood])
    # weather 80, restaurant 60, greeting 8, out of domain 24: a fifth of each, rounded
    assert held == {name: round(n * 0.2) for name, n in every.items()}
    assert held == {"weather": 16, "restaurant": 12, "greeting": 2, None: 5}
    # nothing lost, nothing in both halves, entities kept
    before = sorted(map(signature, [*data.examples, *data.ood]))
    after = sorted(map(signature, [*train.examples, *train.ood, *test.examples, *test.ood]))
    assert before == after
    assert not {e.text for e in train.examples} & {e.text for e in test.examples}


def test_the_same_seed_draws_the_same_split(tiny_bot: Path) -> None:
    _, data = load_bot(tiny_bot)
    examples = [*data.examples, *data.ood]
    assert held_out_mask(examples, 0.2, seed=1) == held_out_mask(examples, 0.2, seed=1)
    assert held_out_mask(examples, 0.2, seed=1) != held_out_mask(examples, 0.2, seed=2)


def test_a_small_intent_keeps_what_it_needs_to_train(tmp_path: Path) -> None:
    examples = [Example(text=f"a{i}", intent="a") for i in range(2)] + [Example(text=f"b{i}", intent="b")
                                                                       for i in range(10)]
    held = held_out_mask(examples, 0.5, seed=0, keep=2)
    assert sum(held[:2]) == 0 and sum(held[2:]) == 5


def test_folds_spread_every_intent_evenly(tiny_bot: Path) -> None:
    _, data = load_bot(tiny_bot)
    examples = [*data.examples, *data.ood]
    folds = stratified_folds(examples, 5, seed=0)
    for intent, n in counts(examples).items():
        per_fold = Counter(f for f, e in zip(folds, examples) if e.intent == intent)
        assert max(per_fold.values()) - min(per_fold.get(k, 0) for k in range(5)) <= 1, intent
        assert sum(per_fold.values()) == n
    sizes = Counter(folds).values()
    assert max(sizes) - min(sizes) <= 1


def test_split_command_writes_what_retrain_reads(tiny_bot: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "split"
    assert main(["split", str(tiny_bot), "--test", "0.25", "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert f"{out / 'test'}" in printed.out and "malmoi train" in printed.err
    config, _ = load_bot(out / "test")
    assert config.min_examples_per_intent == 1
    # again into its own folder: allowed; into a folder of something else: refused, untouched
    assert main(["split", str(tiny_bot), "--out", str(out)]) == 0
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep\n", "utf-8")
    assert main(["split", str(tiny_bot), "--out", str(mine)]) == 2
    assert (mine / "notes.txt").read_text("utf-8") == "keep\n"


@pytest.mark.parametrize("share", ["0", "1", "1.5", "-0.2"])
def test_split_share_out_of_range_is_a_usage_error(tiny_bot: Path, tmp_path: Path, capsys, share: str) -> None:
    assert main(["split", str(tiny_bot), "--test", share, "--out", str(tmp_path / "s")]) == 2
    assert "between 0 and 1" in capsys.readouterr().err
