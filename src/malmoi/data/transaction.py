"""Replace several files of a bot directory all or none, even if the process is killed halfway.

A command that rewrites several data files at once (``malmoi clean --apply``, the review loop's
answers) must never leave some files new and others old. :class:`FileTransaction` writes them as
a journalled change, the way a database commits:

1. hold ``BOT_DIR/.malmoi.lock`` (one writer per bot directory, across processes);
2. write the journal ``BOT_DIR/.malmoi-journal.json`` in the state ``prepared``: the files to
   change and the change's id;
3. write each file's new text to a temporary file beside it (unique name, with the id in it),
   flushed to disk;
4. write the journal again in the state ``committed``, with each temporary file's name and the
   checksum of its text: from here on, the change happens;
5. rename each temporary file over its file (a rename is atomic: a file is old or new);
6. delete the journal.

Each journal write is itself a temporary file renamed into place, so the journal is always whole.
Any command that reads the bot directory first calls :func:`recover`: a ``committed`` journal is
finished (the remaining renames are done), a ``prepared`` one is undone (its temporary files are
deleted, every file keeps its old text). Either way it says so, as a :class:`Problem` warning.

>>> with FileTransaction("mybot", note="malmoi clean --apply") as change:   # doctest: +SKIP
...     old = Path("mybot/data/intents/weather.csv").read_text("utf-8")
...     change.commit({Path("mybot/data/intents/weather.csv"): old + "우산 챙겨야 해?\\n",
...                    Path("mybot/data/intents/stale.csv"): None})        # None deletes the file

The lock is a file lock (the ``filelock`` package: ``flock`` on Linux and macOS); on a network
file system it protects only where the file system honours such locks.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import secrets
import stat
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from malmoi.data.problems import Problem

if TYPE_CHECKING:
    from filelock import FileLock

logger = logging.getLogger("malmoi")

__all__ = ["JOURNAL", "LOCK", "FileTransaction", "TransactionError", "recover", "write_atomic"]

JOURNAL = ".malmoi-journal.json"
LOCK = ".malmoi.lock"
_JOURNAL_PREFIX = ".malmoi-journal."  # the journal's own temporary files: .malmoi-journal.<random>.tmp
_TEMP_SUFFIX = ".tmp"
_FORMAT = "malmoi-transaction-1"
LOCK_TIMEOUT = 60.0  # seconds: a change takes milliseconds; a longer wait means a stuck command


class TransactionError(OSError):
    """The change cannot start (another command holds the lock, the folder is read-only) or a
    journal cannot be finished; the message says which file and what to do."""


def write_atomic(path: str | os.PathLike[str], text: str | bytes) -> None:
    """Write one file whole or not at all: a unique temporary file beside it, flushed, renamed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = _write_temporary(path, text, f".{path.name}.")
    try:
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


class FileTransaction:
    """A lock on ``root`` (a bot directory) and at most one all-or-none change of its files.

    Entering takes the lock and finishes or undoes a change a killed command left (see
    :func:`recover`); read the files inside the ``with`` so that no other writer changes them
    between reading and :meth:`commit`. Files outside ``root`` (``malmoi clean --out``'s report)
    may be part of the change too.

    Raises:
        TransactionError: the lock is held by another command for ``timeout`` seconds, or cannot
            be taken (a read-only folder).
    """

    def __init__(self, root: str | os.PathLike[str], *, note: str = "", timeout: float = LOCK_TIMEOUT):
        self.root = Path(root)
        self.note = note
        self.timeout = timeout
        self.recovered: list[Problem] = []  # what entering found and did, as warnings

    def __enter__(self) -> FileTransaction:
        self._lock = _lock(self.root, self.timeout)
        try:
            self.recovered = _recover_locked(self.root)
        except BaseException:
            self._lock.release()
            raise
        for problem in self.recovered:
            logger.warning("%s", problem)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._lock.release()

    def commit(self, changes: Mapping[Path, str | bytes | None], *, backup: Path | None = None) -> None:
        """Replace every file of ``changes`` with its text (``None``: delete it), all or none.

        ``backup``: where the caller keeps the originals, written in the journal for whoever
        finds the change unfinished.
        """
        if not changes:
            return
        change_id = secrets.token_hex(6)
        targets = {_real(path): text for path, text in changes.items()}
        outside = [str(path) for path, text in targets.items() if text is None and not _inside(self.root, path)]
        if outside:
            raise ValueError(f"a change deletes files inside {self.root} only, not {', '.join(outside)}")
        entries: list[dict[str, Any]] = [{"path": self._name(path)} for path in targets]
        journal: dict[str, Any] = {"format": _FORMAT, "id": change_id, "state": "prepared", "note": self.note,
                                   "backup": str(backup) if backup else None, "files": entries}
        _write_journal(self.root, journal)
        try:
            for entry, (path, text) in zip(entries, targets.items()):
                if text is None:
                    entry.update(temporary=None, sha256=None)
                    continue
                path.parent.mkdir(parents=True, exist_ok=True)
                temporary = _write_temporary(path, text, f".{path.name}.{change_id}.")
                entry.update(temporary=temporary.name, sha256=_sha256(text))
            for folder in {path.parent for path in targets}:
                _fsync_folder(folder)
            journal["state"] = "committed"
            _write_journal(self.root, journal)  # the commit point
        except BaseException:
            _roll_back(self.root, journal)  # a full disk, Ctrl-C: nothing was changed
            raise
        # Past the commit point an error leaves the journal, and the next command finishes the change.
        _roll_forward(self.root, journal)
        _remove_journal(self.root)

    def _name(self, path: Path) -> str:
        """``path`` as the journal keeps it: relative to the root (the bot directory may be moved)."""
        try:
            return str(path.relative_to(_real(self.root)))
        except ValueError:
            return str(path)


