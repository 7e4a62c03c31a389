"""Where commands write: they replace only what malmoi itself wrote there.

``malmoi train --out DIR`` once moved ``DIR`` aside and deleted it, whatever it held: a parent
folder with the bot inside, the bot folder itself. Every command that writes a folder or a file
now checks its target first, before any work, with the functions here:

- a **folder** may be written when it does not exist, is empty, or holds what malmoi wrote there
  before: a folder with malmoi's :data:`MANIFEST_FILE` of the same kind, holding no file that the
  manifest does not list (a model: ``model.json``, its weights, its encoder). A model saved before
  manifests existed is recognised by its ``model.json`` and its fixed file names.
- a **file** may be overwritten when it does not exist, is empty, or carries malmoi's mark for its
  kind: a JSON document's ``"generator": "malmoi ..."``, an HTML report's data island, parse
  results' fields, a suspects table's header.

Anything else is refused with one line that names the path, what is there and the fix
(:class:`~malmoi.errors.OutputError`; the command line exits 2). The manifest is also what makes
``model.json`` tamper-evident: it lists the SHA-256 of every file of the folder, and
:func:`verify_manifest` checks them when a model loads.

This module imports nothing of malmoi but its version, so that anything may use it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from malmoi._version import __version__

__all__ = [
    "GENERATOR",
    "MANIFEST_FILE",
    "OutputError",
    "check_file",
    "check_folder",
    "check_writable_parent",
    "manifest_bytes",
    "marked",
    "read_manifest",
    "seal",
    "verify_manifest",
]

MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = "malmoi-manifest"
GENERATOR = f"malmoi {__version__}"
# The id of the <script> element that holds an HTML report's data (malmoi.report reads it back).
REPORT_DATA_ID = "malmoi-report-data"
_SNIFF_BYTES = 1 << 16  # a mark sits at the start of the file (the report's island within 64 KiB)
# A model written before folders had a manifest: recognised by these names and a malmoi model.json.
_LEGACY_MODEL_FILES = {"model.json", "weights.safetensors", "encoder/encoder.json", "encoder/weights.safetensors"}


class OutputError(Exception):
    """A command would write over something malmoi did not write (a user's folder or file): refused
    before any work; the message names the path, what is there and a path to use instead."""


# -- manifests ------------------------------------------------------------------------------------


def manifest_bytes(kind: str, files: Mapping[str, bytes]) -> bytes:
    """The manifest of a folder made of ``files`` (relative path → bytes): kind, size and SHA-256 of each."""
    listing = {
        name: {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)} for name, data in sorted(files.items())
    }
    document = {"format": MANIFEST_FORMAT, "kind": kind, "generator": GENERATOR, "files": listing}
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The folder's manifest, or None when it has none (or none that malmoi could have written)."""
    try:
        document = json.loads((folder / MANIFEST_FILE).read_bytes()[: 8 * 2**20])
    except (OSError, ValueError):
        return None
    if not isinstance(document, dict) or document.get("format") != MANIFEST_FORMAT:
        return None
    files = document.get("files")
    if not isinstance(document.get("kind"), str) or not isinstance(files, dict):
        return None
    if not all(isinstance(v, dict) and isinstance(v.get("sha256"), str) for v in files.values()):
        return None
    return document


def verify_manifest(folder: Path, names: Iterable[str], *, what: str = "the model") -> str | None:
    """Why ``names`` differ from what the folder's manifest says malmoi wrote, or None when they
    match or the folder has no manifest (one written before manifests existed)."""
    manifest = read_manifest(folder)
    if manifest is None:
        return None
    for name in names:
        entry = manifest["files"].get(name)
        path = folder / name
        if entry is None:
            return f"{path}: not listed in {folder / MANIFEST_FILE}; {what} is damaged — train it again"
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as exc:
            return f"{path}: cannot be read ({exc.strerror or exc})"
        if digest != entry["sha256"]:
            return (f"{path}: changed since malmoi wrote it (its SHA-256 differs from the one in {MANIFEST_FILE}); "
                    f"{what} was edited or damaged — train it again, or restore it from a copy")
    return None


# -- folders --------------------------------------------------------------------------------------


def _files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if not p.is_dir())


