"""Request and response bodies of the HTTP API, its error bodies, and the checks on texts.

Shared by the routes (:mod:`malmoi.serve.routes`) and the builder (:mod:`malmoi.serve.builder`):
both import from here, and neither from the other. Every request error is a 4xx JSON body
``{"error": {"code": ..., "message": ...}}`` (:class:`ErrorResponse`); a route raises
:class:`ApiError` for one, the app's handlers turn it into :func:`error_response`.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi.responses import JSONResponse
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictStr,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

from malmoi.dialogue.state import ConversationState
from malmoi.model.result import ParseResult
from malmoi.serve.limits import MAX_TEXT_CHARS, MAX_USER_ID_CHARS

__all__ = [
    "ERROR_RESPONSES", "ApiError", "ChatRequest", "ChatResponse", "Conversation", "ErrorDetail", "ErrorResponse",
    "Health", "LoggedMessage", "ParseRequest", "check_path_text", "check_text", "error_response",
]


# Characters that show nothing on their own: format characters (U+200B zero width space, U+FEFF,
# joiners, direction marks), controls, separators, and the Hangul fillers and blank braille cell
# that Korean users type to fake an empty name or message. Text made only of these is empty.
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Cc", "Zs", "Zl", "Zp"})
_INVISIBLE_CHARS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f\u17b4\u17b5")


def _visible(char: str) -> bool:
    if char in _INVISIBLE_CHARS or "\ufe00" <= char <= "\ufe0f" or "\U000e0100" <= char <= "\U000e01ef":
        return False  # the fillers above, and variation selectors
    return not char.isspace() and unicodedata.category(char) not in _INVISIBLE_CATEGORIES


def check_text(value: str, name: str) -> str:
    """``value`` if it has a visible character, no NUL and no lone surrogate (a pydantic error if not)."""
    if "\x00" in value:
        raise PydanticCustomError("invalid_text", "{name} contains a NUL character", {"name": name})
    if not any(map(_visible, value)):  # stops at the first visible character: the first, usually
        raise PydanticCustomError(
            "empty", "{name} has no visible character (empty, spaces, or invisible characters like U+200B)",
            {"name": name},
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PydanticCustomError(
            "invalid_text", "{name} contains an unpaired surrogate (\\ud800-\\udfff)", {"name": name}
        ) from None
    return value


# The request field of the reference time: what "내일" and "다음 주 금요일" are relative to.
_REFERENCE_TIME = Field(None, description=(
    "the reference time of relative dates and times (\"내일\"), ISO 8601 (`2024-05-15T10:00:00+09:00`; without an "
    "offset: in the bot's time zone); default: the server's clock"), examples=["2024-05-15T10:00:00+09:00"])


def _iso_time(value: Any) -> Any:
    """A reference time is an ISO 8601 string: pydantic alone would also take 0 or "0" as 1970."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("expected an ISO 8601 date-time string like 2024-05-15T10:00:00+09:00")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value[:40]!r} is not an ISO 8601 date-time like 2024-05-15T10:00:00+09:00") from None


# Documented as a string: without an offset it is read in the bot's time zone, which RFC 3339's
# `date-time` format does not allow.
ReferenceTime = Annotated[datetime | None, BeforeValidator(_iso_time),
                          WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "null"}]})]


class ParseRequest(BaseModel):
    text: StrictStr = Field(
        min_length=1, max_length=MAX_TEXT_CHARS, description="one utterance", examples=["내일 부산 날씨 알려줘"]
    )
    reference_time: ReferenceTime = _REFERENCE_TIME

    @field_validator("text")
    @classmethod
    def _check(cls, value: str) -> str:
        return check_text(value, "text")


class ChatRequest(BaseModel):
    user_id: StrictStr = Field(
        min_length=1, max_length=MAX_USER_ID_CHARS, description="who is talking; one conversation per user",
        examples=["user-1"],
    )
    text: StrictStr = Field(min_length=1, max_length=MAX_TEXT_CHARS, examples=["날씨 알려줘"])
    reference_time: ReferenceTime = _REFERENCE_TIME

    @field_validator("user_id", "text")
    @classmethod
    def _check(cls, value: str, info: ValidationInfo) -> str:
        return check_text(value, str(info.field_name))


class ChatResponse(BaseModel):
    answer: str = Field(description="what the bot says")
    parse: ParseResult
    state: ConversationState


class LoggedMessage(BaseModel):
    created_at: datetime

    @field_validator("created_at")
    @classmethod
    def _in_utc(cls, when: datetime) -> datetime:
        # The log writes UTC; SQLite hands it back without its offset, which is no RFC 3339 date-time.
        return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)

    source: str = Field(description="chat, kochat, kakao, line, slack, telegram")
    text: str
    intent: str
    confidence: float
    fallback: bool
    status: str | None = Field(description="the conversation's status after the message")
    answer: str | None


class Conversation(BaseModel):
    state: ConversationState
    messages: list[LoggedMessage] = Field(description="the latest messages logged, oldest first")


class Health(BaseModel):
    status: str = Field(examples=["ok"], description='"ok", or "degraded" (HTTP 503) when the store is unavailable')
    store: str = Field(
        examples=["ok"], description='"ok", or "unavailable" when the conversation store cannot be used'
    )
    model: str = Field(description="the bot's name")
    version: str = Field(description="malmoi version")
    model_version: str = Field(description="fingerprint of the model files, also in the message log")
    intents: list[str]


class ErrorDetail(BaseModel):
    code: str = Field(examples=["empty_text"])
    message: str
    field: str | None = Field(None, description="the request field at fault, if one")


class ErrorResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"example": {"error": {"code": "empty_text", "message": "text is empty"}}}
    )
    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in [
        (400, "the body is not valid JSON, or the Host header is not allowed"),
        (413, "the body is larger than 64 KiB"),
        (415, "the body is not sent as application/json"),
        (422, "a field is missing, of the wrong type, empty or too long"),
        (503, "the conversation store is unavailable"),
    ]
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


def error_response(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    detail: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        detail["field"] = field
    return JSONResponse({"error": detail}, status_code=status)


def check_path_text(value: str, name: str, limit: int = MAX_TEXT_CHARS) -> str:
    """Path parameters (Kochat routes) get the same checks as JSON fields."""
    if len(value) > limit:
        raise ApiError(422, f"{name}_too_long", f"{name} has {len(value)} characters; the limit is {limit}", name)
    try:
        return check_text(value, name)
    except PydanticCustomError as exc:
        code = "empty_text" if exc.type == "empty" else "invalid_text"
        raise ApiError(422, code, exc.message(), name) from None
