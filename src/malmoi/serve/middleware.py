"""The middleware every server runs, in one place: body limit and deadline, Host check, security headers.

:func:`install_middleware` adds them to an app built by :mod:`malmoi.serve.builder`, for one
model and for a registry alike, from the app's :class:`~malmoi.serve.settings.ServeSettings`
(``allowed_hosts``, ``read_timeout``, ``forwarded_allow_ips``). :class:`App` is FastAPI with the
security headers outside everything else, so that even a 500 carries them.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from malmoi.serve.limits import MAX_BODY_BYTES
from malmoi.serve.proxies import trust_proxies
from malmoi.serve.schema import error_response
from malmoi.serve.settings import ServeSettings

__all__ = [
    "CONTENT_SECURITY_POLICY", "SECURITY_HEADERS", "App", "BodyLimit", "HostCheck", "SecurityHeaders",
    "install_middleware",
]


class BodyLimit:
    """Refuse bodies over ``limit`` bytes before reading them whole (413), and bodies that do not
    arrive within ``timeout`` seconds of the first read (408, and the connection is closed)."""

    def __init__(self, app: ASGIApp, limit: int, timeout: float | None = None,
                 limit_for: Callable[[Scope], int | None] | None = None) -> None:
        # limit_for: a larger limit for some requests (the many-bots server's model uploads).
        self.app, self.default_limit, self.timeout, self.limit_for = app, limit, timeout, limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = (self.limit_for(scope) if self.limit_for is not None else None) or self.default_limit
        for key, value in scope["headers"]:
            if key == b"content-length" and value.isdigit() and int(value) > limit:
                response = error_response(413, "body_too_large", f"the body is over {limit} bytes")
                await response(scope, receive, send)
                return
        seen = 0
        deadline: float | None = None
        complete = False

        async def limited() -> Message:
            nonlocal seen, deadline, complete
            if complete or self.timeout is None:
                # After the body, receive() waits for the client to disconnect: no deadline then.
                message = await receive()
            else:
                loop = asyncio.get_running_loop()
                if deadline is None:
                    deadline = loop.time() + self.timeout
                try:
                    message = await _within(receive(), deadline - loop.time())
                except asyncio.TimeoutError:
                    # "Connection: close": the rest of the body must not be read as the next request.
                    raise HTTPException(408, f"the body did not arrive within {self.timeout:g} s",
                                        headers={"Connection": "close"}) from None
                if message["type"] != "http.request" or not message.get("more_body", False):
                    complete = True
            seen += len(message.get("body", b""))
            if seen > limit:
                raise HTTPException(413, f"the body is over {limit} bytes")
            return message

        await self.app(scope, limited, send)


async def _within(awaitable: Awaitable[Message], seconds: float) -> Message:
    if sys.version_info >= (3, 11):  # asyncio.timeout makes no task: cheaper than wait_for
        async with asyncio.timeout(max(seconds, 0.0)):
            return await awaitable
    return await asyncio.wait_for(awaitable, max(seconds, 0.0))  # pragma: no cover - Python 3.10


def _host_name(host: str) -> str:
    """The name in a Host header or an allowed-host entry, without port: ``[::1]:8000`` → ``::1``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    if host.count(":") == 1:
        host = host.partition(":")[0]
    return host.rstrip(".")


class HostCheck:
    """Answer only requests whose Host header is allowed (400 ``invalid_host`` otherwise).

    A web page on evil.example can make its own name resolve to 127.0.0.1 (DNS rebinding) and
    then read this server's answers as same-origin; its requests still say ``Host:
    evil.example``. Starlette's TrustedHostMiddleware does this too, but answers in plain text
    and cuts ``[::1]:8000`` at the first colon. ``*`` allows any host, ``*.example.com`` a domain.
    """

    def __init__(self, app: ASGIApp, allowed: Sequence[str]) -> None:
        self.app = app
        self.any = "*" in allowed
        self.names = {_host_name(h) for h in allowed if not h.startswith("*.")}
        self.domains = tuple(_host_name(h)[1:] for h in allowed if h.startswith("*."))
        self.shown = ", ".join(allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.any or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
        name = _host_name(host)
        if name in self.names or (self.domains and name.endswith(self.domains)):
            await self.app(scope, receive, send)
            return
        shown = repr(host) if host else "missing"
        response = error_response(
            400, "invalid_host",
            f"the Host header is {shown}; this server answers only {self.shown} "
            "(start it with --allowed-host NAME to add one)",
        )
        await response(scope, receive, send)


# Same-origin only: the web chat page loads its own script and style sheet and calls the API;
# nothing else runs, so injected markup could neither run script nor send data elsewhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Frame-Options", "DENY"),  # no framing: clickjacking; frame-ancestors says it to newer browsers
    ("X-Content-Type-Options", "nosniff"),  # a JSON answer is never run as a script or page
    ("Referrer-Policy", "no-referrer"),  # user ids and texts are in Kochat URLs
)


class SecurityHeaders:
    """Add SECURITY_HEADERS to every response that does not set its own (``/docs`` sets a CSP)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS:
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class App(FastAPI):
    """FastAPI whose every response gets the security headers, the 500s of its outermost
    error middleware included (middleware added with add_middleware runs inside that one)."""

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack())



def install_middleware(app: FastAPI, settings: ServeSettings,
                       body_limit_for: Callable[[Scope], int | None] | None = None) -> None:
    """The body limit and deadline, the Host check, and (when ``forwarded_allow_ips`` lists
    proxies) the clients' addresses from those proxies: outermost last."""
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES, timeout=settings.read_timeout, limit_for=body_limit_for)
    app.add_middleware(HostCheck, allowed=list(settings.allowed_hosts))
    trust_proxies(app, settings.forwarded_allow_ips)
