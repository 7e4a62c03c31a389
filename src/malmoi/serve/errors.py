"""How every failure is answered: one JSON body, ``{"error": {"code", "message", "field"}}``.

Bad input is a 4xx that names the problem (a request validation error becomes the code and
message of :mod:`malmoi.serve.schema`'s vocabulary: ``missing_field``, ``text_too_long``...); a
conversation store that cannot be used is 503 ``store_unavailable``; a bot that cannot answer is
a 503 a route raises as :class:`~malmoi.serve.schema.ApiError`; anything else is a bug, logged
with its traceback and answered 500 ``internal_error``. :func:`install_error_handlers` sets these
handlers on an app (:mod:`malmoi.serve.builder` does, for every mode).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from malmoi.serve.schema import ApiError, error_response

__all__ = ["install_error_handlers"]

logger = logging.getLogger("malmoi.serve")


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
    metrics = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        metrics.store_errors.inc()
    logger.error("the conversation store failed on %s %s: %s", request.method, request.url.path,
                 str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    return error_response(503, "store_unavailable", "the conversation store is unavailable; try again shortly")


def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("bug: %s %s raised", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "the server failed on this request; it has been logged")



def install_error_handlers(app: FastAPI) -> None:
    """JSON errors for every failure: 4xx for bad requests, 503 for the store, 500 for bugs."""
    import sqlalchemy.exc

    from malmoi.dialogue.store import StoreUnavailable

    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(sqlalchemy.exc.SQLAlchemyError, _store_error)
    app.add_exception_handler(StoreUnavailable, _store_error)
    app.add_exception_handler(Exception, _internal_error)
