"""What the bot remembers of one user's conversation, and what it says back."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from malmoi.model.result import ParseResult

# Statuses, as Kochat named them where Kochat had one.
SUCCESS = "SUCCESS"  # answered: a scenario ran, or a fixed answer
FALLBACK = "FALLBACK"  # out of domain, or an intent the bot has no answer for
FAIL = "FAIL"  # the scenario's action failed; the failure answer was given
CANCELLED = "CANCELLED"  # the user cancelled (취소)
NEW = "NEW"  # no message yet, or the conversation expired
REQUIRE = "REQUIRE_"  # + the missing entities joined by "_": REQUIRE_LOCATION


class ConversationState(BaseModel):
    """One user's conversation after their latest message."""

    user_id: str
    status: str = Field(default=NEW, description="SUCCESS, FALLBACK, FAIL, CANCELLED, NEW or REQUIRE_<ENTITY>_...")
    intent: str | None = Field(default=None, description="the scenario being filled in, or the one just answered")
    slots: dict[str, str] = Field(default_factory=dict, description="entity values collected so far")
    resolved: dict[str, Any] = Field(default_factory=dict, description=(
        "what the slots that resolve mean, by slot: a time as ISO 8601, a number, a dictionary's canonical value "
        "(the entity's `resolved`)"))
    missing: list[str] = Field(
        default_factory=list, description="required entities still to collect; the first is being asked for"
    )
    turn: int = Field(default=0, ge=0, description="messages this user has sent")
    updated_at: float = Field(default=0.0, description="Unix time of the latest message")

    @property
    def active(self) -> bool:
        """Whether the bot is waiting for an entity."""
        return self.intent is not None and bool(self.missing)


class Reply(BaseModel):
    """The bot's answer to one message, how the message was parsed, and the state after it."""

    answer: str
    parse: ParseResult
    state: ConversationState
