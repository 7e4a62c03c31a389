"""The value type that every resolver returns, and the time grains, coarsest first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from malmoi.labels import SYSTEM_KINDS as SYSTEM_KINDS  # re-exported: the kinds find_values reads

# Duckling's grains, coarsest first; a time value's `grain` is one of them.
GRAINS = ("year", "quarter", "month", "week", "day", "hour", "minute", "second")
GRAIN_RANK = {grain: rank for rank, grain in enumerate(GRAINS)}



def finer(a: str, b: str) -> str:
    """The finer of two grains (``finer("day", "hour") == "hour"``)."""
    return a if GRAIN_RANK[a] >= GRAIN_RANK[b] else b


@dataclass(frozen=True)
class Value:
    """A resolved value found in a text: ``text == original[start:end]``.

    Attributes:
        kind: what was found: a system kind (``"time"``, ``"number"`` ...), or the entity type of
            a dictionary or pattern entity.
        start: index of the first character.
        end: index one past the last character; particles after a value stay outside
            (``"8시에"`` gives ``"8시"``).
        text: the surface string.
        resolved: the value: an ISO 8601 string or ``{"from", "to"}`` for times; an ``int`` or
            ``float`` for numbers and ordinals; ``{"amount", "currency"}`` for money;
            ``{"seconds"}`` for durations; a normalised string for phones, emails, urls; the
            canonical form for dictionary entities.
        grain: for times, the precision of ``resolved`` (one of :data:`GRAINS`); else ``None``.
    """

    kind: str
    start: int
    end: int
    text: str
    resolved: Any
    grain: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "start": self.start, "end": self.end, "text": self.text,
                               "resolved": self.resolved}
        if self.grain is not None:
            out["grain"] = self.grain
        return out
