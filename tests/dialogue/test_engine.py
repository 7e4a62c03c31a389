"""Slot filling turn by turn, with the rule-based FakeModel of conftest.py."""

from __future__ import annotations

import copy

import pytest
from fake_model import CONFIG, FakeModel

from malmoi.dialogue import Dialogue, StateStore
from malmoi.model.result import IntentScore, ParseResult


def talk(bot: Dialogue, *texts: str, user: str = "u1") -> list[str]:
    return [bot.chat(user, text).answer for text in texts]


def config_with(**dialogue: object) -> dict:
    config = copy.deepcopy(CONFIG)
    config["dialogue"].update(dialogue)
    return config


def test_chat_asks_for_missing_entity_then_answers_with_default(fake_model: FakeModel) -> None:
    bot = Dialogue(fake_model)
    first = bot.chat("u1", "날씨 알려줘")
    assert first.answer == "어느 지역이요?"
    assert first.state.status == "REQUIRE_LOCATION"
    assert first.state.missing == ["LOCATION"] and first.state.intent == "weather"
    second = bot.chat("u1", "부산")
    assert second.answer == "오늘 부산 맑음"
    assert second.state.status == "SUCCESS"
    assert second.state.slots == {"LOCATION": "부산", "DATE": "오늘"}
    assert second.state.turn == 2


def test_chat_message_with_every_entity_answers_at_once(fake_model: FakeModel) -> None:
    assert talk(Dialogue(fake_model), "내일 제주 날씨") == ["내일 제주 맑음"]


@pytest.mark.parametrize("reply", ["부산", "부산이요", "부산으로 해줘", "부산에서요", "부산!"])
def test_chat_bare_entity_reply_fills_slot_even_when_classified_elsewhere(reply: str) -> None:
    # topic_change_confidence 0.5: the FakeModel's 0.6 guess "restaurant" would change the
    # topic, so only recognising the reply as bare keeps it in the weather scenario.
    bot = Dialogue(FakeModel(config_with(topic_change_confidence=0.5)))
    assert talk(bot, "날씨 알려줘", reply) == ["어느 지역이요?", "오늘 부산 맑음"]


def test_chat_other_topic_with_entity_starts_that_scenario(fake_model: FakeModel) -> None:
    bot = Dialogue(fake_model)
    bot.chat("u1", "날씨 알려줘")
    reply = bot.chat("u1", "부산 맛집 알려줘")
    assert reply.answer == "무슨 음식이요?"
    assert reply.state.intent == "restaurant" and reply.state.slots == {"LOCATION": "부산"}


def test_chat_other_topic_with_fixed_answer_drops_the_scenario(fake_model: FakeModel) -> None:
    bot = Dialogue(fake_model)
    assert talk(bot, "날씨 알려줘", "안녕") == ["어느 지역이요?", "안녕하세요!"]
    assert not bot.state("u1").active


def test_chat_unsure_classification_does_not_change_topic(fake_model: FakeModel) -> None:
    # "서울" is guessed "restaurant" at 0.6 < topic_change_confidence 0.9: it fills weather.
    assert talk(Dialogue(fake_model), "날씨 알려줘", "서울") == ["어느 지역이요?", "오늘 서울 맑음"]


def test_chat_fill_only_never_changes_topic(fake_model: FakeModel) -> None:
    bot = Dialogue(fake_model)
    bot.chat("u1", "날씨 알려줘")
    assert bot.chat("u1", "부산 맛집 알려줘", fill_only=True).answer == "오늘 부산 맑음"


@pytest.mark.parametrize(
    ("reply", "value"), [("떡볶이", "떡볶이"), ("떡볶이요.", "떡볶이"), ("짜장면이랑 탕수육", "짜장면이랑 탕수육")]
)
def test_chat_accept_text_takes_short_noun_phrase_whole(fake_model: FakeModel, reply: str, value: str) -> None:
    bot = Dialogue(fake_model)
    assert talk(bot, "서울 맛집", reply) == ["무슨 음식이요?", f"서울 {value} 맛집"]


class GreetsUnknownWords(FakeModel):
    """Like real classifiers trained on short greetings: any unknown word is "greeting", sure."""

    def parse(self, text: str) -> ParseResult:
        result = super().parse(text)
        if not result.fallback:
            return result
        return result.model_copy(update={"intent": IntentScore(name="greeting", confidence=1.0), "fallback": False})


def test_chat_accept_text_value_wins_over_confident_other_intent() -> None:
    bot = Dialogue(GreetsUnknownWords(CONFIG))
    assert talk(bot, "서울 맛집", "마라샹궈") == ["무슨 음식이요?", "서울 마라샹궈 맛집"]


def test_chat_accept_text_does_not_take_a_greeting_or_request() -> None:
    bot = Dialogue(GreetsUnknownWords(CONFIG))
    assert talk(bot, "서울 맛집", "안녕") == ["무슨 음식이요?", "안녕하세요!"]
    assert talk(bot, "서울 맛집", "날씨 알려줘")[1] == "어느 지역이요?"  # weather, not a dish


@pytest.mark.parametrize("reply", ["부산에서요", "부산으로 해줘", "부산이요", "부산이에요"])
def test_chat_entity_values_lose_their_particles(reply: str) -> None:
    # Kochat-style taggers return the whole word: "부산에서요" is the LOCATION, particles and all.
    bot = Dialogue(FakeModel(CONFIG, whole_words=True))
    assert talk(bot, "날씨 알려줘", reply) == ["어느 지역이요?", "오늘 부산 맑음"]


