"""The linear floor inside the default model (linear-floor.v1): trained by `fit`, blended with the
neural head when parsing, chosen score for the fallback, and off with `intent: {floor: false}`."""

from __future__ import annotations

import numpy as np

import malmoi


def test_the_default_model_ranks_intents_by_the_blend_of_the_neural_head_and_the_floor(tiny_model):
    floor = tiny_model.floor
    assert floor is not None and tiny_model.part_types["floor"] == ("intent_heads", "linear-floor.v1")
    report = tiny_model.report["floor"]
    assert report["neural_weight"] == floor.blend.neural_weight and report["floor_weight"] == floor.blend.linear_weight
    assert floor.blend.neural_weight + floor.blend.linear_weight > 0
    # The fallback thresholds the score the held-out share chose, on the same held-out utterances.
    assert report["in_domain"] in ("neural", "blend_logit")
    assert tiny_model.report["calibration"]["score"] == report["in_domain"]
    assert set(report["held_out"]["top1"]) == {"neural", "floor", "blend"}
    assert set(report["held_out"]["auroc"]) == {"neural", "blend_logit"}  # the tiny bot has out-of-domain data

    texts = ["모레 부산 날씨 알려줘", "대전 냉면 맛집 추천해줘", "안녕하세요"]
    docs = tiny_model.analyze(texts)
    _, sentences = tiny_model.sentences(docs)
    neural = tiny_model.scorer.scores(sentences).logits
    linear = floor.scores([tiny_model.lexical.transform(d) for d in docs])
    blended = floor.blend.neural_weight * neural + floor.blend.linear_weight * linear
    results = tiny_model.parse_batch(texts)
    assert [r.intent_ranking[0].name for r in results] == [tiny_model.intents[i] for i in blended.argmax(1)]
    assert [r.intent.name for r in results] == ["weather", "restaurant", "greeting"]
    in_domain = blended.max(1) if floor.in_domain == "blend_logit" else tiny_model.scorer.scores(sentences).in_domain
    assert np.allclose([r.in_domain_score for r in results], in_domain)


def test_floor_false_trains_the_neural_head_alone(make_tiny_bot):
    bot = make_tiny_bot(settings="  intent: {floor: false}\n", training="{epochs: 3, patience: 3, batch_size: 64}")
    model = malmoi.train(bot, progress=False)
    assert model.floor is None and "floor" not in model.parts and "floor" not in model.report
    assert model.report["calibration"]["score"] == "neural"
    docs = model.analyze(["내일 서울 날씨 알려줘"])
    _, sentences = model.sentences(docs)
    assert np.allclose(model.intent_scores(["내일 서울 날씨 알려줘"]), model.scorer.scores(sentences).probabilities)


def test_malmoi_train_says_what_each_member_got_on_the_held_out_share(make_tiny_bot, tmp_path, capsys):
    from malmoi.cli import main

    bot = make_tiny_bot(training="{epochs: 3, patience: 3, batch_size: 64}")
    assert main(["train", str(bot), "--out", str(tmp_path / "model"), "--quiet"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("Linear floor:"))
    floor = malmoi.load(tmp_path / "model").report["floor"]
    assert f"blend {floor['held_out']['top1']['blend']:.4f}" in line
    assert line.endswith(f"thresholds the {floor['in_domain'].replace('_', ' ')} score.")
