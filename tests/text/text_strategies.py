"""Hypothesis strategies and checks shared by the text tests."""

from __future__ import annotations

from hypothesis import strategies as st

from malmoi.data.schema import Entity
from malmoi.text import Token

_SPACES = st.sampled_from([" ", "  ", "\t", "\n", "\u3000", "\xa0", " \n "])
_SYLLABLES = st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3)
_JAMO = st.characters(min_codepoint=0x1100, max_codepoint=0x11FF)  # conjoining: compose by NFC
_COMPAT_JAMO = st.characters(min_codepoint=0x3131, max_codepoint=0x318E)  # ㅋㅋ, ㅠㅠ
_COMBINING = st.characters(min_codepoint=0x0300, max_codepoint=0x036F)
_LATIN = st.sampled_from("abcdefxyzABCXYZéü")
_DIGITS = st.sampled_from("0123456789０１")
_PUNCT = st.sampled_from(list(".,!?~()[]\"'-:/@#%^&*…·「」"))
_EMOJI = st.sampled_from(["😀", "👍🏻", "🇰🇷", "👨\u200d👩\u200d👧", "❤️", "\u200d", "\ufe0f"])
_CJK = st.sampled_from("東京中国タワーひらがな")
_ODD = st.sampled_from(["\x00", "\x1c", "\u200b", "\ufeff", "\xad", "\U000e0001", "\U0010ffff"])

_WORDS = st.sampled_from(
    "내일 서울 날씨 알려줘 서울에서 부산까지 오늘 저녁 7시에 강남역 근처 맛있는 파스타 집 "
    "예약해 줄래 음악 틀어줘 알람 맞춰줘 했어요 갔었다 먹었습니다 안녕하세욬 ㅋㅋㅋ 어케 "
    "해야돼염 이모지 학교다 대학생선교회 https://naver.com test@a.com #해시태그 @멘션 10:30".split()
)

_CHAR = st.one_of(
    _SPACES,
    _SYLLABLES,
    _SYLLABLES,
    _JAMO,
    _COMPAT_JAMO,
    _COMBINING,
    _LATIN,
    _DIGITS,
    _PUNCT,
    _EMOJI,
    _CJK,
    _ODD,
    st.characters(),
)

#: Korean-heavy text: dictionary words glued with arbitrary characters and whitespace runs.
texts = st.lists(st.one_of(_WORDS, _WORDS, _CHAR), max_size=25).map("".join)


def check_tokens(tokens: list[Token], text: str) -> None:
    """The tokenizer contract: sorted, disjoint, non-empty, whitespace-free, covering."""
    covered: set[int] = set()
    previous_end = 0
    for token in tokens:
        assert token.text == text[token.start : token.end], token
        assert token.start < token.end, token
        assert not any(ch.isspace() for ch in token.text), token
        assert token.start >= previous_end, (token, previous_end)
        previous_end = token.end
        covered.update(range(token.start, token.end))
    assert covered == {i for i, ch in enumerate(text) if not ch.isspace()}


@st.composite
def texts_with_entities(draw: st.DrawFn, text_strategy: st.SearchStrategy[str] = texts):
    """A text and non-overlapping entities over it whose first and last characters are not
    whitespace; entities may be adjacent, one character long, or contain whitespace."""
    text = draw(text_strategy)
    visible = [i for i, ch in enumerate(text) if not ch.isspace()]
    positions = sorted(draw(st.sets(st.sampled_from(visible), max_size=8))) if visible else []
    entities = []
    i = 0
    while i < len(positions):
        if i + 1 == len(positions) or draw(st.booleans()):
            start, end = positions[i], positions[i] + 1
            i += 1
        else:
            start, end = positions[i], positions[i + 1] + 1
            i += 2
        label = draw(st.sampled_from(["LOC", "DATE", "date-time"]))
        entities.append(Entity(start, end, label, text[start:end]))
    return text, entities
