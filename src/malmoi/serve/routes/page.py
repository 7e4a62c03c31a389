"""The web chat page and its files at ``/static``: at ``/`` for one model (the page talks to
``/v1/chat``), at ``/bots/{bot}/`` for each bot of a registry (the page talks to
``/v1/bots/{bot}/chat``, with the API key typed into the page: never in the URL, where it would
reach logs and browser history)."""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations.

import html
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

__all__ = ["STATIC_DIR", "add_bot_chat_pages", "add_chat_page"]

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


_KEY_FIELD = """<label class="api-key">API key <input type="password" id="api-key" autocomplete="off"
        placeholder="malmoi keys create --bot {bot}" size="24"></label>"""


def bot_page(bot: str) -> str:
    """The chat page for one bot of a registry, served at ``/bots/{bot}/``."""
    page = (STATIC_DIR / "index.html").read_text("utf-8")
    name = html.escape(bot, quote=True)  # a checked bot name; escaped all the same
    page = page.replace('href="static/', 'href="../../static/').replace('src="static/', 'src="../../static/')
    page = page.replace("<body>", f'<body data-chat="../../v1/bots/{name}/chat" data-health="../../health">', 1)
    page = page.replace("<h1>말모이 챗봇</h1>", f"<h1>말모이 챗봇 · {name}</h1>", 1)
    button = '<button type="button" class="secondary" id="new-conversation"'
    return page.replace(button, _KEY_FIELD.format(bot=name) + "\n      " + button, 1)


def add_bot_chat_pages(app: FastAPI, page_bot: Any) -> None:
    """``GET /bots/{bot}/``: the chat page of one bot of a registry; ``/static/...`` its files."""
    Bot = Annotated[str, Depends(page_bot)]

    @app.get("/bots/{bot}/", response_class=HTMLResponse, include_in_schema=False)
    def bot_index(bot: Bot) -> Response:
        return HTMLResponse(bot_page(bot))

    if STATIC_DIR.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
