"""Serving bots over HTTP: ``create_app(model_dir)`` gives a FastAPI app (``malmoi serve``).

    >>> from malmoi.serve import create_app
    >>> app = create_app("models/demo", database_url="sqlite:///state.sqlite3")  # doctest: +SKIP
    >>> from malmoi.serve import ServeSettings, run
    >>> run(ServeSettings(model_dir="models/demo", port=8080))  # doctest: +SKIP

Needs the ``serve`` extra: ``pip install 'malmoi[serve]'``. See docs/serving.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from malmoi.serve._server import run
    from malmoi.serve.builder import create_app
    from malmoi.serve.settings import ServeSettings

__all__ = ["ServeSettings", "create_app", "run"]


def __getattr__(name: str) -> Any:
    # Lazy: `import malmoi.serve` must not need FastAPI or torch until an app is made.
    if name == "create_app":
        from malmoi.serve.builder import create_app

        return create_app
    if name == "run":
        from malmoi.serve._server import run

        return run
    if name == "ServeSettings":
        from malmoi.serve.settings import ServeSettings

        return ServeSettings
    raise AttributeError(f"module 'malmoi.serve' has no attribute {name!r}")
