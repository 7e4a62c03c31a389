"""The words the value grammar knows, as tables: one entry per surface form, with its readings.

A reading is ``(tag, value)``. The lexer covers the text with these words (longest, fewest
pieces), and the grammar (:mod:`._numbers`, :mod:`._time`) combines them by tag. Adding a word
is adding a row here: ``"글피": [(RELDAY, 3)]`` teaches the grammar that 글피 is three days on.
"""

from __future__ import annotations

from typing import Any

Reading = tuple[str, Any]

# -- tags ------------------------------------------------------------------------------------
DIG = "dig"  # a Sino-Korean digit: 일 → 1 (영/공 → 0)
MUL = "mul"  # 십 백 천
BIG = "big"  # 만 억 조: groups of four digits
NAT = "nat"  # a native numeral 1-9: (value, is_determiner) — 하나 → (1, False), 한 → (1, True)
TENS = "tens"  # a native ten: (value, is_determiner) — 스물 → (20, False), 스무 → (20, True)
NUM = "num"  # digits: 2,500 → 2500
POINT = "point"  # 점: the decimal point of a spoken number (삼점사 → 3.4)
FRAC = "frac"  # 분의: a fraction, denominator first (사분의삼 → 3/4)
MINUS = "minus"
FEW = "few"  # 몇: "a few", read as 3 (Duckling's convention) in relative times only
HALF = "half"  # 반: half of the unit before it
UNIT = "unit"  # a unit after a number: 년 월 주 일 시 분 초 시간 달 개월 주일 분기
DURWORD = "durword"  # a counted span on its own: 이틀 → (2, "일")
CUR = "cur"  # a currency: (ISO code, scale) — 센트 → ("USD", 0.01)
ORD = "ord"  # 번째, 째: makes an ordinal of the number before it
FIRST = "first"  # 첫: "first", before 번째/째/날/주
NTH = "nth"  # 첫째 → 1 ... 마지막 → -1
COUNTER = "counter"  # 번 (네째번, 두 번)
RELDAY = "relday"  # 오늘 → 0, 내일 → 1
NOW = "now"
WEEKDAY = "weekday"  # 월요일 → 0 ... 일요일 → 6
POD = "pod"  # a part of the day: 오전, 저녁 ...
NOON = "noon"  # 정오 → 12, 자정 → 0 (the midnight after)
MOD = "mod"  # 다음 → +1, 이번 → 0, 지난 → -1: picks a week, month, weekday ...
REL = "rel"  # a word that is a MOD and a unit in one: 내년 → ("년", 1)
MONTHNAME = "monthname"  # 유월, 시월: months whose Sino name drops a sound
WEEKEND = "weekend"
SEASON = "season"
HOLIDAY = "holiday"
DAYNOUN = "daynoun"  # 날 (마지막 날, 첫날)
DIR = "dir"  # after a duration or a time: 후 뒤 전 이전 이후 안 내 이내
DURING = "during"  # 동안, 간 (이틀 동안, 이틀간)
FROM = "from"  # 부터, 에서
UNTIL = "until"  # 까지
RANGE = "range"  # ~ or - between two values
COMPARE = "compare"  # 이상, 초과 → "above"; 이하, 미만 → "under"
APPROX = "approx"  # 약, 대략 (before); 쯤, 경, 정도 (after)
AMPM = "ampm"  # am / pm after a clock time
TZ = "tz"  # a time zone: its UTC offset in hours
CLOCK = "clock"  # 15:20 → (15, 20, None)
DATE = "date"  # 2015-03-03 → (2015, 3, 3)
SLASH = "slash"  # 3/4: a month/day or a fraction
SERIAL = "serial"  # digits joined by hyphens (a phone number, an id): never a number

# Tags a particle token (Kiwi's J*) may carry: other particles end a value.
PARTICLE_TAGS = frozenset({FROM, UNTIL, FRAC})

# -- numerals --------------------------------------------------------------------------------
SINO_DIGITS = {
    "영": 0, "공": 0, "일": 1, "이": 2, "삼": 3, "사": 4, "오": 5, "육": 6, "륙": 6, "칠": 7, "팔": 8, "구": 9,
}
SINO_MULTIPLIERS = {"십": 10, "백": 100, "천": 1000}
SINO_GROUPS = {"만": 10_000, "억": 100_000_000, "조": 1_000_000_000_000}
NATIVE = {"하나": 1, "둘": 2, "셋": 3, "넷": 4, "다섯": 5, "여섯": 6, "일곱": 7, "여덟": 8, "아홉": 9}
# Forms before a counter ("두 명"): bare, they mean other things (네 = yes), so they need one.
NATIVE_DETERMINERS = {"한": 1, "두": 2, "세": 3, "석": 3, "서": 3, "네": 4, "넉": 4, "너": 4}
NATIVE_TENS = {"열": 10, "스물": 20, "서른": 30, "마흔": 40, "쉰": 50, "예순": 60, "일흔": 70, "여든": 80, "아흔": 90}

