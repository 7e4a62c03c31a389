import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from text_strategies import check_tokens, texts

from malmoi.text import KoreanTokenizer, Token, UnicodeTokenizer, get_tokenizer, normalize
from malmoi.text.tokenize import _surface_tokens

korean = get_tokenizer("ko")
unicode = get_tokenizer("en")


def spans(tokens: list[Token]) -> list[tuple[str, int, int]]:
    return [(t.text, t.start, t.end) for t in tokens]


# --- invariants ---------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(texts)
def test_korean_tokens_cover_text(text):
    check_tokens(korean.tokenize(text), text)


@settings(max_examples=300, deadline=None)
@given(texts)
def test_unicode_tokens_cover_text(text):
    check_tokens(unicode.tokenize(text), text)


@settings(max_examples=100, deadline=None)
@given(texts)
def test_korean_tokens_cover_normalized_text(text):
    normalized = normalize(text).text
    check_tokens(korean.tokenize(normalized), normalized)


@settings(max_examples=100, deadline=None)
@given(st.text(st.sampled_from("abc xyz\t"), max_size=30))
def test_unicode_tokens_on_plain_words_are_whitespace_words(text):
    # Reference: without punctuation or script changes, tokens are exactly str.split().
    assert [t.text for t in unicode.tokenize(text)] == text.split()


@pytest.mark.parametrize("text", ["", " ", " \t\n\u3000 "])
@pytest.mark.parametrize("tokenizer", [korean, unicode], ids=["ko", "unicode"])
def test_tokenize_blank_text_gives_no_tokens(tokenizer, text):
    assert tokenizer.tokenize(text) == []


# --- Korean -------------------------------------------------------------------------------


def test_korean_splits_particle_from_noun():
    tokens = korean.tokenize("서울에서")
    assert spans(tokens) == [("서울", 0, 2), ("에서", 2, 4)]
    assert [t.pos for t in tokens] == ["NNP", "JKB"]


def test_korean_sentence_offsets():
    text = "내일 서울 날씨 알려줘"
    tokens = korean.tokenize(text)
    assert spans(tokens) == [
        ("내일", 0, 2),
        ("서울", 3, 5),
        ("날씨", 6, 8),
        ("알려", 9, 11),
        ("줘", 11, 12),
    ]
    assert (tokens[3].pos, tokens[3].form) == ("VV+EC", "알리+어")
    assert (tokens[4].pos, tokens[4].form) == ("VX+EF", "주+어")
    assert tokens[1].form == ""  # the surface is the base form


def test_korean_keeps_offsets_of_decomposed_jamo():
    text = "\u1112\u1161\u11ab\u1100\u1173\u11af 배워"  # 한글, decomposed
    tokens = korean.tokenize(text)
    check_tokens(tokens, text)
    assert tokens[0].start == 0


def test_korean_survives_lone_surrogates():
    text = "가\ud800나"  # possible after json.loads of "\\ud800"
    check_tokens(korean.tokenize(text), text)


def test_korean_tokenizers_share_one_kiwi():
    from malmoi.text.tokenize import _kiwi

    assert get_tokenizer("ko-KR") is get_tokenizer("ko") is get_tokenizer("KO")
    assert isinstance(korean, KoreanTokenizer)
    assert _kiwi() is _kiwi()


def test_korean_tokenize_is_thread_safe():
    words = "내일 서울 날씨 알려줘 부산에서 음악 틀어줘 알람 7시에 맞춰줘 했어요".split()
    texts = [" ".join(words[i % 7 : i % 7 + 3 + i % 5]) for i in range(80)]
    expected = [korean.tokenize(t) for t in texts]
    results: dict[int, list[list[Token]]] = {}
    barrier = threading.Barrier(4)

    def work(worker: int) -> None:
        barrier.wait()
        results[worker] = [korean.tokenize(t) for t in texts[worker:] + texts[:worker]]

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for worker, got in results.items():
        assert got == expected[worker:] + expected[:worker]


