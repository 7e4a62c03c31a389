"""The HTTP server: a FastAPI app over one model and its conversations.

Routes: ``POST /v1/parse``, ``POST /v1/chat``, ``GET /health``, the web chat page at ``/`` (files
in ``static/``), Kochat's routes (:mod:`malmoi.serve.kochat`), and OpenAPI at ``/docs``.

Every request error is a 4xx JSON body ``{"error": {"code": ..., "message": ...}}`` that names
the problem; a 500 means a bug, is logged with its traceback, and still answers JSON.

Parsing goes through one batching thread per process (:class:`~malmoi.serve.batching.ParseBatcher`):
whatever requests are waiting when it is free are parsed in one forward pass, which halves the CPU
per request under load and adds no wait when there is no load. Endpoints are ``async``: they hand
the text to the batcher and await it, so the event loop never blocks; the conversation store's I/O
runs in FastAPI's thread pool. For more throughput run one worker process per core
(``malmoi serve --workers 2``).

The request and response bodies and the error helpers are in :mod:`malmoi.serve.schema`, the
limits in :mod:`malmoi.serve.limits`; this module imports them (and the Kochat routes), never the
other way round.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import importlib.util
import json
import logging
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from malmoi._version import __version__
from malmoi.dialogue.scenarios import Scenarios

try:
    from fastapi import FastAPI, Request
    from fastapi.concurrency import run_in_threadpool
    from fastapi.exceptions import RequestValidationError
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
    from fastapi.routing import APIRoute
    from starlette.datastructures import MutableHeaders
    from starlette.exceptions import HTTPException
    from starlette.types import ASGIApp, Message, Receive, Scope, Send
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(f"malmoi's server needs FastAPI ({exc}): pip install 'malmoi[serve]'") from exc

from malmoi.model.result import ParseResult
from malmoi.serve.batching import ParseBatcher
from malmoi.serve.kochat import kochat_router
from malmoi.serve.limits import (
    DEFAULT_ALLOWED_HOSTS,
    DEFAULT_READ_TIMEOUT,
    MAX_BODY_BYTES,
    MAX_TEXT_CHARS,
    MAX_USER_ID_CHARS,
)
from malmoi.serve.review import ReviewAnswers
from malmoi.serve.schema import (
    ERROR_RESPONSES,
    ApiError,
    ChatRequest,
    ChatResponse,
    ErrorDetail,
    ErrorResponse,
    Health,
    ParseRequest,
    check_path_text,
    error_response,
)

# The request schemas, limits and batcher live in malmoi.serve.schema, .limits and .batching (the
# Kochat routes import them from there); they are re-exported here, where they used to be.
__all__ = [
    "DEFAULT_ALLOWED_HOSTS", "DEFAULT_READ_TIMEOUT", "ERROR_RESPONSES", "MAX_BODY_BYTES", "MAX_TEXT_CHARS",
    "MAX_USER_ID_CHARS", "ApiError", "ChatRequest", "ChatResponse", "ErrorDetail", "ErrorResponse", "Health",
    "ParseBatcher", "ParseRequest", "check_path_text", "create_app", "error_response", "load_model", "model_version",
    "parse_json_body",
]

logger = logging.getLogger("malmoi.serve")

STATIC_DIR = Path(__file__).parent / "static"

_PLACEHOLDER = """<!doctype html><html lang="ko"><meta charset="utf-8"><title>malmoi</title>
<body><h1>malmoi</h1><p>The web chat page is not installed. The API is at
<a href="/docs">/docs</a>.</p></body></html>"""


# -- JSON bodies --------------------------------------------------------------------------------


def _charset(content_type: str | None) -> str | None:
    for parameter in (content_type or "").split(";")[1:]:
        key, _, value = parameter.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip('"').lower() or None
    return None


def _deepest(text: str) -> tuple[int, int]:
    """How deep arrays and objects nest, and where the deepest one opens (strings skipped)."""
    depth = deepest = at = 0
    in_string = escaped = False
    for index, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest, at = depth, index
        elif char in "]}":
            depth -= 1
    return deepest, at


def parse_json_body(body: bytes, content_type: str | None = None) -> Any:
    """A request body's JSON, or :class:`json.JSONDecodeError` saying what is wrong and where.

    ``json.loads`` raises other errors for bodies that are not JSON text (bytes that are not
    UTF-8, nesting deeper than Python's recursion limit, integers over 4300 digits), which
    FastAPI answers with a bare "There was an error parsing the body". Here each becomes a
    JSONDecodeError with a character position, which the app answers as 400 ``invalid_json``.
    As RFC 8259 says, JSON is UTF-8 (UTF-16 and -32 are still read, as ``json.loads`` does) and
    a ``charset`` parameter is not followed: it is only named in the error when the body is not
    UTF-8, because that is the likely cause.
    """
    encoding = json.detect_encoding(body)
    try:
        text = body.decode(encoding, "surrogatepass")
    except UnicodeDecodeError as exc:
        shown = body.decode(encoding, "replace")
        position = len(body[:exc.start].decode(encoding, "replace"))
        charset = _charset(content_type)
        hint = (f"; the Content-Type says charset={charset}, but the body must be UTF-8"
                if charset and charset.replace("-", "") not in ("utf8", "usascii", "ascii") else "")
        raise json.JSONDecodeError(
            f"byte 0x{body[exc.start]:02x} is not {encoding.upper()} text{hint}", shown, position
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        depth, position = _deepest(text)
        raise json.JSONDecodeError(
            f"arrays and objects are nested {depth} levels deep, more than the server reads", text, position
        ) from None
    except ValueError as exc:  # an integer with more digits than Python converts (4300 by default)
        limit = getattr(sys, "get_int_max_str_digits", lambda: 4300)()
        found = re.search(rf"-?\d{{{limit + 1},}}", text)
        if found is None:
            raise json.JSONDecodeError(str(exc).splitlines()[0] if str(exc) else "invalid JSON", text, 0) from None
        digits = len(found.group().lstrip("-"))
        raise json.JSONDecodeError(
            f"a number with {digits} digits; the server reads at most {limit}", text, found.start()
        ) from None


class _JsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_json_body(await self.body(), self.headers.get("content-type"))
        return self._json


class _Route(APIRoute):
    """Routes whose JSON bodies are read by :func:`parse_json_body` (FastAPI's custom Request)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            return await handler(_JsonRequest(request.scope, request.receive))

        return route_handler


# -- errors -----------------------------------------------------------------------------------


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if not errors:
        return error_response(422, "invalid_request", "the request is invalid")
    first = errors[0]
    kind, loc = first.get("type", ""), tuple(first.get("loc", ()))
    field = ".".join(str(p) for p in loc[1:]) or None
    name = field or "the body"
    shown = f"`{field}`" if field else "the body"
    if kind == "json_invalid":
        where = f" at character {loc[1]}" if len(loc) > 1 else ""
        reason = (first.get("ctx") or {}).get("error", "")
        return error_response(400, "invalid_json", f"the body is not valid JSON{where}: {reason}".rstrip(": "))
    if isinstance(first.get("input"), (bytes, bytearray)) and not field:
        return error_response(
            415, "unsupported_media_type",
            "send the body as JSON with the header Content-Type: application/json",
        )
    if kind == "missing":
        example = '{"user_id": "user-1", "text": "안녕"}' if request.url.path.endswith("/chat") else '{"text": "안녕"}'
        if not field:
            return error_response(422, "missing_body", f"the body is missing; send a JSON object like {example}")
        return error_response(422, "missing_field", f"{shown} is missing; send a JSON object like {example}", field)
    if kind in ("string_type", "model_attributes_type", "dict_type", "model_type"):
        got = type(first.get("input")).__name__
        got = {"NoneType": "null", "dict": "object", "list": "array", "str": "string", "int": "number",
               "float": "number", "bool": "boolean"}.get(got, got)
        expected = "a string" if kind == "string_type" else "a JSON object"
        return error_response(422, "wrong_type", f"{shown} must be {expected}, not {got}", field)
    if kind in ("string_too_short", "empty"):
        return error_response(422, "empty_text" if name == "text" else f"empty_{name}", f"{shown} is empty", field)
    if kind == "string_too_long":
        limit = (first.get("ctx") or {}).get("max_length")
        length = str(len(first["input"])) if isinstance(first.get("input"), str) else "too many"
        code = "text_too_long" if name == "text" else f"{name}_too_long"
        return error_response(422, code, f"{shown} has {length} characters; the limit is {limit}", field)
    if kind == "string_unicode":
        return error_response(422, "invalid_text", f"{shown} is not valid Unicode text", field)
    if kind == "invalid_text":
        return error_response(422, "invalid_text", first.get("msg", "invalid text"), field)
    return error_response(422, "invalid_request", f"{shown}: {first.get('msg', 'invalid')}", field)


_HTTP_CODES = {
    400: "bad_request", 404: "not_found", 405: "method_not_allowed", 408: "request_timeout",
    413: "body_too_large", 415: "unsupported_media_type",
}


def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    if exc.status_code == 404:
        message = f"no route {request.method} {request.url.path}; see /docs for the API"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}; see /docs for the API"
    else:
        message = str(exc.detail)
    response = error_response(exc.status_code, code, message)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.field)


