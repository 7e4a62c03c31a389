"""The web chat page at ``/`` and its files at ``/static`` (one model: the page talks to ``/v1/chat``)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

__all__ = ["STATIC_DIR", "add_chat_page"]

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

_PLACEHOLDER = """<!doctype html><html lang="ko"><meta charset="utf-8"><title>malmoi</title>
<body><h1>malmoi</h1><p>The web chat page is not installed. The API is at
<a href="/docs">/docs</a>.</p></body></html>"""


def add_chat_page(app: FastAPI) -> None:
    """``GET /``: the page (``static/index.html``), and ``/static/...``: its script and style sheet."""

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> Response:
        page = STATIC_DIR / "index.html"
        if page.is_file():
            return HTMLResponse(page.read_text("utf-8"))
        return HTMLResponse(_PLACEHOLDER)

    if STATIC_DIR.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
