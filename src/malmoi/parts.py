"""Parts: what a fitted model is made of. Each part saves and loads itself.

A model (:class:`malmoi.model.Model`) is a set of named parts, in the order a parse uses them::

    analyzer ─► lexical ─┐
             └► encoder ─┴► intent ─► fallback          (intent and out-of-domain)
                       └──► entity (tagger) ─┐
             └► extractors ──────────────────┴► entities  (values, dictionaries, plug-ins)

Every part type is registered by versioned name in the registry of its kind
(:mod:`malmoi.registry`), owns its settings class, and implements this module's small
contract: :meth:`Part.state` (JSON-able), :meth:`Part.arrays` (named numpy arrays, saved in the
part's own ``<name>.safetensors``) and :meth:`Part.load`, which rebuilds the part from them. The
model's ``model.json`` lists its parts (:class:`malmoi.artifact.PartRecord`); loading looks each
type up and calls its ``load``, so a plug-in part saves and loads like malmoi's own.

A part that several bots can share (an encoder) is kept in a folder of its own and loaded once per
process through :data:`shared` (by content hash): two bots on it hold one copy.

Parts parse without torch; training (:mod:`malmoi.model.training`) exports into them.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

if TYPE_CHECKING:
    from malmoi.data.schema import Example
    from malmoi.text.doc import Doc

__all__ = ["Extractor", "Found", "LoadContext", "Part", "SharedParts", "shared"]

P = TypeVar("P", bound="Part")


@dataclass(frozen=True)
class LoadContext:
    """What a part may need besides its own state and arrays when it loads.

    ``folder``: the model's folder (an encoder finds its ``encoder/`` there); ``name``: the part's
    name in the model, for messages; ``encoder_dirs``: folders that hold referenced encoders by
    name or content hash (a registry's ``encoders/``), searched after the recorded path.
    """

    folder: Path
    name: str
    encoder_dirs: tuple[Path, ...] = ()


class Part:
    """The contract of a model part (see the module docstring).

    Subclasses set ``settings`` in ``__init__`` and implement ``state``/``arrays``/``load`` when
    they learn anything; a part that learns nothing (a fixed rule) needs none of them.
    """

    settings: Any

    def state(self) -> dict[str, Any]:
        """What fitting learned that is not an array, as JSON-able values."""
        return {}

    def arrays(self) -> dict[str, np.ndarray]:
        """What fitting learned as named arrays (written to the part's safetensors file)."""
        return {}

    @classmethod
    def load(cls: type[P], settings: Any, state: dict[str, Any], arrays: dict[str, np.ndarray],
             context: LoadContext) -> P:
        """Rebuild the part from its settings and what :meth:`state` and :meth:`arrays` gave.

        The default suits a part whose constructor takes its settings and that learned nothing.
        Raises ``KeyError``/``ValueError``/``TypeError`` for arrays that do not fit (the model
        loader turns them into one clear "train it again" message).
        """
        part = cls(settings)  # type: ignore[call-arg]
        if state or arrays:
            raise ValueError(f"{cls.__name__} keeps no state, but the model holds some for it")
        return part

    @property
    def nbytes(self) -> int:
        """Bytes of arrays this part holds (a shared part counts here once per process)."""
        return int(sum(a.nbytes for a in self.arrays().values()))


@dataclass(frozen=True)
class Found:
    """An entity found in an utterance: a span of its normalized text (``doc.normalized``), its
    type, the value it resolves to if it has one (a date, a number, a canonical name), the grain
    of a time (``"day"``, ``"hour"`` ...), and who found it, which the merge rule reads
    (:mod:`malmoi.entity.values.merge`): ``"crf"`` (the tagger), ``"system"``, ``"dictionary"``,
    ``"pattern"``, or ``"extractor"`` (a plug-in's)."""

    type: str
    start: int
    end: int
    resolved: Any = None
    grain: str | None = None
    source: str = "extractor"


class Extractor(Part):
    """An entity extractor: finds entities without the tagger (values, dictionaries, patterns).

    ``fit`` sees the training examples (a dictionary may learn nothing from them; a plug-in may
    learn a vocabulary); ``extract`` finds entities in one analysed utterance, relative to the
    reference time ``now`` (for "내일", "다음 주 금요일"). The model merges what its extractors find
    with the tagger's spans (:mod:`malmoi.entity.values.merge`).
    """

    def fit(self, examples: Sequence[Example]) -> Extractor:
        return self

    def entity_types(self) -> list[str]:
        """The types this extractor can find (declared in the model's tags for the dialogue)."""
        return []

    def extract(self, doc: Doc, *, now: datetime) -> list[Found]:  # pragma: no cover - abstract
        raise NotImplementedError

    def value_types(self) -> dict[str, str]:
        """Tagger types whose entities take the resolution of this extractor's entities of a type
        (``{"DATE": "sys.time"}``): what fitting learned from the training examples."""
        return {}

    def canonical(self, entity: str, text: str) -> Any:
        """The value the text of a tagger's ``entity`` resolves to (a dictionary's canonical form
        of a synonym), or None when this extractor knows none."""
        return None


@dataclass
class SharedParts:
    """Parts loaded once per process and shared by every model that uses them, by key.

    Entries live as long as a model holds them (weak references): a bot evicted from a cache
    frees its encoder once no other bot uses it.
    """

    _parts: weakref.WeakValueDictionary[tuple[str, str], Any] = field(default_factory=weakref.WeakValueDictionary)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, kind: str, key: str, load: Callable[[], Any]) -> Any:
        """The part ``(kind, key)``: the one already loaded, else ``load()``'s (kept for the next)."""
        with self._lock:
            found = self._parts.get((kind, key))
        if found is not None:
            return found
        part = load()  # outside the lock: loading a pretrained model takes seconds
        return self.adopt(kind, key, part)

    def adopt(self, kind: str, key: str, part: Any) -> Any:
        """Keep ``part`` as ``(kind, key)`` unless one is already there, which is returned instead."""
        with self._lock:
            existing = self._parts.get((kind, key))
            if existing is not None:
                return existing
            self._parts[(kind, key)] = part
            return part

    def loaded(self, kind: str) -> list[Any]:
        """The parts of ``kind`` this process holds now (for tests and memory accounting)."""
        with self._lock:
            return [part for (k, _), part in self._parts.items() if k == kind]


shared = SharedParts()
