"""KakaoTalk: a skill server for Kakao i Open Builder (skill protocol version 2.0).

Open Builder POSTs a skill request for each message of a block whose skill is this server:
``userRequest.utterance`` is what the user typed, ``userRequest.user.id`` who (a bot user key,
stable per user and channel). The answer is a skill response: ``{"version": "2.0", "template":
{"outputs": [{"simpleText": {"text": ...}}], "quickReplies": [...]}}``, the quick replies being the
``choices`` of the slot being asked for. Kakao waits 5 seconds for it; past ``--channel-deadline``
(4.5 s by default) the answer is the scenario's failure text.

On a registry server the skill's headers (set in Open Builder's skill settings) carry the bot's
key, ``Authorization: Bearer <key>``, as for every route of a bot.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations, which name
# dependencies made inside the function that adds them.

from typing import Annotated, Literal

from fastapi import Depends, FastAPI
from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator

from malmoi.serve.channels.common import answer
from malmoi.serve.limits import MAX_TEXT_CHARS, MAX_USER_ID_CHARS
from malmoi.serve.schema import check_text
from malmoi.serve.settings import ServeSettings
from malmoi.serve.source import BotRef, BotSource

__all__ = ["SkillRequest", "SkillResponse", "add_kakao_routes", "skill_response"]

# Kakao shows at most 1000 characters of a simpleText and 10 quick replies of 14-character labels.
_MAX_TEXT, _MAX_QUICK_REPLIES, _MAX_LABEL = 1000, 10, 14


class KakaoUser(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: StrictStr = Field(min_length=1, max_length=MAX_USER_ID_CHARS, description="the bot user key")
    type: str | None = None


class KakaoUserRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    utterance: StrictStr = Field(min_length=1, max_length=MAX_TEXT_CHARS, description="what the user typed")
    user: KakaoUser

    @field_validator("utterance")
    @classmethod
    def _visible(cls, value: str) -> str:
        return check_text(value, "utterance")  # the same checks as every text


class SkillRequest(BaseModel):
    """Open Builder's skill request; only ``userRequest`` is read, the rest (``bot``, ``intent``,
    ``action``) is accepted as sent."""

    model_config = ConfigDict(extra="allow")
    userRequest: KakaoUserRequest


class SimpleText(BaseModel):
    text: str


class Output(BaseModel):
    simpleText: SimpleText


class QuickReply(BaseModel):
    label: str
    action: Literal["message"] = "message"
    messageText: str


class Template(BaseModel):
    outputs: list[Output]
    quickReplies: list[QuickReply] = []


class SkillResponse(BaseModel):
    version: Literal["2.0"] = "2.0"
    template: Template


def skill_response(text: str, choices: list[str]) -> SkillResponse:
    """One text bubble, and a quick reply per choice (Kakao's limits applied)."""
    quick = [QuickReply(label=choice[:_MAX_LABEL], messageText=choice) for choice in choices[:_MAX_QUICK_REPLIES]]
    return SkillResponse(template=Template(outputs=[Output(simpleText=SimpleText(text=text[:_MAX_TEXT]))],
                                           quickReplies=quick))


def add_kakao_routes(app: FastAPI, source: BotSource, settings: ServeSettings) -> None:
    Ref = Annotated[BotRef, Depends(source.bot_ref)]

    @app.post(source.kochat_prefix + "/channels/kakao", response_model=SkillResponse,
              response_model_exclude_defaults=False, responses=source.responses, tags=["channels"])
    async def kakao(request: SkillRequest, ref: Ref) -> SkillResponse:
        """A KakaoTalk message (Open Builder skill, version 2.0): the bot's answer as a simpleText,
        with quick replies while a slot that has choices is asked for."""
        bot = await source.get(ref)
        user = request.userRequest
        reply = await answer(source, bot, "kakao", user.user.id, user.utterance, settings.channel_deadline)
        return skill_response(reply.text, reply.choices)
