"""A model folder sent as an archive (``POST /v1/bots/{bot}/versions``), unpacked safely for publishing.

The archive is a ``.tar``, ``.tar.gz`` or ``.zip`` of the folder ``malmoi train`` wrote (its files
at the top, or inside one folder). Nothing in it is trusted: members that would land outside the
target folder, links and devices are refused (tar's ``data`` filter; zip names are checked), and
the unpacked size and the number of files are bounded, so a small archive cannot fill the disk.
The bounds are checked while the archive's index is read, member by member (a tar), or from its
end record before the index is read at all (a zip): an archive of a million empty members is
refused after reading a thousand, not after listing them all.
What the model itself holds is then checked by :meth:`Registry.publish`, as for ``malmoi publish``.
"""

from __future__ import annotations

import io
import json
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from malmoi.bots.registry import RegistryError

__all__ = ["MAX_UNPACKED_BYTES", "MAX_UPLOAD_BYTES", "UploadError", "check_registry_encoder", "unpack_model"]

MAX_UPLOAD_BYTES = 256 * 1024 * 1024  # a bot with its own encoder is a few MB; a shared-encoder bot ~0.2 MB
MAX_UNPACKED_BYTES = 1024 * 1024 * 1024
_MAX_MEMBERS = 1000  # a model folder holds a handful of files
# Encoders that are folders a model refers to by path (installed with a package), never stored by a registry.
_FOLDER_ENCODERS = {"sentence-transformers", "model2vec", "kiwi-vectors"}
_HOW = "send the model folder that `malmoi train` wrote, for example `tar czf model.tgz -C models/shop .`"


class UploadError(RegistryError):
    """The upload is not a model archive that can be unpacked; the message says what was found."""


def unpack_model(body: bytes, into: Path) -> Path:
    """Unpack ``body`` into the empty folder ``into``; returns the folder that holds ``model.json``."""
    if not body:
        raise UploadError(f"the body is empty; {_HOW}")
    if body[:4] == b"PK\x03\x04":
        _unzip(body, into)
    else:
        _untar(body, into)
    if (into / "model.json").is_file():
        return into
    found = [p.parent for p in into.glob("*/model.json")]
    if len(found) == 1:
        return found[0]
    names = sorted(str(p.relative_to(into)) for p in into.rglob("*") if p.is_file())[:8]
    raise UploadError(f"the archive has no model.json at its top or in one folder (it holds: "
                      f"{', '.join(names) or 'no files'}); {_HOW}")


def _untar(body: bytes, into: Path) -> None:
    try:
        with tarfile.open(fileobj=io.BytesIO(body), mode="r:*") as tar:
            members, unpacked = [], 0
            for member in tar:  # one header at a time: the bounds stop a bomb at once
                members.append(member)
                unpacked += member.size if member.isfile() else 0
                _check_sizes(len(members), unpacked)
            tar.extractall(into, members=members, filter="data")
    except tarfile.FilterError as exc:
        raise UploadError(f"the archive holds a member that may not be unpacked ({exc}); {_HOW}") from None
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        kind = "a truncated or damaged archive" if body[:2] == b"\x1f\x8b" or len(body) >= 512 else "not an archive"
        raise UploadError(f"the body is {kind}: not a .tar, .tar.gz or .zip that can be read "
                          f"({type(exc).__name__}: {exc}); {_HOW}") from None


# A zip's index (its central directory) has one record per member: 46 bytes and the member's name.
_ZIP_END = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_MAX_INDEX_BYTES = _MAX_MEMBERS * 1024


def _check_zip_index(body: bytes) -> None:
    """Bound the zip's index before :mod:`zipfile` reads it: zipfile reads every record at once.

    The end record (the last 22 bytes, before a comment of up to 64 KiB) gives the number of
    members and the index's size; zipfile reads exactly that many bytes of index. Zip64 (over
    65,535 members or 4 GiB) is never needed by a model folder and is refused, since its own end
    record would give zipfile other sizes than these.
    """
    end = body.rfind(_ZIP_END, max(0, len(body) - 22 - 0xFFFF))
    if end < 0 or end + 22 > len(body):
        raise UploadError(f"the body is a damaged zip archive (it has no end record); {_HOW}")
    members, index_bytes = struct.unpack_from("<HI", body, end + 10)
    zip64 = end >= 20 and body[end - 20:end - 16] == _ZIP64_LOCATOR
    if zip64 or members == 0xFFFF or index_bytes == 0xFFFFFFFF:
        raise UploadError(f"the archive is a zip64 archive (over 65,535 members or 4 GiB); a model folder "
                          f"holds a few files: {_HOW}")
    _check_sizes(members, 0)
    if index_bytes > _MAX_INDEX_BYTES:
        raise UploadError(f"the archive's index is {index_bytes} bytes, over the {_MAX_INDEX_BYTES} that "
                          f"{_MAX_MEMBERS} members take at most; {_HOW}")


def _unzip(body: bytes, into: Path) -> None:
    try:
        _check_zip_index(body)
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            members = archive.infolist()
            _check_sizes(len(members), sum(m.file_size for m in members))
            for member in members:
                name = PurePosixPath(member.filename)
                if name.is_absolute() or ".." in name.parts or "\\" in member.filename:
                    raise UploadError(f"the archive member {member.filename!r} would land outside the model folder")
            archive.extractall(into)
    except UploadError:
        raise
    except (zipfile.BadZipFile, EOFError, zlib.error, OSError, ValueError) as exc:
        raise UploadError(f"the body is a damaged zip archive ({type(exc).__name__}: {exc}); {_HOW}") from None


def _check_sizes(members: int, unpacked: int) -> None:
    if members > _MAX_MEMBERS:
        raise UploadError(f"the archive holds more than {_MAX_MEMBERS} members; a model folder holds a few")
    if unpacked > MAX_UNPACKED_BYTES:
        raise UploadError(f"the archive unpacks to more than {MAX_UNPACKED_BYTES} bytes, the most allowed")


def check_registry_encoder(model_dir: Path, registry_root: Path) -> None:
    """Refuse an uploaded model on a shared encoder that the registry does not hold.

    A model trained on a shared encoder records the encoder's folder on the machine that trained
    it, which the server does not have; the registry keeps each shared encoder once, by hash
    (``encoders/<sha256>``), and :meth:`Registry.publish` finds it there, so an upload needs only
    the bot's own files when that hash is there. Nothing in the upload is edited.
    """
    try:
        meta = json.loads((model_dir / "model.json").read_bytes())
        parts = meta.get("parts")
        ref = parts["encoder"]["state"] if isinstance(parts, dict) else meta["encoder"]  # format 5, or 4
        bundled, sha256 = bool(ref.get("bundled", True)), str(ref.get("sha256", ""))
        is_malmoi_encoder = str(ref.get("type", "")).split(".")[0] not in _FOLDER_ENCODERS
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return  # Registry.publish checks model.json and names what is wrong with it
    if bundled or not sha256 or not is_malmoi_encoder:
        return
    if not (registry_root / "encoders" / sha256 / "encoder.json").is_file():
        raise UploadError(
            f"the model is on a shared encoder (sha256 {sha256[:12]}...) that this registry does not hold: "
            "publish one bot on that encoder with `malmoi publish` on the registry first, or upload a model "
            "with its own encoder"
        )
