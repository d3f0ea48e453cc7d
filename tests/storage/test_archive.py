"""The evidence archive: content-addressed, never overwritten, streamed, corruption found."""

from __future__ import annotations

import hashlib
import io
import threading
import tracemalloc
from pathlib import Path

import pytest

from storage.archive import ArchiveCorrupted, ArchiveTooLarge, EvidenceArchive


def sha(data: bytes) -> str:
    """The SHA-256 hex digest of `data`."""
    return hashlib.sha256(data).hexdigest()


def incoming(root: Path) -> list[Path]:
    """Temporary files left behind in the archive."""
    folder = root / ".incoming"
    return list(folder.iterdir()) if folder.exists() else []


def test_a_file_is_kept_under_its_hash(tmp_path: Path) -> None:
    archive = EvidenceArchive(tmp_path)
    data = "整改照片".encode() * 100
    stored = archive.store(data)
    digest = sha(data)
    assert stored.sha256 == digest
    assert stored.path == tmp_path / digest[:2] / digest[2:4] / digest
    assert stored.size == len(data)
    assert stored.path.read_bytes() == data
    assert stored.relative_to(tmp_path) == f"{digest[:2]}/{digest[2:4]}/{digest}"
    assert incoming(tmp_path) == []


def test_storing_the_same_bytes_twice_is_a_no_op(tmp_path: Path) -> None:
    archive = EvidenceArchive(tmp_path)
    first = archive.store(b"same bytes")
    inode, mtime = first.path.stat().st_ino, first.path.stat().st_mtime_ns
    second = archive.store(b"same bytes")
    assert second == first
    assert (second.path.stat().st_ino, second.path.stat().st_mtime_ns) == (inode, mtime)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [first.path]


def test_an_archived_file_is_read_only(tmp_path: Path) -> None:
    stored = EvidenceArchive(tmp_path).store(b"evidence")
    assert stored.path.stat().st_mode & 0o222 == 0


def test_a_corrupted_archived_file_is_reported_and_left_alone(tmp_path: Path) -> None:
    archive = EvidenceArchive(tmp_path)
    stored = archive.store(b"original")
    stored.path.chmod(0o644)
    stored.path.write_bytes(b"tampered")
    with pytest.raises(ArchiveCorrupted) as error:
        archive.store(b"original")
    assert error.value.expected == stored.sha256
    assert error.value.actual == sha(b"tampered")
    assert stored.path.read_bytes() == b"tampered"
    assert incoming(tmp_path) == []


def test_check_finds_a_missing_or_corrupted_file(tmp_path: Path) -> None:
    archive = EvidenceArchive(tmp_path)
    assert archive.check(sha(b"absent")) is None
    stored = archive.store(b"present")
    assert archive.check(stored.sha256) == stored
    stored.path.chmod(0o644)
    stored.path.write_bytes(b"changed")
    with pytest.raises(ArchiveCorrupted):
        archive.check(stored.sha256)


def test_a_large_file_is_streamed_not_read_whole(tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    block = bytes(range(256)) * 4096  # 1 MiB
    with source.open("wb") as out:
        for i in range(24):
            out.write(block[i:] + block[:i])
    expected = hashlib.sha256(source.read_bytes()).hexdigest()
    archive = EvidenceArchive(tmp_path / "archive")
    tracemalloc.start()
    try:
        stored = archive.store(source)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stored.sha256 == expected
    assert stored.size == 24 * len(block)
    assert peak < 8 * 1024 * 1024


class _ChunkOnly(io.RawIOBase):
    """A stream that refuses to be read whole, and counts how much each read asks for."""

    def __init__(self, data: bytes) -> None:
        self.data = io.BytesIO(data)
        self.sizes: list[int] = []

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        assert size is not None and size > 0, "read whole"
        self.sizes.append(size)
        return self.data.read(size)


def test_a_stream_is_read_in_chunks(tmp_path: Path) -> None:
    data = b"x" * (5 * 1024 + 3)
    stream = _ChunkOnly(data)
    stored = EvidenceArchive(tmp_path, chunk_size=1024).store(stream)  # type: ignore[arg-type]
    assert stored.sha256 == sha(data)
    assert max(stream.sizes) == 1024
    assert len(stream.sizes) == 7  # six chunks with data and the empty read at the end


def test_a_file_over_the_limit_is_not_archived(tmp_path: Path) -> None:
    archive = EvidenceArchive(tmp_path, chunk_size=10)
    with pytest.raises(ArchiveTooLarge) as error:
        archive.store(b"y" * 101, max_size=100)
    assert error.value.limit == 100
    assert not archive.path_for(sha(b"y" * 101)).exists()
    assert incoming(tmp_path) == []
    assert archive.store(b"y" * 100, max_size=100).size == 100


def test_a_path_may_be_given_as_text(tmp_path: Path) -> None:
    source = tmp_path / "a.txt"
    source.write_bytes(b"text path")
    assert EvidenceArchive(tmp_path / "arc").store(str(source)).sha256 == sha(b"text path")


def test_concurrent_stores_of_the_same_bytes_keep_one_file(tmp_path: Path) -> None:
    archive = EvidenceArchive(tmp_path)
    data = b"z" * 300_000
    results = []

    def store() -> None:
        results.append(archive.store(data))

    threads = [threading.Thread(target=store) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({r.path for r in results}) == 1
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [results[0].path]
    assert results[0].path.read_bytes() == data


def test_a_bad_hash_has_no_path(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        EvidenceArchive(tmp_path).path_for("../../etc/passwd")
