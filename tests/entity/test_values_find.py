"""find_values itself: kinds, the reference time, tokens given or not, phone numbers, emails, urls."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import malmoi.entity.values._find as find_module
from malmoi.entity.values import SYSTEM_KINDS, Value, find_values
from malmoi.text import Analyzer

NOW = datetime(2024, 5, 15, 10, 0, tzinfo=ZoneInfo("Asia/Seoul"))


def test_unknown_kind_is_refused_with_the_kinds_listed() -> None:
    with pytest.raises(ValueError, match=r"unknown system entity kind 'date'.*time, number"):
        find_values("내일", ["date"], now=NOW)


def test_a_reference_time_without_a_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        find_values("내일", ["time"], now=datetime(2024, 5, 15, 10, 0))


def test_no_kinds_find_nothing() -> None:
    assert find_values("내일 8시 두 명", [], now=NOW) == []


def test_given_tokens_give_what_tokenizing_gives() -> None:
    analyzer = Analyzer("ko")
    for text in ["다음 주 금요일 저녁 7시에 네 명 예약", "010-1234-5678로 4만2천원 보내", "서울 날씨 어때"]:
        doc = analyzer(text)
        assert find_values(doc.normalized, SYSTEM_KINDS, now=NOW, tokens=doc.tokens) == find_values(
            text, SYSTEM_KINDS, now=NOW
        )


def test_text_without_digits_or_known_syllables_is_not_even_tokenized(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_tokenizer(language: str) -> None:
        raise AssertionError("tokenized a text that cannot hold a value")

    monkeypatch.setattr(find_module, "get_tokenizer", no_tokenizer)
    assert find_values("hello, world", ["time", "number"], now=NOW) == []
    assert find_values("강릉 맑음", ["time", "number"], now=NOW) == []


def test_values_carry_offsets_into_the_text() -> None:
    text = "음 내일   오후 3시에 봐"
    values = find_values(text, ["time"], now=NOW)
    assert values == [Value("time", 2, 12, "내일   오후 3시", "2024-05-16T15:00:00+09:00", "hour")]
    assert text[values[0].start : values[0].end] == values[0].text


@pytest.mark.parametrize(
    ("text", "kind", "normal"),
    [
        ("010-1234-5678로 연락", "phone", "010-1234-5678"),
        ("01012345678", "phone", "010-1234-5678"),
        ("+82 10-1234-5678", "phone", "010-1234-5678"),
        ("02-123-4567", "phone", "02-123-4567"),
        ("031.123.4567", "phone", "031-123-4567"),
        ("1588-1234", "phone", "1588-1234"),
        ("메일은 Kim.Lee@Example.COM 이에요", "email", "Kim.Lee@example.com"),
        ("https://Example.com/a?b=1.", "url", "https://example.com/a?b=1"),
        ("www.naver.com에서 봐", "url", "http://www.naver.com"),
    ],
)
def test_contacts_are_normalised(text: str, kind: str, normal: str) -> None:
    values = find_values(text, [kind], now=NOW)
    assert [v.resolved for v in values] == [normal]


def test_an_email_is_not_also_a_url() -> None:
    values = find_values("kim@naver.com", ["email", "url"], now=NOW)
    assert [(v.kind, v.text) for v in values] == [("email", "kim@naver.com")]


@pytest.mark.parametrize("text", ["12345", "2024-05-15", "10 1234 5678", "주문번호 123-4567-89012"])
def test_what_is_no_phone_number(text: str) -> None:
    assert find_values(text, ["phone"], now=NOW) == []


def test_public_surface() -> None:
    import malmoi.entity.values as values

    assert sorted(values.__all__) == sorted([
        "GRAINS", "PRIORITY", "SYSTEM_KINDS", "Dictionary", "DictionaryMatcher", "PatternEntity", "Value",
        "compile_pattern", "compile_patterns", "find_patterns", "find_values", "load_dictionaries",
        "load_dictionary", "merge"])
    assert all(hasattr(values, name) for name in values.__all__)


_PIECES = ["다음", "조", "시간", "후", "밤", "12", "시", "월", "일", "이", "십", "만", "원", "부터", "까지", "-", "~",
           "사람", "두", "명", "2,500", "15:20", "3/4", "2024-05-15", "pm", "에", "반", "전", "이내", "주말", " "]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), min_size=1, max_size=8))
def test_any_mix_of_known_words_gives_consistent_values_and_never_raises(pieces: list[str]) -> None:
    text = "".join(pieces)
    for value in find_values(text, SYSTEM_KINDS, now=NOW):
        assert text[value.start : value.end] == value.text and value.start < value.end
