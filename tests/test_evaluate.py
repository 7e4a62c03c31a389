"""evaluate(): a typed result with one record per utterance, checked against the model's own API."""

from __future__ import annotations

import numpy as np
import pytest

from malmoi.data import load_bot
from malmoi.evaluate import TOP_CANDIDATES, Candidate, Evaluation, Record, evaluate


@pytest.fixture(scope="module")
def tiny_evaluation(tiny_model, tiny_model_dir):
    _, data = load_bot(tiny_model_dir.parent / "bot")
    return evaluate(tiny_model, data.examples, data.ood), data


def test_evaluate_keeps_one_record_per_utterance_as_the_model_parses_it(tiny_model, tiny_evaluation):
    evaluation, data = tiny_evaluation
    assert isinstance(evaluation, Evaluation)
    assert [r.text for r in evaluation.records] == [e.text for e in data.examples]
    assert [r.text for r in evaluation.ood_records] == [e.text for e in data.ood]
    assert all(r.gold_intent is None and r.out_of_domain for r in evaluation.ood_records)
    texts = [e.text for e in data.examples[:20]] + [e.text for e in data.ood[:5]]
    records = evaluation.records[:20] + evaluation.ood_records[:5]
    scores = tiny_model.in_domain_scores(texts)
    for record, text, score in zip(records, texts, scores):
        parsed = tiny_model.parse(text)
        assert record.predicted_intent == parsed.intent_ranking[0].name
        assert record.fallback == parsed.fallback
        assert record.answer == parsed.intent.name
        assert record.in_domain_score == pytest.approx(score, abs=1e-5)
        top = parsed.intent_ranking[:TOP_CANDIDATES]
        assert [c.intent for c in record.candidates] == [s.name for s in top]
        assert [c.confidence for c in record.candidates] == pytest.approx([s.confidence for s in top], abs=1e-5)
        assert set(record.predicted_spans) == {(e.start, e.end, e.entity) for e in parsed.entities}
    example = next(e for e in data.examples if e.entities)
    record = evaluation.records[data.examples.index(example)]
    assert set(record.gold_spans) == {(e.start, e.end, e.type) for e in example.entities}
    assert record.source == example.source and ".csv:" in record.source


def test_evaluate_figures_follow_from_the_records(tiny_evaluation):
    evaluation, _ = tiny_evaluation
    records = evaluation.records
    assert evaluation.intent_accuracy == pytest.approx(np.mean([r.predicted_intent == r.gold_intent for r in records]))
    assert evaluation.in_domain_accuracy == pytest.approx(np.mean([r.intent_correct for r in records]))
    weather = [r for r in records if r.gold_intent == "weather"]
    assert evaluation.per_intent["weather"].support == len(weather)
    assert evaluation.per_intent["weather"].recall == pytest.approx(
        np.mean([r.predicted_intent == "weather" for r in weather]))
    assert evaluation.fallback.ood_recall == pytest.approx(np.mean([r.fallback for r in evaluation.ood_records]))
    with_entities = [r for r in records if r.gold_spans]
    found = sum(len(set(r.gold_spans) & set(r.predicted_spans)) for r in with_entities)
    assert evaluation.entity.recall == pytest.approx(found / sum(len(r.gold_spans) for r in with_entities))
    assert set(evaluation.entity.per_type) == {"DATE", "LOCATION", "RESTAURANT"}
    assert evaluation.sentence_vectors is not None
    assert evaluation.sentence_vectors.shape[0] == len(records) + len(evaluation.ood_records)


def test_evaluation_survives_a_round_trip_through_json(tiny_evaluation):
    evaluation, _ = tiny_evaluation
    again = Evaluation.from_dict(evaluation.to_dict(records=True))
    assert again.records == evaluation.records and again.ood_records == evaluation.ood_records
    assert again.to_dict() == evaluation.to_dict()


def _record(text: str, gold: str | None, predicted: str, fallback: bool = False, score: float = 0.9) -> Record:
    return Record(text, gold, predicted, (Candidate(predicted, 0.8),), score, fallback)


def test_figures_from_records_count_fallback_and_errors():
    records = [_record("a", "x", "x"), _record("b", "x", "y"), _record("c", "y", "y", fallback=True, score=0.1)]
    ood = [_record("d", None, "x", fallback=True, score=0.05), _record("e", None, "y", score=0.5)]
    evaluation = Evaluation.from_records(records, ood, threshold=0.5)
    assert evaluation.intent_accuracy == pytest.approx(2 / 3)  # top intent, fallback ignored
    assert evaluation.in_domain_accuracy == pytest.approx(1 / 3)  # c fell back
    assert evaluation.fallback.false_fallback_rate == pytest.approx(1 / 3)
    assert evaluation.fallback.ood_recall == pytest.approx(1 / 2)
    assert evaluation.fallback.auroc == pytest.approx(5 / 6)  # 0.9, 0.9 beat both; 0.1 beats 0.05 only
    assert [r.text for r in evaluation.errors()] == ["b", "c", "e"]
    assert evaluation.per_intent["x"].precision == pytest.approx(1 / 1)
    assert evaluation.per_intent["y"].precision == pytest.approx(1 / 2)
