"""The evidence archive on disk: every file kept once, addressed by its SHA-256.

A file lives at `root/ab/cd/<sha256>` (the first two pairs of hex digits as folders). It is
written to a temporary file in `root/.incoming`, hashed while it is copied in chunks, and then
linked into place only if nothing is there yet: an archived file is never overwritten. Storing
the same bytes again finds the file already there and checks it; a file whose content no longer
matches its name is reported as corrupted and left alone. A file is removed only when no
evidence row has its hash any more (services.evidence: a cancelled dialog's files, pruning).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CHUNK_SIZE = 1024 * 1024
INCOMING = ".incoming"


class ArchiveError(Exception):
    """Something the archive refused or found wrong; nothing in the archive was changed."""


class ArchiveTooLarge(ArchiveError):
    """The content is larger than the limit it was stored with."""

    def __init__(self, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(f"{size} bytes is over the limit of {limit} bytes")


class ArchiveCorrupted(ArchiveError):
    """An archived file's content does not match the hash it is named after."""

    def __init__(self, path: Path, expected: str, actual: str) -> None:
        self.path = path
        self.expected = expected
        self.actual = actual
        super().__init__(f"{path}: content hashes to {actual}, not {expected}")


@dataclass(frozen=True)
class ArchivedFile:
    """A file in the archive: its hash, where it is, and its size in bytes."""

    sha256: str
    path: Path
    size: int

    def relative_to(self, root: Path) -> str:
        """The file's path under the archive root, with forward slashes (as stored)."""
        return self.path.relative_to(root).as_posix()


Content = bytes | bytearray | memoryview | str | os.PathLike[str] | BinaryIO


class EvidenceArchive:
    """A content-addressed folder of evidence files."""

    def __init__(self, root: Path, chunk_size: int = CHUNK_SIZE) -> None:
        self.root = Path(root)
        self.chunk_size = chunk_size

    def path_for(self, sha256: str) -> Path:
        """Where the file with this hash is (or would be) kept."""
        digest = sha256.lower()
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / digest[:2] / digest[2:4] / digest

    def relative_path(self, sha256: str) -> str:
        """The path of a hash under the root, as stored in the database."""
        return self.path_for(sha256).relative_to(self.root).as_posix()

    def store(self, data: Content, max_size: int | None = None) -> ArchivedFile:
        """Archive bytes, a file (by path) or a readable binary stream; a no-op if the same
        content is already there. Raises ArchiveTooLarge (over `max_size`, nothing kept) or
        ArchiveCorrupted (the file already there does not match its hash)."""
        incoming = self.root / INCOMING
        try:
            fd, temp_name = tempfile.mkstemp(dir=incoming, prefix="part-")
        except FileNotFoundError:  # the first file stored: only then create the folder
            incoming.mkdir(parents=True, exist_ok=True)
            fd, temp_name = tempfile.mkstemp(dir=incoming, prefix="part-")
        temp = Path(temp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                digest, size = self._copy(data, out, max_size)
                out.flush()
                os.fsync(out.fileno())
            final = self.path_for(digest)
            if not final.exists():
                final.parent.mkdir(parents=True, exist_ok=True)
                temp.chmod(0o444)
                self._place(temp, final)
            self._check(final, digest)
            return ArchivedFile(digest, final, size)
        finally:
            # Only the temporary copy is removed: once linked, the archived file has its own
            # name, removed only by `remove` when no evidence row has its hash any more.
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()

    def check(self, sha256: str) -> ArchivedFile | None:
        """The archived file of a hash after checking its content; None if it is not there.
        Raises ArchiveCorrupted if it does not match."""
        path = self.path_for(sha256)
        if not path.exists():
            return None
        self._check(path, sha256.lower())
        return ArchivedFile(sha256.lower(), path, path.stat().st_size)

    def remove(self, sha256: str) -> int:
        """Remove the archived file of a hash (one no evidence row has any more); the bytes
        freed, 0 if it was not there."""
        path = self.path_for(sha256)
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            return 0
        for folder in (path.parent, path.parent.parent):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty
        return size

    def stored(self) -> Iterator[tuple[str, Path]]:
        """Every archived file as (hash, path); temporary and stray files are left out."""
        for path in self.root.glob("??/??/*"):
            name = path.name
            if (
                path.is_file()
                and len(name) == 64
                and all(c in "0123456789abcdef" for c in name)
                and path.parent.name == name[2:4]
                and path.parent.parent.name == name[:2]
            ):
                yield name, path

    def remove_stale_incoming(self, older_than: float) -> int:
        """Remove temporary copies left by a crash, last written before `older_than` (a
        timestamp); the bytes freed."""
        freed = 0
        incoming = self.root / INCOMING
        if not incoming.is_dir():
            return 0
        for path in incoming.iterdir():
            with contextlib.suppress(FileNotFoundError):
                stat = path.stat()
                if path.is_file() and stat.st_mtime < older_than:
                    path.unlink()
                    freed += stat.st_size
        return freed

    def _copy(self, data: Content, out: BinaryIO, max_size: int | None) -> tuple[str, int]:
        hasher = hashlib.sha256()
        size = 0
        for chunk in self._chunks(data):
            size += len(chunk)
            if max_size is not None and size > max_size:
                raise ArchiveTooLarge(size, max_size)
            hasher.update(chunk)
            out.write(chunk)
        return hasher.hexdigest(), size

    def _chunks(self, data: Content) -> Iterator[bytes]:
        if isinstance(data, (bytes, bytearray, memoryview)):
            view = memoryview(data).cast("B")
            for start in range(0, len(view), self.chunk_size):
                yield bytes(view[start : start + self.chunk_size])
        elif isinstance(data, (str, os.PathLike)):
            with Path(data).open("rb") as source:
                yield from self._read(source)
        else:
            yield from self._read(data)

    def _read(self, source: BinaryIO) -> Iterator[bytes]:
        while chunk := source.read(self.chunk_size):
            yield chunk

    @staticmethod
    def _place(temp: Path, final: Path) -> None:
        try:
            # A hard link fails if the name exists, so a file already there is never replaced,
            # even by a concurrent writer of the same content.
            os.link(temp, final)
        except FileExistsError:
            pass
        except OSError:
            # A file system without hard links: a rename after the check above; the window
            # only admits a concurrent writer of the very same bytes (same name = same hash).
            if not final.exists():
                temp.replace(final)

    def _check(self, path: Path, expected: str) -> None:
        hasher = hashlib.sha256()
        with path.open("rb") as source:
            for chunk in self._read(source):
                hasher.update(chunk)
        actual = hasher.hexdigest()
        if actual != expected:
            raise ArchiveCorrupted(path, expected, actual)
