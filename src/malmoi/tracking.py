"""Training runs in TensorBoard or MLflow: the figures of every epoch, the settings, the outcome.

    >>> from malmoi.tracking import TensorBoardLogger
    >>> with TensorBoardLogger("runs/demo") as log:                       # doctest: +SKIP
    ...     model = malmoi.train("examples/demo-bot", on_epoch=log)
    ...     log.finish(model)

Then ``tensorboard --logdir runs``. Needs the ``tensorboard`` package (``pip install
'malmoi[tensorboard]'``); :mod:`torch.utils.tensorboard` writes the event files.
:class:`MLflowLogger` does the same for an MLflow tracking server (``pip install 'malmoi[mlflow]'``).
"""

from __future__ import annotations

import json
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = ["MLflowLogger", "TensorBoardLogger", "mlflow_available", "tensorboard_available"]

_MISSING = "--tensorboard needs the tensorboard package: pip install 'malmoi[tensorboard]'"


def tensorboard_available() -> bool:
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        return False
    return True


class TensorBoardLogger:
    """An ``on_epoch`` callback for :func:`malmoi.train` that writes TensorBoard scalars.

    Each pass of training (``fit``, then ``refit`` on all data when the bot is small) has its own
    scalars: ``fit/loss``, ``fit/validation_loss``, ``fit/intent_accuracy``, ``fit/entity_f1``.
    """

    def __init__(self, log_dir: str | Path):
        if not tensorboard_available():
            raise ImportError(_MISSING)
        from torch.utils.tensorboard import SummaryWriter

        self.log_dir = Path(log_dir)
        self._writer = SummaryWriter(log_dir=str(self.log_dir))

    def __call__(self, phase: str, record: dict[str, float]) -> None:
        epoch = int(record["epoch"])
        for key, value in record.items():
            if key != "epoch":
                self._writer.add_scalar(f"{phase}/{key}", value, epoch)
        self._writer.flush()

    def finish(self, model: Any) -> None:
        """The outcome: threshold, training time, and the resolved settings as text."""
        report = model.report
        self._writer.add_scalar("model/threshold", float(model.threshold), 0)
        if "train_seconds" in report:
            self._writer.add_scalar("model/train_seconds", float(report["train_seconds"]), 0)
        settings = json.dumps(model.config.settings.model_dump(mode="json"), indent=2, ensure_ascii=False)
        self._writer.add_text("settings", f"```\n{settings}\n```", 0)
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> TensorBoardLogger:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


_MLFLOW_MISSING = "--mlflow needs the mlflow package: pip install 'malmoi[mlflow]'"


def mlflow_available() -> bool:
    try:
        import mlflow  # noqa: F401
    except ImportError:
        return False
    return True


def _flatten(prefix: str, value: Any) -> dict[str, str]:
    """Nested settings as MLflow params: ``intent.loss.type`` -> ``cosface``."""
    if isinstance(value, dict):
        found: dict[str, str] = {}
        for key, item in value.items():
            found.update(_flatten(f"{prefix}.{key}" if prefix else str(key), item))
        return found
    return {prefix: json.dumps(value, ensure_ascii=False) if isinstance(value, (list, tuple)) else str(value)}


class MLflowLogger:
    """An ``on_epoch`` callback for :func:`malmoi.train` that logs one MLflow run.

    Each epoch's figures are metrics ``fit/loss``, ``fit/validation_loss``... with the epoch as
    step; :meth:`finish` logs the resolved settings as params (``encoder.type``, ``training.epochs``...),
    the outcome as metrics (``threshold``, ``train_seconds``, ``validation/intent_accuracy``...)
    and the saved ``model.json`` as an artifact. The run ends with the ``with`` block, ``FAILED``
    if training raised.

    >>> with MLflowLogger("http://mlflow:5000", run_name="demo") as log:      # doctest: +SKIP
    ...     model = malmoi.train("examples/demo-bot", on_epoch=log)
    ...     log.finish(model, model.save("models/demo"))
    """

    def __init__(self, tracking_uri: str | None = None, *, experiment: str = "malmoi", run_name: str | None = None):
        if not mlflow_available():
            raise ImportError(_MLFLOW_MISSING)
        import mlflow

        self._mlflow = mlflow
        if tracking_uri:
            mlflow.set_tracking_uri(tracking_uri)
        mlflow.set_experiment(experiment)
        self.run = mlflow.start_run(run_name=run_name)
        self.run_id: str = self.run.info.run_id

    def __call__(self, phase: str, record: dict[str, float]) -> None:
        epoch = int(record["epoch"])
        self._mlflow.log_metrics({f"{phase}/{k}": float(v) for k, v in record.items() if k != "epoch"}, step=epoch)

    def finish(self, model: Any, model_dir: str | Path | None = None) -> None:
        """Settings as params, the outcome as metrics, ``model.json`` of ``model_dir`` as an artifact."""
        mlflow = self._mlflow
        settings = model.config.settings.model_dump(mode="json")
        mlflow.log_params({"bot": model.config.name, "intents": len(model.intents), **_flatten("", settings)})
        report = model.report
        figures = {"threshold": float(model.threshold)}
        if "train_seconds" in report:
            figures["train_seconds"] = float(report["train_seconds"])
        for key, value in (report.get("validation") or {}).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                figures[f"validation/{key}"] = float(value)
        mlflow.log_metrics(figures)
        if model_dir is not None and (Path(model_dir) / "model.json").is_file():
            mlflow.log_artifact(str(Path(model_dir) / "model.json"))

    def close(self, failed: bool = False) -> None:
        self._mlflow.end_run(status="FAILED" if failed else "FINISHED")

    def __enter__(self) -> MLflowLogger:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close(failed=kind is not None)
