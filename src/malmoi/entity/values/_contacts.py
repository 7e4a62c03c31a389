"""Phone numbers, emails and urls: shapes of ASCII text, read with a regular expression each.

Each pattern is linear (no nested repetition), so a long input costs linear time.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# Korean numbers: mobile 010-1234-5678, Seoul 02-123-4567, regions 031-123-4567, internet 070,
# personal 050X, representative 1588-1234; +82 drops the leading 0. Separators: - . space or none.
_PHONE = re.compile(
    r"(?<![\d+])(?:"
    r"(?P<intl>\+82[-. ]?(?:\(0\))?)?(?P<area>0?1[016789]|0?2|0?[3-6][1-5]|0?70|0?50\d)"
    r"[-. )]?(?P<mid>\d{3,4})[-. ]?(?P<last>\d{4})"
    r"|(?P<rep>1[5-9]\d{2})-(?P<replast>\d{4})"
    r")(?!\d)"
)
_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,24}(?![A-Za-z0-9])")
_URL = re.compile(
    r"(?<![\w@.-])(?:(?P<scheme>https?)://[^\s<>\"'가-힣]+"
    r"|(?:www\.)?(?:[A-Za-z0-9-]+\.)+(?:com|net|org|kr|io|co|me|app|dev|info|biz|edu|gov|ai)(?![A-Za-z0-9])"
    r"(?:[/?#][^\s<>\"'가-힣]*)?)",
    re.IGNORECASE,
)
_TRAILING = ".,!?;:)]}'\""


def find_phones(text: str) -> list[tuple[int, int, str]]:
    out: list[tuple[int, int, str]] = []
    if sum(ch.isdigit() for ch in text) < 7:
        return out
    for match in _PHONE.finditer(text):
        if match.group("rep"):
            normal = f"{match.group('rep')}-{match.group('replast')}"
        else:
            area = match.group("area")
            if match.group("intl"):
                area = area if area.startswith("0") else "0" + area
            elif not area.startswith("0"):
                continue  # a bare "10 1234 5678" without 0 or +82 is no phone number
            normal = f"{area}-{match.group('mid')}-{match.group('last')}"
        out.append((match.start(), match.end(), normal))
    return out


def find_emails(text: str) -> list[tuple[int, int, str]]:
    out: list[tuple[int, int, str]] = []
    if "@" not in text:
        return out
    for match in _EMAIL.finditer(text):
        local, domain = match.group().rsplit("@", 1)
        out.append((match.start(), match.end(), f"{local}@{domain.lower()}"))
    return out


def find_urls(text: str) -> list[tuple[int, int, str]]:
    out: list[tuple[int, int, str]] = []
    if "." not in text:
        return out
    for match in _URL.finditer(text):
        url = match.group().rstrip(_TRAILING)
        if not url:
            continue
        end = match.start() + len(url)
        scheme, sep, rest = url.partition("://")
        if not sep:
            scheme, rest = "http", url
        host, slash, path = rest.partition("/")
        out.append((match.start(), end, f"{scheme.lower()}://{host.lower()}{slash}{path}"))
    return out


CONTACT_FINDERS: dict[str, Callable[[str], list[tuple[int, int, str]]]] = {
    "phone": find_phones,
    "email": find_emails,
    "url": find_urls,
}
