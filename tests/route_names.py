"""The routes an app serves, against those the server's startup line names (malmoi.serve._server.offered)."""

from __future__ import annotations

import itertools
import re
from typing import Any

_PARAM = re.compile(r"\{[^}]*\}")
_NOT_NAMED = ("/openapi.json", "/docs/", "/static")  # /docs's own files, the pages' files


def named_paths(line: str) -> set[str]:
    """Every path the line names, alternatives (``a|b``) expanded, parameters as ``{}``."""
    paths = set()
    for item in re.findall(r"(?:^|, |: )(?:[A-Z|]+ )?(/[^ ,.]*)", line):
        segments = [segment.split("|") for segment in _PARAM.sub("{}", item).split("/")]
        paths.update("/".join(parts) for parts in itertools.product(*segments))
    return paths


def served_paths(app: Any) -> set[str]:
    return {_PARAM.sub("{}", route.path) for route in app.routes
            if not route.path.startswith(_NOT_NAMED)}
