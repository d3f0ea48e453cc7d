"""Registering evidence files and archiving their content, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from services.errors import Invalid, Refused, ServiceError
from services.evidence import MAX_EVIDENCE_SIZE, EvidenceView, register_evidence
from storage.archive import EvidenceArchive
from storage.models import EvidenceRow
from storage.repositories.evidence import EvidenceFiles
from tests.services.test_findings import (
    UowFactory,
    World,
    assert_code,
    audit_actions,
    build_world,
    unchanged,
)

PHOTO = b"\xff\xd8\xff\xe0 a photo of the rectified ledger"


@pytest.fixture
def world(uow: UowFactory) -> World:
    """The units, people and plan of these tests."""
    return build_world(uow, plan=False)


@pytest.fixture
def archive(tmp_path: Path) -> EvidenceArchive:
    """An empty archive."""
    return EvidenceArchive(tmp_path / "archive")


def archived_files(archive: EvidenceArchive) -> list[Path]:
    """Every file in the archive (temporary ones included)."""
    return sorted(p for p in archive.root.rglob("*") if p.is_file())


def register(
    uow: UowFactory, world: World, archive: EvidenceArchive, **overrides: Any
) -> EvidenceView:
    """Liaison A registers a photo (with its content unless told)."""
    args: dict[str, Any] = {
        "actor": world.liaison_a,
        "kind": "photo",
        "telegram_file_id": "AgACAgUAAxkBAAI",
        "telegram_unique_id": "AQADq7sxG",
        "file_name": None,
        "mime_type": "image/jpeg",
        "size": len(PHOTO),
        "content": PHOTO,
        **overrides,
    }
    return register_evidence(uow(), archive=archive, **args)


def evidence_rows(uow: UowFactory) -> list[EvidenceRow]:
    """Every stored evidence row."""
    with uow() as work:
        return list(work.session.execute(select(EvidenceRow).order_by(EvidenceRow.id)).scalars())


def test_evidence_is_registered_with_its_archive_copy(
    uow: UowFactory, world: World, archive: EvidenceArchive
) -> None:
    view = register(uow, world, archive)
    digest = hashlib.sha256(PHOTO).hexdigest()
    assert (view.sha256, view.size, view.reused) == (digest, len(PHOTO), False)
    assert view.archive_path == f"{digest[:2]}/{digest[2:4]}/{digest}"
    assert (archive.root / view.archive_path).read_bytes() == PHOTO
    (row,) = evidence_rows(uow)
    assert (row.sha256, row.archive_path, row.uploaded_by) == (
        digest,
        view.archive_path,
        world.liaison_a.person_id,
    )
    action, entity, before, after = audit_actions(uow)[-1]
    assert (action, entity, before) == ("evidence.register", "evidence", None)
    assert after is not None and after["sha256"] == digest


def test_the_same_telegram_file_registered_twice_reuses_its_row(
    uow: UowFactory, world: World, archive: EvidenceArchive
) -> None:
    first = register(uow, world, archive)
    entries = len(audit_actions(uow))
    second = register(uow, world, archive, actor=world.coordinator)
    assert second.id == first.id
    assert second.reused
    assert len(evidence_rows(uow)) == 1
    assert len(audit_actions(uow)) == entries
    assert len(archived_files(archive)) == 1


def test_a_file_registered_without_content_gets_its_archive_copy_later(
    uow: UowFactory, world: World, archive: EvidenceArchive
) -> None:
    first = register(uow, world, archive, content=None, size=None)
    assert (first.sha256, first.archive_path, first.size) == (None, None, None)
    assert archived_files(archive) == []
    second = register(uow, world, archive)
    assert second.id == first.id
    assert second.sha256 == hashlib.sha256(PHOTO).hexdigest()
    assert evidence_rows(uow)[0].archive_path == second.archive_path
    action, _, before, after = audit_actions(uow)[-1]
    assert action == "evidence.archive"
    assert before is not None and before["sha256"] is None
    assert after is not None and after["sha256"] == second.sha256


def test_other_bytes_under_a_known_telegram_file_are_refused(
    uow: UowFactory, world: World, archive: EvidenceArchive
) -> None:
    register(uow, world, archive)
    with unchanged(uow), pytest.raises(Invalid) as error:
        register(uow, world, archive, content=b"something else")
    assert_code(error, "evidence_content_mismatch")


def test_files_without_a_telegram_unique_id_are_each_registered(
    uow: UowFactory, world: World, archive: EvidenceArchive
) -> None:
    first = register(uow, world, archive, telegram_unique_id=None, telegram_file_id=None)
    second = register(uow, world, archive, telegram_unique_id=None, telegram_file_id=None)
    assert first.id != second.id
    assert first.archive_path == second.archive_path
    assert len(archived_files(archive)) == 1


def test_content_may_be_a_file_path(
    uow: UowFactory, world: World, archive: EvidenceArchive, tmp_path: Path
) -> None:
    source = tmp_path / "台账.pdf"
    source.write_bytes(b"%PDF-1.7 ledger")
    view = register(
        uow, world, archive, kind="document", content=source, size=None, file_name="台账.pdf"
    )
    assert view.size == len(b"%PDF-1.7 ledger")
    assert view.file_name == "台账.pdf"


def test_a_coordinator_may_register_evidence(
    uow: UowFactory, world: World, archive: EvidenceArchive
) -> None:
    assert register(uow, world, archive, actor=world.coordinator).uploaded_by == (
        world.coordinator.person_id
    )


@pytest.mark.parametrize("who", ["rater", "viewer"])
def test_raters_and_viewers_cannot_register_evidence(
    uow: UowFactory, world: World, archive: EvidenceArchive, who: str
) -> None:
    with unchanged(uow), pytest.raises(Refused) as error:
        register(uow, world, archive, actor=getattr(world, who))
    assert_code(error, "role_not_allowed")
    assert archived_files(archive) == []


def test_an_unknown_kind_is_refused(
    uow: UowFactory, world: World, archive: EvidenceArchive
) -> None:
    with unchanged(uow), pytest.raises(Invalid) as error:
        register(uow, world, archive, kind="sticker")
    assert_code(error, "evidence_unknown_kind")
    assert archived_files(archive) == []


def test_a_file_declared_over_the_bot_api_limit_is_refused(
    uow: UowFactory, world: World, archive: EvidenceArchive
) -> None:
    assert MAX_EVIDENCE_SIZE == 20 * 1024 * 1024
    with unchanged(uow), pytest.raises(Invalid) as error:
        register(uow, world, archive, size=MAX_EVIDENCE_SIZE + 1, content=None)
    assert_code(error, "evidence_too_large")
    assert register(uow, world, archive, size=MAX_EVIDENCE_SIZE, content=None).id > 0


def test_content_over_the_limit_is_refused_and_not_archived(
    uow: UowFactory, world: World, archive: EvidenceArchive
) -> None:
    with unchanged(uow), pytest.raises(Invalid) as error:
        register(uow, world, archive, size=None, max_size=len(PHOTO) - 1)
    assert_code(error, "evidence_too_large")
    assert archived_files(archive) == []


def test_a_negative_size_is_refused(
    uow: UowFactory, world: World, archive: EvidenceArchive
) -> None:
    with unchanged(uow), pytest.raises(Invalid) as error:
        register(uow, world, archive, size=-1)
    assert_code(error, "evidence_bad_size")


def test_evidence_with_neither_content_nor_telegram_file_is_refused(
    uow: UowFactory, world: World, archive: EvidenceArchive
) -> None:
    with unchanged(uow), pytest.raises(Invalid) as error:
        register(uow, world, archive, content=None, telegram_file_id=None)
    assert_code(error, "evidence_empty")


def test_a_corrupted_archive_copy_is_reported_and_nothing_is_registered(
    uow: UowFactory, world: World, archive: EvidenceArchive
) -> None:
    stored = archive.store(PHOTO)
    stored.path.chmod(0o644)
    stored.path.write_bytes(b"bit rot")
    with unchanged(uow), pytest.raises(ServiceError) as error:
        register(uow, world, archive)
    assert_code(error, "evidence_archive_corrupted")
    assert stored.path.read_bytes() == b"bit rot"


def test_a_row_added_meanwhile_by_another_transaction_is_reused(
    uow: UowFactory, world: World
) -> None:
    with uow() as work:
        work.session.add(
            EvidenceRow(telegram_unique_id="same", kind="photo", uploaded_at=work.now())
        )
        work.commit()
    with uow() as work:
        files = work.repository(EvidenceFiles)
        row, created = files.add_if_new(
            EvidenceRow(telegram_unique_id="same", kind="photo", uploaded_at=work.now())
        )
        assert not created
        _other, fresh = files.add_if_new(
            EvidenceRow(telegram_unique_id="other", kind="photo", uploaded_at=work.now())
        )
        assert fresh
        work.commit()
    assert [r.telegram_unique_id for r in evidence_rows(uow)] == ["same", "other"]
    assert row.id == evidence_rows(uow)[0].id