# -- units -----------------------------------------------------------------------------------
DURATION_SECONDS = {
    "초": 1, "분": 60, "시간": 3600, "일": 86_400, "주": 604_800, "주일": 604_800,
    # Duckling's convention: a month is 30 days, a year 365.
    "달": 2_592_000, "개월": 2_592_000, "년": 31_536_000,
}
DURATION_GRAIN = {
    "초": "second", "분": "minute", "시간": "hour", "일": "day", "주": "week", "주일": "week",
    "달": "month", "개월": "month", "년": "year",
}
CURRENCIES: dict[str, tuple[str, float]] = {
    "원": ("KRW", 1), "₩": ("KRW", 1), "krw": ("KRW", 1),
    "달러": ("USD", 1), "불": ("USD", 1), "$": ("USD", 1), "usd": ("USD", 1), "센트": ("USD", 0.01),
    "유로": ("EUR", 1), "€": ("EUR", 1), "eur": ("EUR", 1),
    "엔": ("JPY", 1), "¥": ("JPY", 1), "jpy": ("JPY", 1),
    "위안": ("CNY", 1), "cny": ("CNY", 1),
    "파운드": ("GBP", 1), "£": ("GBP", 1), "gbp": ("GBP", 1),
}

# -- time words ------------------------------------------------------------------------------
RELATIVE_DAYS = {
    "오늘": 0, "금일": 0, "내일": 1, "낼": 1, "모레": 2, "내일모레": 2, "낼모레": 2, "글피": 3,
    "어제": -1, "어저께": -1, "그제": -2, "그저께": -2, "엊그제": -2, "엊그저께": -2,
}
WEEKDAYS = {name: i for i, name in enumerate(["월요일", "화요일", "수요일", "목요일", "금요일", "토요일", "일요일"])}
# Part of the day: (start hour, end hour) of its interval alone ("오늘 저녁" → 18-24), and how
# an hour 1-12 reads in it ("저녁 8시" → 20, "밤 11시" → 23, "밤 1시" → 1 the night after).
PARTS_OF_DAY = {
    "오전": (0, 12), "아침": (4, 12), "새벽": (0, 6), "점심": (12, 14), "낮": (12, 18),
    "오후": (12, 19), "저녁": (18, 24), "밤": (18, 24),
}
MODIFIERS = {
    "다음": 1, "담": 1, "오는": 1, "돌아오는": 1, "다다음": 2,
    "이번": 0, "금번": 0, "요번": 0,
    "지난": -1, "저번": -1, "지지난": -2,
}
# Not 전주 (last week): to Kiwi and to a weather bot it is the city Jeonju.
RELATIVE_WORDS = {
    "금주": ("주", 0), "이달": ("달", 0),
    "올해": ("년", 0), "금년": ("년", 0), "내년": ("년", 1), "명년": ("년", 1), "내후년": ("년", 2),
    "작년": ("년", -1), "지난해": ("년", -1), "재작년": ("년", -2),
}
DAY_WORDS = {
    "하루": 1, "이틀": 2, "사흘": 3, "나흘": 4, "닷새": 5, "엿새": 6, "이레": 7, "여드레": 8,
    "아흐레": 9, "열흘": 10, "보름": 15,
}
# (month, day) of the first day and of the day after the last, as Duckling has them.
SEASONS = {"봄": ((3, 20), (6, 21)), "여름": ((6, 21), (9, 24)), "가을": ((9, 23), (12, 21)),
           "겨울": ((12, 21), (3, 21))}
