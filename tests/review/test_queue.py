"""Grouping the texts to review by their sentence vectors, and the retrain gate's figures."""

from __future__ import annotations

import numpy as np
import pytest

from malmoi.evaluate import Candidate, Evaluation, Record
from malmoi.review import regressions
from malmoi.review._queue import Pending, ReviewItem, group_items, text_similarities


def item(text: str, count: int = 1, guess: str = "weather") -> ReviewItem:
    pending = Pending(text=text, message_ids=tuple(range(count)), last_seen="t", logged_intent="fallback",
                      logged_confidence=0.3, fallback=True, model_version="v")
    return ReviewItem(pending=pending, guesses=(Candidate(guess, 0.6), Candidate("greeting", 0.3)), markup=text)


def test_groups_follow_the_similarities_most_messages_first() -> None:
    items = [item("a1"), item("b1", count=3, guess="greeting"), item("a2", count=2), item("b2")]
    # Two directions once centred on the origin: a* near (1, 0), b* near (0, 1); texts alike.
    origin = np.array([5.0, 5.0])
    vectors = origin + np.array([[1.0, 0.1], [0.1, 1.0], [0.9, 0.0], [0.0, 0.8]])
    similarities = text_similarities(["x"] * 4, vectors, origin)
    groups = group_items(items, similarities, threshold=0.9)
    assert [[i.pending.text for i in g.items] for g in groups] == [["b1", "b2"], ["a2", "a1"]]
    assert [g.messages for g in groups] == [4, 3]
    assert groups[0].guesses[0].intent == "greeting"
    # Not centred, every vector points the same way (5, 5) and all would share one group.
    assert len(group_items(items, text_similarities(["x"] * 4, vectors), threshold=0.9)) == 1
    # A similarity of 1 required: each text alone.
    assert len(group_items(items, similarities, threshold=1.0 + 1e-9)) == 4


def test_words_tell_apart_what_the_vectors_cannot() -> None:
    texts = ["우산 챙겨야 할까", "우산 챙겨야 할까?", "노래 한 곡 틀어줘", "음악 틀어줘", "파스타 먹고 싶다"]
    lexical = text_similarities(texts)
    assert lexical[0, 1] > 0.8 and lexical[2, 3] > 0.3
    assert lexical[0, 2] == 0 and lexical[2, 4] == 0
    # Vectors that say nothing (all alike) halve the word similarity and add 0.5.
    same = text_similarities(texts, np.ones((5, 3)) + np.arange(5)[:, None] * 1e-9)
    np.testing.assert_allclose(same, (lexical + 1) / 2, atol=1e-6)
    groups = group_items([item(t) for t in texts], same, threshold=0.6)
    assert sorted(sorted(i.pending.text for i in g.items) for g in groups) == [
        ["노래 한 곡 틀어줘", "음악 틀어줘"], ["우산 챙겨야 할까", "우산 챙겨야 할까?"], ["파스타 먹고 싶다"]]


def test_without_similarities_each_text_is_its_own_group() -> None:
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
