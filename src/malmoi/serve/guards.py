"""Checks on who sends a request, for routes that change something without an API key.

* :func:`refuse_cross_site`: 403 for a request that a browser says another site made (Kochat's
  GET routes that change a conversation, the review answers).
* :func:`require_local`: 403 unless the client is on this machine (the review of a server
  without keys).
"""

from __future__ import annotations

from fastapi import Request

from malmoi.serve.proxies import is_local
from malmoi.serve.schema import ApiError

__all__ = ["refuse_cross_site", "require_local"]


def refuse_cross_site(request: Request) -> None:
    """403 for a request that a browser says another site made (an image, a form, a link there).

    GET routes that change state can be triggered by any page a user visits: ``<img
    src="http://127.0.0.1:8000/request_chat/alice/...">``. Browsers send ``Sec-Fetch-Site`` with
    every request; ``same-origin`` (this server's own page) and ``none`` (typed in the address
    bar) are allowed, and clients that are not browsers do not send it.
    """
    site = request.headers.get("sec-fetch-site", "none").lower()
    if site not in ("same-origin", "none"):
        raise ApiError(
            403, "cross_site_request",
            f"this route changes a conversation and refuses requests from other sites (Sec-Fetch-Site: {site})",
        )


def require_local(request: Request, what: str = "the review page") -> None:
    """403 unless the client is on this machine: the review writes the bot's files and has no key.

    A request that came through a proxy is not "this machine" (the proxy may serve anyone), unless
    the proxy is listed with ``--forwarded-allow-ips`` and names a client on this machine
    (:func:`malmoi.serve.proxies.is_local`).
    """
    if not is_local(request):
        raise ApiError(403, "forbidden", f"{what} answers only this machine, reached directly or through a "
                       "proxy listed with --forwarded-allow-ips (no API keys here); serve a registry with an admin "
                       "key to reach it from elsewhere")
