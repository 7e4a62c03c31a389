"""Telegram: a bot webhook at ``/channels/telegram`` (registry: ``/v1/bots/{bot}/channels/telegram``).

The webhook is registered with a secret token (``setWebhook ... secret_token=``), which Telegram
sends in ``X-Telegram-Bot-Api-Secret-Token`` with every update; it must equal
``MALMOI_TELEGRAM_SECRET_TOKEN[_<BOT>]``, or the update is refused with 401 unread. A text message
is answered with ``sendMessage`` (``{--telegram-api}/bot<token>/sendMessage``, the bot token
``MALMOI_TELEGRAM_BOT_TOKEN[_<BOT>]``), with the slot's choices as a one-time keyboard.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations.

import json
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request

from malmoi.serve.channels.common import (
    answer,
    channel_secret,
    deliver,
    forged,
    same_secret,
    signed_bot,
    signed_responses,
)
from malmoi.serve.schema import ApiError
from malmoi.serve.settings import ServeSettings
from malmoi.serve.source import BotSource

__all__ = ["add_telegram_routes"]


def add_telegram_routes(app: FastAPI, source: BotSource, settings: ServeSettings) -> None:
    Bot = Annotated[str, Depends(source.page_bot)]

    @app.post(source.kochat_prefix + "/channels/telegram", responses=signed_responses(source),
              tags=["channels"])
    async def telegram(request: Request, name: Bot) -> dict[str, Any]:
        """A Telegram update: checked against the webhook's secret token; answers with sendMessage."""
        secret = channel_secret("TELEGRAM_SECRET_TOKEN", source, name)
        if not same_secret(request.headers.get("x-telegram-bot-api-secret-token", ""), secret):
            raise forged("Telegram")
        try:
            update = json.loads(await request.body())
        except ValueError:
            raise ApiError(400, "invalid_json", "the Telegram update is not JSON") from None
        message = update.get("message") if isinstance(update, dict) else None
        if not isinstance(message, dict) or not isinstance(message.get("text"), str) or not message["text"].strip():
            return {"answered": 0}  # an edit, a sticker, a member joining: nothing to answer
        chat, sender = message.get("chat") or {}, message.get("from") or {}
        if not isinstance(chat.get("id"), int):
            raise ApiError(422, "invalid_update", "a Telegram message has `chat.id`")
        user = str(sender.get("id", chat["id"]))
        token = channel_secret("TELEGRAM_BOT_TOKEN", source, name)
        bot = await signed_bot(source, name)
        reply = await answer(source, bot, "telegram", user, message["text"], settings.channel_deadline)
        payload: dict[str, Any] = {"chat_id": chat["id"], "text": reply.text[:4096]}
        if reply.choices:
            payload["reply_markup"] = {"keyboard": [[{"text": c}] for c in reply.choices],
                                       "one_time_keyboard": True, "resize_keyboard": True}
        delivered = await deliver("Telegram", f"{settings.telegram_api}/bot{token}/sendMessage", payload, {})
        return {"answered": 1, "delivered": int(delivered)}
