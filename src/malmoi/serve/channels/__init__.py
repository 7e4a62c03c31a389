"""Messenger channels: KakaoTalk, LINE, Slack and Telegram webhooks in front of a bot.

Each channel is one module with an ``add_*_routes(app, source, settings)``, mounted by
:func:`malmoi.serve.builder.build_app` at ``{source.kochat_prefix}/channels/<name>``: ``/channels/kakao``
for one model, ``/v1/bots/{bot}/channels/kakao`` for each bot of a registry. A channel reads the
platform's payload into a text and a user id, answers through :func:`malmoi.serve.channels.common.answer`
(the user id namespaced by channel, so a KakaoTalk user and a LINE user with the same id are two
conversations), and formats the reply as the platform expects. docs/channels.md tells how to
register each webhook with its platform.
"""

from __future__ import annotations

from fastapi import FastAPI

from malmoi.serve.channels.kakao import add_kakao_routes
from malmoi.serve.channels.line import add_line_routes
from malmoi.serve.channels.slack import add_slack_routes
from malmoi.serve.channels.telegram import add_telegram_routes
from malmoi.serve.settings import ServeSettings
from malmoi.serve.source import BotSource

__all__ = ["add_channel_routes"]


def add_channel_routes(app: FastAPI, source: BotSource, settings: ServeSettings) -> None:
    """Every channel's webhook, for one model or every bot of a registry."""
    add_kakao_routes(app, source, settings)
    add_line_routes(app, source, settings)
    add_slack_routes(app, source, settings)
    add_telegram_routes(app, source, settings)