def test_chat_accept_text_refuses_a_sentence(fake_model: FakeModel) -> None:
    bot = Dialogue(fake_model)
    answers = talk(bot, "서울 맛집", "오늘은 뭔가 좀 특별한 걸 먹고 싶은데")
    assert answers == ["무슨 음식이요?", "무슨 음식이요?"]
    assert bot.state("u1").status == "REQUIRE_RESTAURANT"


def test_chat_without_accept_text_asks_again(fake_model: FakeModel) -> None:
    bot = Dialogue(fake_model)
    assert talk(bot, "날씨 알려줘", "몰라") == ["어느 지역이요?", "어느 지역이요?"]
    assert bot.state("u1").missing == ["LOCATION"]


def test_chat_fills_any_declared_entity_not_only_the_asked_one(fake_model: FakeModel) -> None:
    bot = Dialogue(fake_model)
    first = bot.chat("u1", "여행 가자")
    assert first.state.missing == ["LOCATION", "DATE", "RESTAURANT"]
    assert first.answer == "어느 지역인지 알려주세요."  # the generic question for LOCATION
    assert bot.chat("u1", "내일").state.missing == ["LOCATION", "RESTAURANT"]
    assert bot.chat("u1", "부산 국밥").answer == "내일 부산 여행, 국밥"


@pytest.mark.parametrize("cancel", ["취소", "취소!", " 그만 ", "아니야 됐어"])
def test_chat_cancel_drops_the_conversation(fake_model: FakeModel, cancel: str) -> None:
    bot = Dialogue(fake_model)
    bot.chat("u1", "날씨 알려줘")
    reply = bot.chat("u1", cancel)
    assert reply.state.status == "CANCELLED" and reply.answer == CONFIG_CANCEL
    # "부산" no longer answers the weather question: it starts afresh (restaurant guess).
    assert bot.chat("u1", "부산").state.intent != "weather"


CONFIG_CANCEL = "알겠어요, 하던 이야기는 취소했어요."


def test_chat_fallback_answers_take_turns(fake_model: FakeModel) -> None:
    bot = Dialogue(fake_model)
    replies = [bot.chat("u1", "음악 틀어줘") for _ in range(3)]
    assert [r.answer for r in replies] == ["모르겠어요.", "다시 말해 주세요.", "모르겠어요."]
    assert {r.state.status for r in replies} == {"FALLBACK"}


def test_chat_intent_without_scenario_or_answer_falls_back() -> None:
    config = copy.deepcopy(CONFIG)
    del config["scenarios"]["trip"]
    assert Dialogue(FakeModel(config)).chat("u1", "여행 가자").state.status == "FALLBACK"


def test_chat_conversation_expires_after_idle_timeout() -> None:
    now = [1000.0]
    bot = Dialogue(FakeModel(config_with(idle_timeout=60)), clock=lambda: now[0])
    bot.chat("u1", "날씨 알려줘")
    now[0] += 59
    assert bot.state("u1").active
    now[0] += 2
    assert bot.state("u1").status == "NEW"
    after = bot.chat("u1", "부산").state  # not the answer to the expired weather question
    assert after.intent != "weather" and after.status == "FALLBACK"  # a bare place starts nothing either


def test_chat_users_are_independent(fake_model: FakeModel) -> None:
    bot = Dialogue(fake_model)
    bot.chat("u1", "날씨 알려줘")
    bot.chat("u2", "서울 맛집")
    assert bot.chat("u1", "대구").answer == "오늘 대구 맑음"
    assert bot.chat("u2", "국밥").answer == "서울 국밥 맛집"


def test_chat_state_survives_a_new_dialogue_on_the_same_database(fake_model: FakeModel, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'state.sqlite3'}"
    first = Dialogue(fake_model, store=StateStore(url))
    first.chat("u1", "날씨 알려줘")
    first.store.close()
    restarted = Dialogue(fake_model, store=StateStore(url))
    assert restarted.chat("u1", "부산").answer == "오늘 부산 맑음"


def test_chat_logs_every_message_with_its_parse(fake_model: FakeModel) -> None:
    bot = Dialogue(fake_model, model_version="abc123")
    talk(bot, "날씨 알려줘", "부산", "음악 틀어줘")
    rows = bot.store.messages(user_id="u1")
    assert [r["text"] for r in rows] == ["날씨 알려줘", "부산", "음악 틀어줘"]
    assert [r["status"] for r in rows] == ["REQUIRE_LOCATION", "SUCCESS", "FALLBACK"]
    assert rows[1]["answer"] == "오늘 부산 맑음"
    assert rows[1]["entities"] == [{"entity": "LOCATION", "value": "부산", "start": 0, "end": 2}]
    assert rows[2]["fallback"] is True and rows[2]["intent"] == "fallback"
    assert {r["model_version"] for r in rows} == {"abc123"}
    assert {r["bot"] for r in rows} == {"fake"} and {r["source"] for r in rows} == {"chat"}
    assert all(r["created_at"] is not None and 0 <= r["confidence"] <= 1 for r in rows)


@pytest.mark.parametrize("text", ["부산", "부산이요"])
def test_a_bare_entity_with_no_question_open_starts_no_scenario(fake_model: FakeModel, text: str) -> None:
    """"부산" from a new user names a place, not a request: the bot asks instead of guessing one."""
    bot = Dialogue(fake_model)
    reply = bot.chat("new-user", text)
    assert reply.state.status == "FALLBACK" and not reply.state.active
    assert reply.answer in CONFIG["dialogue"]["fallback_answers"]
    # ... and the same words answer the question once it is asked
    assert talk(bot, "날씨 알려줘", text, user="new-user") == ["어느 지역이요?", "오늘 부산 맑음"]
