"""What every channel does with a message: parse it, continue the user's conversation, answer
within the platform's time limit.

A channel's users are namespaced by channel (``kakao:<id>``): platforms number their users
independently, and one person on two messengers is two conversations.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import re
from dataclasses import dataclass, field
from typing import Any

from fastapi.concurrency import run_in_threadpool

from malmoi.serve.limits import MAX_USER_ID_CHARS
from malmoi.serve.schema import ApiError, ErrorResponse
from malmoi.serve.source import BotRef, BotSource, ServedBot
from malmoi.settings import ScenarioSettings

__all__ = [
    "ChannelAnswer", "answer", "channel_secret", "channel_user", "deliver", "forged", "same_secret", "signed_bot",
]

logger = logging.getLogger("malmoi.serve")

_DEFAULT_FAILURE = ScenarioSettings().failure_answer


@dataclass
class ChannelAnswer:
    """What a channel sends back: the text, and the choices offered for the slot being asked for."""

    text: str
    choices: list[str] = field(default_factory=list)
    timed_out: bool = False


def channel_user(channel: str, user_id: str) -> str:
    """``kakao:<id>``: the conversation's user id for a platform's user (422 if it is too long)."""
    user = f"{channel}:{user_id}"
    if len(user) > MAX_USER_ID_CHARS:
        raise ApiError(422, "user_id_too_long", f"the {channel} user id has {len(user_id)} characters; "
                       f"the limit is {MAX_USER_ID_CHARS - len(channel) - 1}", "user_id")
    return user


async def answer(source: BotSource, bot: ServedBot, channel: str, user_id: str, text: str,
                 deadline: float) -> ChannelAnswer:
    """The bot's answer to ``text`` from ``user_id`` of ``channel``, within ``deadline`` seconds.

    Past the deadline (a slow webhook of a scenario) the answer is the scenario's failure text:
    the platform would otherwise show its own error. The conversation still goes on in the
    background, so the state is saved as if the answer had come in time.
    """
    user = channel_user(channel, user_id)
    parsed = await source.batcher.parse(bot.model, text, bot.name)
    work = asyncio.ensure_future(run_in_threadpool(bot.dialogue.respond, user, parsed, source=channel))
    try:
        reply = await asyncio.wait_for(asyncio.shield(work), timeout=deadline)
    except asyncio.TimeoutError:
        scenario = bot.dialogue.scenarios.get(parsed.intent.name)
        logger.warning("%s: the answer to user %r took over %.1f s; sent the failure answer", channel, user, deadline)
        return ChannelAnswer(scenario.settings.failure_answer if scenario else _DEFAULT_FAILURE, timed_out=True)
    state = reply.state
    choices: list[str] = []
    if state.active and state.intent in bot.dialogue.scenarios:
        slot = bot.dialogue.scenarios[state.intent].settings.entities.get(state.missing[0])
        choices = list(slot.choices) if slot is not None else []
    return ChannelAnswer(reply.answer, choices)


def signed_responses(source: BotSource) -> dict[int | str, dict[str, Any]]:
    """What a signed webhook (LINE, Slack, Telegram) may answer besides 200, for its OpenAPI entry."""
    return {
        **source.responses,
        401: {"model": ErrorResponse, "description": "the request's signature or secret token is wrong"},
        404: {"model": ErrorResponse, "description": "the channel is not set up (its secret is not in the "
              "server's environment), or the bot does not exist"},
    }


def channel_secret(variable: str, source: BotSource, bot: str) -> str:
    """A channel's secret from the environment: ``MALMOI_<VARIABLE>`` for one model,
    ``MALMOI_<VARIABLE>_<BOT>`` (the name upper-cased, other characters as ``_``) per bot of a
    registry. Not set: 404 naming the variable (the channel is not set up for this bot)."""
    name = f"MALMOI_{variable}"
    if "{bot}" in source.kochat_prefix:
        name += "_" + re.sub(r"[^A-Z0-9]", "_", bot.upper())
    value = os.environ.get(name, "")
    if not value:
        raise ApiError(404, "channel_not_configured", f"this channel is not set up for {bot!r}: set {name} "
                       "in the server's environment (docs/channels.md)")
    return value


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison: a forged signature learns nothing from the time it took."""
    return hmac.compare_digest(given.encode(), expected.encode())


async def signed_bot(source: BotSource, bot: str) -> ServedBot:
    """The bot of a channel whose request was authenticated by its signature (no API key: the
    platforms cannot send one)."""
    return await source.get(BotRef(bot))


def forged(channel: str) -> ApiError:
    logger.warning("%s: a request with a wrong signature was refused", channel)
    return ApiError(401, "invalid_signature", f"the {channel} signature does not match this server's secret")


async def deliver(channel: str, url: str, payload: dict[str, Any], headers: dict[str, str]) -> bool:
    """POST the answer to the platform; False (logged) when it cannot be delivered."""
    import httpx

    try:
        async with httpx.AsyncClient(timeout=10.0) as client:
            response = await client.post(url, json=payload, headers=headers)
        response.raise_for_status()
    except httpx.HTTPStatusError as exc:  # the URL is not logged: Telegram's holds the bot token
        logger.error("%s: the answer was refused with HTTP %d", channel, exc.response.status_code)
        return False
    except httpx.HTTPError as exc:
        logger.error("%s: the answer could not be delivered (%s)", channel, type(exc).__name__)
        return False
    return True
