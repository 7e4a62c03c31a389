"""The server for every bot of a registry: ``/v1/bots/{bot}/parse``, ``/v1/bots/{bot}/chat`` and
Kochat's routes under ``/v1/bots/{bot}/``.

Each request reads the bot's live version from the registry (one small file) and takes that
version from a :class:`~malmoi.bots.cache.BotCache` bounded in bytes, loading it on first use in
FastAPI's thread pool. Publishing or rolling back therefore takes effect with the next request,
without a restart; requests already running finish on the version they started with.

With API keys (the default, :mod:`malmoi.bots.keys`) every bot route needs
``Authorization: Bearer <key>`` for that bot or an admin key: 401 without a valid key, 403 with
a key of another bot (whether or not that bot exists, so a key cannot probe for bot names). The
key is checked first, before the request's body is read as JSON fields: a client learns nothing
about another bot's routes from their validation errors.
Conversation state and the message log go to one store, keyed by the registry's bot name.

Parsing goes through one thread for all bots (:class:`~malmoi.serve.batching.MultiParseBatcher`).
The middleware (body limit, Host check, security headers) and the JSON error bodies are those
of the single-bot server (:mod:`malmoi.serve.app`).
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field

from malmoi._version import __version__
from malmoi.bots.cache import BotCache, model_bytes
from malmoi.bots.errors import IdenticalModelError, LiveFileError
from malmoi.bots.keys import ApiKey, KeyStore
from malmoi.bots.registry import VERSION_PATTERN, PublishError, Registry, RegistryError, VersionInfo, check_bot_name
from malmoi.bots.upload import MAX_UPLOAD_BYTES, UploadError, check_registry_encoder, unpack_model
from malmoi.errors import ModelLoadError
from malmoi.model.result import ParseResult
from malmoi.serve.app import (
    _add_docs,
    _App,
    _install_guards,
    _Route,
)
from malmoi.serve.batching import MultiParseBatcher
from malmoi.serve.kochat import (
    KochatResponse,
    Text,
    Uid,
    _chat_response,
    refuse_cross_site,
    split_raw_path,
    word_tags,
)
from malmoi.serve.limits import DEFAULT_READ_TIMEOUT, MAX_USER_ID_CHARS
from malmoi.serve.review import ReviewAnswers
from malmoi.serve.schema import (
    ERROR_RESPONSES,
    ApiError,
    ChatRequest,
    ChatResponse,
    ErrorResponse,
    ParseRequest,
    check_path_text,
)


class LiveRequest(BaseModel):
    version: str = Field(pattern=f"^{VERSION_PATTERN}$", max_length=13, examples=["v000002"])


__all__ = ["DEFAULT_CACHE_BYTES", "LoadedBot", "create_bots_app"]

logger = logging.getLogger("malmoi.serve")

DEFAULT_CACHE_BYTES = 1 << 30  # 1 GiB of loaded bots: thousands of small ones (docs/bots.md)

_AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    401: {"model": ErrorResponse, "description": "no API key, or not a key of this registry"},
    403: {"model": ErrorResponse, "description": "the key is for another bot"},
    404: {"model": ErrorResponse, "description": "no such bot in the registry"},
}


def _warm_up(registry: Registry, load: Any) -> list[Any]:
    """Load what every bot shares before the first request: the registry's shared encoders, and the
    analyser (Kiwi and its morpheme vectors, seconds to load) through one bot parsing once.

    Without this, the first requests would wait seconds on what is not theirs to load, and the
    shared encoders would be freed whenever no cached bot happened to hold them.
    """
    from malmoi.encode.runtime import load_encoder

    encoders = []
    folder = registry.root / "encoders"
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        try:
            encoders.append(load_encoder(path, expected_sha256=path.name))
        except ModelLoadError as exc:
            logger.error("shared encoder %s cannot be loaded: %s", path, exc)
    bots = registry.bots()
    try:
        live = registry.live_version(bots[0]) if bots else None
    except RegistryError as exc:  # a damaged LIVE: that bot answers 503 until it is repaired
        logger.error("%s", exc)
        live = None
    if live is not None:  # bots of another language load their analyser on first use
        try:
            load((bots[0], live)).model.parse("안녕하세요 hello")
        except ModelLoadError as exc:
            logger.error("bot %s cannot be loaded: %s", bots[0], exc)
    return encoders


def _caller(request: Request, authorization: Annotated[str | None, Header()] = None) -> ApiKey | None:
    """The API key of the request (None when the server needs none); 401 without a valid one."""
    keys: KeyStore | None = request.app.state.keys
    if keys is None:
        return None
    if not authorization:
        raise ApiError(401, "missing_key", "send an API key: Authorization: Bearer <key> (`malmoi keys create`)")
    scheme, _, token = authorization.partition(" ")
    found = keys.verify(token.strip()) if scheme.lower() == "bearer" else None
    if found is None:
        raise ApiError(401, "invalid_key", "the API key is not one of this server's (revoked, or mistyped)")
    return found


Caller = Annotated[ApiKey | None, Depends(_caller)]


def _bot_caller(bot: str, key: Caller) -> ApiKey | None:
    """The key of a request for the path's ``bot``: 403 if it is another bot's. A dependency, so that
    it runs before the body is validated (a 422 would tell a stranger what the route expects)."""
    if key is not None and not key.allows(bot):
        raise ApiError(403, "forbidden", f"this API key is for another bot; it cannot use {bot!r}")
    return key


BotCaller = Annotated[ApiKey | None, Depends(_bot_caller)]


@dataclass
class LoadedBot:
    """One version of one bot, ready to answer."""

    bot: str
    version: str
    model: Any
    dialogue: Any
    nbytes: int

    @property
    def model_version(self) -> str:
        return f"{self.bot}@{self.version}"


def create_bots_app(
    registry_dir: str | Path,
    *,
    database_url: str | None = None,
    cache_bytes: int = DEFAULT_CACHE_BYTES,
    require_keys: bool = True,
    log_parses: bool = True,
    allowed_hosts: Sequence[str] | None = None,
    read_timeout: float | None = DEFAULT_READ_TIMEOUT,
    choose_version: Callable[[str, str], Awaitable[str]] | None = None,
    review_dir: str | Path | None = None,
) -> FastAPI:
    """The server for all bots of the registry at ``registry_dir``.

    Args:
        cache_bytes: memory budget of loaded bots (least recently used are dropped beyond it).
        require_keys: answer bot routes only with an API key (``malmoi keys create``); False
            serves every bot to any client that reaches the port.
        database_url, log_parses, allowed_hosts, read_timeout: as :func:`malmoi.serve.create_app`.
        choose_version: ``await choose_version(bot, live_version)`` gives the version a request is
            answered with, after its key was checked; it may load that version into
            ``app.state.cache`` itself. The Ray Serve deployment (:mod:`malmoi.serve.ray_app`)
            reads the version from the request's multiplexed model id and loads it through
            Ray's multiplexing; by default the live version answers.
        review_dir: a folder of bot directories, ``REVIEW_DIR/<bot>``: serves the review page
            (``/review/{bot}``, :mod:`malmoi.serve.review`) to admin keys, answers written there.
    """
    from malmoi.dialogue.engine import Dialogue
    from malmoi.dialogue.store import StateStore
    from malmoi.model.model import Model

    registry = Registry(registry_dir)
    if not (registry.root / "bots").is_dir():
        raise RegistryError(
            f"{registry.root} is not a malmoi registry (no bots/ in it); publish a bot first with "
            f"`malmoi publish MODEL_DIR --bot NAME --registry {registry.root}`"
        )
    keys = KeyStore(registry)
    store = StateStore(database_url)
    batcher = MultiParseBatcher()

    def load(key: Hashable) -> LoadedBot:
        assert isinstance(key, tuple)
        bot, version = str(key[0]), str(key[1])
        folder = registry.version_dir(bot, version)
        model = Model.load(folder)
        dialogue = Dialogue(model, store=store, model_version=f"{bot}@{version}")
        dialogue.bot = bot  # conversations are the registry bot's, whatever its bot.yaml is named
        return LoadedBot(bot=bot, version=version, model=model, dialogue=dialogue, nbytes=model_bytes(model, folder))

    cache: BotCache[LoadedBot] = BotCache(
        load=load, size=lambda loaded: loaded.nbytes, max_bytes=cache_bytes, on_evict=lambda b: b.dialogue.close()
    )
    shared = _warm_up(registry, load)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        batcher.close()
        cache.clear()
        store.close()

    app = _App(
        title="malmoi: bots",
        version=__version__,
        description=(
            "Every bot of a registry: `/v1/bots/{bot}/parse` and `/v1/bots/{bot}/chat`. "
            + ("Send `Authorization: Bearer <key>` (`malmoi keys create --bot NAME`). " if require_keys else "")
            + "Errors are `{\"error\": {\"code\", \"message\"}}`."
        ),
        lifespan=lifespan,
        docs_url=None,  # served by _add_docs, from this server
        redoc_url=None,
    )
    app.router.route_class = _Route
    app.state.registry, app.state.cache, app.state.store, app.state.batcher = registry, cache, store, batcher
    app.state.shared_encoders = shared  # held for the server's life: bots come and go, their encoder stays
    app.state.keys = keys if require_keys else None
    _install_guards(app, read_timeout=read_timeout, allowed_hosts=allowed_hosts, body_limit_for=_upload_limit)

    def live_key(bot: str, key: ApiKey | None) -> tuple[str, str]:
        """``(bot, live version)``, after the key: a key for A learns nothing about B, not even if it exists."""
        if key is not None and not key.allows(bot):
            raise ApiError(403, "forbidden", f"this API key is for another bot; it cannot use {bot!r}")
        try:
            live = registry.live_version(check_bot_name(bot))
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

    async def get_bot(bot: str, key: ApiKey | None) -> tuple[LoadedBot, str]:
        """The bot's live version and whether it was cached (``hit``) or loaded (``load``)."""
        cache_key = live_key(bot, key)
        try:
            if choose_version is not None:
                cache_key = (bot, await choose_version(*cache_key))
            loaded = cache.get_cached(cache_key)
            if loaded is not None:
                return loaded, "hit"
            # A load reads the disk for some milliseconds: off the event loop, in the thread pool.
            loaded = await run_in_threadpool(cache.get, cache_key)
        except ModelLoadError as exc:  # checked at publish; this server may lack what it needs (an encoder)
            logger.error("bot %s %s cannot be loaded: %s", bot, cache_key[1], exc)
            raise ApiError(503, "bot_unavailable", f"the bot {bot!r} cannot be loaded on this server: {exc}") from None
        # A newer version is live: older ones of this bot will not be asked for again.
        cache.discard(lambda k: k[0] == bot and k[1] != loaded.version)  # type: ignore[index]
        return loaded, "load"

    def log_parse(loaded: LoadedBot, result: ParseResult, source: str = "parse") -> None:
        if log_parses:
            store.log({
                "bot": loaded.bot, "source": source, "text": result.text, "intent": result.intent.name,
                "confidence": result.intent.confidence, "fallback": result.fallback,
                "entities": [e.model_dump() for e in result.entities], "model_version": loaded.model_version,
            })

    @app.get("/health", tags=["service"])
    def health() -> dict[str, Any]:
        """Liveness: the server answers and the registry folder can be read."""
        return {"status": "ok", "version": __version__, "bots": len(registry.bots()), "keys_required": require_keys}

    @app.get("/v1/stats", tags=["service"], responses=_AUTH_RESPONSES)
    def stats(key: Caller) -> dict[str, Any]:
        """The bot cache: bots loaded, bytes charged, hits, loads, evictions (admin key)."""
        if key is not None and not key.admin:
            raise ApiError(403, "forbidden", "the statistics need an admin key (`malmoi keys create --admin`)")
        found = cache.stats()
        return {**found.__dict__, "hit_rate": found.hit_rate, "pid": os.getpid()}

    @app.post("/v1/bots/{bot}/parse", response_model=ParseResult, responses=_AUTH_RESPONSES, tags=["bots"])
    async def parse(bot: str, request: ParseRequest, key: BotCaller) -> Response:
        """Parse one utterance with the bot's live version."""
        loaded, cached = await get_bot(bot, key)
        result = await batcher.parse(loaded.model, request.text)
        log_parse(loaded, result)
        return Response(result.model_dump_json(), media_type="application/json",
                        headers={"X-Malmoi-Version": loaded.version, "X-Malmoi-Cache": cached})

    @app.post("/v1/bots/{bot}/chat", response_model=ChatResponse, responses=_AUTH_RESPONSES, tags=["bots"])
    async def chat(bot: str, request: ChatRequest, key: BotCaller) -> Response:
        """One message of a conversation with the bot (state kept per bot and user)."""
        loaded, cached = await get_bot(bot, key)
        parsed = await batcher.parse(loaded.model, request.text)
        reply = await run_in_threadpool(loaded.dialogue.respond, request.user_id, parsed)
        return Response(reply.model_dump_json(), media_type="application/json",
                        headers={"X-Malmoi-Version": loaded.version, "X-Malmoi-Cache": cached})

    # Kochat's four routes per bot, as the single-bot server has them at the root (malmoi.serve.kochat).
    async def kochat_chat(request: Request, bot: str, key: ApiKey | None, route: str, uid: str, text: str,
                          fill_only: bool) -> KochatResponse:
        refuse_cross_site(request)
        loaded, _ = await get_bot(bot, key)
        uid, text = split_raw_path(request, route, uid, text)
        uid, text = check_path_text(uid, "uid", MAX_USER_ID_CHARS), check_path_text(text, "text")
        parsed = await batcher.parse(loaded.model, text)
        reply = await run_in_threadpool(loaded.dialogue.respond, uid, parsed, fill_only=fill_only, source="kochat")
        return _chat_response(reply)

    @app.get("/v1/bots/{bot}/request_chat/{uid}/{text:malmoi_text}", response_model=KochatResponse,
             responses=_AUTH_RESPONSES, tags=["kochat"])
    async def request_chat(request: Request, bot: str, uid: Uid, text: Text, key: BotCaller) -> KochatResponse:
        """Kochat's chat message, for one bot."""
        return await kochat_chat(request, bot, key, "request_chat", uid, text, fill_only=False)

    @app.get("/v1/bots/{bot}/fill_slot/{uid}/{text:malmoi_text}", response_model=KochatResponse,
             responses=_AUTH_RESPONSES, tags=["kochat"])
    async def fill_slot(request: Request, bot: str, uid: Uid, text: Text, key: BotCaller) -> KochatResponse:
        """Kochat's reply to the bot's question, for one bot."""
        return await kochat_chat(request, bot, key, "fill_slot", uid, text, fill_only=True)

    @app.get("/v1/bots/{bot}/get_intent/{text:malmoi_text}", response_model=KochatResponse,
             responses=_AUTH_RESPONSES, tags=["kochat"])
    async def get_intent(bot: str, text: Text, key: BotCaller) -> KochatResponse:
        """Kochat's intent of a text, for one bot."""
        loaded, _ = await get_bot(bot, key)
        result = await batcher.parse(loaded.model, check_path_text(text, "text"))
        log_parse(loaded, result, "kochat")
        return KochatResponse(input=text, intent=result.intent.name, entity=None, state="REQUEST_INTENT", answer=None)

    @app.get("/v1/bots/{bot}/get_entity/{text:malmoi_text}", response_model=KochatResponse,
             responses=_AUTH_RESPONSES, tags=["kochat"])
    async def get_entity(bot: str, text: Text, key: BotCaller) -> KochatResponse:
        """Kochat's entities of a text (one BIO tag per word), for one bot."""
        loaded, _ = await get_bot(bot, key)
        result = await batcher.parse(loaded.model, check_path_text(text, "text"))
        log_parse(loaded, result, "kochat")
        return KochatResponse(input=text, intent=None, entity=word_tags(result)[1], state="REQUEST_ENTITY", answer=None)

    @app.get("/v1/bots/{bot}", responses=_AUTH_RESPONSES, tags=["bots"])
    async def describe(bot: str, key: BotCaller) -> dict[str, Any]:
        """The bot's live version and its intents."""
        loaded, _ = await get_bot(bot, key)
        return {"bot": bot, "version": loaded.version, "intents": loaded.model.intents}

    @app.delete("/v1/bots/{bot}/conversations/{user_id}", status_code=204, responses=_AUTH_RESPONSES, tags=["bots"])
    async def reset(bot: str, user_id: str, key: BotCaller) -> Response:
        """Forget one user's conversation with the bot."""
        await run_in_threadpool(store.delete, bot, user_id)
        return Response(status_code=204)

    _add_admin_routes(app, registry)
    if review_dir is not None:
        _add_review(app, Path(review_dir), get_bot)
    _add_docs(app, "malmoi: bots")
    return app


