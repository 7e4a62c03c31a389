"""The JSON API of a bot: parse, chat, forget a conversation.

Mounted at ``/v1`` for one model (``POST /v1/parse``) and at ``/v1/bots/{bot}`` for a registry
(``POST /v1/bots/{bot}/parse``). Each route takes the request's :class:`BotRef` from the source's
dependency (the key checked, before the body's fields are), then the bot from the source.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations, which name
# dependencies made inside the function that adds them.

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from malmoi.model.result import ParseResult
from malmoi.serve.schema import ChatRequest, ChatResponse, Conversation, LoggedMessage, ParseRequest
from malmoi.serve.settings import ServeSettings
from malmoi.serve.source import BotRef, BotSource, log_parse

__all__ = ["add_api_routes"]


def add_api_routes(app: FastAPI, source: BotSource, settings: ServeSettings) -> None:
    prefix, tag, responses = source.api_prefix, source.tag, source.responses
    Ref = Annotated[BotRef, Depends(source.bot_ref)]

    @app.post(prefix + "/parse", response_model=ParseResult, responses=responses, tags=[tag])
    async def parse(request: ParseRequest, ref: Ref) -> Response:
        """Parse one utterance: intent with confidence, ranking, fallback decision, entities."""
        bot = await source.get(ref)
        result = await source.batcher.parse(bot.model, request.text, bot.name, now=request.reference_time)
        if settings.log_parses:
            log_parse(source.store, bot, result, "parse")
        # Serialized here: the result is already validated, FastAPI would validate it again.
        return Response(result.model_dump_json(), media_type="application/json", headers=bot.headers)

    @app.post(prefix + "/chat", response_model=ChatResponse, responses=responses, tags=[tag])
    async def chat(request: ChatRequest, ref: Ref) -> Response:
        """One message of a conversation: the answer, how it was parsed, and the state after it.

        The state's ``status`` is ``REQUIRE_<ENTITY>`` while the bot asks for an entity, then
        ``SUCCESS`` (or ``FAIL`` if the scenario's action failed), ``FALLBACK``, ``CANCELLED``.
        """
        bot = await source.get(ref)
        parsed = await source.batcher.parse(bot.model, request.text, bot.name, now=request.reference_time)
        reply = await run_in_threadpool(bot.dialogue.respond, request.user_id, parsed, environment=bot.environment)
        return Response(reply.model_dump_json(), media_type="application/json", headers=bot.headers)

    @app.get(prefix + "/conversations/{user_id}", response_model=Conversation, responses=responses, tags=[tag])
    async def conversation(user_id: str, ref: Ref, last: Annotated[int, Query(ge=1, le=200)] = 20) -> Conversation:
        """One user's conversation with the bot: the state now and the ``last`` messages logged
        (oldest first). A channel's users are ``kakao:<id>``, ``line:<id>``, ..."""
        bot = await source.get(ref)
        state = await run_in_threadpool(bot.dialogue.state, user_id)
        rows = await run_in_threadpool(source.store.messages, bot.dialogue.bot, user_id, last)
        return Conversation(state=state, messages=[LoggedMessage.model_validate(row) for row in rows])

    forgotten: dict[int | str, dict[str, Any]] = {204: {"description": "forgotten (or there was nothing to forget)"}}

    @app.delete(prefix + "/conversations/{user_id}", status_code=204, responses={**responses, **forgotten}, tags=[tag])
    async def forget(user_id: str, ref: Ref) -> Response:
        """Forget one user's conversation with the bot."""
        await run_in_threadpool(source.store.delete, ref.name, user_id)
        return Response(status_code=204)
