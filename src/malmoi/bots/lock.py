"""The lock that serialises the switches of one bot's live version (publish, activate, rollback).

``LIVE`` is replaced atomically, but a switch reads it, adds the version it replaces to its
history and writes it back: two switches at once would both read the same ``LIVE`` and one of
them would be lost. So each switch holds ``bots/<bot>/LIVE.lock`` while it reads and writes.

The lock is :class:`filelock.FileLock`, which is ``flock(2)`` on Linux and macOS: an exclusive
lock on an open file, released by the kernel when its holder exits or dies, so a crashed
publisher never leaves the bot locked. Different processes, and different open files in one
process (threads), exclude each other; so do machines sharing the registry over NFS (v4, or v3
with ``lockd``), where Linux carries ``flock`` out as a whole-file POSIX lock on the server. A
file system without working locks (NFS mounted ``nolock``, most object-store mounts) gives each
machine its own lock: switch from one machine only there (docs/bots.md, "Concurrent switches").
Readers never lock: they read ``LIVE`` whole, before or after a switch.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from malmoi.bots.errors import RegistryError

__all__ = ["LOCK_FILE", "switch_lock"]

LOCK_FILE = "LIVE.lock"
# A switch holds the lock for milliseconds; a minute of waiting means a holder that hangs (a stuck NFS server).
_LOCK_TIMEOUT = 60.0

# One lock per LIVE file in this process as well as the file lock: on NFS, flock is carried out as a
# POSIX lock, which belongs to the process, so two threads of one process would both hold it.
_THREAD_LOCKS: dict[Path, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


@contextmanager
def switch_lock(folder: Path, timeout: float = _LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the lock of the bot whose folder is ``folder``: one switch of its LIVE at a time, across
    threads, processes and machines that share the registry (docs/bots.md, "Concurrent switches")."""
    path = folder / LOCK_FILE
    with _THREAD_LOCKS_GUARD:
        in_process = _THREAD_LOCKS.setdefault(path.absolute(), threading.Lock())
    if not in_process.acquire(timeout=timeout):
        raise RegistryError(f"{path}: another switch of this bot has held the lock for {timeout:g} s; try again")
    try:
        lock = FileLock(str(path), timeout=timeout)
        try:
            lock.acquire()
        except Timeout:
            raise RegistryError(f"{path}: another process has held this bot's lock for {timeout:g} s (a publish "
                                "or rollback that hangs, or a file system that does not release locks); "
                                "try again") from None
        except OSError as exc:
            raise RegistryError(f"{path}: cannot lock the bot to switch its live version ({exc.strerror}); "
                                "the registry must be writable here") from None
        try:
            yield
        finally:
            lock.release()
    finally:
        in_process.release()
