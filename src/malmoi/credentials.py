"""Credentials in ``bot.yaml``: references to the server's environment, never literal values.

``bot.yaml`` travels: it is snapshotted with every published version (``malmoi publish --data``)
and, until scenarios leave the model, saved in ``model.json``. A webhook's credential is therefore
written as a reference, ``Authorization: "Bearer ${SHOP_TOKEN}"``, and the server substitutes
``SHOP_TOKEN`` from its environment when it starts (a missing variable stops the start with a
message that names it). A literal value where a credential goes is refused with that fix.

This module imports nothing of malmoi, so settings can use it.

>>> substitute("Bearer ${TOKEN}", {"TOKEN": "abc"})
'Bearer abc'
>>> literal_secret("https://shop.example/api", {"Authorization": "Bearer ${SHOP_TOKEN}"}) is None
True
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, urlsplit

__all__ = ["literal_secret", "referenced_variables", "substitute"]

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Header and query-parameter names that carry credentials, whole or as a part ("X-Shop-Token").
_SECRET_NAMES = {"authorization", "proxy-authorization", "cookie", "apikey"}
_SECRET_PARTS = ("token", "secret", "key", "auth", "password", "passwd", "session", "signature", "credential")
# Values that are credentials whatever the header is called: an HTTP auth scheme with a value.
_AUTH_SCHEME = re.compile(r"^\s*(bearer|basic|token|digest)\s+\S", re.IGNORECASE)


def referenced_variables(values: Iterable[str]) -> set[str]:
    """The ``${NAME}`` references in ``values``."""
    return {name for value in values for name in _REFERENCE.findall(value)}


def substitute(value: str, environ: Mapping[str, str]) -> str:
    """``value`` with each ``${NAME}`` replaced by ``environ[NAME]``; ``KeyError(NAME)`` when one is missing."""
    return _REFERENCE.sub(lambda match: environ[match.group(1)], value)


def _secret_name(name: str) -> bool:
    lowered = name.strip().lower()
    return lowered in _SECRET_NAMES or any(part in lowered for part in _SECRET_PARTS)


def _variable_for(name: str) -> str:
    if name.strip().lower() in ("authorization", "proxy-authorization"):
        return "WEBHOOK_TOKEN"
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper() or "WEBHOOK_SECRET"


def _masked(value: str) -> str:
    return f"{value[:6]}..." if len(value) > 8 else "..."


def literal_secret(url: str, headers: Mapping[str, str]) -> str | None:
    """Why the webhook's URL or headers hold a literal credential, with the fix; None when they hold none."""
    for name, value in headers.items():
        if not value.strip() or _REFERENCE.search(value):
            continue
        if _secret_name(name) or _AUTH_SCHEME.match(value):
            scheme = _AUTH_SCHEME.match(value)
            prefix = value[: scheme.end() - 1] if scheme else ""
            variable = _variable_for(name)
            return (f"the webhook header `{name}` holds a literal credential ({_masked(value)}); bot.yaml is "
                    "stored with every published version, so secrets never go in it: write "
                    f"`{name}: \"{prefix}${{{variable}}}\"` and set {variable} in the server's environment")
    parts = urlsplit(url)
    if parts.password and not _REFERENCE.search(parts.password):
        return (f"the webhook URL holds a password ({parts.username}:...@); write it as ${{WEBHOOK_PASSWORD}} "
                "and set WEBHOOK_PASSWORD in the server's environment, or send it in a header")
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if value and _secret_name(key) and not _REFERENCE.search(value):
            variable = _variable_for(key)
            return (f"the webhook URL's parameter `{key}` holds a literal credential ({_masked(value)}); write "
                    f"`{key}=${{{variable}}}` and set {variable} in the server's environment")
    return None
