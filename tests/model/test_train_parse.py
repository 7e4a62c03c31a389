import json

import pytest

import malmoi
from malmoi.model.model import MODEL_FILE, ModelLoadError


def test_trained_model_understands_seen_and_unseen_utterances(tiny_model):
    weather = tiny_model.parse("내일 부산 날씨 알려줘")
    assert weather.intent.name == "weather"
    assert not weather.fallback
    assert {(e.entity, e.value) for e in weather.entities} == {("DATE", "내일"), ("LOCATION", "부산")}
    # An unseen combination of seen words still gets both entities right.
    food = tiny_model.parse("제주 냉면 맛집 추천해줘")
    assert food.intent.name == "restaurant"
    assert [(e.entity, e.value) for e in food.entities] == [("LOCATION", "제주"), ("RESTAURANT", "냉면")]


def test_parse_result_has_the_documented_shape(tiny_model):
    text = "  내일   서울 날씨 알려줘 "
    result = tiny_model.parse(text).to_dict()
    assert set(result) == {"text", "intent", "intent_ranking", "fallback", "entities"}
    assert result["text"] == text
    assert set(result["intent"]) == {"name", "confidence"}
    ranking = result["intent_ranking"]
    assert sorted(r["name"] for r in ranking) == ["greeting", "restaurant", "weather"]
    assert ranking == sorted(ranking, key=lambda r: -r["confidence"])
    assert abs(sum(r["confidence"] for r in ranking) - 1) < 1e-4
    for entity in result["entities"]:
        # Offsets point into the original, un-normalized text.
        assert text[entity["start"] : entity["end"]] == entity["value"]
    assert {e["value"] for e in result["entities"]} == {"내일", "서울"}


def test_out_of_domain_utterance_falls_back_but_keeps_the_ranking(tiny_model):
    result = tiny_model.parse("노래 틀어줘")
    assert result.fallback
    assert result.intent.name == "fallback"
    assert {r.name for r in result.intent_ranking} == {"greeting", "restaurant", "weather"}


def test_parse_batch_equals_parse_one_by_one(tiny_model):
    texts = ["내일 서울 날씨 알려줘", "부산 초밥 맛집 추천해줘", "안녕", "노래 틀어줘", "", "🙂"]
    batched = tiny_model.parse_batch(texts)
    for text, result in zip(texts, batched):
        single = tiny_model.parse(text)
        assert single.intent == result.intent or abs(single.intent.confidence - result.intent.confidence) < 1e-5
        assert single.fallback == result.fallback
        assert single.entities == result.entities


def test_saved_model_reloads_with_identical_answers(tiny_model, tiny_model_dir, tmp_path):
    copy_dir = tiny_model.save(tmp_path / "again")
    reloaded = malmoi.load(copy_dir)
    for text in ["내일 서울 날씨 알려줘", "노래 틀어줘"]:
        assert reloaded.parse(text) == tiny_model.parse(text)
    meta = json.loads((tiny_model_dir / MODEL_FILE).read_text("utf-8"))
    assert meta["malmoi_version"] == malmoi.__version__
    assert meta["config"]["settings"]["encoder"]["dim"] == 32  # resolved settings are saved
    assert not list(tiny_model_dir.glob("*.pt")) and not list(tiny_model_dir.glob("*.pkl"))


def test_loading_a_model_from_another_format_version_fails_clearly(tiny_model, tmp_path):
    model_dir = tiny_model.save(tmp_path / "future")
    meta = json.loads((model_dir / MODEL_FILE).read_text("utf-8"))
    meta["format_version"] = 99
    (model_dir / MODEL_FILE).write_text(json.dumps(meta), "utf-8")
    with pytest.raises(ModelLoadError, match=r"format 99.*Train the model again"):
        malmoi.load(model_dir)


def test_loading_a_directory_that_is_not_a_model_fails_clearly(tmp_path):
    with pytest.raises(ModelLoadError, match="not a malmoi model"):
        malmoi.load(tmp_path)


@pytest.mark.slow
def test_fallback_off_never_falls_back(make_tiny_bot):
    bot = make_tiny_bot(settings="  intent: {fallback: false}\n")
    model = malmoi.train(bot, progress=False)
    texts = ["노래 틀어줘", "알람 맞춰줘", "ㅋㅋㅋ", "", "qwerty", "내일 서울 날씨"]
    assert not any(r.fallback for r in model.parse_batch(texts))


@pytest.mark.slow
def test_bot_without_ood_data_gets_a_threshold_from_in_domain_data(make_tiny_bot):
    bot = make_tiny_bot(with_ood=False)
    model = malmoi.train(bot, progress=False)
    assert "quantile" in model.report["calibration"]["method"]
    assert model.parse("내일 서울 날씨 알려줘").intent.name == "weather"


def test_training_on_invalid_data_raises_data_error_with_every_problem(tiny_bot):
    bot = tiny_bot
    (bot / "data" / "intents" / "weather.csv").write_text(
        "question,label\n내일 서울 날씨,S-DATE S-LOCATION\n부산 비 와,S-LOCATON O O\n", "utf-8"
    )
    with pytest.raises(malmoi.DataError) as info:
        malmoi.train(bot, progress=False)
    text = str(info.value)
    assert "weather.csv:2" in text and "weather.csv:3" in text


