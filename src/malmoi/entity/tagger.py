"""Entity tags without torch: the numpy twin of :class:`malmoi.entity.head.EntityHead`."""

from __future__ import annotations

from typing import Any

import numpy as np

from malmoi.entity.decode import viterbi

__all__ = ["EntityTagger"]


class EntityTagger:
    """Token vectors (and the sentence vector) → the best tag index per token."""

    def __init__(self, state: dict[str, Any], arrays: dict[str, np.ndarray], num_tags: int):
        self.use_crf = bool(state.get("crf", True))
        self.weight = np.asarray(arrays["emissions.weight"], np.float32)  # (tags, dim)
        self.bias = np.asarray(arrays["emissions.bias"], np.float32)
        self.transitions = np.asarray(arrays["transitions"], np.float32)
        self.start = np.asarray(arrays["start"], np.float32)
        self.end = np.asarray(arrays["end"], np.float32)
        sentence_tags = arrays.get("sentence_tags.weight")
        self.sentence_tags = None if sentence_tags is None else np.asarray(sentence_tags, np.float32)
        if (
            self.weight.shape[0] != num_tags
            or self.bias.shape != (num_tags,)
            or self.transitions.shape != (num_tags, num_tags)
            or self.start.shape != (num_tags,)
            or self.end.shape != (num_tags,)
        ):
            raise ValueError(f"entity head shapes do not fit {num_tags} tags")

    def emissions(self, tokens: np.ndarray, sentence: np.ndarray) -> np.ndarray:
        scores = tokens @ self.weight.T + self.bias  # (tokens, tags)
        if self.sentence_tags is not None:
            scores = scores + self.sentence_tags @ sentence
        return scores

    def decode(self, emissions: np.ndarray) -> list[int]:
        if not self.use_crf:
            return [int(i) for i in emissions.argmax(-1)]
        return viterbi(emissions, self.transitions, self.start, self.end)
