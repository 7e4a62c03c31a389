"""The parse result: one typed object for the command line, the Python API and the server."""

from __future__ import annotations

from pydantic import BaseModel, Field

FALLBACK = "fallback"


class IntentScore(BaseModel):
    name: str
    confidence: float = Field(ge=0.0, le=1.0)


class EntitySpan(BaseModel):
    entity: str
    value: str
    start: int = Field(ge=0, description="character offset into `text` where the entity starts")
    end: int = Field(ge=0, description="character offset into `text` just past the entity")


class ParseResult(BaseModel):
    text: str
    intent: IntentScore
    intent_ranking: list[IntentScore]
    fallback: bool
    entities: list[EntitySpan]

    def to_dict(self) -> dict:
        return self.model_dump()
