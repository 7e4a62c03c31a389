"""Which client sent a request when proxies stand between: proxy headers are trusted only from the
addresses the operator lists (``malmoi serve --forwarded-allow-ips``).

A request's ``X-Forwarded-For``, ``Forwarded`` and ``X-Real-IP`` headers are written by whoever
sends it: any client can claim to be 127.0.0.1. So the server never lets them replace the
connection's address (uvicorn runs with ``proxy_headers=False``) unless the connection comes from
a listed proxy; then :class:`TrustedProxies` (uvicorn's own ``ProxyHeadersMiddleware``, inside the
app) takes the client from ``X-Forwarded-For``. :func:`is_local` decides "this machine" for the
review page, which has no key: a request that came through any proxy is not local, unless a listed
proxy says in ``X-Forwarded-For`` that its client is on this machine.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

__all__ = ["PROXY_HEADERS", "TrustedProxies", "is_local", "trust_proxies"]

PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")
_VIA_TRUSTED_PROXY = "malmoi.via_trusted_proxy"  # scope key: the connection is from a listed proxy
_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class TrustedProxies:
    """ASGI middleware: uvicorn's ``ProxyHeadersMiddleware`` for ``forwarded_allow_ips`` (a comma-
    separated list of addresses or networks, as uvicorn's option), noting whether the connection
    came from one of them before it replaces the client's address."""

    def __init__(self, app: ASGIApp, forwarded_allow_ips: str) -> None:
        self._proxy = ProxyHeadersMiddleware(app, trusted_hosts=forwarded_allow_ips)  # type: ignore[arg-type]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            client = scope.get("client")
            scope[_VIA_TRUSTED_PROXY] = client is not None and client[0] in self._proxy.trusted_hosts
        await self._proxy(scope, receive, send)  # type: ignore[arg-type]


def trust_proxies(app: Any, forwarded_allow_ips: str | None) -> None:
    """Take clients' addresses from the proxies listed (none: the connection's address, always)."""
    if forwarded_allow_ips:
        app.add_middleware(TrustedProxies, forwarded_allow_ips=forwarded_allow_ips)


def is_local(request: Request) -> bool:
    """Whether the client is on this machine: a loopback address, reached directly or through a listed
    proxy that names a loopback client in ``X-Forwarded-For``."""
    host = request.client.host if request.client else ""
    if host not in _LOOPBACK and not host.startswith("127."):
        return False
    if not any(name in request.headers for name in PROXY_HEADERS):
        return True
    # Proxied. Only a listed proxy's X-Forwarded-For was read (into request.client, by TrustedProxies);
    # Forwarded and X-Real-IP are not read, and any other proxy may have been sent anything.
    forwarded_for = ",".join(request.headers.getlist("x-forwarded-for"))
    return bool(request.scope.get(_VIA_TRUSTED_PROXY)) and any(part.strip() for part in forwarded_for.split(","))
