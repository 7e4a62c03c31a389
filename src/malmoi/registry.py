"""Parts by name: everything ``bot.yaml`` chooses, and everything a saved model is made of, is found here.

Each kind of part has a registry (:data:`encoders`, :data:`lexical`, :data:`intent_heads`,
:data:`taggers`, :data:`extractors`, ...). A part registers itself under a versioned name, the way
spaCy's ``@registry.architectures`` and thinc's ``@registry.layers("...v1")`` work::

    from malmoi import registry

    @registry.extractors.register("digit-runs.v1", settings=DigitRunsSettings)
    class DigitRuns(malmoi.parts.Extractor): ...

``bot.yaml`` then says ``type: digit-runs`` (the newest version) or ``digit-runs.v1`` (exactly that
one). A trained model stores the versioned name of each of its parts (:mod:`malmoi.parts`), so a
later ``v2`` never changes how an existing model loads.

malmoi's own parts are registered on first use (:mod:`malmoi.components`), and so are those of
installed plug-in packages that declare an entry point in the group ``malmoi.parts`` (a function
that registers them); a plug-in module imported before the bot is trained or loaded works too.
"""

from __future__ import annotations

import importlib
import logging
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

__all__ = [
    "ENTRY_POINT_GROUP",
    "Entry",
    "NoSettings",
    "PartRegistry",
    "RegistryError",
    "all_registries",
    "analyzers",
    "checkers",
    "encoders",
    "extractors",
    "fallbacks",
    "intent_heads",
    "intent_losses",
    "lexical",
    "taggers",
]

T = TypeVar("T")
logger = logging.getLogger("malmoi")

ENTRY_POINT_GROUP = "malmoi.parts"
_NAME = re.compile(r"(?P<base>[a-z][a-z0-9_\-]*(?:\.[a-z][a-z0-9_\-]*)*?)\.v(?P<version>[0-9]+)")


class RegistryError(ValueError):
    """A name that no registered part answers to (or a clash when registering)."""