# -- publishing over HTTP (admin key): upload a version, list, make live, roll back -------------

_VERSIONS_PATH = re.compile(r"/v1/bots/[^/]+/versions/?")  # matched whole


def _upload_limit(scope: Any) -> int | None:
    """Model uploads may be larger than the 64 KiB of every other request."""
    if scope.get("method") == "POST" and _VERSIONS_PATH.fullmatch(scope.get("path", "")):
        return MAX_UPLOAD_BYTES
    return None


def _version_json(info: VersionInfo) -> dict[str, Any]:
    return {"bot": info.bot, "version": info.version, "live": info.live, "published_at": info.published_at,
            "intents": info.intents, "metrics": info.metrics, "model_sha256": info.model_sha256,
            "snapshot": info.snapshot, "identical_to": info.identical_to}


def _admin_only(key: ApiKey | None, what: str) -> None:
    if key is None:
        raise ApiError(403, "forbidden", f"{what} needs an admin key, and this server runs without keys "
                       "(--no-keys): use `malmoi publish` / `malmoi rollback` on the registry instead")
    if not key.admin:
        raise ApiError(403, "forbidden", f"{what} needs an admin key (`malmoi keys create --admin`)")


def _registry_call(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """A registry operation whose refusal is the client's to fix: 4xx JSON naming what is wrong."""
    try:
        return function(*args, **kwargs)
    except UploadError as exc:
        raise ApiError(400, "invalid_upload", str(exc)) from None
    except IdenticalModelError as exc:
        raise ApiError(409, "identical_model", str(exc).replace("--force", "?if_identical=publish")) from None
    except LiveFileError as exc:
        raise ApiError(409, "live_damaged", f"{exc} (over HTTP: PUT /v1/bots/{{bot}}/live)") from None
    except PublishError as exc:
        raise ApiError(422, "refused", str(exc)) from None
    except RegistryError as exc:
        status, code = (404, "unknown_version") if "has no version" in str(exc) else (409, "registry_conflict")
        if "not a bot name" in str(exc):
            status, code = 400, "invalid_bot_name"
        raise ApiError(status, code, str(exc)) from None


def _add_admin_routes(app: FastAPI, registry: Registry) -> None:
    def publish_upload(bot: str, body: bytes, activate: bool, allow_identical: bool) -> VersionInfo:
        registry.live_version(check_bot_name(bot))  # a damaged LIVE refuses the upload before it is unpacked
        try:  # unpacked inside the registry: the version folder is then renamed within one file system
            staging = tempfile.TemporaryDirectory(prefix=".upload-", dir=registry.root)
        except OSError as exc:
            raise ApiError(503, "registry_read_only", f"this server cannot write the registry ({exc}); publish "
                           "with `malmoi publish` where the registry is writable") from None
        with staging as folder:
            model_dir = unpack_model(body, Path(folder))
            check_registry_encoder(model_dir, registry.root)
            try:
                return registry.publish(model_dir, bot=bot, activate=activate, allow_identical=allow_identical)
            except PublishError as exc:  # the temporary folder means nothing to the client: "the upload"
                exc.args = (str(exc).replace(str(model_dir), "the upload"),)
                raise

    @app.post("/v1/bots/{bot}/versions", status_code=201, responses=_AUTH_RESPONSES, tags=["admin"],
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/gzip": {"schema": {"type": "string", "format": "binary"}},
                  "application/zip": {"schema": {"type": "string", "format": "binary"}}}}})
    async def upload_version(bot: str, request: Request, key: Caller, activate: bool = True,
                             if_identical: Literal["publish", "refuse"] = "publish") -> dict[str, Any]:
        """Publish a model: the body is a .tar.gz, .tar or .zip of the folder `malmoi train` wrote.

        The same checks as `malmoi publish` (schema, checksums, a test parse, the stored copy
        answering as the original); 422 `refused` names what is wrong. `?activate=false` stores
        the version without making it live. A model whose files are an existing version's is
        published again and the answer names that version (`identical_to`); with
        `?if_identical=refuse` it is refused instead (409 `identical_model`). Admin key.
        """
        _admin_only(key, "publishing")
        body = await request.body()
        info = await run_in_threadpool(_registry_call, publish_upload, bot, body, activate, if_identical == "publish")
        if info.identical_to:
            logger.warning("published %s %s over HTTP: the same model as %s", bot, info.version, info.identical_to)
        logger.info("published %s %s over HTTP (%s)", bot, info.version, "live" if info.live else "not live")
        return _version_json(info)

    @app.get("/v1/bots/{bot}/versions", responses=_AUTH_RESPONSES, tags=["admin"])
    def list_versions(bot: str, key: BotCaller) -> list[dict[str, Any]]:
        """The bot's versions, oldest first, with their training metrics (the bot's key or an admin key)."""
        versions = _registry_call(registry.versions, bot)
        if not versions:
            raise ApiError(404, "unknown_bot", f"no bot {bot!r} is published on this server")
        return [_version_json(v) for v in versions]

    @app.put("/v1/bots/{bot}/live", responses=_AUTH_RESPONSES, tags=["admin"])
    def set_live(bot: str, request: LiveRequest, key: Caller) -> dict[str, Any]:
        """Make a published version live (`malmoi rollback --to VERSION`); this also repairs a damaged
        live-version pointer (`"repaired": true`: the bot's rollback history was lost). Admin key."""
        _admin_only(key, "switching the live version")
        switch = _registry_call(registry.activate, bot, request.version)
        return {"bot": bot, "live": switch.live, "was": switch.was, "repaired": switch.repaired}

    @app.post("/v1/bots/{bot}/rollback", responses=_AUTH_RESPONSES, tags=["admin"])
    def rollback(bot: str, key: Caller) -> dict[str, Any]:
        """Make the previous live version live again (`malmoi rollback`). Admin key."""
        _admin_only(key, "rolling back")
        before = _registry_call(registry.live_version, bot)
        if before is None:
            raise ApiError(404, "unknown_bot", f"no bot {bot!r} is published on this server")
        return {"bot": bot, "live": _registry_call(registry.rollback, bot), "was": before}


