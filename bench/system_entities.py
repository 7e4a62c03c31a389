"""System entities against Duckling's own Korean test corpora, side by side, and their speed.

Reads Duckling's ``*.Corpus.hs`` files (../shared/data/duckling-ko: Time, Numeral,
AmountOfMoney, Duration, Ordinal; reference time 2013-02-12 04:30:00 at UTC-2) and counts, for
every case, whether a system resolves the text to Duckling's value (the longest value found must
equal it, grain included for times). Systems, in one run:

- malmoi: ``malmoi.entity.values.find_values`` (the default grammar);
- Duckling: embedded, ``pip install 'malmoi[duckling]'`` (pyduckling-native-phihos);
- dateparser (Korean locale) and korean-datetime, for times only, if installed.

Besides the cases as written it scores three variants: spaced ("다음주" → "다음 주",
"오후두시반" → "오후 두 시 반", by the spacing rules in :func:`spaced`), a particle after the
case ("금요일에", "8시에"), and both. Every miss is listed; where Duckling's own value is arguably
wrong for Korean the list says why (:data:`DISAGREEMENTS`), and it still counts as a miss.

Speed: time per sentence (one thread), p50/p99, on Kochat demo sentences (all system kinds on;
malmoi given the Kiwi tokens a parse already has, and with tokenization) and on the corpora.

    python bench/system_entities.py                      # → bench/results/system_entities.json
    python bench/system_entities.py --sentences 500 --out /tmp/se.json   # quicker
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import _userpath as up
from malmoi.entity.values import SYSTEM_KINDS, Value, find_values
from malmoi.entity.values.duckling import CORPUS_FILES, CORPUS_NOW, Case, read_corpus
from malmoi.text import Analyzer, get_tokenizer

CORPORA = up.DATA / "duckling-ko"
KOCHAT = up.DATA / "kochat-demo" / "raw"

# Cases where Duckling's expected value is arguably wrong for Korean, or where the text means
# something else in a chatbot. They count as misses all the same.
DISAGREEMENTS = {
    "이번주 월요일": "this week's Monday, said on Tuesday 2013-02-12, is the day before (02-11); Duckling says 02-18",
    "전주": "to Kiwi and to a weather bot, 전주 is the city Jeonju; 'last week' is 지난주/저번주",
    "1954": "a bare number is not a year in a chatbot (1954번 버스); 1954년 is",
    "설날": "설날 is the lunar new year (2014-01-31); Duckling gives the solar 1 January (신정)",
    "몇시간후": "'N 후' is a moment (a few hours later), not an open interval; 이후 is open",
    "5일 후": "'5일 후' is the moment five days on, not an open interval; 5일 이후 is open",
    "9:30 부터 11:00": "a range ending at a clock time ends at that time (11:00), not a minute later",
    "9:30 ~ 11:00": "a range ending at a clock time ends at that time (11:00), not a minute later",
    "목요일 9:30 부터 11:00": "a range ending at a clock time ends at that time (11:00), not a minute later",
    "목요일 9:30 ~ 11:00": "a range ending at a clock time ends at that time (11:00), not a minute later",
    "목요일 오전9시 부터 오전11시": "a range 'until 11 a.m.' ends at 11:00, not at 12:00",
    "11:30-1:30": "a range ending at a clock time ends at that time (13:30), not a minute later",
    "빵": "빵 is bread; as zero it is slang for scores and phone digits only",
    "이불이십삼센트": "이불 is a blanket: 이 불 (2 dollars) needs a space or digits here",
    "시간반": "시간 반 is an hour and a half (colloquial for 한 시간 반), not 30 minutes",
    "시반": "not Korean for any duration",
}

_NUMERALS = "영공일이삼사오육칠팔구십백천만억하나둘셋넷다섯여일곱덟아홉열스물무서른마흔쉰예순흔든한두세네몇첫"
_UNITS = "시간|시|분기|분(?!의)|초|주일|주|일|월|년|달|개월|원|달러|불|센트|유로|파운드|번째"
# Sentences written for this project, said on Wednesday 2024-05-15 at 10:00 in Seoul: chatbot
# requests with one value each, points only (no interval conventions involved).
PROJECT_NOW = datetime(2024, 5, 15, 10, 0, tzinfo=ZoneInfo("Asia/Seoul"))
PROJECT_CASES: list[tuple[str, str, Any, str | None]] = [
    ("목요일", "time", "2024-05-16T00:00:00+09:00", "day"),
    ("목요일 저녁 8시", "time", "2024-05-16T20:00:00+09:00", "hour"),
    ("내일 부산 날씨 알려줘", "time", "2024-05-16T00:00:00+09:00", "day"),
    ("모레 오후 3시에 만나", "time", "2024-05-17T15:00:00+09:00", "hour"),
    ("글피 날씨 어때", "time", "2024-05-18T00:00:00+09:00", "day"),
    ("그저께 주문한 거 언제 와", "time", "2024-05-13T00:00:00+09:00", "day"),
    ("다음 주 금요일 저녁 7시", "time", "2024-05-24T19:00:00+09:00", "hour"),
    ("다음주 월요일에 예약해줘", "time", "2024-05-20T00:00:00+09:00", "day"),
    ("이번 주 토요일", "time", "2024-05-18T00:00:00+09:00", "day"),
    ("10분 뒤에 알려줘", "time", "2024-05-15T10:10:00+09:00", "second"),
    ("30분 후에 다시 물어봐", "time", "2024-05-15T10:30:00+09:00", "second"),
    ("3시간 전에 보낸 메일", "time", "2024-05-15T07:00:00+09:00", "minute"),
    ("나흘 뒤", "time", "2024-05-19T10:00:00+09:00", "hour"),
    ("사흘 뒤에 출발해", "time", "2024-05-18T10:00:00+09:00", "hour"),
    ("이틀 후에 와", "time", "2024-05-17T10:00:00+09:00", "hour"),
    ("밤 11시에 알람", "time", "2024-05-15T23:00:00+09:00", "hour"),
    ("오늘 밤 10시", "time", "2024-05-15T22:00:00+09:00", "hour"),
    ("새벽 3시에 깨워줘", "time", "2024-05-16T03:00:00+09:00", "hour"),
    ("저녁 6시 반에 봐", "time", "2024-05-15T18:30:00+09:00", "minute"),
    ("오후 두 시 반", "time", "2024-05-15T14:30:00+09:00", "minute"),
    ("다음 달 3일", "time", "2024-06-03T00:00:00+09:00", "day"),
    ("6월 1일 오전 9시", "time", "2024-06-01T09:00:00+09:00", "hour"),
    ("다음 달에 가자", "time", "2024-06-01T00:00:00+09:00", "month"),
    ("내년 3월", "time", "2025-03-01T00:00:00+09:00", "month"),
    ("사람 두 명", "number", 2, None),
    ("커피 네 잔 주세요", "number", 4, None),
    ("세 개만 주세요", "number", 3, None),
    ("이천삼백", "number", 2300, None),
    ("2,500개", "number", 2500, None),
    ("어른 다섯 명이요", "number", 5, None),
    ("사만 이천 원", "money", {"amount": 42000, "currency": "KRW"}, None),
    ("4만2천원이요", "money", {"amount": 42000, "currency": "KRW"}, None),
    ("42,000원 결제", "money", {"amount": 42000, "currency": "KRW"}, None),
    ("15유로", "money", {"amount": 15, "currency": "EUR"}, None),
    ("오천 원짜리", "money", {"amount": 5000, "currency": "KRW"}, None),
    ("세 시간 걸려요", "duration", {"seconds": 10800}, None),
    ("이틀 동안 묵을게요", "duration", {"seconds": 172800}, None),
    ("한 달 걸려", "duration", {"seconds": 2592000}, None),
    ("30분 정도", "duration", {"seconds": 1800}, None),
]

# Variants that read as something else (they count as misses too).
VARIANT_NOTES = {
    "한은": "한은 is the Bank of Korea (한국은행) to Kiwi, and to readers",
    "일억 이": "Kiwi reads a lone 이 after a space as the subject particle",
}

_GROUPS = (r"(만|억)(?=[영공일이삼사오육칠팔구십백천])", r"\1 ")  # 만 이천: numbers spaced by 만
_SPACING = [
    (r"(다음|이번|지난|저번|오는)(?=[가-힣])", r"\1 "),
    (r"(오늘|내일|어제|엊그제|그제)(?!모레)(?=[가-힣0-9])(?![에은는의도])", r"\1 "),
    (r"(오전|오후|아침|점심|저녁|밤)(?=[가-힣0-9])(?![에은는의도])", r"\1 "),
    (r"(마지막|첫째|둘째|셋째|넷째|번째)(?=[가-힣])", r"\1 "),
    (rf"([{_NUMERALS}]+)({_UNITS})", r"\1 \2"),
    (rf"(시간|시|분|초|년|월|달러|불|원|유로)(?=[{_NUMERALS}])", r"\1 "),
    (r"(시간|시)반", r"\1 반"),
    (r"(?<=[간분초일주년달반루])(이후|이전|이내|후|뒤|전|안|내)", r" \1"),
    _GROUPS,
]
_KEEP_WHOLE = ["삼일절", "크리스마스이브", "내일모레", "사분의삼"]


def spaced(text: str, kind: str) -> str:
    """The text with the spaces Korean spelling puts in (numeral and unit, modifier and noun);
    a number alone only by groups of 만 (오만 팔천)."""
    if any(word in text for word in _KEEP_WHOLE):
        return text
    for pattern, replacement in [_GROUPS] if kind == "number" else _SPACING:
        text = re.sub(pattern, replacement, text)
    return re.sub(r" +", " ", text)


def _has_final_consonant(text: str) -> bool:
    last = text.rstrip()[-1]
    if "가" <= last <= "힣":
        return (ord(last) - 0xAC00) % 28 != 0
    return last in "0136789"  # 영 일 삼 육 칠 팔 (구 and 이/사/오 end in a vowel)


def with_particle(text: str, kind: str) -> str | None:
    """The text with a particle after it, as a user would type it; None where none fits."""
    if kind == "time":
        return None if text.endswith(("에", "까지")) else text + "에"
    if kind == "money":
        return text + ("으로" if _has_final_consonant(text) else "로")
    return text + ("은" if _has_final_consonant(text) else "는")


# -- systems ---------------------------------------------------------------------------------

Finder = Callable[[str, str, datetime], list[Value]]  # (text, kind, reference time) → values


def _dateparser() -> Finder | None:
    try:
        from dateparser.search import search_dates
    except ImportError:
        return None

    def find(text: str, kind: str, now: datetime) -> list[Value]:
        settings = {"RELATIVE_BASE": now.replace(tzinfo=None), "PREFER_DATES_FROM": "future",
                    "RETURN_AS_TIMEZONE_AWARE": False}
        out = []
        for found_text, moment in search_dates(text, languages=["ko"], settings=settings) or []:
            start = text.find(found_text)
            # dateparser has no grain: "lenient" scoring cuts its answer to the expected grain.
            resolved = moment.replace(tzinfo=now.tzinfo).isoformat()
            out.append(Value("time", start, start + len(found_text), found_text, resolved, None))
        return out

    return find


def _korean_datetime() -> Finder | None:
    try:
        import korean_datetime
    except ImportError:
        return None

    def find(text: str, kind: str, now: datetime) -> list[Value]:
        out = []
        for expression in korean_datetime.parse_all(text, now=now.replace(tzinfo=None)):
            start = expression.start.replace(tzinfo=now.tzinfo).isoformat()
            end = expression.end.replace(tzinfo=now.tzinfo).isoformat() if expression.end else None
            direction = getattr(expression.direction, "value", expression.direction)
            if direction in ("after", "since"):
                resolved: Any = {"from": start}
            elif direction == "before":
                resolved = {"to": start}
            elif expression.is_range and end:
                resolved = {"from": start, "to": end}
            else:
                resolved = start
            s, e = expression.span
            out.append(Value("time", s, e, text[s:e], resolved, getattr(expression.grain, "value", None)))
        return out

    return find


def systems(with_duckling: bool) -> dict[str, tuple[Finder, tuple[str, ...], str]]:
    """name → (finder, kinds it has, how it is scored)."""
    out: dict[str, tuple[Finder, tuple[str, ...], str]] = {
        "malmoi": (lambda text, kind, now: find_values(text, [kind], now=now), tuple(CORPUS_FILES.values()), "strict")
    }
    if with_duckling:
        try:
            from malmoi.entity.values.duckling import EmbeddedDuckling

            duckling = EmbeddedDuckling("ko")
            out["duckling"] = (lambda text, kind, now: duckling.find_values(text, [kind], now=now),
                               tuple(CORPUS_FILES.values()), "strict")
        except ImportError as error:
            print(f"Duckling skipped: {error}", file=sys.stderr)
    found = _dateparser()
    if found:
        out["dateparser"] = (found, ("time",), "lenient: no grain; its answer cut to the expected grain")
    found = _korean_datetime()
    if found:
        out["korean-datetime"] = (found, ("time",), "strict")
    return out


def _lenient(resolved: Any, expected: Any, grain: str | None) -> bool:
    if not isinstance(resolved, str) or not isinstance(expected, str) or grain is None:
        return False
    from malmoi.entity.values._calendar import truncate

    moment = datetime.fromisoformat(resolved)
    return truncate(moment, grain if grain != "quarter" else "month") == datetime.fromisoformat(expected)


def score(finder: Finder, scoring: str, case: Case, text: str, particle: str = "") -> dict[str, Any]:
    try:
        values = finder(text, case.kind, CORPUS_NOW)
    except Exception as error:  # a third-party parser failing on a text is a miss, with its reason
        return {"passed": False, "got": f"error: {type(error).__name__}: {error}"}
    best = max(values, key=lambda v: v.end - v.start, default=None)
    if best is None:
        return {"passed": False, "got": None}
    if scoring == "strict":
        passed = best.resolved == case.expected and best.grain == case.grain
    else:
        passed = _lenient(best.resolved, case.expected, case.grain)
    out = {"passed": passed, "got": [best.text, best.resolved, best.grain]}
    if particle:
        out["particle_outside"] = best.end <= len(text) - len(particle)
    return out


def variants(cases: Sequence[Case]) -> dict[str, list[tuple[Case, str, str]]]:
    """Set name → (case, text, particle): the cases as written, spaced, with a particle, both."""
    sets: dict[str, list[tuple[Case, str, str]]] = {"corpus": [], "spaced": [], "particle": [], "spaced+particle": []}
    for case in cases:
        sets["corpus"].append((case, case.text, ""))
        wide = spaced(case.text, case.kind)
        if wide != case.text:
            sets["spaced"].append((case, wide, ""))
        for name, base in (("particle", case.text), ("spaced+particle", wide)):
            marked = with_particle(base, case.kind)
            if marked is not None and (name == "particle" or wide != case.text):
                sets[name].append((case, marked, marked[len(base):]))
    return sets


def accuracy(all_systems: dict[str, tuple[Finder, tuple[str, ...], str]], cases: Sequence[Case]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for set_name, items in variants(cases).items():
        by_system: dict[str, Any] = {}
        for name, (finder, kinds, scoring) in all_systems.items():
            per_kind: dict[str, dict[str, int]] = {}
            misses = []
            particle_outside = [0, 0]
            for case, text, particle in items:
                if case.kind not in kinds:
                    continue
                result = score(finder, scoring, case, text, particle)
                tally = per_kind.setdefault(case.kind, {"cases": 0, "passed": 0})
                tally["cases"] += 1
                tally["passed"] += result["passed"]
                if "particle_outside" in result:
                    particle_outside[0] += result["particle_outside"]
                    particle_outside[1] += 1
                if not result["passed"]:
                    miss = {"kind": case.kind, "text": text, "expected": [case.expected, case.grain],
                            "got": result["got"]}
                    why = DISAGREEMENTS.get(case.text) or VARIANT_NOTES.get(text)
                    if why:
                        miss["why"] = why
                    misses.append(miss)
            total = sum(t["cases"] for t in per_kind.values())
            passed = sum(t["passed"] for t in per_kind.values())
            by_system[name] = {"scoring": scoring, "per_kind": per_kind, "cases": total, "passed": passed,
                               "rate": round(passed / total, 4) if total else None, "misses": misses}
            if particle_outside[1]:
                by_system[name]["particle_outside_span"] = round(particle_outside[0] / particle_outside[1], 4)
        out[set_name] = by_system
    out["variants, all"] = {
        name: {"cases": sum(out[v][name]["cases"] for v in ("spaced", "particle", "spaced+particle")),
               "passed": sum(out[v][name]["passed"] for v in ("spaced", "particle", "spaced+particle"))}
        for name in all_systems}
    for row in out["variants, all"].values():
        row["rate"] = round(row["passed"] / row["cases"], 4) if row["cases"] else None
    return out


def project(all_systems: dict[str, tuple[Finder, tuple[str, ...], str]]) -> dict[str, Any]:
    """PROJECT_CASES: a case passes if one of the values found is the expected one; values of
    the same kind that are not (4 from the 사 of 사람) are counted as spurious."""
    out: dict[str, Any] = {}
    for name, (finder, kinds, scoring) in all_systems.items():
        if scoring != "strict":
            continue
        cases = [c for c in PROJECT_CASES if c[1] in kinds and c[2] is not None]
        passed, spurious, misses = 0, 0, []
        for text, kind, expected, grain in cases:
            values = _at(finder, text, kind, PROJECT_NOW)
            hits = [v for v in values if v.resolved == expected and v.grain == grain]
            passed += bool(hits)
            spurious += len(values) - len(hits)
            if not hits:
                misses.append({"text": text, "kind": kind, "expected": [expected, grain],
                               "got": [[v.text, v.resolved, v.grain] for v in values]})
        out[name] = {"cases": len(cases), "passed": passed, "rate": round(passed / len(cases), 4),
                     "spurious_values": spurious, "misses": misses}
    return out


def _at(finder: Finder, text: str, kind: str, now: datetime) -> list[Value]:
    try:
        return finder(text, kind, now)
    except Exception:  # a third-party parser failing on a text finds nothing
        return []


def kochat_dates(all_systems: dict[str, tuple[Finder, tuple[str, ...], str]], n: int) -> dict[str, Any]:
    """Share of the DATE entities of Kochat's demo data (the dataset's own tags) that a system
    finds a time in (any overlap; the value is not checked, Kochat has none)."""
    rows = []
    for path in sorted(KOCHAT.glob("*.csv")):
        with open(path, encoding="utf-8", newline="") as handle:
            for row in csv.reader(handle):
                if len(row) >= 2 and "DATE" in row[1] and len(row[0].split()) == len(row[1].split()):
                    rows.append(row)
    random.Random(0).shuffle(rows)
    rows = rows[:n]
    out: dict[str, Any] = {}
    for name, (finder, kinds, _) in all_systems.items():
        if "time" not in kinds:
            continue
        gold = found = 0
        missed: dict[str, int] = {}
        for text, tags in rows:
            spans, offset = [], 0
            for word, tag in zip(text.split(), tags.split()):
                start = text.index(word, offset)
                offset = start + len(word)
                if tag.endswith("DATE"):
                    if tag[0] in "BS" or not spans:
                        spans.append([start, offset])
                    else:
                        spans[-1][1] = offset
            values = _at(finder, text, "time", PROJECT_NOW)
            for start, end in spans:
                gold += 1
                if any(v.start < end and start < v.end for v in values):
                    found += 1
                else:
                    missed[text[start:end]] = missed.get(text[start:end], 0) + 1
        out[name] = {"sentences": len(rows), "date_entities": gold, "found": found,
                     "rate": round(found / gold, 4) if gold else None,
                     "missed_most": sorted(missed.items(), key=lambda kv: -kv[1])[:15]}
    return out


# -- speed -----------------------------------------------------------------------------------


def _percentiles(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    at = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e6  # noqa: E731
    return {"p50_us": round(at(0.5), 1), "p99_us": round(at(0.99), 1),
            "mean_us": round(sum(ordered) / len(ordered) * 1e6, 1), "sentences": len(ordered)}


def _timed(texts: Sequence[str], call: Callable[[str], object], warm: int = 50) -> dict[str, float]:
    for text in texts[:warm]:
        call(text)
    seconds = []
    for text in texts:
        began = time.perf_counter()
        call(text)
        seconds.append(time.perf_counter() - began)
    return _percentiles(seconds)


def kochat_sentences(n: int) -> list[str]:
    texts = []
    for path in sorted(KOCHAT.glob("*.csv")):
        with open(path, encoding="utf-8", newline="") as handle:
            rows = csv.reader(handle)
            next(rows)
            texts.extend(row[0] for row in rows if row and row[0].strip())
    random.Random(0).shuffle(texts)
    return texts[:n]


def speed(all_systems: dict[str, Any], sentences: Sequence[str], corpus_texts: Sequence[str]) -> dict[str, Any]:
    now = datetime(2024, 5, 15, 10, 0, tzinfo=ZoneInfo("Asia/Seoul"))
    kinds = list(SYSTEM_KINDS)
    analyzer = Analyzer("ko")
    tokenizer = get_tokenizer("ko")
    docs = {text: analyzer(text) for text in [*sentences, *corpus_texts]}
    callers: dict[str, Callable[[str], object]] = {
        "malmoi (tokens given)": lambda t: find_values(docs[t].normalized, kinds, now=now, tokens=docs[t].tokens),
        "malmoi (with Kiwi)": lambda t: find_values(t, kinds, now=now, tokens=tokenizer.tokenize(t)),
        "Kiwi alone": tokenizer.tokenize,
    }
    if "duckling" in all_systems:
        from malmoi.entity.values.duckling import EmbeddedDuckling

        duckling = EmbeddedDuckling("ko")
        callers["duckling"] = lambda t: duckling.raw(t, kinds, now=now)
    if "dateparser" in all_systems:
        from dateparser.search import search_dates

        callers["dateparser (time)"] = lambda t: search_dates(t, languages=["ko"])
    if "korean-datetime" in all_systems:
        import korean_datetime

        callers["korean-datetime (time)"] = lambda t: korean_datetime.parse_all(t, now=now.replace(tzinfo=None))
    return {label: {name: _timed(texts, call) for name, call in callers.items()}
            for label, texts in (("kochat", sentences), ("corpora", corpus_texts))}


def _print(report: dict[str, Any]) -> None:
    kinds = list(CORPUS_FILES.values())
    for set_name, by_system in report["accuracy"].items():
        if set_name == "variants, all":
            print("\nall variants together (spaced, particle, both):")
            for name, row in by_system.items():
                print(f"  {name:<17}{row['passed']:>6}/{row['cases']:<4}{row['rate']:>7.1%}")
            continue
        print(f"\n{set_name}: resolved to Duckling's value")
        print(f"  {'system':<17}" + "".join(f"{k:>14}" for k in kinds) + f"{'all':>16}")
        for name, row in by_system.items():
            cells = []
            for kind in kinds:
                tally = row["per_kind"].get(kind)
                cells.append(f"{tally['passed']:>5}/{tally['cases']:<4}" + f"{tally['passed'] / tally['cases']:>5.0%}"
                             if tally else f"{'-':>14}")
            outside = row.get("particle_outside_span")
            extra = f"  particle outside span {outside:.0%}" if outside is not None else ""
            print(f"  {name:<17}" + "".join(f"{c:>14}" for c in cells)
                  + f"{row['passed']:>6}/{row['cases']:<4}{row['rate']:>6.1%}{extra}")
    print("\nmalmoi's misses on the corpus:")
    for miss in report["accuracy"]["corpus"]["malmoi"]["misses"]:
        print(f"  {miss['kind']:<9}{miss['text']!r}: expected {miss['expected']}, got {miss['got']}"
              + (f"  [{miss['why']}]" if "why" in miss else ""))
    print(f"\nsentences written for this project ({len(PROJECT_CASES)} cases, said {PROJECT_NOW}):")
    for name, row in report["project"].items():
        print(f"  {name:<17}{row['passed']:>4}/{row['cases']:<4}{row['rate']:>7.1%}"
              f"   spurious values {row['spurious_values']}")
        for miss in row["misses"]:
            print(f"      {miss['kind']:<9}{miss['text']!r}: expected {miss['expected']}, got {miss['got']}")
    print("\nKochat demo DATE entities holding a time found by the system:")
    for name, row in report["kochat_dates"].items():
        print(f"  {name:<17}{row['found']:>5}/{row['date_entities']:<5}{row['rate']:>7.1%}   most missed "
              + ", ".join(f"{text} ×{count}" for text, count in row["missed_most"][:6]))
    for label, rows in report["speed"].items():
        print(f"\nspeed per sentence, one thread, {label} ({next(iter(rows.values()))['sentences']} texts):")
        for name, figures in rows.items():
            print(f"  {name:<26} p50 {figures['p50_us']:>8.1f} µs   p99 {figures['p99_us']:>9.1f} µs"
                  f"   mean {figures['mean_us']:>8.1f} µs")
    print(f"\nload average before/after: {report['load_average']}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=up.RESULTS / "system_entities.json")
    parser.add_argument("--sentences", type=int, default=2000, help="Kochat demo sentences timed (default 2000)")
    parser.add_argument("--no-duckling", action="store_true", help="leave embedded Duckling out")
    parser.add_argument("--date-sentences", type=int, default=3000,
                        help="Kochat sentences with DATE entities checked for a time (default 3000)")
    args = parser.parse_args(argv)
    if not CORPORA.is_dir():
        print(f"no Duckling corpora at {CORPORA}: this benchmark reads ../shared/data/duckling-ko", file=sys.stderr)
        return 2
    load_before = os.getloadavg()
    cases = [case for name in CORPUS_FILES for case in read_corpus(CORPORA / f"{name}.Corpus.hs")]
    all_systems = systems(not args.no_duckling)
    report: dict[str, Any] = {"command": up.command_line(), "machine": up.machine(),
                              "reference_time": CORPUS_NOW.isoformat(), "disagreements": DISAGREEMENTS}
    report["accuracy"] = accuracy(all_systems, cases)
    report["project"] = project(all_systems)
    report["kochat_dates"] = kochat_dates(all_systems, args.date_sentences)
    corpus_texts = list(dict.fromkeys(case.text for case in cases))
    report["speed"] = speed(all_systems, kochat_sentences(args.sentences), corpus_texts)
    report["load_average"] = [round(x, 2) for x in (*load_before, *os.getloadavg())]
    _print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", "utf-8")
    print(f"\nsaved {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
