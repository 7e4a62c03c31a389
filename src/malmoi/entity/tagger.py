"""Entity tags without torch: the numpy twin of :class:`malmoi.entity.head.EntityHead`."""

from __future__ import annotations

from typing import Any

import numpy as np

from malmoi.entity.decode import viterbi
from malmoi.parts import LoadContext, Part

__all__ = ["EntityTagger"]


class EntityTagger(Part):
    """``crf.v1``: token vectors (and the sentence vector) → the best tag index per token.

    ``settings``: the bot's :class:`~malmoi.settings.EntitySettings`; ``state``: whether it decodes
    with the CRF; ``arrays``: emission weights, transitions, start and end scores.
    """

    def __init__(self, settings: Any, state: dict[str, Any], arrays: dict[str, np.ndarray]):
        self.settings = settings
        self._arrays = dict(arrays)
        self.use_crf = bool(state.get("crf", True))
        num_tags = int(np.asarray(arrays["emissions.bias"]).shape[0])
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

    @property
    def num_tags(self) -> int:
        return int(self.bias.shape[0])

    def state(self) -> dict[str, Any]:
        return {"crf": self.use_crf}

    def arrays(self) -> dict[str, np.ndarray]:
        return self._arrays

    @classmethod
    def load(cls, settings: Any, state: dict[str, Any], arrays: dict[str, np.ndarray],
             context: LoadContext) -> EntityTagger:
        return cls(settings, state, arrays)

    def emissions(self, tokens: np.ndarray, sentence: np.ndarray) -> np.ndarray:
        scores = tokens @ self.weight.T + self.bias  # (tokens, tags)
        if self.sentence_tags is not None:
            scores = scores + self.sentence_tags @ sentence
        return scores

    def decode(self, emissions: np.ndarray) -> list[int]:
        if not self.use_crf:
            return [int(i) for i in emissions.argmax(-1)]
        return viterbi(emissions, self.transitions, self.start, self.end)