def _is_legacy_model(folder: Path, present: list[str]) -> bool:
    if not set(present) <= _LEGACY_MODEL_FILES or "model.json" not in present:
        return False
    try:
        head = (folder / "model.json").read_bytes()[:_SNIFF_BYTES]
    except OSError:
        return False
    return b'"format": "malmoi-model"' in head


def seal(folder: str | os.PathLike[str], kind: str) -> Path:
    """Write the manifest of a folder malmoi has just filled (its files as they are now)."""
    folder = Path(folder)
    files = {name: (folder / name).read_bytes() for name in _files_under(folder) if name != MANIFEST_FILE}
    path = folder / MANIFEST_FILE
    temporary = path.with_name(f".{MANIFEST_FILE}.{os.getpid()}.tmp")
    temporary.write_bytes(manifest_bytes(kind, files))
    os.replace(temporary, path)
    return path


def check_folder(
    path: str | os.PathLike[str], kind: str, what: str, *, edited_ok: bool = True, only: Iterable[str] | None = None
) -> None:
    """Raise :class:`OutputError` unless malmoi may write the folder ``path`` (see the module docstring).

    ``kind`` is the manifest kind the folder must have when it exists and is not empty
    (``"model"``); ``what`` names the option in messages (``"--out"``). ``edited_ok=False``: a
    file changed since malmoi wrote it is someone's work too, and the folder is refused (an
    imported bot directory whose data was edited afterwards). ``only``: the names (files, or
    folders with everything under them) the command replaces; other files there are left alone
    and do not matter.
    """
    path = Path(path)
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        found = "a link" if path.is_symlink() else "a file"
        raise OutputError(f"{what} {path} is {found}; give a new folder for the {kind}, like {_sibling(path, kind)}")
    if not path.exists():
        check_writable_parent(path, what)
        return
    present = _files_under(path)
    if only is not None:
        scope = tuple(only)
        present = [name for name in present if name in scope or name.startswith(tuple(f"{n}/" for n in scope))]
    if not present and (only is not None or not any(path.iterdir())):
        check_writable_parent(path, what, inside=True)
        return
    manifest = read_manifest(path)
    if manifest is not None and manifest["kind"] == kind:
        foreign = [name for name in present if name != MANIFEST_FILE and name not in manifest["files"]]
    elif kind == "model" and _is_legacy_model(path, present):
        foreign = []
    else:
        shown = ", ".join(present[:4]) + (f" and {len(present) - 4} more" if len(present) > 4 else "")
        raise OutputError(
            f"{what} {path} is a folder that malmoi did not write (it holds {shown or 'empty folders'}); malmoi "
            f"replaces only a {kind} folder it wrote itself. Give a new or empty folder, like {_sibling(path, kind)}"
        )
    if not foreign and not edited_ok and manifest is not None:
        foreign = [name for name in present if name != MANIFEST_FILE
                   and hashlib.sha256((path / name).read_bytes()).hexdigest() != manifest["files"][name]["sha256"]]
        if foreign:
            raise OutputError(
                f"{what} {path} holds a {kind} whose files were edited since malmoi wrote them "
                f"({', '.join(foreign[:4])}); replacing it would lose those edits. Give a new folder, like "
                f"{_sibling(path, kind)}"
            )
    if foreign:
        raise OutputError(
            f"{what} {path} holds a {kind} and also files malmoi did not write ({', '.join(foreign[:4])}); "
            f"move them out first, or give a new folder, like {_sibling(path, kind)}"
        )
    check_writable_parent(path, what, inside=True)


def _sibling(path: Path, kind: str) -> Path:
    """A free folder name next to ``path`` to suggest."""
    base = path.parent / f"{path.name}-{kind}"
    candidate, number = base, 2
    while candidate.exists():
        candidate, number = path.parent / f"{base.name}{number}", number + 1
    return candidate


