"""Duckling interop: its JSON in malmoi's representation, and the polite error without it."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone

import pytest

from malmoi.entity.values.duckling import CORPUS_NOW, EmbeddedDuckling, convert

NOW = datetime(2013, 2, 12, 4, 30, tzinfo=timezone(timedelta(hours=-2)))


def test_duckling_values_convert_to_malmois() -> None:
    point = {"type": "value", "value": "2013-02-13T03:00:00.000-02:00", "grain": "hour"}
    assert convert("time", point, NOW) == ("2013-02-13T03:00:00-02:00", "hour")
    interval = {"type": "interval", "from": {"value": "2013-02-15T18:00:00.000-02:00", "grain": "hour"},
                "to": {"value": "2013-02-18T00:00:00.000-02:00", "grain": "hour"}}
    assert convert("time", interval, NOW) == (
        {"from": "2013-02-15T18:00:00-02:00", "to": "2013-02-18T00:00:00-02:00"}, "hour")
    assert convert("money", {"type": "value", "value": 10, "unit": "cent"}, NOW) == (
        {"amount": 0.1, "currency": "USD"}, None)
    assert convert("money", {"type": "interval", "from": {"value": 10, "unit": "$"}}, NOW) == (
        {"from": {"amount": 10, "currency": "USD"}}, None)
    assert convert("duration", {"value": 30, "unit": "minute", "normalized": {"value": 1800, "unit": "second"}},
                   NOW) == ({"seconds": 1800}, None)
    assert convert("number", {"value": 3.0}, NOW) == (3, None)


def test_without_the_extra_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "duckling", None)
    with pytest.raises(ImportError, match=r"pip install 'malmoi\[duckling\]'"):
        EmbeddedDuckling("ko")


def test_embedded_duckling_answers_values() -> None:
    pytest.importorskip("duckling", reason="pyduckling-native-phihos (malmoi[duckling]) is not installed")
    values = EmbeddedDuckling("ko").find_values("내일 저녁 8시", ["time"], now=CORPUS_NOW)
    assert [(v.text, v.resolved, v.grain) for v in values] == [
        ("내일 저녁 8시", "2013-02-13T20:00:00-02:00", "hour")]
