"""Training runs in TensorBoard: the figures of every epoch as scalars, the settings as text.

    >>> from malmoi.tracking import TensorBoardLogger
    >>> with TensorBoardLogger("runs/demo") as log:                       # doctest: +SKIP
    ...     model = malmoi.train("examples/demo-bot", on_epoch=log)
    ...     log.finish(model)

Then ``tensorboard --logdir runs``. Needs the ``tensorboard`` package (``pip install
'malmoi[tensorboard]'``); :mod:`torch.utils.tensorboard` writes the event files.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = ["TensorBoardLogger", "tensorboard_available"]

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
