"""Tiny bot directories written into tmp_path: a clean base bot, plus whatever a test adds."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
from bot_dirs import BASE_FILES

Files = dict[str, "str | bytes | None"]


@pytest.fixture
def make_bot(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``make_bot({"data/intents/x.csv": "question\\n..."}, base=True)``.

    Files are relative to the bot directory; ``str`` is written as UTF-8, ``bytes`` as is,
    and ``None`` leaves a base file out.
    """
    counter = itertools.count()

    def make(files: Files | None = None, *, base: bool = True) -> Path:
        root = tmp_path / f"bot{next(counter)}"
        root.mkdir()
        for relative, content in {**(BASE_FILES if base else {}), **(files or {})}.items():
            if content is None:
                continue
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, "utf-8")
        return root

    return make
