"""Slack: an Events API endpoint at ``/channels/slack`` (registry: ``/v1/bots/{bot}/channels/slack``).

Slack signs each request: ``X-Slack-Signature`` is ``v0=`` and the hex HMAC-SHA256 of
``v0:<X-Slack-Request-Timestamp>:<body>`` with the app's signing secret
(``MALMOI_SLACK_SIGNING_SECRET[_<BOT>]``); a wrong signature, or a timestamp more than five minutes
off (a replayed request), is refused with 401 before the body is read. The URL-verification
handshake answers its ``challenge``. A user's message (``message`` or ``app_mention`` event; not
a bot's own, not an edit) is answered with ``chat.postMessage`` (``{--slack-api}/chat.postMessage``,
bot token ``MALMOI_SLACK_BOT_TOKEN[_<BOT>]``) in the same channel. Slack sends a request again when
it got no answer within 3 seconds; those retries (``X-Slack-Retry-Num``) are acknowledged and not
answered twice.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations.

import hashlib
import hmac
import json
import time
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

__all__ = ["add_slack_routes", "slack_signature"]

_MAX_SKEW = 300  # seconds between Slack's timestamp and this server's clock
_SLACK_WAITS = 2.5  # Slack retries after 3 s


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def add_slack_routes(app: FastAPI, source: BotSource, settings: ServeSettings) -> None:
    Bot = Annotated[str, Depends(source.page_bot)]

    @app.post(source.kochat_prefix + "/channels/slack", responses=signed_responses(source),
              tags=["channels"])
    async def slack(request: Request, name: Bot) -> dict[str, Any]:
        """A Slack Events API request: signed with the signing secret; answers with chat.postMessage."""
        secret = channel_secret("SLACK_SIGNING_SECRET", source, name)
        body = await request.body()
        timestamp = request.headers.get("x-slack-request-timestamp", "")
        signature = request.headers.get("x-slack-signature", "")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > _MAX_SKEW \
                or not same_secret(signature, slack_signature(secret, timestamp, body)):
            raise forged("Slack")
        try:
            payload = json.loads(body)
        except ValueError:
            raise ApiError(400, "invalid_json", "the Slack request body is not JSON") from None
        if not isinstance(payload, dict):
            raise ApiError(422, "invalid_event", "a Slack request body is a JSON object")
        if payload.get("type") == "url_verification":
            return {"challenge": str(payload.get("challenge", ""))}
        event = payload.get("event")
        if request.headers.get("x-slack-retry-num") or payload.get("type") != "event_callback" \
                or not isinstance(event, dict) or event.get("type") not in ("message", "app_mention") \
                or event.get("bot_id") or event.get("subtype"):
            return {"answered": 0}  # a retry, or not a user's message (the bot's own answer included)
        user, text, channel = event.get("user"), event.get("text"), event.get("channel")
        if not all(isinstance(v, str) and v.strip() for v in (user, text, channel)):
            raise ApiError(422, "invalid_event", "a Slack message event has `user`, `text` and `channel`")
        assert isinstance(user, str) and isinstance(text, str)
        token = channel_secret("SLACK_BOT_TOKEN", source, name)
        bot = await signed_bot(source, name)
        reply = await answer(source, bot, "slack", user, text, min(settings.channel_deadline, _SLACK_WAITS))
        delivered = await deliver("Slack", f"{settings.slack_api}/chat.postMessage",
                                  {"channel": channel, "text": reply.text}, {"Authorization": f"Bearer {token}"})
        return {"answered": 1, "delivered": int(delivered)}
