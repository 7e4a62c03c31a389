"""LINE: a Messaging API webhook at ``/channels/line`` (registry: ``/v1/bots/{bot}/channels/line``).

LINE signs each webhook body: ``X-Line-Signature`` is the base64 HMAC-SHA256 of the body with the
channel secret (``MALMOI_LINE_CHANNEL_SECRET``, per bot of a registry
``MALMOI_LINE_CHANNEL_SECRET_<BOT>``). A body whose signature does not match is refused with 401
before anything in it is read. Each text message is answered through the reply API
(``POST {--line-api}/v2/bot/message/reply`` with the channel access token,
``MALMOI_LINE_ACCESS_TOKEN[_<BOT>]``); other events (follow, stickers, the console's
verification with no events) are acknowledged and ignored.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations.

import base64
import hashlib
import hmac
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

__all__ = ["add_line_routes", "line_signature"]


def line_signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _text_events(payload: Any) -> list[tuple[str, str, str]]:
    """(reply token, user id, text) of each text message event; 422 for a body that is not LINE's."""
    events = payload.get("events") if isinstance(payload, dict) else None
    if not isinstance(events, list):
        raise ApiError(422, "invalid_webhook", "a LINE webhook body is an object with a list of `events`")
    found = []
    for event in events:
        if not isinstance(event, dict) or event.get("type") != "message":
            continue
        message, user = event.get("message") or {}, (event.get("source") or {}).get("userId")
        if message.get("type") == "text" and isinstance(message.get("text"), str) and isinstance(user, str) \
                and isinstance(event.get("replyToken"), str) and message["text"].strip():
            found.append((event["replyToken"], user, message["text"]))
    return found


def add_line_routes(app: FastAPI, source: BotSource, settings: ServeSettings) -> None:
    Bot = Annotated[str, Depends(source.page_bot)]

    @app.post(source.kochat_prefix + "/channels/line", responses=signed_responses(source),
              tags=["channels"])
    async def line(request: Request, name: Bot) -> dict[str, Any]:
        """A LINE Messaging API webhook: signed with the channel secret; answers via the reply API."""
        secret = channel_secret("LINE_CHANNEL_SECRET", source, name)
        body = await request.body()
        if not same_secret(request.headers.get("x-line-signature", ""), line_signature(secret, body)):
            raise forged("LINE")
        try:
            payload = json.loads(body)
        except ValueError:
            raise ApiError(400, "invalid_json", "the LINE webhook body is not JSON") from None
        events = _text_events(payload)
        if not events:
            return {"answered": 0}
        token = channel_secret("LINE_ACCESS_TOKEN", source, name)
        bot = await signed_bot(source, name)
        delivered = 0
        for reply_token, user, text in events:
            reply = await answer(source, bot, "line", user, text, settings.channel_deadline)
            message: dict[str, Any] = {"type": "text", "text": reply.text[:5000]}
            if reply.choices:
                message["quickReply"] = {"items": [
                    {"type": "action", "action": {"type": "message", "label": c[:20], "text": c}}
                    for c in reply.choices[:13]]}
            delivered += await deliver("LINE", f"{settings.line_api}/v2/bot/message/reply",
                                       {"replyToken": reply_token, "messages": [message]},
                                       {"Authorization": f"Bearer {token}"})
        return {"answered": len(events), "delivered": delivered}