def recover(root: str | os.PathLike[str]) -> list[Problem]:
    """Finish or undo a change that a killed command left in ``root``; what was done, as warnings.

    Costs one listing of ``root`` when there is nothing to do. Never raises: a journal that
    cannot be finished (a read-only folder, a damaged journal) is an error :class:`Problem`.
    """
    root = Path(root)
    try:
        names = os.listdir(root)
    except OSError:
        return []  # not a folder we can read: the loader says so
    if not any(name == JOURNAL or name.startswith(_JOURNAL_PREFIX) for name in names):
        return []
    try:
        with _held(root):
            return _recover_locked(root)
    except OSError as exc:
        return [Problem(str(root / JOURNAL), None, f"a change of several files left unfinished ({exc})",
                        "every file of a change written, or none",
                        "run the command again with write access to the bot directory; if the journal is "
                        "damaged, restore the data files from the change's backup and delete the journal")]


def _recover_locked(root: Path) -> list[Problem]:
    journal_path = root / JOURNAL
    for name in os.listdir(root):
        if name.startswith(_JOURNAL_PREFIX) and name.endswith(_TEMP_SUFFIX):
            (root / name).unlink(missing_ok=True)  # a journal write that never finished
    if not journal_path.exists():
        return []
    journal = _read_journal(journal_path)
    names = [entry["path"] for entry in journal["files"]]
    files = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
    what = f"`{journal['note']}`" if journal.get("note") else "a command"
    backup = f"; the files as they were are in {journal['backup']}" if journal.get("backup") else ""
    if journal["state"] == "committed":
        _roll_forward(root, journal)
        mismatched = [p for entry in journal["files"] if (p := _check_written(root, entry))]
        _remove_journal(root)
        if mismatched:
            return [Problem(str(journal_path), None, f"a change by {what} that was killed before it ended, "
                            f"finished now except {', '.join(mismatched)}, which no longer hold what it wrote",
                            "every file of a change written", f"check those files by hand{backup}", "warning")]
        return [Problem(str(journal_path), None, f"a change by {what} that was killed before it ended",
                        "every file of a change written, or none",
                        f"it is finished now: {len(names)} file(s) hold the change ({files}){backup}",
                        "warning")]
    _roll_back(root, journal)
    return [Problem(str(journal_path), None, f"a change by {what} that was killed before it was written",
                    "every file of a change written, or none",
                    f"it is undone: {files} are as they were; run the command again", "warning")]


def _roll_back(root: Path, journal: dict[str, Any]) -> None:
    """Delete the temporary files of a change that was not committed, then its journal."""
    for entry in journal["files"]:
        path = _path(root, entry["path"])
        prefix = f".{path.name}.{journal['id']}."
        with contextlib.suppress(FileNotFoundError):
            for name in os.listdir(path.parent):
                if name.startswith(prefix) and name.endswith(_TEMP_SUFFIX):
                    (path.parent / name).unlink(missing_ok=True)
    _remove_journal(root)


def _roll_forward(root: Path, journal: dict[str, Any]) -> None:
    folders = set()
    for entry in journal["files"]:
        path = _path(root, entry["path"])
        folders.add(path.parent)
        if entry["temporary"] is None:
            path.unlink(missing_ok=True)
            continue
        temporary = path.parent / entry["temporary"]
        if temporary.exists():  # else renamed already, before the kill
            os.replace(temporary, path)
    for folder in folders:
        _fsync_folder(folder)


