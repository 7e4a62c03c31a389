"""Exceptions a user can act on, importable without loading torch."""

from malmoi.data.problems import DataError


class ModelLoadError(Exception):
    """A model directory that this version of malmoi cannot read."""


__all__ = ["DataError", "ModelLoadError"]
