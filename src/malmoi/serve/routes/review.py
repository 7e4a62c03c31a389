"""The review page and its API: messages the bot was unsure of, answered with a click.

The one-bot server (``malmoi serve MODEL --review-data BOT_DIR``) serves ``/review`` and
``/v1/review``; it has no API keys, so these answer only clients on this machine (the loopback
address), whatever ``--host`` says, and not requests relayed by a proxy unless the proxy is listed
with ``--forwarded-allow-ips`` (:mod:`malmoi.serve.proxies`). The registry server (``malmoi serve --registry DIR
--review-dir DIR``) serves ``/review/{bot}`` and ``/v1/bots/{bot}/review`` to admin keys only
(with ``--no-keys``: to this machine only); each bot's data is ``REVIEW_DIR/<bot>``. Who may
review is the source's to say (:meth:`~malmoi.serve.source.BotSource.reviewer`); the routes are
written once, in :func:`add_review`.

``GET`` lists the groups (:func:`malmoi.review.review_groups`); ``POST {"answers": [...]}``
writes answers into the bot's data files (:class:`malmoi.review.ReviewLedger`). The reviewer
recorded with each answer is the admin key's id, or ``local``.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations, which name
# dependencies made inside the function that adds them.

import asyncio
import html
import posixpath
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, Response
from pydantic import BaseModel, Field

from malmoi.labels import tag_types
from malmoi.model.result import ParseResult
from malmoi.review import (
    DEFAULT_BELOW,
    DEFAULT_SIMILARITY,
    ReviewError,
    ReviewLedger,
    answers_from_requests,
    groups_from_results,
    pending_for,
)
from malmoi.serve.guards import refuse_cross_site, require_local
from malmoi.serve.limits import MAX_TEXT_CHARS
from malmoi.serve.schema import ApiError
from malmoi.serve.source import BotRef, BotSource

__all__ = ["ReviewAnswer", "ReviewAnswers", "add_review_routes", "list_review", "record_review", "review_page"]

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
_STATUS = {"invalid_answer": 422, "already_reviewed": 409, "data_file_edited": 409}
# Texts parsed again per listing: the page shows this many distinct texts at most.
MAX_LISTED = 500


class ReviewAnswer(BaseModel):
    message_ids: list[int] = Field(min_length=1, max_length=10_000, description="ids of messages with one text")
    intent: str | None = Field(default=None, max_length=200, description="the intent; null with out_of_domain")
    out_of_domain: bool = False
    markup: str | None = Field(default=None, max_length=4 * MAX_TEXT_CHARS,
                               description="the text with entities as [value](TYPE)")


class ReviewAnswers(BaseModel):
    answers: list[ReviewAnswer] = Field(min_length=1, max_length=1000)


def review_page(api: str, *, assets: str, needs_key: bool, title: str) -> str:
    """``static/review.html`` pointed at its API and its files, URLs relative to the page (so that
    it works behind a path prefix); the page's script reads the data attributes."""
    page = (STATIC_DIR / "review.html").read_text("utf-8")
    return (page.replace("{{API}}", html.escape(api, quote=True))
            .replace("{{ASSETS}}", html.escape(assets, quote=True))
            .replace("{{NEEDS_KEY}}", "true" if needs_key else "false")
            .replace("{{TITLE}}", html.escape(title)))


_ASSETS = {"review.js", "review.css"}


def _ledger(bot_dir: Path) -> ReviewLedger:
    try:
        return ReviewLedger(bot_dir)
    except ReviewError as exc:
        raise ApiError(404, "no_review_data", str(exc)) from None