def check_writable_parent(path: Path, what: str, *, inside: bool = False) -> None:
    """Raise :class:`OutputError` unless the nearest existing folder at ``path`` (``inside``) or above
    it is a folder this process can write in."""
    existing = path if inside else path.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"cannot write {what} {path}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {what} {path}: no permission to write in {existing}")


# -- files ----------------------------------------------------------------------------------------


def marked(document: Mapping[str, Any]) -> dict[str, Any]:
    """``document`` with malmoi's mark first, so that a later run may overwrite the file it is written to."""
    return {"generator": GENERATOR, **{k: v for k, v in document.items() if k != "generator"}}


def _head(path: Path) -> str:
    with open(path, "rb") as handle:
        return handle.read(_SNIFF_BYTES).decode("utf-8", errors="replace")


def _json_marked(head: str) -> bool:
    return head.lstrip().startswith("{") and '"generator": "malmoi' in head[:200]


def _parse_results(head: str) -> bool:
    first = head.lstrip().split("\n", 1)[0]
    try:
        record = json.loads(first)
    except ValueError:
        return False
    return isinstance(record, dict) and {"text", "intent", "fallback", "entities"} <= record.keys()


def _report(head: str) -> bool:
    return '<meta name="generator" content="malmoi' in head[:1000] or _json_marked(head)


def _legacy_report(path: Path) -> bool:
    """A report written before reports carried the generator mark: its data island, further in."""
    if path.stat().st_size > 512 * 2**20:
        return False
    return _head(path).startswith("<!DOCTYPE html>") and f'id="{REPORT_DATA_ID}"'.encode() in path.read_bytes()


def _csv_header(columns: list[str]) -> Callable[[str], bool]:
    def sniff(head: str) -> bool:
        try:
            first = next(csv.reader(io.StringIO(head)), [])
        except csv.Error:
            return False
        return first == columns

    return sniff


def _suspects(head: str) -> bool:
    """``malmoi clean``'s suspects.json, also as written before it carried the mark."""
    return _json_marked(head) or head.startswith('{\n  "summary": {')


# What a file of each kind that malmoi writes starts with.
_SNIFFERS: dict[str, Callable[[str], bool]] = {
    "json": _json_marked,
    "suspects": _suspects,
    "parse results": _parse_results,
    "report": _report,
}


def check_file(
    path: str | os.PathLike[str], what: str, kind: str = "json", *, columns: list[str] | None = None
) -> None:
    """Raise :class:`OutputError` unless malmoi may write the file ``path`` (see the module docstring).

    ``kind``: ``"json"`` (a document with malmoi's ``generator`` mark), ``"parse results"`` (JSON
    lines of ``malmoi parse``), ``"report"`` (an HTML report) or ``"csv"`` (a table whose header is
    ``columns``).
    """
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{what} {path} is a folder; give a file path, like {path / ('results.' + _suffix(kind))}")
    folder = path.parent
    if not folder.is_dir():
        found = "is a file" if folder.exists() else "does not exist"
        raise OutputError(f"cannot write {what} {path}: the folder {folder} {found}; create it first "
                          f"(mkdir -p {folder})")
    check_writable_parent(folder, what, inside=True)
    if not path.exists():
        return
    if path.is_symlink() or not path.is_file():
        raise OutputError(f"{what} {path} is not a plain file; give another path")
    if not os.access(path, os.W_OK):
        raise OutputError(f"cannot write {what} {path}: permission denied")
    if path.stat().st_size == 0:
        return
    sniff = _csv_header(columns or []) if kind == "csv" else _SNIFFERS[kind]
    try:
        ours = sniff(_head(path)) or (kind == "report" and _legacy_report(path))
    except OSError as exc:
        raise OutputError(f"cannot read {what} {path} to check it: {exc.strerror or exc}") from None
    if not ours:
        raise OutputError(
            f"{what} {path} exists and is not a file malmoi wrote ({kind}); malmoi overwrites only its own "
            f"output. Give another path, or move that file away first"
        )


def _suffix(kind: str) -> str:
    return {"parse results": "jsonl", "report": "html", "csv": "csv"}.get(kind, "json")
