"""CRF decoding without torch: the allowed tag transitions of a scheme, and Viterbi.

The transition constraints follow AllenNLP's ``allowed_transitions``: a tag sequence that the
scheme forbids (``O`` → ``I-X`` in BIO, ``B-X`` → ``O`` in BIOES) scores minus infinity, so the
decoder can never emit one.
"""

from __future__ import annotations

import numpy as np

from malmoi.labels import split_tag

__all__ = ["FORBIDDEN", "allowed_transitions", "viterbi"]

FORBIDDEN = -1e4  # large enough to never win, small enough to stay finite in float32


def allowed_transitions(tags: list[str], scheme: str) -> np.ndarray:
    """Boolean matrix ``[from, to]``: may tag ``to`` follow tag ``from``? Row/col ``n`` is start/end.

    Returns an ``(n + 1, n + 1)`` matrix where index ``n`` stands for the sentence boundary
    (as ``from`` it is the start, as ``to`` it is the end).
    """
    n = len(tags)
    allowed = np.zeros((n + 1, n + 1), dtype=bool)
    parsed = [split_tag(t, lenient=True) for t in tags] + [("BOUNDARY", "")]
    if scheme == "BIO":
        ends_entity = {"O", "B", "I", "BOUNDARY"}  # any tag may be last
        starts_entity = {"O", "B"}
    elif scheme == "BIOES":
        ends_entity = {"O", "E", "S", "BOUNDARY"}
        starts_entity = {"O", "B", "S"}
    else:
        raise ValueError(f"unknown tag scheme {scheme!r}; expected 'BIO' or 'BIOES'")
    for i, (p_from, t_from) in enumerate(parsed):
        for j, (p_to, t_to) in enumerate(parsed):
            if p_from == "BOUNDARY" and p_to == "BOUNDARY":
                continue
            if p_to in starts_entity or p_to == "BOUNDARY":
                ok = p_from in ends_entity
            else:  # I or E continue an entity of the same type
                continuing = {"B", "I"}
                ok = p_from in continuing and t_from == t_to
            allowed[i, j] = ok
    return allowed


def viterbi(
    emissions: np.ndarray, transitions: np.ndarray, start: np.ndarray, end: np.ndarray
) -> list[int]:
    """Best tag path for one sentence; ``emissions`` is ``(tokens, tags)``."""
    length = emissions.shape[0]
    if length == 0:
        return []
    score = start + emissions[0]
    backpointers = np.empty((length, emissions.shape[1]), dtype=np.int64)
    for t in range(1, length):
        candidates = score[:, None] + transitions  # (from, to)
        backpointers[t] = candidates.argmax(0)
        score = candidates.max(0) + emissions[t]
    best = int((score + end).argmax())
    path = [best]
    for t in range(length - 1, 0, -1):
        best = int(backpointers[t, best])
        path.append(best)
    path.reverse()
    return path
