"""Exceptions a user can act on, importable without loading torch."""

from malmoi.data.problems import DataError
from malmoi.outputs import OutputError


class ModelLoadError(Exception):
    """A model directory that this version of malmoi cannot read: the message says why and what to do."""


class ModelSaveError(Exception):
    """A model cannot be written where it was asked to go."""


__all__ = ["DataError", "ModelLoadError", "ModelSaveError", "OutputError"]
