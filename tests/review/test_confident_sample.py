"""Confident answers reach the review too: every junk-like text, and a small daily sample of the rest."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from malmoi.review import ReviewLedger, pending_for
from malmoi.review._queue import CONFIDENT_SHARE, confident_to_check, junk_like

pytest.importorskip("sqlalchemy", reason="the message log needs the serve extra: pip install 'malmoi[serve]'")


def row(text: str, day: str = "2026-12-01") -> dict:
    return {"text": text, "created_at": datetime.fromisoformat(f"{day}T10:00:00+00:00")}


@pytest.mark.parametrize(("text", "junk"), [("ㅋㅋㅋ", True), ("ㅇㅇ", True), ("??", True), ("123", True),
                                            ("^^", True), ("안녕", False), ("ok", False), ("ㅋㅋ 좋아", False)])
def test_junk_like_texts_have_no_word(text: str, junk: bool) -> None:
    assert junk_like(text) is junk


def test_a_small_share_of_confident_texts_is_drawn_each_day() -> None:
    texts = [f"서울 {i}번 날씨 알려줘" for i in range(4000)]
    monday = {t for t in texts if confident_to_check(row(t, "2026-12-07"))}
    tuesday = {t for t in texts if confident_to_check(row(t, "2026-12-08"))}
    assert abs(len(monday) / len(texts) - CONFIDENT_SHARE) < 0.015
    assert monday != tuesday  # another day, another sample
    assert monday == {t for t in texts if confident_to_check(row(t, "2026-12-07"))}  # the same all day
    assert confident_to_check(row("ㅋㅋㅋ")) and not confident_to_check(row("ㅋㅋㅋ 날씨"), share=0.0)


def test_pending_lists_confident_junk_beside_the_unsure(tiny_bot: Path) -> None:
    from malmoi.dialogue.store import StateStore

    store = StateStore("sqlite://")
    try:
        for text, intent, confidence, fallback in [("ㅋㅋㅋ", "greeting", 1.0, False),
                                                   ("내일 서울 날씨 알려줘", "weather", 0.99, False),
                                                   ("우산 챙겨야 할까", "fallback", 0.4, True)]:
            store.log({"bot": "tiny", "user_id": "u", "source": "chat", "text": text, "intent": intent,
                       "confidence": confidence, "fallback": fallback, "entities": [], "model_version": "v1",
                       "status": None, "answer": None})
        store.flush()
        texts = [p.text for p in pending_for(store, "tiny", ReviewLedger(tiny_bot))]
        assert "ㅋㅋㅋ" in texts and "우산 챙겨야 할까" in texts
        sampled = confident_to_check({"text": "내일 서울 날씨 알려줘", "created_at": datetime.now(timezone.utc)})
        assert ("내일 서울 날씨 알려줘" in texts) is sampled
    finally:
        store.close()
