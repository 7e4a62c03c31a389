"""Answers written into a bot's data files: what the loader reads, the record kept, what is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from malmoi.data import load_bot
from malmoi.review import (
    INTENTS_FILE,
    LEDGER,
    OOD_FILE,
    Answer,
    ReviewError,
    ReviewLedger,
    answers_from_requests,
    markup_of,
)
from malmoi.review._answers import check_markup
from malmoi.review._queue import pending_messages

TYPES = {"LOCATION", "DATE", "RESTAURANT"}


def answer(text: str, intent: str | None, ids: tuple[int, ...], markup: str | None = None) -> Answer:
    return Answer(text=text, intent=intent, markup=markup or text, message_ids=ids, reviewer="key:abc123",
                  reviewed_at="2026-12-01T05:00:00Z", model_version="tiny@v000001", bot="tiny")


def test_markup_of_writes_spans_inline() -> None:
    assert markup_of("내일 서울 날씨", [(3, 5, "LOCATION"), (0, 2, "DATE")]) == "[내일](DATE) [서울](LOCATION) 날씨"
    assert markup_of("서울에서", [(0, 2, "LOCATION")]) == "[서울](LOCATION)에서"
    assert markup_of("날씨", []) == "날씨"


def test_answers_are_read_by_the_loader_with_their_provenance(tiny_bot: Path) -> None:
    ledger = ReviewLedger(tiny_bot)
    written = ledger.record([
        answer("주말에 부산 추워?", "weather", (3, 7), "[주말](DATE)에 [부산](LOCATION) 추워?"),
        answer("노래 한 곡 틀어줘", None, (5,)),
        answer("알람: 7시", "greeting", (9,)),  # `: ` would be a YAML key unquoted
    ])
    assert written == [tiny_bot / INTENTS_FILE, tiny_bot / OOD_FILE]
    _, data = load_bot(tiny_bot)
    found = {e.text: e for e in data.examples}
    assert found["주말에 부산 추워?"].intent == "weather"
    assert [(e.type, e.value) for e in found["주말에 부산 추워?"].entities] == [("DATE", "주말"), ("LOCATION", "부산")]
    assert found["알람: 7시"].intent == "greeting"
    assert "노래 한 곡 틀어줘" in {e.text for e in data.ood}
    yml = (tiny_bot / INTENTS_FILE).read_text("utf-8")
    assert "# message 3, 7; 2026-12-01T05:00:00Z; reviewer key:abc123; model tiny@v000001" in yml
    ood_csv = (tiny_bot / OOD_FILE).read_text("utf-8")
    assert "노래 한 곡 틀어줘,5,2026-12-01T05:00:00Z,key:abc123,tiny@v000001" in ood_csv
    log = [json.loads(line) for line in (tiny_bot / LEDGER).read_text("utf-8").splitlines()]
    assert [(a["text"], a["intent"], a["message_ids"]) for a in log] == [
        ("주말에 부산 추워?", "weather", [3, 7]), ("노래 한 곡 틀어줘", None, [5]), ("알람: 7시", "greeting", [9])]
    assert ledger.reviewed_ids() == {3, 5, 7, 9}


def test_reviewed_messages_and_texts_are_not_pending_again(tiny_bot: Path) -> None:
    ledger = ReviewLedger(tiny_bot)
    ledger.record([answer("우산 챙겨야 할까", "weather", (1,))])
    rows = [
        {"id": 4, "text": "우산  챙겨야 할까", "created_at": "t4", "intent": "fallback", "confidence": 0.4,
         "fallback": True, "model_version": "v"},  # the same text, logged again later
        {"id": 3, "text": "밖에 추워?", "created_at": "t3", "intent": "weather", "confidence": 0.3,
         "fallback": False, "model_version": "v"},
        {"id": 2, "text": "밖에 추워?", "created_at": "t2", "intent": "weather", "confidence": 0.3,
         "fallback": False, "model_version": "v"},
        {"id": 1, "text": "우산 챙겨야 할까", "created_at": "t1", "intent": "fallback", "confidence": 0.4,
         "fallback": True, "model_version": "v"},
    ]
    pending = pending_messages(rows, reviewed_ids=ledger.reviewed_ids(), reviewed_texts=ledger.reviewed_texts())
    assert [(p.text, p.message_ids, p.last_seen) for p in pending] == [("밖에 추워?", (3, 2), "t3")]


def test_an_answered_text_is_refused_the_second_time(tiny_bot: Path) -> None:
    ledger = ReviewLedger(tiny_bot)
    ledger.record([answer("우산 챙겨야 할까", "weather", (1,))])
    with pytest.raises(ReviewError, match="already reviewed by key:abc123") as caught:
        ledger.record([answer("우산 챙겨야 할까", None, (2,))])
    assert caught.value.code == "already_reviewed"
    assert len(ledger.answers()) == 1


def test_a_hand_edited_file_is_refused_and_a_deleted_one_written_again(tiny_bot: Path) -> None:
    ledger = ReviewLedger(tiny_bot)
    ledger.record([answer("우산 챙겨야 할까", "weather", (1,))])
    path = tiny_bot / INTENTS_FILE
    path.write_text(path.read_text("utf-8") + "    - 손으로 쓴 문장\n", "utf-8")
    with pytest.raises(ReviewError, match="not what `malmoi review` wrote") as caught:
        ledger.record([answer("밖에 추워?", "weather", (2,))])
    assert caught.value.code == "data_file_edited"
    assert "손으로 쓴 문장" in path.read_text("utf-8")  # left as the person wrote it
    path.unlink()
    ledger.record([answer("밖에 추워?", "weather", (2,))])
    _, data = load_bot(tiny_bot)
    assert {"우산 챙겨야 할까", "밖에 추워?"} <= {e.text for e in data.examples if e.source.startswith(str(path))}


def test_an_answer_that_would_break_the_data_is_refused_and_nothing_written(tiny_bot: Path) -> None:
    ledger = ReviewLedger(tiny_bot)
    # Already in data/intents/weather.csv: the same text under another intent is a conflict.
    with pytest.raises(ReviewError, match=r"nothing was written.*under intent"):
        ledger.record([answer("오늘 서울 날씨 알려줘", "restaurant", (1,))])
    assert not (tiny_bot / INTENTS_FILE).exists() and not (tiny_bot / LEDGER).exists()
    with pytest.raises(ReviewError, match="also under intent"):
        ledger.record([answer("오늘 서울 날씨 알려줘", None, (1,))])
    assert not (tiny_bot / OOD_FILE).exists()


@pytest.mark.parametrize(("markup", "message"), [
    ("[주말](WHEN)에 부산 추워?", "no entity type 'WHEN'"),
    ("[주말](DATE)에 대구 추워?", "change the message's text"),
    ("[주말(DATE)에 부산 추워?", "expected"),
])
def test_bad_markup_is_refused_with_the_reason(markup: str, message: str) -> None:
    with pytest.raises(ReviewError, match=message):
        check_markup("주말에 부산 추워?", markup, TYPES)


def test_markup_of_a_text_with_brackets_is_refused() -> None:
    with pytest.raises(ReviewError, match="CSV file"):
        check_markup("[공지] 날씨", "[공지] 날씨", TYPES)


def test_not_a_bot_directory(tmp_path: Path) -> None:
    with pytest.raises(ReviewError, match=r"no bot\.yaml"):
        ReviewLedger(tmp_path)


class _Log:
    """The message log's two lookups that answers need."""

    def __init__(self, texts: dict[int, str]):
        self.texts = texts

    def messages_by_id(self, bot: str, ids: list[int]) -> list[dict]:
        return [{"id": i, "text": self.texts[i], "model_version": "tiny@v000001"} for i in ids if i in self.texts]


