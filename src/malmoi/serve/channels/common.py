"""What every channel does with a message: parse it, continue the user's conversation, answer
within the platform's time limit.

A channel's users are namespaced by channel (``kakao:<id>``): platforms number their users
independently, and one person on two messengers is two conversations.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from fastapi.concurrency import run_in_threadpool

from malmoi.serve.limits import MAX_USER_ID_CHARS
from malmoi.serve.schema import ApiError
from malmoi.serve.source import BotSource, ServedBot
from malmoi.settings import ScenarioSettings

__all__ = ["ChannelAnswer", "answer", "channel_user"]

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
