"""The routes only a registry has: a bot's description, and publishing over HTTP (admin key):
upload a version, list versions, make one live, roll back; and the bot cache's statistics.

Mounted by :func:`malmoi.serve.builder.build_app` when the source is a
:class:`~malmoi.serve.registry_source.RegistryBots`. Registry operations that the client can fix
(a bad upload, an unknown version, a damaged live pointer) are 4xx JSON errors naming the problem.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations, which name
# dependencies made inside the function that adds them.

import logging
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from malmoi.bots.errors import IdenticalModelError, LiveFileError
from malmoi.bots.keys import ApiKey
from malmoi.bots.registry import VERSION_PATTERN, PublishError, RegistryError, VersionInfo, check_bot_name
from malmoi.bots.upload import MAX_UPLOAD_BYTES, UploadError, check_registry_encoder, unpack_model
from malmoi.serve.registry_source import AUTH_RESPONSES, RegistryBots
from malmoi.serve.schema import ApiError
from malmoi.serve.source import BotRef

__all__ = ["LiveRequest", "add_registry_routes", "upload_limit"]

logger = logging.getLogger("malmoi.serve")

_VERSIONS_PATH = re.compile(r"/v1/bots/[^/]+/versions/?")  # matched whole


class LiveRequest(BaseModel):
    version: str = Field(pattern=f"^{VERSION_PATTERN}$", max_length=13, examples=["v000002"])


def upload_limit(scope: Any) -> int | None:
    """Model uploads may be larger than the 64 KiB of every other request (the body limit's exception)."""
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


def add_registry_routes(app: FastAPI, source: RegistryBots) -> None:
    responses = AUTH_RESPONSES
    registry = source.registry
    Caller = Annotated[ApiKey | None, Depends(source.caller)]
    Ref = Annotated[BotRef, Depends(source.bot_ref)]

    @app.get("/v1/stats", responses=responses, tags=["service"])
    def stats(key: Caller) -> dict[str, Any]:
        """The bot cache: bots loaded, bytes charged, hits, loads, evictions (admin key)."""
        if key is not None and not key.admin:
            raise ApiError(403, "forbidden", "the statistics need an admin key (`malmoi keys create --admin`)")
        found = source.cache.stats()
        return {**found.__dict__, "hit_rate": found.hit_rate, "pid": os.getpid()}

    @app.get("/v1/bots", responses=responses, tags=["bots"])
    def list_bots(key: Caller) -> list[dict[str, Any]]:
        """The bots this key may use (every bot for an admin key, or without keys), with their live versions."""
        found = []
        for bot in registry.bots():
            if key is not None and not key.allows(bot):
                continue
            try:
                live = registry.live_version(bot)
            except RegistryError:  # a damaged pointer: listed, without a live version
                live = None
            found.append({"bot": bot, "live": live, "chat_page": f"/bots/{bot}/"})
        return found

    @app.get("/v1/bots/{bot}", responses=responses, tags=["bots"])
    async def describe(ref: Ref) -> dict[str, Any]:
        """The bot's live version and its intents."""
        bot = await source.get(ref)
        return {"bot": ref.name, "version": bot.version, "intents": bot.model.intents}

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

    @app.post("/v1/bots/{bot}/versions", responses=responses, status_code=201, tags=["admin"],
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

    @app.get("/v1/bots/{bot}/versions", responses=responses, tags=["admin"])
    def list_versions(ref: Ref) -> list[dict[str, Any]]:
        """The bot's versions, oldest first, with their training metrics (the bot's key or an admin key)."""
        versions = _registry_call(registry.versions, ref.name)
        if not versions:
            raise ApiError(404, "unknown_bot", f"no bot {ref.name!r} is published on this server")
        return [_version_json(v) for v in versions]

    @app.put("/v1/bots/{bot}/live", responses=responses, tags=["admin"])
    def set_live(bot: str, request: LiveRequest, key: Caller) -> dict[str, Any]:
        """Make a published version live (`malmoi rollback --to VERSION`); this also repairs a damaged
        live-version pointer (`"repaired": true`: the bot's rollback history was lost). Admin key."""
        _admin_only(key, "switching the live version")
        switch = _registry_call(registry.activate, bot, request.version)
        return {"bot": bot, "live": switch.live, "was": switch.was, "repaired": switch.repaired}

    @app.post("/v1/bots/{bot}/rollback", responses=responses, tags=["admin"])
    def rollback(bot: str, key: Caller) -> dict[str, Any]:
        """Make the previous live version live again (`malmoi rollback`). Admin key."""
        _admin_only(key, "rolling back")
        before = _registry_call(registry.live_version, bot)
        if before is None:
            raise ApiError(404, "unknown_bot", f"no bot {bot!r} is published on this server")
        return {"bot": bot, "live": _registry_call(registry.rollback, bot), "was": before}
