"""Every bot of a registry as a :class:`~malmoi.serve.source.BotSource` (``malmoi serve --registry DIR``).

Each request reads the bot's live version from the registry (one small file) and takes that
version from a :class:`~malmoi.bots.cache.BotCache` bounded in bytes, loading it on first use in
FastAPI's thread pool. Publishing or rolling back therefore takes effect with the next request,
without a restart; requests already running finish on the version they started with.

With API keys (the default, :mod:`malmoi.bots.keys`) every bot route needs
``Authorization: Bearer <key>`` for that bot or an admin key: 401 without a valid key, 403 with
a key of another bot (whether or not that bot exists, so a key cannot probe for bot names). The
key is checked by a dependency (:attr:`RegistryBots.bot_ref`), before the request's body is read
as fields: a client learns nothing about another bot's routes from their validation errors.
Conversation state and the message log go to one store, keyed by the registry's bot name.
"""

# No `from __future__ import annotations`: FastAPI reads the annotations of the key dependencies,
# which name one another inside a method.

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Annotated, Any, ClassVar

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field

import malmoi
from malmoi._version import __version__
from malmoi.bots.cache import BotCache, model_bytes
from malmoi.bots.errors import LiveFileError
from malmoi.bots.keys import ApiKey, KeyStore
from malmoi.bots.registry import Registry, RegistryError, check_bot_name
from malmoi.dialogue.engine import Dialogue
from malmoi.dialogue.store import StateStore
from malmoi.errors import ModelLoadError
from malmoi.serve.batching import ParseBatcher
from malmoi.serve.guards import require_local
from malmoi.serve.proxies import is_local
from malmoi.serve.schema import ERROR_RESPONSES, ApiError, ErrorResponse
from malmoi.serve.settings import ServeSettings
from malmoi.serve.source import BotRef, ServedBot

__all__ = ["AUTH_RESPONSES", "RegistryBots", "RegistryHealth"]

logger = logging.getLogger("malmoi.serve")

AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    401: {"model": ErrorResponse, "description": "no API key, or not a key of this registry"},
    403: {"model": ErrorResponse, "description": "the key is for another bot"},
    404: {"model": ErrorResponse, "description": "no such bot in the registry"},
}


class RegistryHealth(BaseModel):
    status: str = Field(examples=["ok"])
    version: str = Field(description="malmoi version")
    bots: int = Field(description="bots published in the registry")
    keys_required: bool


