"""The base of every component's settings: a leaf module (it imports nothing of malmoi).

:mod:`malmoi.settings` validates ``bot.yaml`` by looking component names up in the registries,
and :mod:`malmoi.components` declares each component's settings as a subclass of
:class:`ComponentSettings`; both import this module, so neither imports the other at load time.
``malmoi.settings.ComponentSettings`` is the same class.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["ComponentSettings", "StrictModel"]


class StrictModel(BaseModel):
    # A misspelled key should be an error that names it, not a silently ignored setting.
    model_config = ConfigDict(extra="forbid")


class ComponentSettings(StrictModel):
    """Settings of a part chosen by name from a registry (:mod:`malmoi.registry`).

    ``type`` names the part (``cnn``, or exactly ``cnn.v1``); after validation it holds the
    versioned name and the object is the part's own settings class, with its own checks.
    """

    type: str
