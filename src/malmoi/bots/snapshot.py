"""A bot directory (``bot.yaml`` and ``data/``) as one tar, so that a published version can be rebuilt.

The snapshot holds what ``malmoi train`` and ``malmoi validate`` read, and they follow symbolic
links: a ``data/intents`` that links to a shared folder is read through the link. So is the
snapshot: a link to a file is stored as that file, a link to a folder as that folder's files,
wherever the link points. A folder reached twice (a link back to a folder above it, or two links
to one folder) is stored once, under the first path that reached it, so a link cycle cannot make
the walk endless. A link that points nowhere is refused, naming it: the version could not be
rebuilt from the snapshot.
"""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

from malmoi.bots.errors import PublishError

__all__ = ["bot_files", "bot_tar"]


def bot_files(bot_dir: Path) -> list[tuple[str, Path]]:
    """``(name in the snapshot, file to read)`` for ``bot.yaml`` and every file under ``data/``, sorted."""
    found: list[tuple[str, Path]] = []
    config = bot_dir / "bot.yaml"
    if config.is_file():
        found.append(("bot.yaml", config))
    elif config.is_symlink():
        raise _dangling(config)
    data = bot_dir / "data"
    if not data.is_dir():
        if data.is_symlink():
            raise _dangling(data)
        return found
    # Folders already walked, by identity: the bot directory itself, so that a link up to it is not walked.
    seen = {_identity(bot_dir)}
    for folder, subfolders, files in os.walk(data, onerror=_unreadable, followlinks=True):
        here = Path(folder)
        if _identity(here) in seen:
            subfolders[:] = []
            continue
        seen.add(_identity(here))
        subfolders.sort()
        for name in sorted(files):
            path = here / name
            if path.is_file():
                found.append((path.relative_to(bot_dir).as_posix(), path))
            elif path.is_symlink() and not path.exists():
                raise _dangling(path)
            # Anything else (a pipe, a socket, a device) is not data: train does not read it either.
    return sorted(found)


def bot_tar(bot_dir: Path) -> bytes:
    """The tar of :func:`bot_files`, whose bytes depend only on names and contents."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, path in bot_files(bot_dir):
            data = path.read_bytes()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _identity(folder: Path) -> tuple[int, int]:
    status = folder.stat()  # follows the link: two paths to one folder have one identity
    return status.st_dev, status.st_ino


def _unreadable(error: OSError) -> None:
    raise PublishError(f"{error.filename}: cannot be read for the data snapshot ({error.strerror}); "
                       "make it readable, or publish without --data")


def _dangling(path: Path) -> PublishError:
    return PublishError(
        f"{path} is a link to {os.readlink(path)}, which does not exist: the data snapshot (--data) could not "
        "rebuild the bot; point the link at the data, or replace it with the files"
    )
