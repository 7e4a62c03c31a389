"""Grouping the texts to review by their sentence vectors, and the retrain gate's figures."""

from __future__ import annotations

import numpy as np
import pytest

from malmoi.evaluate import Candidate, Evaluation, Record
from malmoi.review import regressions
from malmoi.review._queue import Guess, Pending, ReviewItem, group_items


def item(text: str, count: int = 1, guess: str = "weather") -> ReviewItem:
    pending = Pending(text=text, message_ids=tuple(range(count)), last_seen="t", logged_intent="fallback",
                      logged_confidence=0.3, fallback=True, model_version="v")
    return ReviewItem(pending=pending, guesses=(Guess(guess, 0.6), Guess("greeting", 0.3)), markup=text)


def test_groups_follow_the_vectors_most_messages_first() -> None:
    items = [item("a1"), item("b1", count=3, guess="greeting"), item("a2", count=2), item("b2")]
    # Two directions once centred on the origin: a* near (1, 0), b* near (0, 1).
    origin = np.array([5.0, 5.0])
    vectors = origin + np.array([[1.0, 0.1], [0.1, 1.0], [0.9, 0.0], [0.0, 0.8]])
    groups = group_items(items, vectors, similarity=0.8, origin=origin)
    assert [[i.pending.text for i in g.items] for g in groups] == [["b1", "b2"], ["a2", "a1"]]
    assert [g.messages for g in groups] == [4, 3]
    assert groups[0].guesses[0].intent == "greeting"
    # Not centred, every vector points the same way (5, 5) and all would share one group.
    assert len(group_items(items, vectors, similarity=0.8)) == 1
    # A cosine of 1 required: each text alone.
    assert len(group_items(items, vectors, similarity=1.0, origin=origin)) == 4


def test_without_vectors_each_text_is_its_own_group() -> None:
    groups = group_items([item("a"), item("b", count=2)], None)
    assert [[i.pending.text for i in g.items] for g in groups] == [["b"], ["a"]]
    assert group_items([], None) == []


def record(gold: str | None, predicted: str, fallback: bool = False) -> Record:
    return Record(text=f"{gold}-{predicted}-{fallback}", gold_intent=gold, predicted_intent=predicted,
                  candidates=(Candidate(predicted, 0.9),), in_domain_score=0.1 if fallback else 0.9, fallback=fallback)


def evaluation(wrong: int, ood_caught: int = 4) -> Evaluation:
    records = [record("weather", "weather") for _ in range(20 - wrong)] + [record("weather", "greeting")] * wrong
    records += [record("greeting", "greeting") for _ in range(5)]
    ood = [record(None, "weather", fallback=i < ood_caught) for i in range(5)]
    return Evaluation.from_records(records, ood, threshold=0.5)


def test_the_gate_refuses_only_what_is_worse_beyond_the_tolerance() -> None:
    live = evaluation(wrong=1)
    same = regressions(live, evaluation(wrong=1))
    assert not [c for c in same if c.regressed]
    assert {c.metric for c in same} == {"intent accuracy", "in-domain accuracy", "fallback recall",
                                        "false-fallback rate", "F1 of intent weather"}  # greeting: 5 < 20 utterances
    worse = {c.metric: c for c in regressions(live, evaluation(wrong=3), tolerance=0.05) if c.regressed}
    assert set(worse) == {"intent accuracy", "in-domain accuracy", "F1 of intent weather"}
    assert worse["intent accuracy"].change == pytest.approx(-2 / 25)
    # Within the tolerance: 2 more errors in 25 is 0.08.
    assert not [c for c in regressions(live, evaluation(wrong=3), tolerance=0.1) if c.regressed]
    # Better is never refused; fallback recall counts on its own.
    assert not [c for c in regressions(evaluation(wrong=3), live) if c.regressed]
    fewer_caught = [c.metric for c in regressions(live, evaluation(wrong=1, ood_caught=2)) if c.regressed]
    assert fewer_caught == ["fallback recall"]