def _add_review(app: FastAPI, review_dir: Path, get_bot: Any) -> None:
    """The review page of each bot and its API, for admin keys (malmoi.serve.review)."""
    from fastapi.responses import HTMLResponse

    # ReviewAnswers is imported at module level: FastAPI resolves the endpoints' annotations there.
    from malmoi.serve.review import (
        add_review_assets,
        list_review,
        record_review,
        require_local,
        review_page,
    )

    add_review_assets(app)

    def reviewer(request: Request, key: ApiKey | None) -> str:
        if key is None:  # --no-keys: nobody to name, so only this machine may write the bots' data
            require_local(request)
            return "local"
        if not key.admin:
            raise ApiError(403, "forbidden", "reviewing needs an admin key (`malmoi keys create --admin`)")
        return f"key:{key.id}"

    @app.get("/review/{bot}", response_class=HTMLResponse, include_in_schema=False)
    def page(bot: str) -> Response:
        try:
            check_bot_name(bot)
        except RegistryError as exc:
            raise ApiError(404, "unknown_bot", str(exc)) from None
        return HTMLResponse(review_page(f"../v1/bots/{bot}/review", assets="../review-assets",
                                        needs_key=app.state.keys is not None, title=bot))

    @app.get("/v1/bots/{bot}/review", responses=_AUTH_RESPONSES, tags=["review"])
    async def review_list(request: Request, bot: str, key: Caller, below: float = 0.5,
                          similarity: float = 0.6) -> dict[str, Any]:
        """Logged messages of the bot that fell back or were under ``below``, grouped, with its guesses (admin)."""
        reviewer(request, key)
        loaded, _ = await get_bot(bot, key)
        batcher: MultiParseBatcher = app.state.batcher

        async def parse(text: str) -> ParseResult:
            return await batcher.parse(loaded.model, text)

        return await list_review(app.state.store, loaded.model, parse, bot=bot, bot_dir=review_dir / bot,
                                 below=below, similarity=similarity, model_version=loaded.model_version)

    @app.post("/v1/bots/{bot}/review", responses=_AUTH_RESPONSES, tags=["review"])
    async def review_answer(request: Request, bot: str, body: ReviewAnswers, key: Caller) -> dict[str, Any]:
        """Write answers (intent with entities, or out of domain) into ``REVIEW_DIR/<bot>/data`` (admin)."""
        who = reviewer(request, key)
        loaded, _ = await get_bot(bot, key)
        return await record_review(request, app.state.store, loaded.model, body, bot=bot, bot_dir=review_dir / bot,
                                   reviewer=who)