def test_calibrate_chooses_the_threshold_on_held_out_utterances(tiny_model_dir):
    from malmoi.intent.fallback import macro_f1_threshold, quantile_threshold

    model = malmoi.load(tiny_model_dir)  # a copy: calibrate changes the model
    texts = ["내일 서울 날씨 알려줘", "부산 초밥 맛집 추천해줘", "안녕", "모레 대구 비 와?"]
    ood = ["노래 틀어줘", "택시 불러줘"]
    id_scores, ood_scores = model.parse_with_scores(texts)[1], model.parse_with_scores(ood)[1]
    assert model.calibrate(texts, ood) == macro_f1_threshold(id_scores, ood_scores) == model.threshold
    assert model.report["calibration"]["held_out_ood"] == 2
    assert model.report["calibration"]["score"] == model.floor.in_domain  # the score the threshold applies to
    # Without out-of-domain utterances, the bot's false-fallback rate decides.
    assert model.calibrate(texts) == quantile_threshold(id_scores, model.settings.intent.false_fallback_rate)


@pytest.mark.slow
def test_a_euclidean_loss_trains_saves_and_reloads(make_tiny_bot, tmp_path):
    bot = make_tiny_bot(settings="  intent: {loss: gaussian_mixture}\n")
    model = malmoi.train(bot, progress=False)
    assert model.parse("내일 부산 날씨 알려줘").intent.name == "weather"
    reloaded = malmoi.load(model.save(tmp_path / "lgm"))
    for text in ["제주 냉면 맛집 추천해줘", "노래 틀어줘"]:
        assert reloaded.parse(text) == model.parse(text)


def test_early_stopping_waits_a_minimum_of_steps_on_a_tiny_bot(make_tiny_bot):
    """With a few steps an epoch, `patience` in epochs would stop after a few dozen steps."""
    import math

    from malmoi.model.training import PATIENCE_MIN_STEPS

    bot = make_tiny_bot(training="{epochs: 20, patience: 1, batch_size: 16}")
    report = malmoi.train(bot, progress=False).report
    steps_per_epoch = math.ceil((report["examples"]["train"] + report["examples"]["train_ood"]) / 16)
    waited = math.ceil(PATIENCE_MIN_STEPS / steps_per_epoch)
    assert 1 < waited < 20  # the rule, not the epoch limit, is what this bot meets
    assert report["epochs_run"] >= min(20, waited + 1)


def test_a_short_training_keeps_a_high_learning_rate_to_its_last_epoch(make_tiny_bot):
    """The cosine decay spans at least DECAY_MIN_EPOCHS: `epochs: auto` gives a large bot a dozen
    epochs, and decaying within them annealed SNIPS's tagger before it had learned (issue 24)."""
    from malmoi.model.training import DECAY_MIN_EPOCHS

    bot = make_tiny_bot(training="{epochs: 3, patience: 3, batch_size: 64, learning_rate: 0.01}")
    history = malmoi.train(bot, progress=False).report["history"]
    assert len(history) == 3 < DECAY_MIN_EPOCHS
    rates = [h["learning_rate"] for h in history]
    assert rates == sorted(rates, reverse=True)
    assert rates[-1] > 0.9 * 0.01  # 3 of 30 epochs into the cosine: 0.98 of the peak (3 of 3: 0.05)


def test_without_out_of_domain_data_the_threshold_stays_below_the_training_sentences():
    """A handful of held-out scores cannot place a 1 % quantile: the training utterances bound it."""
    import numpy as np

    from malmoi.intent.fallback import calibrate
    from malmoi.settings import IntentSettings

    held_out = np.array([0.41, 0.5, 0.6, 0.7, 0.8, 0.9])  # six held out: their minimum stands in
    seen = np.array([0.226, *np.linspace(0.5, 0.95, 57)])  # a short training sentence scores low
    settings = IntentSettings()
    assert calibrate(settings, held_out).threshold > 0.4
    lowered = calibrate(settings, held_out, seen=seen)
    assert lowered.threshold == pytest.approx(0.226)  # at most 1 % of 58 sentences below: none
    assert "training utterances" in lowered.how["method"]
    assert calibrate(settings, held_out, np.array([0.1, 0.2]), seen=seen).threshold > 0.226  # OOD data decides


@pytest.mark.slow
def test_a_small_bot_without_out_of_domain_data_answers_its_own_sentences(tmp_path):
    """Two intents of 32 utterances, default settings: the short requests among them are answered."""
    bot = tmp_path / "bot"
    (bot / "data" / "intents").mkdir(parents=True)
    (bot / "bot.yaml").write_text("name: small\nlanguage: ko\n", "utf-8")
    cities = ["서울", "부산", "대구", "광주", "대전", "울산", "수원", "전주", "강릉", "제주"]
    weather = [f"{c} 날씨 알려줘" for c in cities] + [f"내일 {c} 비 와" for c in cities] + [
        "날씨 알려줘", "오늘 날씨 어때", "날씨 어때", "날씨 좀 알려줘", "지금 날씨 알려줘", "내일 날씨 알려줘",
        "날씨 궁금해", "날씨 좀 봐줘", "오늘 비 와", "내일 비 와", "날씨 어떤지 알려줘", "주말 날씨 알려줘"]
    food = [f"{c} 맛집 추천해줘" for c in cities] + [f"{c} 근처 식당 알려줘" for c in cities] + [
        "맛집 추천해줘", "식당 알려줘", "맛집 알려줘", "밥 먹을 곳 추천해줘", "근처 식당 알려줘", "맛있는 집 추천해줘",
        "점심 먹을 곳 알려줘", "저녁 먹을 데 추천해줘", "식당 추천 좀 해줘", "맛집 좀 찾아줘", "밥집 알려줘",
        "회식 장소 추천해줘"]
    for name, rows in (("weather", weather), ("food", food)):
        (bot / "data" / "intents" / f"{name}.csv").write_text("question\n" + "\n".join(rows) + "\n", "utf-8")
    model = malmoi.train(bot, progress=False)
    results = model.parse_batch(weather + food)
    answered = [r.intent.name for r in results if not r.fallback]
    assert len(answered) >= 0.97 * len(results), model.report["calibration"]
    assert model.parse("날씨 알려줘").intent.name == "weather"
