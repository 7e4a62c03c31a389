"""Where a server's bots come from: :class:`BotSource`, and its one-model form :class:`OneBot`.

The app (:mod:`malmoi.serve.builder`) is the same for one model and for a registry of bots;
what differs is behind this protocol: which bot a request names and whether its key may use it
(:attr:`BotSource.bot_ref`, a FastAPI dependency, so that it runs before the body is read as
fields), how that bot is found and loaded (:meth:`BotSource.get`), what ``/health`` says, and
what is closed at the end. The routes (:mod:`malmoi.serve.routes`) ask only this.

* :class:`OneBot`: one model folder, loaded at start; ``/v1/parse``, Kochat's routes at ``/``.
* :class:`~malmoi.serve.registry_source.RegistryBots`: every bot of a registry, each request
  answered by the bot's live version from a byte-bounded cache, API keys;
  ``/v1/bots/{bot}/parse``, Kochat's routes under ``/v1/bots/{bot}``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from fastapi import Request
from fastapi.responses import Response

import malmoi
from malmoi import Model
from malmoi._version import __version__
from malmoi.bots.keys import ApiKey
from malmoi.dialogue.engine import Dialogue
from malmoi.dialogue.scenarios import Scenarios
from malmoi.dialogue.store import StateStore, is_unavailable
from malmoi.model.result import ParseResult
from malmoi.serve.batching import ParseBatcher
from malmoi.serve.guards import require_local
from malmoi.serve.schema import ERROR_RESPONSES, Health
from malmoi.serve.settings import ServeSettings, load_scenarios

__all__ = ["BotRef", "BotSource", "OneBot", "ServedBot", "load_model", "log_parse", "model_version"]

logger = logging.getLogger("malmoi.serve")


@dataclass(frozen=True)
class BotRef:
    """The bot a request is for, and the API key it came with (None where keys are not used).

    Made by the source's :attr:`BotSource.bot_ref` dependency after the key was checked."""

    name: str
    key: ApiKey | None = None


@dataclass
class ServedBot:
    """One bot, ready to answer: its model, its conversations, and what the message log calls it."""

    name: str
    model: Model
    dialogue: Dialogue
    model_version: str  # recorded with every logged message
    version: str | None = None  # the registry's version name; None for one model folder
    nbytes: int = 0  # what the bot cache charges it
    headers: dict[str, str] = field(default_factory=dict)  # sent with parse and chat answers


class BotSource(Protocol):
    """What the app needs of its bots, for one model and for a registry alike."""

    title: str  # the app's title in /docs
    description: str
    api_prefix: str  # where the JSON API is: "/v1", or "/v1/bots/{bot}"
    kochat_prefix: str  # where Kochat's routes are: "", or "/v1/bots/{bot}"
    review_page: str  # the review page's path: "/review", or "/review/{bot}"
    tag: str  # the OpenAPI tag of the bot routes
    keys_required: bool  # whether bot routes need an API key
    responses: dict[int | str, dict[str, Any]]  # the errors every bot route may answer (OpenAPI)
    store: StateStore
    batcher: ParseBatcher
    # FastAPI dependencies: the BotRef of a request (its key checked first), and the bot's name in
    # a path that needs no key (the review page, whose script asks for the key).
    bot_ref: Callable[..., Any]
    page_bot: Callable[..., Any]
    health_model: type[Any]
    health_responses: ClassVar[dict[int | str, dict[str, Any]]]

    async def get(self, ref: BotRef) -> ServedBot:
        """The bot that answers this request (loaded if needed), or an ApiError (404, 503)."""
        ...

    def reviewer(self, request: Request, ref: BotRef) -> str:
        """Who writes review answers for this request (``local``, ``key:<id>``), or 403."""
        ...

    def operator(self, request: Request) -> str:
        """Who reads the server's operations pages (``/metrics``, ``/analytics``): ``local``,
        ``key:<id>`` (an admin key on a registry), or 401/403."""
        ...

    def health(self) -> Response:
        """``GET /health``."""
        ...

    def close(self) -> None:
        """At the app's shutdown: the parsing thread, the bots, the store."""
        ...


def log_parse(store: StateStore, bot: ServedBot, result: ParseResult, source: str) -> None:
    """Log a message that was only parsed (chat messages are logged by the dialogue)."""
    store.log({
        "bot": bot.name, "source": source, "text": result.text, "intent": result.intent.name,
        "confidence": result.intent.confidence, "fallback": result.fallback,
        "entities": [e.model_dump() for e in result.entities], "model_version": bot.model_version,
    })


