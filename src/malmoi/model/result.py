"""The parse result: one typed object for the command line, the Python API and the server.

Serialized, it is only the fields below; in Python it also keeps the analysis it was made from
(``result.doc``: tokens with part of speech, offsets, vectors), so the dialogue and the Kochat
routes read tokens from it instead of analysing the text again. Nothing here imports torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, PrivateAttr, SerializerFunctionWrapHandler, model_serializer

from malmoi.labels import FALLBACK as FALLBACK  # the reserved intent name, re-exported

if TYPE_CHECKING:
    from malmoi.text.doc import Doc


class IntentScore(BaseModel):
    name: str
    confidence: float = Field(ge=0.0, le=1.0)


class EntitySpan(BaseModel):
    entity: str = Field(description="the type: the tagger's or a dictionary's (`LOCATION`), or `sys.<kind>`")
    value: str = Field(description="the text, as written in `text`")
    start: int = Field(ge=0, description="character offset into `text` where the entity starts")
    end: int = Field(ge=0, description="character offset into `text` just past the entity")
    resolved: Any = Field(None, description=(
        "what the entity means, when it resolves (left out when it does not): `sys.time` and a time the tagger "
        "found, an ISO 8601 date-time with the bot's UTC offset (`2024-05-16T20:00:00+09:00`) or an interval "
        "`{\"from\": ..., \"to\": ...}`; `sys.number` and `sys.ordinal` a number; `sys.money` "
        "`{\"amount\": 42000, \"currency\": \"KRW\"}`; `sys.duration` `{\"seconds\": 10800}`; "
        "`sys.phone`, `sys.email`, `sys.url` the normalized text; a dictionary's type its canonical value; "
        "a pattern's its match (or its group `value`)"))
    grain: str | None = Field(None, description=(
        "the precision of a time: year, quarter, month, week, day, hour, minute or second (times only)"))

    @model_serializer(mode="wrap")
    def _without_empty_values(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # An entity that resolves to nothing is written as before values existed: four keys.
        out: dict[str, Any] = handler(self)
        if out.get("resolved") is None:
            out.pop("resolved", None)
        if out.get("grain") is None:
            out.pop("grain", None)
        return out


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