# Solar holidays by (month, day); lunar ones are looked up in _holidays.
HOLIDAYS: dict[str, tuple[int, int] | str] = {
    "신정": (1, 1), "새해": (1, 1), "새해첫날": (1, 1), "삼일절": (3, 1), "어린이날": (5, 5),
    "어버이날": (5, 8), "현충일": (6, 6), "제헌절": (7, 17), "광복절": (8, 15), "개천절": (10, 3),
    "한글날": (10, 9), "크리스마스": (12, 25), "성탄절": (12, 25), "크리스마스이브": (12, 24),
    "설날": "seollal", "설": "seollal", "구정": "seollal", "추석": "chuseok", "한가위": "chuseok",
    "석가탄신일": "buddha", "부처님오신날": "buddha",
}
DIRECTIONS = {
    "후": "after", "뒤": "after", "있다가": "after", "이후": "since",
    "전": "before", "이전": "before", "안": "within", "내": "within", "이내": "within_interval",
}
COMPARISONS = {"이상": "above", "초과": "above", "이하": "under", "미만": "under"}
ORDINAL_WORDS = {
    "첫째": 1, "첫번째": 1, "둘째": 2, "셋째": 3, "넷째": 4, "네째": 4, "다섯째": 5, "여섯째": 6,
    "일곱째": 7, "여덟째": 8, "아홉째": 9, "열째": 10, "마지막": -1,
}
TIME_ZONES = {"utc": 0, "gmt": 0, "kst": 9, "jst": 9, "cet": 1, "cest": 2, "eet": 2, "bst": 1,
              "est": -5, "edt": -4, "cst": -6, "cdt": -5, "mst": -7, "mdt": -6, "pst": -8, "pdt": -7}


def _build() -> dict[str, list[Reading]]:
    table: dict[str, list[Reading]] = {}

    def add(words: dict[str, Any] | list[str], tag: str, value: Any = None, *, use_value: bool = True) -> None:
        for word in words:
            item = words[word] if isinstance(words, dict) and use_value else value
            table.setdefault(word, []).append((tag, item))

    add(SINO_DIGITS, DIG)
    add(SINO_MULTIPLIERS, MUL)
    add(SINO_GROUPS, BIG)
    add({w: (v, False) for w, v in NATIVE.items()}, NAT)
    add({w: (v, True) for w, v in NATIVE_DETERMINERS.items()}, NAT)
    add({w: (v, False) for w, v in NATIVE_TENS.items()}, TENS)
    add({"스무": (20, True)}, TENS)
    add(["점", "쩜"], POINT)
    add(["분의"], FRAC)
    add(["마이너스", "마이나스"], MINUS)
    add(["몇"], FEW, 3)
    add(["반"], HALF)
    add({u: u for u in ["년", "월", "주", "일", "시", "분", "초", "시간", "달", "개월", "주일", "분기"]}, UNIT)
    add({w: (n, "일") for w, n in DAY_WORDS.items()}, DURWORD)
    add({"일주일": (1, "주")}, DURWORD)
    add({w: c for w, c in CURRENCIES.items() if not w.isascii()}, CUR)
    add(["번째", "째"], ORD)
    add(["첫"], FIRST)
    add(ORDINAL_WORDS, NTH)
    add(["번"], COUNTER)
    add(RELATIVE_DAYS, RELDAY)
    add(["지금", "방금", "현재"], NOW)
    add(WEEKDAYS, WEEKDAY)
    add({p: p for p in PARTS_OF_DAY}, POD)
    add({"정오": 12, "자정": 0}, NOON)
    add(MODIFIERS, MOD)
    add(RELATIVE_WORDS, REL)
    add({"유월": 6, "시월": 10}, MONTHNAME)
    add(["주말"], WEEKEND)
    add({s: s for s in SEASONS}, SEASON)
    add({h: h for h in HOLIDAYS}, HOLIDAY)
    add(["날"], DAYNOUN)
    add(DIRECTIONS, DIR)
    add(["동안", "간"], DURING)
    add(["부터", "에서", "에서부터"], FROM)
    add(["까지"], UNTIL)
    add(COMPARISONS, COMPARE)
    add({"약": "before", "대략": "before", "쯤": "after", "경": "after", "정도": "after"}, APPROX)
    return table


LEXICON: dict[str, list[Reading]] = _build()
MAX_WORD = max(map(len, LEXICON))
# The first characters of every word: a text without any of them (and without a digit) holds
# no value, which is most of what a chatbot hears.
FIRST_CHARS = frozenset(word[0] for word in LEXICON)

# Latin words the lexer reads (case-insensitively) next to digits.
LATIN_WORDS: dict[str, list[Reading]] = {
    "am": [(AMPM, "am")], "a": [(AMPM, "am")], "pm": [(AMPM, "pm")], "p": [(AMPM, "pm")],
    **{code: [(TZ, hours)] for code, hours in TIME_ZONES.items()},
    **{code: [(CUR, cur)] for code, cur in CURRENCIES.items() if code.isascii() and code.isalpha()},
}
SYMBOLS: dict[str, list[Reading]] = {
    **{sym: [(CUR, cur)] for sym, cur in CURRENCIES.items() if len(sym) == 1 and not sym.isalnum()},
    "~": [(RANGE, None)], "〜": [(RANGE, None)], "-": [(RANGE, None), (MINUS, None)], "–": [(RANGE, None)],
}