async def list_review(
    store: Any, model: Any, parse: Callable[[str], Awaitable[Any]], *, bot: str, bot_dir: Path,
    below: float = DEFAULT_BELOW, similarity: float = DEFAULT_SIMILARITY, model_version: str = "",
) -> dict[str, Any]:
    """The review groups of ``bot`` as JSON data, with what the page needs to answer them."""
    if not 0.0 <= below <= 1.0 or not 0.0 < similarity <= 1.0:
        raise ApiError(422, "invalid_request", "`below` must be between 0 and 1 and `similarity` in (0, 1]")
    ledger = _ledger(bot_dir)
    pending = await run_in_threadpool(pending_for, store, bot, ledger, below=below)
    shown = pending[:MAX_LISTED]
    results = await asyncio.gather(*(parse(p.text) for p in shown))  # batched by the server's parse thread
    groups = groups_from_results(shown, results, model, similarity=similarity)
    return {"bot": bot, "model_version": model_version, "intents": list(model.intents),
            "entity_types": sorted(tag_types(model.tags)), "below": below, "similarity": similarity,
            "pending": len(pending), "groups": [g.to_dict() for g in groups]}


async def record_review(request: Request, store: Any, model: Any, body: ReviewAnswers, *, bot: str, bot_dir: Path,
                        reviewer: str) -> dict[str, Any]:
    """Write the answers of ``body``; 422/409 JSON errors say what was wrong, and nothing is written then.

    A request that a browser marks as sent by another site is refused (403): the one-bot server's
    review trusts this machine, and a page on another site is opened on this machine too.
    """
    refuse_cross_site(request)
    ledger = _ledger(bot_dir)
    requests = [a.model_dump() for a in body.answers]

    def write() -> tuple[list[Any], list[Path]]:
        answers = answers_from_requests(store, model, bot, requests, reviewer=reviewer)
        return answers, ledger.record(answers)

    try:
        answers, written = await run_in_threadpool(write)
    except ReviewError as exc:
        raise ApiError(_STATUS.get(exc.code, 422), exc.code, str(exc)) from None
    return {"written": [str(p.relative_to(bot_dir)) for p in written], "log": str(ledger.path.relative_to(bot_dir)),
            "answers": [a.to_dict() for a in answers]}


def add_review_routes(app: FastAPI, source: BotSource, bot_dir: Callable[[str], Path]) -> None:
    """The review page (``source.review_page``), its files, and its API (``{api_prefix}/review``).

    ``bot_dir(bot)`` is the bot directory a bot's answers are written into.
    """
    tag, responses = "review", source.responses

    @app.get("/review-assets/{name}", include_in_schema=False)
    def asset(name: str) -> FileResponse:
        """The page's own script and style (the CSP allows only 'self')."""
        if name not in _ASSETS:
            raise ApiError(404, "not_found", f"no review asset {name!r}")
        return FileResponse(STATIC_DIR / name)
    Ref = Annotated[BotRef, Depends(source.bot_ref)]

    @app.get(source.review_page, response_class=HTMLResponse, include_in_schema=False)
    def page(request: Request, bot: Annotated[str, Depends(source.page_bot)]) -> Response:
        if not source.keys_required:  # no key to ask for: the page is for this machine only
            require_local(request)
        path = source.review_page.replace("{bot}", bot)
        here = posixpath.dirname(path)
        api = posixpath.relpath(source.api_prefix.replace("{bot}", bot) + "/review", here)
        return HTMLResponse(review_page(api, assets=posixpath.relpath("/review-assets", here),
                                        needs_key=source.keys_required, title=bot))

    @app.get(source.api_prefix + "/review", responses=responses, tags=[tag])
    async def review_list(request: Request, ref: Ref, below: float = 0.5, similarity: float = 0.6) -> dict[str, Any]:
        """Logged messages that fell back or were under ``below``, grouped, with the model's guesses."""
        source.reviewer(request, ref)
        bot = await source.get(ref)

        async def parse(text: str) -> ParseResult:
            return await source.batcher.parse(bot.model, text)  # not a user's message: not counted

        return await list_review(source.store, bot.model, parse, bot=bot.name, bot_dir=bot_dir(bot.name),
                                 below=below, similarity=similarity, model_version=bot.model_version)

    @app.post(source.api_prefix + "/review", responses=responses, tags=[tag])
    async def review_answer(request: Request, body: ReviewAnswers, ref: Ref) -> dict[str, Any]:
        """Write answers (intent with entities, or out of domain) into the bot's data files."""
        who = source.reviewer(request, ref)
        bot = await source.get(ref)
        return await record_review(request, source.store, bot.model, body, bot=bot.name, bot_dir=bot_dir(bot.name),
                                   reviewer=who)