# --- merging Kiwi morphemes (no Kiwi needed) ----------------------------------------------


def test_surface_tokens_merge_overlapping_morphemes():
    # Kiwi's analysis of "알려줘" at offset 11, as in its documentation.
    text = " " * 11 + "알려줘"
    morphemes = [(11, 13, "VV", "알리", 601), (12, 13, "EC", "어", 108), (13, 14, "VX", "주", 155),
                 (13, 14, "EF", "어", 178)]  # fmt: skip
    tokens = _surface_tokens(text, morphemes)
    assert tokens == [
        Token("알려", 11, 13, "VV+EC", "알리+어", (601, 108)),
        Token("줘", 13, 14, "VX+EF", "주+어", (155, 178)),
    ]


def test_surface_tokens_attach_zero_width_morpheme_to_next():
    morphemes = [(0, 2, "NNG", "이모", 1), (2, 2, "VCP", "이", 2), (2, 3, "EF", "지", 3)]
    tokens = _surface_tokens("이모지", morphemes)
    assert tokens[1] == Token("지", 2, 3, "VCP+EF", "이+지", (2, 3))


def test_surface_tokens_attach_trailing_zero_width_morpheme_to_previous():
    tokens = _surface_tokens("학교 ", [(0, 2, "NNG", "학교", 7), (2, 2, "VCP", "이", 8)])
    assert tokens == [Token("학교", 0, 2, "NNG+VCP", "학교+이", (7, 8))]


def test_surface_tokens_split_multiword_morpheme_at_whitespace():
    text = "대학생 \t 선교회에서"
    morphemes = [(0, 9, "NNP", "대학생 선교회", 5), (9, 11, "JKB", "에서", 6)]
    assert _surface_tokens(text, morphemes) == [
        Token("대학생", 0, 3, "NNP", "", (5,)),
        Token("선교회", 6, 9, "NNP", "", (5,)),
        Token("에서", 9, 11, "JKB", "", (6,)),
    ]


def test_surface_tokens_fill_what_kiwi_leaves_uncovered():
    text = "가 a\u0301!! 나"
    tokens = _surface_tokens(text, [(0, 1, "NNG", "가", 0), (7, 8, "NNG", "나", 0)])
    check_tokens(tokens, text)
    assert spans(tokens) == [("가", 0, 1), ("a\u0301", 2, 4), ("!!", 4, 6), ("나", 7, 8)]
    assert tokens[1].pos == ""


def test_surface_tokens_clamp_out_of_range_morphemes():
    text = "가나"
    tokens = _surface_tokens(text, [(0, 1, "NNG", "가", 0), (1, 5, "NNG", "나다", 0)])
    check_tokens(tokens, text)


# --- Unicode fallback ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello, world!", ["Hello", ",", "world", "!"]),
        ("abc123def", ["abc", "123", "def"]),
        ("ab12가나cd", ["ab", "12", "가나", "cd"]),
        ("wait... what?!", ["wait", "...", "what", "?", "!"]),
        ("café naïve", ["café", "naïve"]),
        ("cafe\u0301", ["cafe\u0301"]),  # a combining mark stays with its letter
        ("東京タワーへ", ["東", "京", "タワーへ"]),
        ("hi👍🏻👍🏻", ["hi", "👍🏻", "👍🏻"]),
        ("👨\u200d👩\u200d👧!", ["👨\u200d👩\u200d👧", "!"]),
        ("🇰🇷🇯🇵", ["🇰🇷", "🇯🇵"]),
        ("ㅋㅋㅋ ㅠㅠ", ["ㅋㅋㅋ", "ㅠㅠ"]),
        ("３０분", ["３０", "분"]),
    ],
)
def test_unicode_tokenizer_examples(text, expected):
    tokens = UnicodeTokenizer().tokenize(text)
    assert [t.text for t in tokens] == expected
    check_tokens(tokens, text)
