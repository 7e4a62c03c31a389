"""Kochat-compatible routes, so that clients written for Kochat's Flask API keep working.

Kochat (github.com/hyunwoongko/kochat) answered ``GET /request_chat/<uid>/<text>``,
``/fill_slot/<uid>/<text>``, ``/get_intent/<text>`` and ``/get_entity/<text>`` with
``{"input", "intent", "entity", "state", "answer"}``: ``input`` the words (a list for the chat
routes, the text for the others), ``entity`` one BIO tag per word, ``state`` ``SUCCESS``,
``REQUIRE_<ENTITY>_...``, ``FALLBACK``, ``REQUEST_INTENT`` or ``REQUEST_ENTITY``.

Differences, all additive: ``values`` lists the message's entities that resolve (a date, a
number, a dictionary's canonical value), ``answer`` carries the bot's question while an entity is missing
(Kochat sent ``null`` and left the wording to the client), statuses ``FAIL`` and ``CANCELLED``
exist, and ``fill_slot`` for a user with nothing to fill answers like ``request_chat`` instead
of failing.

The user id is the path segment as sent: ``/request_chat/team%2Falice/안녕`` is user
``team/alice``. Routes that change a conversation refuse requests that a browser marks as sent
by another site (``Sec-Fetch-Site: cross-site``), so that a web page cannot chat in a user's name
through an ``<img src=...>`` (CSRF); clients that are not browsers send no such header.

Mounted at ``/`` for one model and at ``/v1/bots/{bot}`` for each bot of a registry.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations, which name
# dependencies made inside the function that adds them.

import re
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import Depends, FastAPI, Path, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from starlette.convertors import Convertor, register_url_convertor

from malmoi.data.tags import word_spans_to_tags
from malmoi.dialogue.state import Reply
from malmoi.model.result import EntitySpan, ParseResult
from malmoi.serve.guards import refuse_cross_site
from malmoi.serve.limits import MAX_TEXT_CHARS, MAX_USER_ID_CHARS
from malmoi.serve.schema import ERROR_RESPONSES, ErrorResponse, check_path_text
from malmoi.serve.settings import ServeSettings
from malmoi.serve.source import BotRef, BotSource, log_parse

__all__ = ["KochatResponse", "add_kochat_routes", "split_raw_path", "word_tags"]

_WORD = re.compile(r"\S+")


class _AnyText(Convertor[str]):
    """A path parameter that takes anything, slashes and newlines included (``%2F``, ``%0A``)."""

    regex = "(?s:.*)"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("malmoi_text", _AnyText())

Uid = Annotated[str, Path(min_length=1, max_length=MAX_USER_ID_CHARS, description="user id")]
Text = Annotated[str, Path(min_length=1, max_length=MAX_TEXT_CHARS, description="the message, URL-encoded")]


class KochatResponse(BaseModel):
    input: list[str] | str = Field(description="the words (chat routes) or the text")
    intent: str | None
    entity: list[str] | None = Field(description="one BIO tag per word: B-LOCATION, I-LOCATION, O")
    state: str
    answer: str | None
    values: list[EntitySpan] | None = Field(None, description=(
        "malmoi's addition: the message's entities that resolve, with `resolved` (a date as ISO 8601, a number, a "
        "dictionary's canonical value); none for get_intent"))


def _values(parse: ParseResult) -> list[EntitySpan]:
    return [e for e in parse.entities if e.resolved is not None]


def word_tags(parse: ParseResult) -> tuple[list[str], list[str]]:
    """Whitespace words and one BIO tag per word, as Kochat's clients expect.

    A word belongs to the first entity it overlaps; consecutive words of one entity make one
    word span, tagged by :func:`malmoi.data.tags.word_spans_to_tags`.
    """
    words: list[str] = []
    spans: list[tuple[int, int, str]] = []  # (first word, last word, type)
    previous = None
    for index, match in enumerate(_WORD.finditer(parse.text)):
        start, end = match.span()
        span = next((e for e in parse.entities if e.start < end and start < e.end), None)
        words.append(match.group())
        if span is not None:
            first = spans.pop()[0] if span is previous else index
            spans.append((first, index, span.entity))
        previous = span
    return words, word_spans_to_tags(spans, len(words), "BIO")


def split_raw_path(request: Request, route: str, uid: str, text: str) -> tuple[str, str]:
    """The user id and text of ``/{route}/{uid}/{text}``, split where the client put the slash.

    The ASGI server decodes ``%2F`` before routing, so ``/request_chat/team%2Falice/hi`` would
    reach the route as user ``team`` saying ``alice/hi``, mixing two users' conversations. The
    raw path still has ``%2F``: its first segment after the route name is the user id.
    """
    raw = request.scope.get("raw_path")
    if not isinstance(raw, bytes):
        return uid, text  # a server without raw_path: the decoded split is all there is
    segments = raw.decode("latin-1").partition("?")[0].split("/")
    try:
        at = segments.index(route)
    except ValueError:
        return uid, text
    if at + 2 > len(segments):
        return uid, text
    return unquote(segments[at + 1]), unquote("/".join(segments[at + 2:]))


def _chat_response(reply: Reply) -> KochatResponse:
    words, tags = word_tags(reply.parse)
    return KochatResponse(
        input=words,
        intent=reply.state.intent or reply.parse.intent.name,
        entity=tags,
        state=reply.state.status,
        answer=reply.answer,
        values=_values(reply.parse),
    )


def add_kochat_routes(app: FastAPI, source: BotSource, settings: ServeSettings) -> None:
    """The four Kochat routes over a source's bots (at ``/``, or under ``/v1/bots/{bot}``)."""
    prefix, tag = source.kochat_prefix, "kochat"
    missing = {**ERROR_RESPONSES[422], "description": "a part of the path is missing"}
    responses = {**source.responses, 404: source.responses.get(404, missing)}
    chat_responses: dict[int | str, dict[str, Any]] = {**responses, 403: {
        "model": ErrorResponse,
        "description": "a browser says that another site sent the request, or the key is for another bot",
    }}
    Ref = Annotated[BotRef, Depends(source.bot_ref)]

    async def chat(request: Request, ref: BotRef, route: str, uid: str, text: str, fill_only: bool) -> KochatResponse:
        refuse_cross_site(request)
        bot = await source.get(ref)
        uid, text = split_raw_path(request, route, uid, text)
        uid, text = check_path_text(uid, "uid", MAX_USER_ID_CHARS), check_path_text(text, "text")
        parsed = await source.batcher.parse(bot.model, text, bot.name)
        reply = await run_in_threadpool(bot.dialogue.respond, uid, parsed, fill_only=fill_only, source="kochat",
                                        environment=bot.environment)
        return _chat_response(reply)

    async def parse(ref: BotRef, text: str) -> ParseResult:
        bot = await source.get(ref)
        result = await source.batcher.parse(bot.model, check_path_text(text, "text"), bot.name)
        if settings.log_parses:
            log_parse(source.store, bot, result, "kochat")
        return result

    @app.get(prefix + "/request_chat/{uid}/{text:malmoi_text}", response_model=KochatResponse,
             responses=chat_responses, tags=[tag])
    async def request_chat(request: Request, uid: Uid, text: Text, ref: Ref) -> KochatResponse:
        """A chat message (Kochat): the intent decides the scenario, or it fills a pending slot.

        A ``/`` in the user id is sent as ``%2F`` and kept: ``/request_chat/team%2Falice/안녕``.
        """
        return await chat(request, ref, "request_chat", uid, text, fill_only=False)

    @app.get(prefix + "/fill_slot/{uid}/{text:malmoi_text}", response_model=KochatResponse,
             responses=chat_responses, tags=[tag])
    async def fill_slot(request: Request, uid: Uid, text: Text, ref: Ref) -> KochatResponse:
        """A reply to the bot's question (Kochat): fills the pending scenario, never changes topic."""
        return await chat(request, ref, "fill_slot", uid, text, fill_only=True)

    @app.get(prefix + "/get_intent/{text:malmoi_text}", response_model=KochatResponse, responses=responses, tags=[tag])
    async def get_intent(text: Text, ref: Ref) -> KochatResponse:
        """The intent of a text (Kochat), without touching any conversation."""
        result = await parse(ref, text)
        return KochatResponse(input=text, intent=result.intent.name, entity=None, state="REQUEST_INTENT", answer=None)

    @app.get(prefix + "/get_entity/{text:malmoi_text}", response_model=KochatResponse, responses=responses, tags=[tag])
    async def get_entity(text: Text, ref: Ref) -> KochatResponse:
        """The entities of a text as one BIO tag per word (Kochat)."""
        result = await parse(ref, text)
        return KochatResponse(input=text, intent=None, entity=word_tags(result)[1], state="REQUEST_ENTITY", answer=None,
                              values=_values(result))