def _check_written(root: Path, entry: dict[str, Any]) -> str | None:
    """``entry``'s path when it does not hold what the change wrote, else None."""
    path = _path(root, entry["path"])
    if entry["sha256"] is None:
        return entry["path"] if path.exists() else None
    try:
        return None if _sha256(path.read_bytes()) == entry["sha256"] else entry["path"]
    except OSError:
        return entry["path"]


def _read_journal(path: Path) -> dict[str, Any]:
    """The journal at ``path``, checked: a bot directory from elsewhere may carry any file, and a
    journal must not make a loader delete or replace files outside it."""
    try:
        journal = json.loads(path.read_text("utf-8"))
        valid = (isinstance(journal, dict) and journal.get("format") == _FORMAT
                 and journal.get("state") in ("prepared", "committed") and isinstance(journal.get("files"), list)
                 and re.fullmatch(r"[0-9a-f]{12}", str(journal.get("id")))
                 and all(_valid_entry(path.parent, journal, e) for e in journal["files"]))
    except ValueError:  # not UTF-8, not JSON
        valid = False
    if not valid:
        raise TransactionError(f"{path} is not a journal this version of malmoi wrote")
    return dict(journal)


def _valid_entry(root: Path, journal: dict[str, Any], entry: Any) -> bool:
    if not isinstance(entry, dict) or not isinstance(entry.get("path"), str) or "\0" in entry["path"]:
        return False
    if journal["state"] == "prepared":
        return True
    temporary, name = entry.get("temporary"), _path(root, entry["path"]).name
    if temporary is None:  # a deletion: only of a file inside the bot directory
        return entry.get("sha256") is None and _inside(root, _path(root, entry["path"]))
    return (isinstance(temporary, str) and isinstance(entry.get("sha256"), str) and "/" not in temporary
            and temporary.startswith(f".{name}.{journal['id']}.") and temporary.endswith(_TEMP_SUFFIX))


def _inside(root: Path, path: Path) -> bool:
    return _real(path.parent).is_relative_to(_real(root))


def _write_journal(root: Path, journal: dict[str, Any]) -> None:
    text = json.dumps(journal, ensure_ascii=False, indent=1) + "\n"
    temporary = _write_temporary(root / JOURNAL, text, _JOURNAL_PREFIX)
    os.replace(temporary, root / JOURNAL)
    _fsync_folder(root)


def _remove_journal(root: Path) -> None:
    (root / JOURNAL).unlink(missing_ok=True)
    _fsync_folder(root)


def _write_temporary(path: Path, text: str | bytes, prefix: str) -> Path:
    """A new file beside ``path`` holding ``text``, on disk (fsync), with ``path``'s permissions."""
    descriptor, name = tempfile.mkstemp(prefix=prefix, suffix=_TEMP_SUFFIX, dir=path.parent)
    temporary = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(text.encode("utf-8") if isinstance(text, str) else text)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            mode = 0o644  # mkstemp's 0o600 would hide a new data file from the server's user
        os.chmod(temporary, mode)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary


def _fsync_folder(folder: Path) -> None:
    """Put a folder's renames on disk (a rename is durable only once its folder is synced)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # not possible on every system; the renames stay atomic all the same
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _sha256(text: str | bytes) -> str:
    return hashlib.sha256(text.encode("utf-8") if isinstance(text, str) else text).hexdigest()


def _real(path: str | os.PathLike[str]) -> Path:
    """``path`` with its links followed, so that a linked data file is written where it lives."""
    return Path(os.path.realpath(path))


def _path(root: Path, name: str) -> Path:
    return root / name  # an absolute ``name`` (a file outside the root) stays as it is


_LOCKS: dict[str, FileLock] = {}


def _lock(root: Path, timeout: float) -> FileLock:
    """The lock of ``root``, acquired. One object per lock file in a process, so that a thread
    holding it may take it again (a loader's :func:`recover` inside a change)."""
    from filelock import FileLock, Timeout  # imported here: loading a bot rarely needs it (60 ms)

    path = str(_real(root) / LOCK)
    lock = _LOCKS.setdefault(path, FileLock(path))
    try:
        lock.acquire(timeout=timeout)
    except Timeout:
        raise TransactionError(f"another malmoi command is changing the files of {root} (it holds {root / LOCK}); "
                               "run this one again when it has finished") from None
    except OSError as exc:
        raise TransactionError(f"cannot lock {root / LOCK} to change the files of {root}: "
                               f"{exc.strerror or exc}") from None
    return lock


@contextlib.contextmanager
def _held(root: Path, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    lock = _lock(root, timeout)
    try:
        yield
    finally:
        lock.release()