class RegistryBots:
    """The bots of the registry at ``settings.registry``.

    Args:
        settings: ``registry``, ``database_url``, ``cache_mb``, ``require_keys``.
        choose_version: ``await choose_version(bot, live_version)`` gives the version a request is
            answered with, after its key was checked; it may load that version into
            :attr:`cache` itself. The Ray Serve deployment (:mod:`malmoi.serve.ray_app`) reads the
            version from the request's multiplexed model id; by default the live version answers.

    Raises:
        RegistryError: the folder is not a registry.
    """

    kochat_prefix = api_prefix = "/v1/bots/{bot}"
    review_page = "/review/{bot}"
    tag = "bots"
    responses = AUTH_RESPONSES
    health_model = RegistryHealth
    health_responses: ClassVar[dict[int | str, dict[str, Any]]] = {}

    def __init__(self, settings: ServeSettings,
                 choose_version: Callable[[str, str], Awaitable[str]] | None = None) -> None:
        assert settings.registry is not None, "RegistryBots serves a registry"
        self.registry = Registry(settings.registry)
        if not (self.registry.root / "bots").is_dir():
            raise RegistryError(
                f"{self.registry.root} is not a malmoi registry (no bots/ in it); publish a bot first with "
                f"`malmoi publish MODEL_DIR --bot NAME --registry {self.registry.root}`"
            )
        self.keys = KeyStore(self.registry) if settings.require_keys else None
        self.keys_required = self.keys is not None
        self.store = StateStore(settings.database_url)
        self.batcher = ParseBatcher(thread_name="malmoi-parse-bots")
        self.cache: BotCache[ServedBot] = BotCache(
            load=self._load, size=lambda bot: bot.nbytes, max_bytes=settings.cache_bytes,
            on_evict=lambda bot: bot.dialogue.close(),
        )
        self._choose_version = choose_version
        self.title = "malmoi: bots"
        self.description = (
            "Every bot of a registry: `/v1/bots/{bot}/parse` and `/v1/bots/{bot}/chat`. "
            + ("Send `Authorization: Bearer <key>` (`malmoi keys create --bot NAME`). " if self.keys else "")
            + "Errors are `{\"error\": {\"code\", \"message\"}}`."
        )
        # Held for the server's life: bots come and go, their encoder stays.
        self.shared_encoders = self._warm_up()
        self.caller, self.bot_ref, self.page_bot = self._dependencies()

    # -- the bots --------------------------------------------------------------------------------

    def _load(self, key: Hashable) -> ServedBot:
        assert isinstance(key, tuple)
        bot, version = str(key[0]), str(key[1])
        folder = self.registry.version_dir(bot, version)
        model = malmoi.load(folder)
        dialogue = Dialogue(model, store=self.store, model_version=f"{bot}@{version}")
        dialogue.bot = bot  # conversations are the registry bot's, whatever its bot.yaml is named
        return ServedBot(name=bot, model=model, dialogue=dialogue, model_version=f"{bot}@{version}",
                         version=version, nbytes=model_bytes(model, folder))

    def _warm_up(self) -> list[Any]:
        """Load what every bot shares before the first request: the registry's shared encoders, and the
        analyser (Kiwi and its morpheme vectors, seconds to load) through one bot parsing once.

        Without this, the first requests would wait seconds on what is not theirs to load, and the
        shared encoders would be freed whenever no cached bot happened to hold them.
        """
        from malmoi.encode.runtime import load_encoder

        encoders = []
        folder = self.registry.root / "encoders"
        for path in sorted(folder.iterdir()) if folder.is_dir() else []:
            try:
                encoders.append(load_encoder(path, expected_sha256=path.name))
            except ModelLoadError as exc:
                logger.error("shared encoder %s cannot be loaded: %s", path, exc)
        bots = self.registry.bots()
        try:
            live = self.registry.live_version(bots[0]) if bots else None
        except RegistryError as exc:  # a damaged LIVE: that bot answers 503 until it is repaired
            logger.error("%s", exc)
            live = None
        if live is not None:  # bots of another language load their analyser on first use
            try:
                self._load((bots[0], live)).model.parse("안녕하세요 hello")
            except ModelLoadError as exc:
                logger.error("bot %s cannot be loaded: %s", bots[0], exc)
        return encoders

    def live_key(self, ref: BotRef) -> tuple[str, str]:
        """``(bot, live version)``; 404 for a bot that is not published, 503 for a damaged LIVE."""
        bot = ref.name
        try:
            live = self.registry.live_version(check_bot_name(bot))
        except LiveFileError as exc:  # the operator's to repair; the other bots keep answering
            logger.error("%s", exc)
            raise ApiError(503, "bot_unavailable", f"the bot {bot!r} is unavailable: its live-version pointer in "
                           "the registry is damaged; the registry's operator sets it again with `malmoi rollback "
                           f"--bot {bot} --to VERSION`") from None
        except RegistryError as exc:
            if "not a bot name" in str(exc):
                raise ApiError(404, "unknown_bot", f"no bot {bot!r}: {exc}") from None
            raise
        if live is None:
            raise ApiError(404, "unknown_bot", f"no bot {bot!r} is published on this server")
        return bot, live

    async def get(self, ref: BotRef) -> ServedBot:
        """The bot's live version (or the one ``choose_version`` picks), cached or loaded now."""
        key = self.live_key(ref)
        try:
            if self._choose_version is not None:
                key = (ref.name, await self._choose_version(*key))
            served, cache = self.cache.get_cached(key), "hit"
            if served is None:
                # A load reads the disk for some milliseconds: off the event loop, in the thread pool.
                served, cache = await run_in_threadpool(self.cache.get, key), "load"
        except ModelLoadError as exc:  # checked at publish; this server may lack what it needs (an encoder)
            logger.error("bot %s %s cannot be loaded: %s", ref.name, key[1], exc)
            raise ApiError(503, "bot_unavailable",
                           f"the bot {ref.name!r} cannot be loaded on this server: {exc}") from None
        # A newer version is live: older ones of this bot will not be asked for again.
        self.cache.discard(lambda k: k[0] == ref.name and k[1] != served.version)  # type: ignore[index]
        return dataclasses.replace(served, headers={"X-Malmoi-Version": served.version or "", "X-Malmoi-Cache": cache})

    # -- keys ----------------------------------------------------------------------------------

    def _dependencies(self) -> tuple[Callable[..., Any], Callable[..., Any], Callable[..., Any]]:
        """FastAPI dependencies: the request's key (``caller``), the key checked against the path's bot
        (``bot_ref``), and the path's bot name alone (``page_bot``, for pages that ask for the key)."""
        keys = self.keys

        def caller(authorization: Annotated[str | None, Header()] = None) -> ApiKey | None:
            """The API key of the request (None when the server needs none); 401 without a valid one."""
            if keys is None:
                return None
            if not authorization:
                raise ApiError(401, "missing_key",
                               "send an API key: Authorization: Bearer <key> (`malmoi keys create`)")
            scheme, _, token = authorization.partition(" ")
            found = keys.verify(token.strip()) if scheme.lower() == "bearer" else None
            if found is None:
                raise ApiError(401, "invalid_key", "the API key is not one of this server's (revoked, or mistyped)")
            return found

        def bot_ref(bot: str, key: Annotated[ApiKey | None, Depends(caller)]) -> BotRef:
            """403 for another bot's key. A dependency, so that it runs before the body is validated
            (a 422 would tell a stranger what the route expects)."""
            if key is not None and not key.allows(bot):
                raise ApiError(403, "forbidden", f"this API key is for another bot; it cannot use {bot!r}")
            return BotRef(bot, key)

        def page_bot(bot: str) -> str:
            try:
                return check_bot_name(bot)
            except RegistryError as exc:
                raise ApiError(404, "unknown_bot", str(exc)) from None

        return caller, bot_ref, page_bot

    def reviewer(self, request: Request, ref: BotRef) -> str:
        """Admin keys review; with ``--no-keys`` only this machine may write the bots' data."""
        if self.keys is None:
            require_local(request)
            return "local"
        if ref.key is None or not ref.key.admin:
            raise ApiError(403, "forbidden", "reviewing needs an admin key (`malmoi keys create --admin`)")
        return f"key:{ref.key.id}"

    def operator(self, request: Request) -> str:
        """An admin key reads the operations pages; without one, only this machine does."""
        if is_local(request) and not request.headers.get("authorization"):
            return "local"
        key = self.caller(request.headers.get("authorization"))
        if key is None:  # --no-keys, and not this machine
            require_local(request, "the server's operations pages")
            return "local"
        if not key.admin:
            raise ApiError(403, "forbidden", "the server's operations pages need an admin key "
                           "(`malmoi keys create --admin`)")
        return f"key:{key.id}"

    # -- the server ------------------------------------------------------------------------------

    def health(self) -> Response:
        """Liveness: the server answers and the registry folder can be read."""
        body = RegistryHealth(status="ok", version=__version__, bots=len(self.registry.bots()),
                              keys_required=self.keys_required)
        return Response(body.model_dump_json(), media_type="application/json")

    def close(self) -> None:
        self.batcher.close()
        self.cache.clear()
        self.store.close()

