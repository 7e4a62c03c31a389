"""The parse result: one typed object for the command line, the Python API and the server.

Serialized, it is only the fields below; in Python it also keeps the analysis it was made from
(``result.doc``: tokens with part of speech, offsets, vectors), so the dialogue and the Kochat
routes read tokens from it instead of analysing the text again. Nothing here imports torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, PrivateAttr

from malmoi.labels import FALLBACK as FALLBACK  # the reserved intent name, re-exported

if TYPE_CHECKING:
    from malmoi.text.doc import Doc


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

    _doc: Any = PrivateAttr(default=None)
    _in_domain: float = PrivateAttr(default=float("nan"))

    def attach(self, doc: Doc, in_domain_score: float) -> None:
        """Keep the analysis and the in-domain score this result was made from (not serialized)."""
        self._doc = doc
        self._in_domain = in_domain_score

    @property
    def doc(self) -> Doc | None:
        """The analysed utterance (tokens, offsets, vectors), when the model made this result."""
        return self._doc

    @property
    def in_domain_score(self) -> float:
        """Nearness to the nearest intent's centre; the model falls back below its threshold."""
        return self._in_domain

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()

    def __eq__(self, other: object) -> bool:
        # What a result says, not which analysis object it keeps: two parses of one text are equal.
        if not isinstance(other, ParseResult):
            return NotImplemented
        return self.model_dump() == other.model_dump()

    __hash__ = None  # type: ignore[assignment]
