"""What ``malmoi clean --apply`` does with each suspect, proposed or reviewed.

A suspect gets one decision:

- ``move``: its row goes to the CSV of ``suggested`` (which a reviewer may change to any intent
  of the bot);
- ``set_aside``: its row leaves the training data, gathered in one file for a person to put back;
- ``keep``: nothing changes (a reviewer's "no", or a suspect between two overlapping intents).

:func:`propose` is what ``--apply`` does without review: move what the checkers are confident
about, keep what sits between two intents that overlap in meaning (a design question for the
bot's author, not a row to move), set the rest aside. ``suspects.json`` carries the proposal per
suspect; a reviewer edits it and ``malmoi clean BOT_DIR --apply suspects.json`` applies exactly
that list (:func:`read_reviewed`), without running the analysis again.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from malmoi.clean.cleaning import Neighbour, Suspect

__all__ = ["DECISIONS", "Decision", "Overlap", "SuspectsFileError", "find_overlaps", "propose", "read_reviewed"]

Decision = Literal["move", "set_aside", "keep"]
DECISIONS: tuple[str, ...] = get_args(Decision)

# Two intents overlap when the checkers hesitate between them in both directions: at least this
# many unconfident suspects labelled A that lean to B, and as many labelled B that lean to A.
# Random label flips rarely go both ways between one pair; shared meaning does.
OVERLAP_MIN_EACH_WAY = 2


class SuspectsFileError(ValueError):
    """A reviewed suspects.json that cannot be applied; the message names the file, the row and the fix."""


@dataclass(frozen=True)
class Overlap:
    """Two intents whose utterances the checkers cannot tell apart: merge them, or say in the data
    what separates them."""

    intents: tuple[str, str]
    suspects: tuple[Suspect, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"intents": list(self.intents), "suspects": len(self.suspects),
                "examples": [{"text": s.text, "given": s.given, "source": s.source} for s in self.suspects[:5]]}


def find_overlaps(suspects: list[Suspect], confident: float) -> list[Overlap]:
    """Pairs of intents between which unconfident suspects go both ways (largest first)."""
    by_direction: dict[tuple[str, str], list[Suspect]] = defaultdict(list)
    for s in suspects:
        if s.p_suggested < confident and not s.conflict:
            by_direction[(s.given, s.suggested)].append(s)
    found = []
    for (a, b), forward in by_direction.items():
        backward = by_direction.get((b, a), [])
        if a < b and min(len(forward), len(backward)) >= OVERLAP_MIN_EACH_WAY:
            found.append(Overlap((a, b), tuple(forward + backward)))
    return sorted(found, key=lambda o: (-len(o.suspects), o.intents))


def propose(suspects: list[Suspect], confident: float) -> list[tuple[Suspect, Decision]]:
    """The decision ``--apply`` takes for each suspect when nobody reviewed the list."""
    overlapping = {id(s) for overlap in find_overlaps(suspects, confident) for s in overlap.suspects}
    decisions: list[tuple[Suspect, Decision]] = []
    for s in suspects:
        if s.p_suggested >= confident:
            decisions.append((s, "move"))
        elif id(s) in overlapping:
            decisions.append((s, "keep"))
        else:
            decisions.append((s, "set_aside"))
    return decisions


def read_reviewed(path: Path, intents: list[str]) -> list[tuple[Suspect, Decision]]:
    """The suspects of a reviewed ``suspects.json`` with their ``decision``; a row moved to an
    intent the bot does not have, or an unknown decision, is a :class:`SuspectsFileError` naming the row."""
    try:
        document = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SuspectsFileError(f"{path}: not a readable suspects.json ({exc}); give the file `malmoi clean` "
                                "wrote") from None
    rows = document.get("suspects") if isinstance(document, dict) else None
    if not isinstance(rows, list):
        raise SuspectsFileError(f"{path}: no `suspects` list; give the suspects.json that `malmoi clean` wrote")
    known = set(intents)
    reviewed: list[tuple[Suspect, Decision]] = []
    for number, row in enumerate(rows, 1):
        where = f"{path}: suspect {number}"
        if not isinstance(row, dict):
            raise SuspectsFileError(f"{where}: expected an object, found {type(row).__name__}")
        decision = row.get("decision")
        if decision not in DECISIONS:
            raise SuspectsFileError(f"{where} (`{row.get('text', '')}`): decision {decision!r}; expected one of "
                            f"{', '.join(DECISIONS)}")
        try:
            suspect = Suspect(
                rank=int(row["rank"]), text=str(row["text"]), given=str(row["given"]),
                suggested=str(row["suggested"]), p_wrong=float(row["p_wrong"]),
                p_suggested=float(row["p_suggested"]), times_checked=int(row["times_checked"]),
                source=str(row["source"]), conflict=bool(row["conflict"]),
                neighbours=tuple(Neighbour(str(n["text"]), str(n["intent"]), float(n["similarity"]), str(n["source"]))
                                 for n in row.get("neighbours", [])),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SuspectsFileError(f"{where}: the field {exc} is missing or malformed; keep the fields "
                            "`malmoi clean` wrote and edit only `decision` and `suggested`") from None
        if decision == "move" and suspect.suggested not in known:
            raise SuspectsFileError(f"{where} (`{suspect.text}`): moves to `{suspect.suggested}`, which is not an "
                                    "intent of this bot; write one of its intents in `suggested`, or decide "
                                    "`keep` or `set_aside`")
        reviewed.append((suspect, decision))
    return reviewed