def model_version(model_dir: str | Path) -> str:
    """A short fingerprint of a model: the message log says which model parsed what. model.json
    holds the checksum of every weights file and of its encoder, so its own hash covers them all."""
    return hashlib.sha256((Path(model_dir) / "model.json").read_bytes()).hexdigest()[:12]


def load_model(model_dir: str | Path) -> Model:
    """Load a model and parse once, or raise :class:`~malmoi.errors.ModelLoadError` in one line.

    Damaged weights fail in torch or safetensors with their own exceptions and multi-line
    messages; a server that cannot load its model must say so in one line and stop, so any
    failure here becomes a ModelLoadError.
    """
    from malmoi.errors import ModelLoadError

    try:
        model = malmoi.load(model_dir)
        model.parse("안녕하세요")  # loads the analyser now, not during the first request
    except ModelLoadError as exc:
        raise ModelLoadError(" ".join(str(exc).split())) from exc
    except Exception as exc:
        reason = " ".join(str(exc).split()) or "no message"
        raise ModelLoadError(
            f"cannot load the model {model_dir} ({type(exc).__name__}: {reason}); "
            "it is damaged or incomplete: retrain it, or copy it again."
        ) from exc
    return model


class OneBot:
    """One model folder (``malmoi serve MODEL_DIR``), loaded at start; no API keys.

    Args:
        settings: ``model_dir`` is the model; ``database_url`` the store; ``scenarios`` a module.
        scenarios: scenarios and actions declared in Python; default: ``settings.scenarios``'s.

    Raises:
        ModelLoadError: the model cannot be loaded, in one line.
    """

    api_prefix = "/v1"
    kochat_prefix = ""
    review_page = "/review"
    tag = "v1"
    keys_required = False
    responses = ERROR_RESPONSES
    health_model = Health
    health_responses: ClassVar[dict[int | str, dict[str, Any]]] = {
        503: {"model": Health, "description": "the conversation store is unavailable: chat cannot work"},
    }

    def __init__(self, settings: ServeSettings, scenarios: Scenarios | None = None) -> None:
        assert settings.model_dir is not None, "OneBot serves a model folder"
        if scenarios is None:
            scenarios = load_scenarios(settings.scenarios)
        model = load_model(settings.model_dir)
        version = model_version(settings.model_dir)
        self.store = StateStore(settings.database_url)
        try:
            dialogue = Dialogue(model, store=self.store, scenarios=scenarios, model_version=version)
        except Exception:
            self.store.close()
            raise
        self.bot = ServedBot(name=model.config.name, model=model, dialogue=dialogue, model_version=version)
        self.batcher = ParseBatcher()
        self.title = f"malmoi: {self.bot.name}"
        self.description = (
            f"Conversations with the bot **{self.bot.name}**: parse utterances, chat with scenarios and slot "
            "filling, Kochat-compatible routes. Errors are `{\"error\": {\"code\", \"message\"}}`."
        )
        self._health = Health(status="ok", store="ok", model=self.bot.name, version=__version__,
                              model_version=version, intents=model.intents)
        self._degraded = self._health.model_copy(update={"status": "degraded", "store": "unavailable"})

        ref = BotRef(self.bot.name)

        async def bot_ref() -> BotRef:  # async: a sync dependency would cost a thread-pool hop per request
            return ref

        async def page_bot() -> str:
            return ref.name

        self.bot_ref, self.page_bot = bot_ref, page_bot

    async def get(self, ref: BotRef) -> ServedBot:
        return self.bot

    def reviewer(self, request: Request, ref: BotRef) -> str:
        require_local(request)  # no keys here: only this machine may write the bot's data
        return "local"

    def operator(self, request: Request) -> str:
        require_local(request, "the server's operations pages")  # no keys here: this machine only
        return "local"

    def health(self) -> Response:
        """200 while the store can be read; 503 ``degraded`` when it cannot (parsing still works)."""
        try:
            self.store.check()
        except Exception as exc:  # whatever the store raises, health answers
            if not is_unavailable(exc):
                logger.exception("bug: the store check raised")
            else:
                logger.error("health: the conversation store is unavailable: %s",
                             str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            return Response(self._degraded.model_dump_json(), status_code=503, media_type="application/json")
        return Response(self._health.model_dump_json(), media_type="application/json")

    def close(self) -> None:
        self.batcher.close()
        self.bot.dialogue.close()
        self.store.close()