class _Model:
    intents = ("weather", "restaurant", "greeting")
    tags = ("O", "S-LOCATION", "S-DATE", "S-RESTAURANT")


def test_an_out_of_domain_answer_may_have_brackets(tiny_bot: Path) -> None:
    log = _Log({1: "[광고] 무료 쿠폰 받아가세요", 2: "노래 틀어줘 ]]"})
    answers = answers_from_requests(log, _Model(), "tiny", [{"message_ids": [1], "out_of_domain": True},
                                                            {"message_ids": [2], "intent": None,
                                                             "out_of_domain": True}], reviewer="cli:me")
    assert [(a.text, a.intent) for a in answers] == [("[광고] 무료 쿠폰 받아가세요", None), ("노래 틀어줘 ]]", None)]
    assert ReviewLedger(tiny_bot).record(answers) == [tiny_bot / OOD_FILE]
    _, data = load_bot(tiny_bot)  # a CSV, where brackets are plain characters
    assert {"[광고] 무료 쿠폰 받아가세요", "노래 틀어줘 ]]"} <= {e.text for e in data.ood}


def test_an_intent_answer_with_brackets_is_refused_as_inline_yaml_cannot_hold_them(tiny_bot: Path) -> None:
    log = _Log({1: "[공지] 내일 날씨"})
    for request in [{"message_ids": [1], "intent": "weather"},
                    {"message_ids": [1], "intent": "weather", "markup": "[공지] [내일](DATE) 날씨"}]:
        with pytest.raises(ReviewError, match="inline YAML reads brackets as entities"):
            answers_from_requests(log, _Model(), "tiny", [request], reviewer="cli:me")
