"""The web chat page at ``/`` and its files at ``/static`` (one model: the page talks to ``/v1/chat``)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from malmoi.serve.json_body import JsonRoute

__all__ = ["STATIC_DIR", "chat_page_router"]

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

_PLACEHOLDER = """<!doctype html><html lang="ko"><meta charset="utf-8"><title>malmoi</title>
<body><h1>malmoi</h1><p>The web chat page is not installed. The API is at
<a href="/docs">/docs</a>.</p></body></html>"""


def chat_page_router() -> APIRouter:
    """``GET /``: the page (``static/index.html``); its script and style sheet are under ``/static``
    (:data:`STATIC_DIR`, mounted by the builder)."""
    router = APIRouter(route_class=JsonRoute)

    @router.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> Response:
        page = STATIC_DIR / "index.html"
        if page.is_file():
            return HTMLResponse(page.read_text("utf-8"))
        return HTMLResponse(_PLACEHOLDER)

    return router
