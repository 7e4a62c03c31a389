"""Pattern entities: compiled once, bad ones reported with the fix, a bound on backtracking."""

from __future__ import annotations

import logging
import time

import pytest

from malmoi.data.problems import Problem
from malmoi.entity.values.patterns import compile_pattern, compile_patterns, find_patterns


def test_matches_of_a_pattern_are_values() -> None:
    problems: list[Problem] = []
    patterns = compile_patterns({"ORDER_ID": r"[A-Z]{2}-\d{6}", "TICKET": r"티켓 (?P<value>\d{4})"}, problems)
    assert problems == []
    values = find_patterns("주문 AB-123456, 티켓 0042 확인", patterns)
    assert [(v.kind, v.text, v.resolved) for v in values] == [
        ("ORDER_ID", "AB-123456", "AB-123456"), ("TICKET", "티켓 0042", "0042")]


def test_an_invalid_pattern_names_the_line_the_error_and_the_fix() -> None:
    problems: list[Problem] = []
    assert compile_pattern("ORDER_ID", "[A-Z{2}-\\d{6}", problems, where="bot.yaml", line=7) is None
    [problem] = problems
    assert (problem.file, problem.line) == ("bot.yaml", 7)
    assert "unterminated character set at position 13" in problem.found and "backslash" in problem.hint
    assert str(problem).startswith("bot.yaml:7: error: found the pattern `[A-Z{2}-\\d{6}` of `ORDER_ID`")


@pytest.mark.parametrize(("entity", "pattern", "found"), [
    ("ORDER_ID", r"\d*", "matches empty text"),
    ("ORDER_ID", 42, "the pattern 42"),
    ("order id", r"\d+", "the entity type `order id`"),
])
def test_unusable_patterns(entity: str, pattern: object, found: str) -> None:
    problems: list[Problem] = []
    assert compile_pattern(entity, pattern, problems, line=3) is None
    assert found in problems[0].found and problems[0].line == 3


def test_a_catastrophic_pattern_is_cut_short(caplog: pytest.LogCaptureFixture) -> None:
    # (a|aa)+b on "aaa...c" backtracks through 2^60 ways with `re`; the timeout stops it.
    patterns = compile_patterns({"SLOW": r"(a|aa)+b", "FINE": r"c"}, [])
    began = time.perf_counter()
    with caplog.at_level(logging.WARNING, logger="malmoi"):
        values = find_patterns("a" * 60 + "c", patterns)
    assert time.perf_counter() - began < 1.0
    assert [v.kind for v in values] == ["FINE"]
    assert "the pattern of SLOW took over" in caplog.text
