"""Reading JSON request bodies: what is wrong with a body that is not JSON text, and where.

Every route of the server reads its JSON body through :func:`parse_json_body` (the route class
:class:`JsonRoute`, set on the app by :mod:`malmoi.serve.builder`), so that a body FastAPI would
answer with a bare "There was an error parsing the body" becomes a 400 ``invalid_json`` that
names the character at fault (:mod:`malmoi.serve.errors`).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.routing import APIRoute

__all__ = ["JsonRoute", "parse_json_body"]


def _charset(content_type: str | None) -> str | None:
    for parameter in (content_type or "").split(";")[1:]:
        key, _, value = parameter.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip('"').lower() or None
    return None


def _deepest(text: str) -> tuple[int, int]:
    """How deep arrays and objects nest, and where the deepest one opens (strings skipped)."""
    depth = deepest = at = 0
    in_string = escaped = False
    for index, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest, at = depth, index
        elif char in "]}":
            depth -= 1
    return deepest, at


def parse_json_body(body: bytes, content_type: str | None = None) -> Any:
    """A request body's JSON, or :class:`json.JSONDecodeError` saying what is wrong and where.

    ``json.loads`` raises other errors for bodies that are not JSON text (bytes that are not
    UTF-8, nesting deeper than Python's recursion limit, integers over 4300 digits), which
    FastAPI answers with a bare "There was an error parsing the body". Here each becomes a
    JSONDecodeError with a character position, which the app answers as 400 ``invalid_json``.
    As RFC 8259 says, JSON is UTF-8 (UTF-16 and -32 are still read, as ``json.loads`` does) and
    a ``charset`` parameter is not followed: it is only named in the error when the body is not
    UTF-8, because that is the likely cause.
    """
    encoding = json.detect_encoding(body)
    try:
        text = body.decode(encoding, "surrogatepass")
    except UnicodeDecodeError as exc:
        shown = body.decode(encoding, "replace")
        position = len(body[:exc.start].decode(encoding, "replace"))
        charset = _charset(content_type)
        hint = (f"; the Content-Type says charset={charset}, but the body must be UTF-8"
                if charset and charset.replace("-", "") not in ("utf8", "usascii", "ascii") else "")
        raise json.JSONDecodeError(
            f"byte 0x{body[exc.start]:02x} is not {encoding.upper()} text{hint}", shown, position
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        depth, position = _deepest(text)
        raise json.JSONDecodeError(
            f"arrays and objects are nested {depth} levels deep, more than the server reads", text, position
        ) from None
    except ValueError as exc:  # an integer with more digits than Python converts (4300 by default)
        limit = getattr(sys, "get_int_max_str_digits", lambda: 4300)()
        found = re.search(rf"-?\d{{{limit + 1},}}", text)
        if found is None:
            raise json.JSONDecodeError(str(exc).splitlines()[0] if str(exc) else "invalid JSON", text, 0) from None
        digits = len(found.group().lstrip("-"))
        raise json.JSONDecodeError(
            f"a number with {digits} digits; the server reads at most {limit}", text, found.start()
        ) from None


class _JsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_json_body(await self.body(), self.headers.get("content-type"))
        return self._json


class JsonRoute(APIRoute):
    """Routes whose JSON bodies are read by :func:`parse_json_body` (FastAPI's custom Request)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            return await handler(_JsonRequest(request.scope, request.receive))

        return route_handler

