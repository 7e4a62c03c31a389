"""Running the server: checks before start, worker processes, the app factory they call.

Kept apart from :mod:`malmoi.serve.app` so that the supervising process of ``malmoi serve
--workers N`` never imports torch or loads a model: only its workers do.
"""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from malmoi.dialogue.scenarios import Scenarios

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["app_from_env", "check_model", "load_scenarios", "run"]

# How `malmoi serve` tells its worker processes what to load (uvicorn starts them by import string).
_ENV_MODEL = "MALMOI_SERVE_MODEL_DIR"
_ENV_DATABASE = "MALMOI_SERVE_DATABASE_URL"
_ENV_SCENARIOS = "MALMOI_SERVE_SCENARIOS"


def load_scenarios(spec: str | None) -> Scenarios | None:
    """Import ``module`` or ``module:attribute`` holding a :class:`Scenarios` (``--scenarios``)."""
    if not spec:
        return None
    import importlib

    module_name, _, attribute = spec.partition(":")
    module = importlib.import_module(module_name)
    if attribute:
        found = getattr(module, attribute)
    else:
        candidates = [v for v in vars(module).values() if isinstance(v, Scenarios)]
        if len(candidates) != 1:
            raise ValueError(
                f"{module_name} has {len(candidates)} Scenarios objects; name one as {module_name}:NAME"
            )
        found = candidates[0]
    if not isinstance(found, Scenarios):
        raise ValueError(f"{spec} is a {type(found).__name__}, not a malmoi.dialogue.Scenarios")
    return found


def app_from_env() -> FastAPI:
    """App factory for ``uvicorn --factory`` and for each worker of ``malmoi serve``."""
    import torch

    from malmoi.serve.app import create_app

    # Requests run in parallel threads and processes; torch's own threads would only compete.
    torch.set_num_threads(1)
    return create_app(
        os.environ[_ENV_MODEL],
        database_url=os.environ.get(_ENV_DATABASE) or None,
        scenarios=load_scenarios(os.environ.get(_ENV_SCENARIOS)),
    )


def check_model(model_dir: str | Path, scenarios: Scenarios | None, database_url: str | None) -> str:
    """Cheap checks before starting workers, so that mistakes read as one message: the bot name."""
    from malmoi.dialogue.scenarios import resolve_scenarios
    from malmoi.dialogue.store import StateStore
    from malmoi.errors import ModelLoadError
    from malmoi.settings import BotConfig

    meta_path = Path(model_dir) / "model.json"
    if not meta_path.is_file() or not (Path(model_dir) / "weights.safetensors").is_file():
        raise ModelLoadError(
            f"{model_dir} is not a malmoi model: expected model.json and weights.safetensors in it. "
            f"Train one with `malmoi train BOT_DIR --out {model_dir}`."
        )
    try:
        meta = json.loads(meta_path.read_text("utf-8"))
        config = BotConfig.model_validate(meta["config"])
        tags: Sequence[str] = meta["tags"]
        intents: Sequence[str] = meta["intents"]
    except Exception as exc:
        raise ModelLoadError(f"{meta_path} cannot be read ({exc}); retrain the model.") from exc
    resolve_scenarios(config, intents, {t.split("-", 1)[1] for t in tags if "-" in t}, scenarios)
    StateStore(database_url).close()  # creates the tables once, before workers race to
    return config.name


def run(
    model_dir: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    database_url: str | None = None,
    workers: int = 1,
    scenarios: str | None = None,
    access_log: bool = False,
) -> None:
    """Serve a model with uvicorn until interrupted (``malmoi serve``)."""
    import uvicorn

    os.environ[_ENV_MODEL] = str(model_dir)
    if database_url:
        os.environ[_ENV_DATABASE] = database_url
    if scenarios:
        os.environ[_ENV_SCENARIOS] = scenarios
    options: dict[str, Any] = {}
    if "timeout_worker_healthcheck" in inspect.signature(uvicorn.run).parameters:
        # A worker answers the supervisor's pings only once torch and the model are loaded,
        # which can take longer than uvicorn's 5 s on a busy machine; it would be killed.
        options["timeout_worker_healthcheck"] = 120
    uvicorn.run(
        "malmoi.serve._server:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=access_log,
        log_level="info",
        **options,
    )
