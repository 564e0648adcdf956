"""Every real-world message in ../shared/fixtures/mail goes through intake without an exception and
ends as a ticket (sender, subject and text as the parser reads them, which tests/mail_parsing checks
against what a mail client shows), as ignored (bounces, loops) or kept and flagged: never lost."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select

from factories import make_department
from portal.channels.mail import parse_message
from portal.channels.mail.ingest import ingest
from portal.extensions import db
from portal.models import InboundMessage, Mailbox, Ticket

pytestmark = pytest.mark.integration


def fixture_folder() -> Path:
    shared = os.environ.get("DESKWRIGHT_SHARED")
    root = Path(shared) if shared else Path(__file__).resolve().parents[2].parent / "shared"
    return root / "fixtures" / "mail"


def fixture_files() -> list[Path]:
    folder = fixture_folder()
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and "LICENSES" not in p.parts
                  and p.name != "MANIFEST.md")


def test_every_fixture_is_taken_or_kept(app):
    files = fixture_files()
    if not files:
        pytest.skip(f"no mail fixtures at {fixture_folder()} (set DESKWRIGHT_SHARED)")
    dept = make_department(name="Support")
    db.session.add(Mailbox(address="support@desk.example", department=dept))
    db.session.commit()
    problems, outcome = [], {}
    for path in files:
        raw = path.read_bytes()
        try:
            record = ingest(raw, via="pipe")
            db.session.commit()
        except Exception as exc:  # noqa: BLE001 - the test reports every file that raised
            db.session.rollback()
            problems.append(f"{path.name}: raised {exc.__class__.__name__}: {exc}")
            continue
        outcome[record.status] = outcome.get(record.status, 0) + 1
        assert record.raw == raw
        parsed = parse_message(raw)
        if record.status == "ticket":
            ticket = db.session.get(Ticket, record.ticket_id)
            if ticket.contact.email != parsed.from_address:
                problems.append(f"{path.name}: contact {ticket.contact.email} != sender {parsed.from_address}")
            expected_subject = " ".join(parsed.subject.split())[:300] or "(no subject)"
            if ticket.subject != expected_subject:
                problems.append(f"{path.name}: subject {ticket.subject!r} != {expected_subject!r}")
            words = parsed.text.split()[:5]
            body = " ".join(ticket.threads[0].body_text.split())
            if words and " ".join(words) not in body and not parsed.html:
                problems.append(f"{path.name}: body lacks {' '.join(words)!r}")
        elif record.status in ("flagged", "ignored"):
            if not record.problem:
                problems.append(f"{path.name}: {record.status} without a reason")
    assert not problems, "\n".join(problems)
    kept = db.session.scalar(select(db.func.count(InboundMessage.id)))
    assert kept == len(files), outcome
    assert outcome.get("ticket", 0) > len(files) // 2, outcome  # most are ordinary mail
