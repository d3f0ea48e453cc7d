"""Registering evidence files and archiving their content, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import os
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from services.access import Actor
from services.dialogs import start_dialog
from services.errors import Invalid, Refused, ServiceError
from services.evidence import (
    MAX_EVIDENCE_SIZE,
    EvidenceView,
    discard_evidence,
    draft_evidence_ids,
    keep_evidence,
    prune_evidence,
    register_evidence,
)
from services.files.plan_file import default_plan_text
from services.findings import record_finding
from services.plans import load_plan
from services.year_data import add_bonus
from storage.archive import EvidenceArchive
from storage.clock import FixedClock
from storage.models import EvidenceRow
from storage.repositories.evidence import EvidenceFiles
from tests.services.district import (
    UowFactory,
    World,
    assert_code,
    audit_entries,
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
    action, entity, before, after = audit_entries(uow)[-1]
    assert (action, entity, before) == ("evidence.register", "evidence", None)
    assert after is not None and after["sha256"] == digest


def test_the_same_telegram_file_registered_twice_reuses_its_row(
    uow: UowFactory, world: World, archive: EvidenceArchive
) -> None:
    first = register(uow, world, archive)
    entries = len(audit_entries(uow))
    second = register(uow, world, archive, actor=world.coordinator)
    assert second.id == first.id
    assert second.reused
    assert len(evidence_rows(uow)) == 1
    assert len(audit_entries(uow)) == entries
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
    action, _, before, after = audit_entries(uow)[-1]
    assert action == "evidence.archive"
    assert before is not None and before["sha256"] is None
    assert after is not None and after["sha256"] == second.sha256


def test_other_bytes_under_a_known_telegram_file_are_refused(
    uow: UowFactory, world: World, archive: EvidenceArchive
) -> None:
    register(uow, world, archive)
    with unchanged(uow), pytest.raises(Invalid) as error:
        register(uow, world, archive, content=b"\xff\xd8\xff\xe0 another photo")
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


def test_a_row_added_meanwhile_is_reused_by_the_plain_insert_too(
    uow: UowFactory, world: World
) -> None:
    with uow() as work:
        work.session.add(
            EvidenceRow(telegram_unique_id="same", kind="photo", uploaded_at=work.now())
        )
        work.commit()

    def values(unique_id: str | None, at: Any) -> dict[str, Any]:
        return {
            "telegram_file_id": "f", "telegram_unique_id": unique_id, "kind": "photo",
            "file_name": None, "mime_type": None, "size": None, "sha256": None,
            "archive_path": None, "uploaded_by": None, "uploaded_at": at,
        }  # fmt: skip

    with uow() as work:
        files = work.repository(EvidenceFiles)
        row, created = files.insert_if_new(values("same", work.now()))
        assert not created and row.telegram_unique_id == "same" and row.telegram_file_id is None
        other, fresh = files.insert_if_new(values("other", work.now()))
        assert fresh
        nameless, fresh_too = files.insert_if_new(values(None, work.now()))
        assert fresh_too
        work.commit()
    rows = evidence_rows(uow)
    assert [r.telegram_unique_id for r in rows] == ["same", "other", None]
    assert [row.id, other.id, nameless.id] == [r.id for r in rows]


# ---------------------------------------------------------------------------------------------
# Judged by content (services.files.file_kinds)

EXE = b"MZ\x90\x00\x03" + b"\x00" * 55 + b"\x40\x00\x00\x00PE\x00\x00" + b"\x00" * 64
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 64


@pytest.mark.parametrize(
    ("name", "mime", "content", "found"),
    [
        ("invoice.pdf.exe", "application/pdf", EXE, "exe"),
        ("整改报告.pdf", "application/pdf", ELF, "elf"),
        ("整改报告.pdf", "application/pdf", b"#!/bin/sh\nrm -rf ~\n", "script"),
        ("空文件.pdf", "application/pdf", b"", "empty"),
    ],
)
def test_a_file_is_refused_by_its_content_whatever_its_name_and_nothing_is_kept(
    uow: UowFactory,
    world: World,
    archive: EvidenceArchive,
    name: str,
    mime: str,
    content: bytes,
    found: str,
) -> None:
    with unchanged(uow), pytest.raises(Invalid) as error:
        register(
            uow, world, archive, kind="document", file_name=name, mime_type=mime,
            content=content, size=len(content),
        )  # fmt: skip
    assert_code(error, "evidence_not_accepted")
    assert (error.value.params["name"], error.value.params["found"]) == (name, found)
    assert archived_files(archive) == []


def test_a_zero_byte_file_is_refused_even_without_its_content(
    uow: UowFactory, world: World, archive: EvidenceArchive
) -> None:
    with unchanged(uow), pytest.raises(Invalid) as error:
        register(uow, world, archive, content=None, size=0)
    assert_code(error, "evidence_not_accepted")
    assert error.value.params["found"] == "empty"


def test_the_refusal_says_what_is_accepted_in_both_languages() -> None:
    from templates import render

    zh = render("errors.evidence_not_accepted", "zh", name="invoice.pdf.exe", found="exe")
    en = render("errors.evidence_not_accepted", "en", name="invoice.pdf.exe", found="exe")
    assert "invoice.pdf.exe" in zh and "可执行程序" in zh and "heic" in zh
    assert "invoice.pdf.exe" in en and "executable" in en and "Word (doc, docx)" in en


# ---------------------------------------------------------------------------------------------
# Files nothing refers to: removed when their dialog is cancelled, or pruned


def photo(n: int) -> bytes:
    """A distinct JPEG-looking photo."""
    return b"\xff\xd8\xff\xe0" + f" photo {n}".encode()


def add(
    uow: UowFactory, world: World, archive: EvidenceArchive, n: int, actor: Any = None
) -> EvidenceView:
    """Register photo `n` (its own Telegram ids)."""
    return register(
        uow, world, archive, actor=actor or world.liaison_a, content=photo(n),
        size=len(photo(n)), telegram_unique_id=f"u{n}", telegram_file_id=f"f{n}",
    )  # fmt: skip


def ids_stored(uow: UowFactory) -> list[int]:
    return [row.id for row in evidence_rows(uow)]


def test_discarding_a_cancelled_dialogs_files_removes_rows_and_archive_copies(
    uow: UowFactory, world: World, archive: EvidenceArchive
) -> None:
    first, second = add(uow, world, archive, 1), add(uow, world, archive, 2)
    removed = discard_evidence(uow(), world.liaison_a, archive, [first.id, second.id])
    assert (removed.rows, removed.files) == (2, 2)
    assert removed.bytes == len(photo(1)) + len(photo(2))
    assert ids_stored(uow) == []
    assert archived_files(archive) == []
    assert [a[0] for a in audit_entries(uow)][-2:] == ["evidence.discard", "evidence.discard"]


def test_discarding_keeps_files_something_else_refers_to(
    uow: UowFactory, world: World, archive: EvidenceArchive
) -> None:
    on_finding = add(uow, world, archive, 1, world.coordinator)
    record_finding(
        uow(), world.coordinator, world.unit_a, "问题", "on_site_inspection",
        date(2025, 3, 1), date(2025, 3, 31), [on_finding.id],
    )  # fmt: skip
    in_other_draft = add(uow, world, archive, 2)
    files = [{"id": in_other_draft.id, "kind": "photo", "name": ""}]
    start_dialog(uow(), world.liaison_b.person_id or 0, "report", "files", {"files": files})
    on_bonus = add(uow, world, archive, 3, world.coordinator)
    load_plan(uow(), Actor.operator(), default_plan_text(2025), "test")
    add_bonus(uow(), world.coordinator, 2025, world.unit_a, "创新", f"📎 照片 (#{on_bonus.id})")
    kept = add(uow, world, archive, 4, world.coordinator)
    keep_evidence(uow(), world.coordinator, kept.id)
    same_bytes = register(
        uow, world, archive, content=photo(1), size=len(photo(1)),
        telegram_unique_id="u1-again", telegram_file_id="f1-again",
    )  # fmt: skip
    alone = add(uow, world, archive, 5)
    everything = [on_finding.id, in_other_draft.id, on_bonus.id, kept.id, same_bytes.id, alone.id]
    removed = discard_evidence(uow(), world.liaison_a, archive, everything)
    # Only the unreferenced rows go; the photo-1 copy stays, the finding's row still has it.
    assert (removed.rows, removed.files) == (2, 1)
    assert sorted(ids_stored(uow)) == sorted(everything[:4])
    assert (archive.root / on_finding.archive_path).exists()  # type: ignore[operator]
    assert not (archive.root / alone.archive_path).exists()  # type: ignore[operator]


def test_raters_and_viewers_cannot_discard(
    uow: UowFactory, world: World, archive: EvidenceArchive
) -> None:
    view = add(uow, world, archive, 1)
    for outsider in (world.rater, world.viewer):
        with pytest.raises(Refused):
            discard_evidence(uow(), outsider, archive, [view.id])
    assert ids_stored(uow) == [view.id]


def test_pruning_removes_only_old_evidence_nothing_refers_to(
    uow: UowFactory, world: World, archive: EvidenceArchive, clock: FixedClock
) -> None:
    old_alone = add(uow, world, archive, 1)
    old_kept = add(uow, world, archive, 2, world.coordinator)
    keep_evidence(uow(), world.coordinator, old_kept.id)
    old_in_draft = add(uow, world, archive, 3)
    files = [{"id": old_in_draft.id, "kind": "photo", "name": ""}]
    start_dialog(
        uow(), world.liaison_a.person_id or 0, "rectify", "files", {"finding": 1, "files": files}
    )
    orphan = archive.store(photo(99))  # a copy whose registration failed
    os.utime(orphan.path, (0, 0))
    clock.advance(days=8)
    new_alone = add(uow, world, archive, 4)
    removed = prune_evidence(uow(), Actor.operator(), archive, timedelta(days=7))
    assert (removed.rows, removed.files) == (1, 2)
    assert sorted(ids_stored(uow)) == sorted([old_kept.id, old_in_draft.id, new_alone.id])
    assert not orphan.path.exists()
    assert not (archive.root / old_alone.archive_path).exists()  # type: ignore[operator]
    assert [a[0] for a in audit_entries(uow)][-1] == "evidence.prune"
    again = prune_evidence(uow(), Actor.operator(), archive, timedelta(days=7))
    assert (again.rows, again.files) == (0, 0)


def test_only_an_admin_prunes(uow: UowFactory, world: World, archive: EvidenceArchive) -> None:
    with pytest.raises(Refused):
        prune_evidence(uow(), world.coordinator, archive, timedelta(days=7))


def test_draft_evidence_ids_finds_collected_files_and_an_uploads_workbook() -> None:
    draft = {
        "files": [{"id": 1, "kind": "photo", "name": ""}, {"id": 2, "kind": "document"}],
        "tasks": {"T1": {"files": [{"id": 3, "kind": "photo", "name": "x"}]}},
        "evidence_id": 4,
        "finding": 5,
        "units": [{"id": 6, "name": "甲镇"}],  # not files: no kind
    }
    assert draft_evidence_ids(draft) == {1, 2, 3, 4}