class NoSettings(BaseModel):
    """Settings of a part that has none: any key is a mistake."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Entry(Generic[T]):
    """A registered part: its versioned name, what builds it, its settings model, what parses.

    ``target`` builds the part for training from its settings (a torch module for an encoder, the
    part itself for one that fits without torch); ``part`` is the class that parses and that a
    saved model loads (:class:`malmoi.parts.Part`), when it is not ``target`` itself. Either may
    be ``"module:attribute"``, imported on first use: malmoi's own torch parts are registered that
    way, so that validating a ``bot.yaml`` knows every name and setting without importing torch.
    """

    name: str
    target: T | str
    settings: type[BaseModel] | str
    part: Any = None

    @property
    def factory(self) -> T:
        found: T = _load(self.target) if isinstance(self.target, str) else self.target
        return found

    @property
    def part_class(self) -> Any:
        """The class that parses and loads itself from a saved model."""
        if self.part is None:
            return self.factory
        return _load(self.part) if isinstance(self.part, str) else self.part

    @property
    def settings_class(self) -> type[BaseModel]:
        found: type[BaseModel] = _load(self.settings) if isinstance(self.settings, str) else self.settings
        return found

    def validate(self, values: dict[str, Any]) -> BaseModel:
        return self.settings_class.model_validate(values)


class PartRegistry(Generic[T]):
    """Versioned names → parts of one kind.

    >>> losses = PartRegistry("example loss")
    >>> @losses.register("hinge.v1")
    ... def hinge(): ...
    >>> losses.get("hinge").name
    'hinge.v1'
    """

    def __init__(self, kind: str, *, default_part: str | None = None):
        self.kind = kind
        # The part class of entries registered without one (encoders: a saved encoder artifact).
        self.default_part = default_part
        self._entries: dict[str, Entry[T]] = {}

    def register(
        self, name: str, *, settings: type[BaseModel] | str = NoSettings, part: Any = None
    ) -> Callable[[T], T]:
        """Decorator registering a part as ``name`` (``"base.vN"``)."""

        def decorate(factory: T) -> T:
            self.add(name, factory, settings=settings, part=part)
            return factory

        return decorate

    def add(
        self, name: str, target: T | str, *, settings: type[BaseModel] | str = NoSettings, part: Any = None
    ) -> None:
        """Register ``target`` (or ``"module:attribute"``, imported on first use) as ``name``."""
        if not _NAME.fullmatch(name):
            raise RegistryError(
                f"{self.kind} names look like `cnn.v1`: lowercase, then `.v` and a version number; got {name!r}"
            )
        existing = self._entries.get(name)
        if existing is not None and existing.target is not target and not _same_definition(existing.target, target):
            # Re-running a module re-registers its own definition: harmless. Anything else under
            # a taken name would silently change how existing models load.
            raise RegistryError(f"{self.kind} {name!r} is already registered by {existing.target!r}")
        self._entries[name] = Entry(name, target, settings, part if part is not None else self.default_part)

    def resolve(self, name: str) -> str:
        """The versioned name for ``name``: itself if versioned, else its newest version."""
        load_builtins()
        if name in self._entries:
            return name
        versions = [
            (int(m["version"]), full) for full in self._entries if (m := _NAME.fullmatch(full)) and m["base"] == name
        ]
        if not versions:
            known = ", ".join(self.names()) or "none"
            raise RegistryError(
                f"no {self.kind} named {name!r}; registered: {known}. A plug-in must be installed (entry point "
                f"group {ENTRY_POINT_GROUP!r}) or imported before the bot is trained or loaded"
            )
        return max(versions)[1]

    def get(self, name: str) -> Entry[T]:
        return self._entries[self.resolve(name)]

    def names(self) -> list[str]:
        """Unversioned names, for messages and documentation (``cnn``, ``bilstm``)."""
        load_builtins()
        return sorted({m["base"] if (m := _NAME.fullmatch(n)) else n for n in self._entries})

    def entries(self) -> Iterator[Entry[T]]:
        """Every registered entry (each version), for the contract tests and documentation."""
        load_builtins()
        return iter(list(self._entries.values()))

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            self.resolve(name)
        except RegistryError:
            return False
        return True


def _load(target: str) -> Any:
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


def _same_definition(a: object, b: object) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        where = a if isinstance(a, str) else b
        other = b if isinstance(a, str) else a
        return (isinstance(other, str) and other == where) or (
            f"{getattr(other, '__module__', '')}:{getattr(other, '__qualname__', '')}" == where
        )
    return (getattr(a, "__module__", None), getattr(a, "__qualname__", None)) == (
        getattr(b, "__module__", ""),
        getattr(b, "__qualname__", ""),
    )


# -- the registries: malmoi's own parts are added by malmoi.components on first use ----------------

# The analysis of an utterance into a Doc (the language's tokenizer).
analyzers: PartRegistry[Any] = PartRegistry("analyzer")
# Token vectors for the heads: learned from the bot's data, or frozen and shared.
encoders: PartRegistry[Any] = PartRegistry("encoder", default_part="malmoi.encode.runtime:ArtifactEncoder")
# Sparse n-gram features beside the encoder.
lexical: PartRegistry[Any] = PartRegistry("lexical featurizer")
# What scores intents from the sentence vector (and the fallback's in-domain score).
intent_heads: PartRegistry[Any] = PartRegistry("intent head")
# The losses an intent head trains with; they own the class centres it retrieves against.
intent_losses: PartRegistry[Any] = PartRegistry("intent loss")
# How the fallback threshold is chosen and applied.
fallbacks: PartRegistry[Any] = PartRegistry("fallback")
# The entity tagger over the token vectors (the CRF).
taggers: PartRegistry[Any] = PartRegistry("entity tagger")
# Entities found without the tagger (values, dictionaries, patterns, plug-ins), merged with its spans.
extractors: PartRegistry[Any] = PartRegistry("entity extractor")
# Label checkers of `malmoi clean` (malmoi.clean.checker): fast classifiers fitted many times.
checkers: PartRegistry[Any] = PartRegistry("label checker")


def all_registries() -> list[PartRegistry[Any]]:
    """Every registry, for the contract tests over every registered part."""
    return [analyzers, encoders, lexical, intent_heads, intent_losses, fallbacks, taggers, extractors, checkers]


_builtins_loaded = False
_builtins_loading = False
_builtins_lock = threading.RLock()


def load_builtins() -> None:
    """Register malmoi's own parts and those of installed plug-ins (once per process).

    By name, not by import: :mod:`malmoi.components` imports this module to register. Other
    threads wait until every part is registered; the registering thread itself may look names up.
    """
    global _builtins_loaded, _builtins_loading
    if _builtins_loaded:
        return
    with _builtins_lock:
        if _builtins_loaded or _builtins_loading:
            return
        _builtins_loading = True
        try:
            _load("malmoi.components:register_builtins")()
            _load_plugins()
        finally:
            _builtins_loaded, _builtins_loading = True, False


def _load_plugins() -> None:
    from importlib.metadata import entry_points

    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            point.load()()
        except Exception as exc:  # a broken plug-in must not stop malmoi's own parts
            logger.warning("the malmoi plug-in %s (%s) failed to register: %s", point.name, point.value, exc)
