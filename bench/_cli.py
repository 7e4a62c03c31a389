"""What every benchmark's command line shares: where its results go (``--out``), which port a
server it starts listens on (``--port``), and what it may overwrite.

A benchmark replaces only a file that a benchmark wrote, the rule malmoi's own commands follow:
a results JSON (an object with the key ``"benchmark"``, which every results file has), the
Markdown summary of ``variants.py --summary``, or a screenshot or text file written beside a
results file of the same name. Anything else at ``--out`` is refused with one line and exit
status 2, before any work:

    $ python bench/snips.py --out notes.txt
    error: --out notes.txt exists and was not written by a benchmark (not a results JSON with "benchmark"); ...
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
HOST = "127.0.0.1"
MARKER = "benchmark"  # the key of every results JSON that a benchmark writes
SUMMARY_HEAD = "# Saved benchmark results"  # the first line of variants.py's Markdown summary


class Parser(argparse.ArgumentParser):
    """An argument parser that checks ``--out`` (and ``--port``) as soon as the arguments are read."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)
        self._out_folder = False
        self._companions: Sequence[str] = ()

    def add_out(self, default: Path | None, *, what: str = "result JSON", folder: bool = False,
                companions: Sequence[str] = ()) -> None:
        """``--out PATH``. ``folder``: a folder of results files; ``companions``: suffixes of the files
        written beside the results (``_confusion.png``), named after it."""
        self._out_folder, self._companions = folder, companions
        shown = f" (default {shown_path(default)})" if default is not None else ""
        self.add_argument("--out", type=Path, default=default, metavar="FOLDER" if folder else "PATH",
                          help=f"{what}{shown}; only a file a benchmark wrote is replaced")

    def add_port(self) -> None:
        self.add_argument("--port", type=port_number, metavar="N",
                          help=f"the port of the server it starts on {HOST} (default: a free one, printed)")

    def parse_known_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                         namespace: argparse.Namespace | None = None) -> tuple[argparse.Namespace, list[str]]:
        parsed, rest = super().parse_known_args(args, namespace)
        out = getattr(parsed, "out", None)
        if out is not None and self._out_folder:
            checked_folder(out)
        elif out is not None:
            checked_out(out, companions=self._companions)
        return parsed, rest


def shown_path(path: Path | None) -> str:
    if path is None:
        return "none"
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def port_number(value: str) -> int:
    port = int(value)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port from 1 to 65535, not {value}")
    return port


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def port_or_free(port: int | None, what: str = "the server") -> int:
    """``--port``, or a free port of 127.0.0.1; said either way."""
    chosen = port if port is not None else free_port()
    print(f"{what}: http://{HOST}:{chosen}" + ("" if port is not None else " (a free port; --port N to choose)"),
          file=sys.stderr, flush=True)
    return chosen


def refuse(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def written_by_a_benchmark(path: Path) -> bool:
    """A results JSON with the marker key, or variants.py's Markdown summary."""
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    if path.suffix == ".md":
        return text.startswith(SUMMARY_HEAD)
    try:
        data = json.loads(text)
    except ValueError:
        return False
    return isinstance(data, dict) and MARKER in data


def checked_out(path: Path, *, companions: Sequence[str] = ()) -> Path:
    """``path`` when a benchmark may write its results there (and its ``companions`` beside it):
    nothing there yet, or a file a benchmark wrote. Otherwise one line and exit 2."""
    _check_parent(path)
    if path.is_symlink() or (path.exists() and not path.is_file()):
        refuse(f"--out {path} is {'a link' if path.is_symlink() else 'a folder'}; give the path of a results file")
    ours = path.is_file() and written_by_a_benchmark(path)
    if path.is_file() and not ours:
        refuse(f"--out {path} exists and was not written by a benchmark (not a results file with "
               f"\"{MARKER}\"); give another path, or move that file away")
    for suffix in companions:
        beside = companion(path, suffix)
        if (beside.exists() or beside.is_symlink()) and not (ours and beside.is_file() and not beside.is_symlink()):
            refuse(f"{beside}, which this benchmark writes beside --out {path}, exists and is not from an earlier run "
                   "of it; give another --out, or move that file away")
    return path


def checked_folder(path: Path) -> Path:
    """A folder of results files: absent or a folder (each file in it is checked when written)."""
    _check_parent(path)
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        refuse(f"--out {path} is {'a link' if path.is_symlink() else 'a file'}; give a folder for the results files")
    return path


def _check_parent(path: Path) -> None:
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            refuse(f"--out {path}: {parent} is a file, not a folder")


def companion(out: Path, suffix: str) -> Path:
    """A file written beside the results file ``out``: ``report.json`` -> ``report_confusion.png``."""
    return out.with_name(out.stem + suffix)


def save_json(out: Path, result: dict[str, Any]) -> None:
    """Write a results file whole (a temporary file renamed), checked again: something may have
    appeared at ``out`` since the start of a run of hours."""
    if MARKER not in result:
        raise ValueError(f"a results file needs the key {MARKER!r}, which marks it as a benchmark's")
    checked_out(out)
    write_text(out, json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    print(f"\nsaved {out}")


def write_text(out: Path, text: str) -> None:
    """Write ``out`` whole: a temporary file beside it, renamed (the caller checked that it may)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