def _store_error(request: Request, exc: Exception) -> JSONResponse:
    from malmoi.dialogue.store import is_unavailable

    if not is_unavailable(exc):  # an SQL error of ours, a constraint: a bug, not an outage
        return _internal_error(request, exc)
    logger.error("the conversation store failed on %s %s: %s", request.method, request.url.path,
                 str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    return error_response(503, "store_unavailable", "the conversation store is unavailable; try again shortly")


def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("bug: %s %s raised", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "the server failed on this request; it has been logged")


class _BodyLimit:
    """Refuse bodies over ``limit`` bytes before reading them whole (413), and bodies that do not
    arrive within ``timeout`` seconds of the first read (408, and the connection is closed)."""

    def __init__(self, app: ASGIApp, limit: int, timeout: float | None = None,
                 limit_for: Callable[[Scope], int | None] | None = None) -> None:
        # limit_for: a larger limit for some requests (the many-bots server's model uploads).
        self.app, self.default_limit, self.timeout, self.limit_for = app, limit, timeout, limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = (self.limit_for(scope) if self.limit_for is not None else None) or self.default_limit
        for key, value in scope["headers"]:
            if key == b"content-length" and value.isdigit() and int(value) > limit:
                response = error_response(413, "body_too_large", f"the body is over {limit} bytes")
                await response(scope, receive, send)
                return
        seen = 0
        deadline: float | None = None
        complete = False

        async def limited() -> Message:
            nonlocal seen, deadline, complete
            if complete or self.timeout is None:
                # After the body, receive() waits for the client to disconnect: no deadline then.
                message = await receive()
            else:
                loop = asyncio.get_running_loop()
                if deadline is None:
                    deadline = loop.time() + self.timeout
                try:
                    message = await _within(receive(), deadline - loop.time())
                except asyncio.TimeoutError:
                    # "Connection: close": the rest of the body must not be read as the next request.
                    raise HTTPException(408, f"the body did not arrive within {self.timeout:g} s",
                                        headers={"Connection": "close"}) from None
                if message["type"] != "http.request" or not message.get("more_body", False):
                    complete = True
            seen += len(message.get("body", b""))
            if seen > limit:
                raise HTTPException(413, f"the body is over {limit} bytes")
            return message

        await self.app(scope, limited, send)


async def _within(awaitable: Awaitable[Message], seconds: float) -> Message:
    if sys.version_info >= (3, 11):  # asyncio.timeout makes no task: cheaper than wait_for
        async with asyncio.timeout(max(seconds, 0.0)):
            return await awaitable
    return await asyncio.wait_for(awaitable, max(seconds, 0.0))  # pragma: no cover - Python 3.10


def _host_name(host: str) -> str:
    """The name in a Host header or an allowed-host entry, without port: ``[::1]:8000`` → ``::1``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    if host.count(":") == 1:
        host = host.partition(":")[0]
    return host.rstrip(".")


class _HostCheck:
    """Answer only requests whose Host header is allowed (400 ``invalid_host`` otherwise).

    A web page on evil.example can make its own name resolve to 127.0.0.1 (DNS rebinding) and
    then read this server's answers as same-origin; its requests still say ``Host:
    evil.example``. Starlette's TrustedHostMiddleware does this too, but answers in plain text
    and cuts ``[::1]:8000`` at the first colon. ``*`` allows any host, ``*.example.com`` a domain.
    """

    def __init__(self, app: ASGIApp, allowed: Sequence[str]) -> None:
        self.app = app
        self.any = "*" in allowed
        self.names = {_host_name(h) for h in allowed if not h.startswith("*.")}
        self.domains = tuple(_host_name(h)[1:] for h in allowed if h.startswith("*."))
        self.shown = ", ".join(allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.any or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
        name = _host_name(host)
        if name in self.names or (self.domains and name.endswith(self.domains)):
            await self.app(scope, receive, send)
            return
        shown = repr(host) if host else "missing"
        response = error_response(
            400, "invalid_host",
            f"the Host header is {shown}; this server answers only {self.shown} "
            "(start it with --allowed-host NAME to add one)",
        )
        await response(scope, receive, send)


# Same-origin only: the web chat page loads its own script and style sheet and calls the API;
# nothing else runs, so injected markup could neither run script nor send data elsewhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Frame-Options", "DENY"),  # no framing: clickjacking; frame-ancestors says it to newer browsers
    ("X-Content-Type-Options", "nosniff"),  # a JSON answer is never run as a script or page
    ("Referrer-Policy", "no-referrer"),  # user ids and texts are in Kochat URLs
)


class _SecurityHeaders:
    """Add SECURITY_HEADERS to every response that does not set its own (``/docs`` sets a CSP)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS:
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _App(FastAPI):
    """FastAPI whose every response gets the security headers, the 500s of its outermost
    error middleware included (middleware added with add_middleware runs inside that one)."""

    def build_middleware_stack(self) -> ASGIApp:
        return _SecurityHeaders(super().build_middleware_stack())


# -- the app ----------------------------------------------------------------------------------


def model_version(model_dir: str | Path) -> str:
    """A short fingerprint of a model: the message log says which model parsed what. model.json
    holds the checksum of every weights file and of its encoder, so its own hash covers them all."""
    return hashlib.sha256((Path(model_dir) / "model.json").read_bytes()).hexdigest()[:12]


def load_model(model_dir: str | Path) -> Any:
    """Load a model and parse once, or raise :class:`~malmoi.errors.ModelLoadError` in one line.

    Damaged weights fail in torch or safetensors with their own exceptions and multi-line
    messages; a server that cannot load its model must say so in one line and stop, so any
    failure here becomes a ModelLoadError.
    """
    import malmoi
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


def _swagger_ui_dir() -> Path | None:
    """The Swagger UI files of the swagger-ui-py package, found without importing it."""
    spec = importlib.util.find_spec("swagger_ui")
    for location in (spec.submodule_search_locations or []) if spec else []:
        folder = Path(location) / "static"
        if (folder / "swagger-ui-bundle.js").is_file() and (folder / "swagger-ui.css").is_file():
            return folder
    return None


_DOCS_ASSETS = {"swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"}
_NO_SWAGGER = """<!doctype html><html lang="en"><meta charset="utf-8"><title>{title}</title>
<body><h1>{title}</h1><p>The interactive API page needs the swagger-ui-py package, which is not
installed: <code>pip install 'malmoi[serve]'</code>. The OpenAPI description is at
<a href="{openapi}">{openapi}</a>.</p></body></html>"""


def _add_docs(app: FastAPI, title: str) -> None:
    """``/docs`` with Swagger UI served from this server: FastAPI's default loads it from a CDN,
    which a machine offline cannot reach, and which the Content-Security-Policy forbids."""
    folder = _swagger_ui_dir()

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        openapi = root + (app.openapi_url or "/openapi.json")
        if folder is None:
            return HTMLResponse(_NO_SWAGGER.format(title=title, openapi=openapi))
        page = get_swagger_ui_html(
            openapi_url=openapi, title=f"{title} - API",
            swagger_js_url=f"{root}/docs/assets/swagger-ui-bundle.js",
            swagger_css_url=f"{root}/docs/assets/swagger-ui.css",
            swagger_favicon_url=f"{root}/docs/assets/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None},  # the validator badge calls swagger.io
        )
        body = bytes(page.body)
        # The page starts Swagger UI with one inline script: allowed by its hash, nothing else.
        hashes = " ".join(
            "'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'"
            for script in re.findall(rb"<script>(.*?)</script>", body, re.DOTALL)
        )
        policy = CONTENT_SECURITY_POLICY.replace("script-src 'self'", f"script-src 'self' {hashes}")
        return HTMLResponse(body, headers={"Content-Security-Policy": policy})

    @app.get("/docs/assets/{name}", include_in_schema=False)
    def docs_asset(name: str) -> Response:
        if folder is None or name not in _DOCS_ASSETS:
            raise HTTPException(404)
        return FileResponse(folder / name)


def _install_guards(app: FastAPI, *, read_timeout: float | None, allowed_hosts: Sequence[str] | None,
                    body_limit_for: Callable[[Scope], int | None] | None = None) -> None:
    """JSON errors for every failure (4xx for bad requests, 503 for the store), the body limit
    and the Host check: the same for the one-bot and the many-bots app."""
    import sqlalchemy.exc

    from malmoi.dialogue.store import StoreUnavailable

    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(sqlalchemy.exc.SQLAlchemyError, _store_error)
    app.add_exception_handler(StoreUnavailable, _store_error)
    app.add_exception_handler(Exception, _internal_error)
    app.add_middleware(_BodyLimit, limit=MAX_BODY_BYTES, timeout=read_timeout, limit_for=body_limit_for)
    app.add_middleware(_HostCheck, allowed=list(DEFAULT_ALLOWED_HOSTS if allowed_hosts is None else allowed_hosts))


def create_app(
    model_dir: str | Path,
    *,
    database_url: str | None = None,
    scenarios: Scenarios | None = None,
    log_parses: bool = True,
    allowed_hosts: Sequence[str] | None = None,
    read_timeout: float | None = DEFAULT_READ_TIMEOUT,
    review_data: str | Path | None = None,
) -> FastAPI:
    """The server for one trained model.

    Args:
        model_dir: a directory written by ``malmoi train`` (scenarios come from its bot.yaml).
        database_url: SQLAlchemy URL for conversation state and the message log; default
            ``sqlite:///malmoi-state.sqlite3`` in the working directory; ``postgresql://...``
            uses PostgreSQL (psycopg 3).
        scenarios: scenarios and actions declared in Python (:class:`malmoi.dialogue.Scenarios`).
        log_parses: also log ``/v1/parse`` and ``/get_intent`` messages, not only chat.
        allowed_hosts: the Host headers answered, others get 400 ``invalid_host``; default
            ``localhost``, ``127.0.0.1`` and ``::1``; ``["*"]`` answers any (behind a proxy that
            checks Host itself); ``*.example.com`` allows a domain.
        read_timeout: seconds a request body may take to arrive (408 after); ``None``: no limit.
        review_data: the bot directory the model was trained from: serves the review page
            (``/review``, :mod:`malmoi.serve.review`) to this machine, which writes answers there.

    Raises:
        ModelLoadError: the model cannot be loaded, in one line.

    Example:
        >>> app = create_app("models/demo", database_url="sqlite:///state.sqlite3")  # doctest: +SKIP
        >>> # uvicorn.run(app, port=8000)
    """
    from malmoi.dialogue.engine import Dialogue
    from malmoi.dialogue.store import StateStore, is_unavailable

    model = load_model(model_dir)
    version = model_version(model_dir)
    store = StateStore(database_url)
    try:
        dialogue = Dialogue(model, store=store, scenarios=scenarios, model_version=version)
    except Exception:
        store.close()
        raise
    bot = model.config.name
    batcher = ParseBatcher(model)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        batcher.close()
        dialogue.close()
        store.close()

    app = _App(
        title=f"malmoi: {bot}",
        version=__version__,
        description=(
            f"Conversations with the bot **{bot}**: parse utterances, chat with scenarios and slot "
            "filling, Kochat-compatible routes. Errors are `{\"error\": {\"code\", \"message\"}}`."
        ),
        lifespan=lifespan,
        docs_url=None,  # served by _add_docs, from this server
        redoc_url=None,  # ReDoc comes only from a CDN
    )
    app.router.route_class = _Route
    app.state.model = model
    app.state.batcher = batcher
    app.state.dialogue = dialogue
    app.state.store = store
    _install_guards(app, read_timeout=read_timeout, allowed_hosts=allowed_hosts)

    def log_parse(result: ParseResult, source: str) -> None:
        if log_parses:
            store.log({
                "bot": bot, "source": source, "text": result.text, "intent": result.intent.name,
                "confidence": result.intent.confidence, "fallback": result.fallback,
                "entities": [e.model_dump() for e in result.entities], "model_version": version,
            })

    health = Health(status="ok", store="ok", model=bot, version=__version__, model_version=version,
                    intents=model.intents)
    degraded = health.model_copy(update={"status": "degraded", "store": "unavailable"})

    @app.get("/health", response_model=Health, tags=["service"], responses={
        503: {"model": Health, "description": "the conversation store is unavailable: chat cannot work"},
    })
    def get_health() -> Response:
        """Liveness and readiness: the model is loaded, the server answers, the store can be read.

        503 with ``"store": "unavailable"`` when the conversation store cannot be used: parsing
        still works, chatting does not.
        """
        try:
            store.check()
        except Exception as exc:  # whatever the store raises, health answers
            if not is_unavailable(exc):
                logger.exception("bug: the store check raised")
            else:
                logger.error("health: the conversation store is unavailable: %s",
                             str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            return Response(degraded.model_dump_json(), status_code=503, media_type="application/json")
        return Response(health.model_dump_json(), media_type="application/json")

    @app.post("/v1/parse", response_model=ParseResult, responses=ERROR_RESPONSES, tags=["v1"])
    async def parse(request: ParseRequest) -> Response:
        """Parse one utterance: intent with confidence, ranking, fallback decision, entities."""
        result = await batcher.parse(request.text)
        log_parse(result, "parse")
        # Serialized here: the result is already validated, FastAPI would validate it again.
        return Response(result.model_dump_json(), media_type="application/json")

    @app.post("/v1/chat", response_model=ChatResponse, responses=ERROR_RESPONSES, tags=["v1"])
    async def chat(request: ChatRequest) -> Response:
        """One message of a conversation: the answer, how it was parsed, and the state after it.

        The state's ``status`` is ``REQUIRE_<ENTITY>`` while the bot asks for an entity, then
        ``SUCCESS`` (or ``FAIL`` if the scenario's action failed), ``FALLBACK``, ``CANCELLED``.
        """
        parsed = await batcher.parse(request.text)
        reply = await run_in_threadpool(dialogue.respond, request.user_id, parsed)
        return Response(reply.model_dump_json(), media_type="application/json")

    app.include_router(kochat_router(dialogue, batcher, log_parse))
    _add_docs(app, f"malmoi: {bot}")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> Response:
        page = STATIC_DIR / "index.html"
        if page.is_file():
            return HTMLResponse(page.read_text("utf-8"))
        return HTMLResponse(_PLACEHOLDER)

    if review_data is not None:
        _add_review(app, Path(review_data), bot, version)

    if STATIC_DIR.is_dir():
        from fastapi.staticfiles import StaticFiles

        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def _add_review(app: FastAPI, bot_dir: Path, bot: str, version: str) -> None:
    """The review page and its API (malmoi.serve.review), for this machine only: no keys here."""
    # ReviewAnswers is imported at module level: FastAPI resolves the endpoints' annotations there.
    from malmoi.serve.review import (
        add_review_assets,
        list_review,
        record_review,
        require_local,
        review_page,
    )

    add_review_assets(app)

    @app.get("/review", response_class=HTMLResponse, include_in_schema=False)
    def review(request: Request) -> Response:
        require_local(request)
        return HTMLResponse(review_page("v1/review", assets="review-assets", needs_key=False, title=bot))

    @app.get("/v1/review", tags=["review"], responses=ERROR_RESPONSES)
    async def review_list(request: Request, below: float = 0.5, similarity: float = 0.6) -> dict[str, Any]:
        """Logged messages that fell back or were under ``below``, grouped, with the model's guesses."""
        require_local(request)
        batcher: ParseBatcher = app.state.batcher
        return await list_review(app.state.store, app.state.model, batcher.parse, bot=bot, bot_dir=bot_dir,
                                 below=below, similarity=similarity, model_version=version)

    @app.post("/v1/review", tags=["review"], responses=ERROR_RESPONSES)
    async def review_answer(request: Request, body: ReviewAnswers) -> dict[str, Any]:
        """Write answers (intent with entities, or out of domain) into the bot's data files."""
        require_local(request)
        return await record_review(request, app.state.store, app.state.model, body, bot=bot, bot_dir=bot_dir,
                                   reviewer="local")
