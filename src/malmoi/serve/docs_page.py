"""``/docs``: Swagger UI served by the server itself, from the swagger-ui-py package.

FastAPI's default page loads Swagger UI from a CDN, which a machine offline cannot reach and
which the Content-Security-Policy (:mod:`malmoi.serve.middleware`) forbids; ReDoc exists only on
a CDN, so ``/redoc`` is not served.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import re
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.exceptions import HTTPException

from malmoi.serve.middleware import CONTENT_SECURITY_POLICY

__all__ = ["add_docs"]


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


def add_docs(app: FastAPI, title: str) -> None:
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
