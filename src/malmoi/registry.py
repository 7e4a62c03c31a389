"""Components by name: the parts of a model that ``bot.yaml`` chooses are found here.

Each kind of part has a registry (:data:`encoders`, :data:`lexical`, :data:`intent_losses`). A
part registers itself under a versioned name, the way spaCy's ``@registry.architectures`` and
thinc's ``@registry.layers("...v1")`` work::

    from malmoi import registry

    @registry.encoders.register("my_encoder.v1", settings=MyEncoderSettings)
    class MyEncoder(malmoi.encode.Encoder): ...

``bot.yaml`` then says ``encoder: {type: my_encoder}`` (the newest version) or
``my_encoder.v1`` (exactly that one). A trained model stores the versioned name, so a later
``my_encoder.v2`` never changes how an existing model loads. A plug-in outside malmoi registers
the same way, from any module imported before the bot is trained or loaded.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

__all__ = ["Entry", "NoSettings", "Registry", "RegistryError", "checkers", "encoders", "intent_losses", "lexical"]

T = TypeVar("T")

_NAME = re.compile(r"^(?P<base>[a-z][a-z0-9_\-]*(?:\.[a-z][a-z0-9_\-]*)*?)\.v(?P<version>[0-9]+)$")


class RegistryError(ValueError):
    """A name that no registered component answers to (or a clash when registering)."""


class NoSettings(BaseModel):
    """Settings of a component that has none: any key is a mistake."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Entry(Generic[T]):
    """A registered component: its versioned name, what builds it, and its settings model.

    ``target`` is the component itself, or ``"module:attribute"`` for one imported on first use:
    malmoi's own torch components are registered that way, so that validating a ``bot.yaml``
    knows every name and setting without importing torch.
    """

    name: str
    target: T | str
    settings: type[BaseModel]
    # Optional: what parses with the component's exported weights without torch (encoders).
    inference: Any = None
    # Optional (encoders that are not malmoi artifacts, e.g. a pretrained folder): what loads the
    # parse-time encoder of a saved model, from ``(settings, encoder reference, model_dir)``.
    runtime: Any = None

    @property
    def factory(self) -> T:
        found: T = _load(self.target) if isinstance(self.target, str) else self.target
        return found

    @property
    def inference_factory(self) -> Any:
        return _load(self.inference) if isinstance(self.inference, str) else self.inference

    @property
    def runtime_factory(self) -> Any:
        return _load(self.runtime) if isinstance(self.runtime, str) else self.runtime

    def validate(self, values: dict[str, Any]) -> BaseModel:
        return self.settings.model_validate(values)


class Registry(Generic[T]):
    """Versioned names → components of one kind.

    >>> losses = Registry("example losses")
    >>> @losses.register("hinge.v1")
    ... def hinge(): ...
    >>> losses.get("hinge").name
    'hinge.v1'
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}

    def register(
        self, name: str, *, settings: type[BaseModel] = NoSettings, inference: Any = None, runtime: Any = None
    ) -> Callable[[T], T]:
        """Decorator registering a component as ``name`` (``"base.vN"``)."""

        def decorate(factory: T) -> T:
            self.add(name, factory, settings=settings, inference=inference, runtime=runtime)
            return factory

        return decorate

    def add(
        self,
        name: str,
        target: T | str,
        *,
        settings: type[BaseModel] = NoSettings,
        inference: Any = None,
        runtime: Any = None,
    ) -> None:
        """Register ``target`` (or ``"module:attribute"``, imported on first use) as ``name``."""
        if not _NAME.match(name):
            raise RegistryError(
                f"{self.kind} names look like `cnn.v1`: lowercase, then `.v` and a version number; got {name!r}"
            )
        existing = self._entries.get(name)
        if existing is not None and existing.target is not target and not _same_definition(existing.target, target):
            # Re-running a module re-registers its own definition: harmless. Anything else under
            # a taken name would silently change how existing models load.
            raise RegistryError(f"{self.kind} {name!r} is already registered by {existing.target!r}")
        self._entries[name] = Entry(name, target, settings, inference, runtime)

    def resolve(self, name: str) -> str:
        """The versioned name for ``name``: itself if versioned, else its newest version."""
        if name in self._entries:
            return name
        versions = [
            (int(m["version"]), full) for full in self._entries if (m := _NAME.match(full)) and m["base"] == name
        ]
        if not versions:
            known = ", ".join(self.names()) or "none"
            raise RegistryError(
                f"no {self.kind} named {name!r}; registered: {known}. A plug-in must be imported "
                "(its module run) before the bot is trained or loaded"
            )
        return max(versions)[1]

    def get(self, name: str) -> Entry[T]:
        return self._entries[self.resolve(name)]

    def names(self) -> list[str]:
        """Unversioned names, for messages and documentation (``cnn``, ``bilstm``)."""
        return sorted({m["base"] if (m := _NAME.match(n)) else n for n in self._entries})

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            self.resolve(name)
        except RegistryError:
            return False
        return True


def _load(target: str) -> Any:
    import importlib

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


# The registries. malmoi's own components are added in malmoi.components (no torch import);
# plug-ins add theirs when their module is imported.
encoders: Registry[Any] = Registry("encoder")
lexical: Registry[Any] = Registry("lexical featurizer")
intent_losses: Registry[Any] = Registry("intent loss")
# Label checkers of `malmoi clean` (malmoi.clean.checker): fast classifiers fitted many times.
checkers: Registry[Any] = Registry("label checker")
