"""The errors of the registry, apart so that every module of :mod:`malmoi.bots` can raise them."""

from __future__ import annotations

__all__ = ["IdenticalModelError", "LiveFileError", "PromotionRefused", "PublishError", "RegistryError"]


class RegistryError(Exception):
    """A registry operation that cannot be done as asked; the message says why and what to do."""


class PublishError(RegistryError):
    """A model refused at publish (damaged, incompatible, or answering differently once stored)."""


class IdenticalModelError(PublishError):
    """The model is byte for byte an existing version of the bot (``version``); publish it with force to
    make another version of it anyway."""

    def __init__(self, message: str, version: str) -> None:
        super().__init__(message)
        self.version = version


class LiveFileError(RegistryError):
    """A bot's ``LIVE`` file cannot be read or is not a live-version pointer: nothing answers for the bot
    until ``malmoi rollback --bot BOT --to VERSION`` (or ``PUT /v1/bots/{bot}/live``) writes it again."""


class PromotionRefused(RegistryError):
    """``malmoi promote``: the version's checks (:func:`malmoi.bots.gate.gate`) failed; ``failures`` names them."""

    def __init__(self, message: str, failures: list[str]) -> None:
        super().__init__(message)
        self.failures = failures
