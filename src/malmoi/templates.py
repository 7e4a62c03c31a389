"""Answer templates: ``"{DATE} {LOCATION} 날씨예요"`` with ``{{`` and ``}}`` for literal braces.

Only plain names are allowed, with an optional format after a colon for an entity's resolved
value: ``{DATE:%m월 %d일}`` (a time, with :meth:`datetime.strftime` directives, plus ``%-m``,
``%-d``, ``%-H``, ``%-I``, ``%-M``, ``%-S`` without the leading zero on every platform), ``{COUNT:,}``
(a number, with Python's format specification). ``str.format`` would also run ``{x.attr}`` and
``{x[0]}`` lookups, which a template written in ``bot.yaml`` has no business doing: they are refused.

A leaf module (it imports nothing of malmoi): the settings check the templates of ``bot.yaml``
with it, and the dialogue fills them, without either importing the other.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from datetime import datetime, timedelta, tzinfo
from typing import Any

__all__ = ["format_value", "render", "template_fields", "template_formats"]

_FORMATTER = string.Formatter()
_UNPADDED = re.compile(r"%-([mdHIMS])")


def template_formats(template: str) -> list[tuple[str, str]]:
    """``(name, format)`` of each field, in order (format ``""`` when none); ``ValueError`` naming
    the problem if the template is malformed.

    >>> template_formats("{LOCATION} {DATE:%m월 %d일}")
    [('LOCATION', ''), ('DATE', '%m월 %d일')]
    """
    try:
        parts = list(_FORMATTER.parse(template))
    except ValueError as exc:
        raise ValueError(
            f"the template {template!r} has unbalanced braces ({exc}); write {{{{ and }}}} for literal braces"
        ) from None
    fields = []
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if not name.isidentifier() or conversion or "{" in (spec or "") or "}" in (spec or ""):
            raise ValueError(
                f"the template {template!r} has {{{name}{'!' + conversion if conversion else ''}"
                f"{':' + spec if spec else ''}}}; only plain names like {{LOCATION}} are allowed, with a format "
                "after a colon for a resolved value ({DATE:%m월 %d일}, {COUNT:,})"
            )
        if spec and "%" not in spec:
            _check_number_format(template, name, spec)
        fields.append((name, spec or ""))
    return fields


def template_fields(template: str) -> list[str]:
    """The ``{names}`` a template uses, in order; ``ValueError`` naming the problem if malformed.

    >>> template_fields("{DATE} {LOCATION} 날씨는 {{맑음}}")
    ['DATE', 'LOCATION']
    """
    return [name for name, _ in template_formats(template)]


def _check_number_format(template: str, name: str, spec: str) -> None:
    for sample in (1234, 1234.5):
        try:
            format(sample, spec)
            return
        except ValueError:
            continue
    raise ValueError(
        f"the template {template!r} formats {{{name}}} with {spec!r}, which is neither a time format "
        "(with % directives, like %m월 %d일) nor a number format (like , or .1f)"
    )


def render(template: str, values: Mapping[str, object], resolved: Mapping[str, Any] | None = None,
           zone: tzinfo | None = None) -> str:
    """Fill a template; a name without a value raises ``KeyError`` with that name.

    ``{NAME}`` is ``values[NAME]`` (what the user said); ``{NAME:format}`` formats
    ``resolved[NAME]`` (:func:`format_value`, times shown in ``zone``), or shows ``values[NAME]``
    when it has no resolved value of a kind the format fits.
    """
    out = []
    for literal, name, spec, _ in _FORMATTER.parse(template):
        out.append(literal)
        if name is None:
            continue
        value = values[name]
        if spec and resolved is not None and resolved.get(name) is not None:
            formatted = format_value(resolved[name], spec, zone)
            if formatted is not None:
                out.append(formatted)
                continue
        out.append("" if value is None else str(value))
    return "".join(out)


def format_value(value: Any, spec: str, zone: tzinfo | None = None) -> str | None:
    """A resolved entity value shown by ``spec``; None when the value is not of a kind it fits.

    - a time (an ISO 8601 string) with a ``%`` format: in ``zone`` if given. An interval
      ``{"from", "to"}`` shows both ends joined by `` ~ ``; an end at midnight shows the day before
      (``다음 주말``: Friday ~ Sunday, not Monday);
    - a number, a money amount (``{"amount"}``) or a duration in seconds with a number format.

    >>> format_value("2024-05-16T20:00:00+09:00", "%-m월 %-d일 %H시")
    '5월 16일 20시'
    >>> format_value({"amount": 42000, "currency": "KRW"}, ",")
    '42,000'
    """
    if "%" in spec:
        if isinstance(value, str):
            moment = _moment(value, zone)
            return None if moment is None else _strftime(moment, spec)
        if isinstance(value, Mapping) and ("from" in value or "to" in value):
            start = _moment(value.get("from"), zone)
            end = _moment(value.get("to"), zone)
            if end is not None and (end.hour, end.minute, end.second) == (0, 0, 0):
                end -= timedelta(seconds=1)  # an interval that ends when a day is over
            shown = [_strftime(m, spec) for m in (start, end) if m is not None]
            if len(shown) == 2 and shown[0] == shown[1]:
                shown = shown[:1]
            return " ~ ".join(shown) if shown else None
        return None
    number = value
    if isinstance(value, Mapping):
        number = value.get("amount", value.get("seconds"))
    if isinstance(number, (int, float)) and not isinstance(number, bool):
        try:
            return format(number, spec)
        except ValueError:
            return None
    return None


def _moment(text: Any, zone: tzinfo | None) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.astimezone(zone) if zone is not None and moment.tzinfo is not None else moment


def _strftime(moment: datetime, spec: str) -> str:
    # `%-d` is glibc's; Windows' strftime refuses it. Done here, the same everywhere.
    portable = _UNPADDED.sub(lambda m: str(int(moment.strftime(f"%{m[1]}"))).replace("%", "%%"), spec)
    return moment.strftime(portable)
