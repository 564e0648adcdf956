"""`flask ingest-email --maildir DIR`: a whole maildir in one process, one commit per message, in
delivery order (so a reply finds the message it answers)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from factories import make_department
from portal.extensions import db
from portal.models import InboundMessage, Mailbox

from .conftest import mail

pytestmark = pytest.mark.integration


def test_a_maildir_is_taken_in_order_with_its_replies_threaded(app, tmp_path):
    db.session.add(Mailbox(address="support@desk.example", department=make_department(name="Support")))
    db.session.commit()
    for sub in ("cur", "new", "tmp"):
        (tmp_path / "md" / sub).mkdir(parents=True)
    (tmp_path / "md" / "cur" / "1700000000.M1P1.host:2,S").write_bytes(mail(message_id="<a@example.com>"))
    (tmp_path / "md" / "new" / "1700000001.M2P1.host").write_bytes(
        mail(subject="Re: Screen cracked", in_reply_to="<a@example.com>"))
    (tmp_path / "md" / "new" / "1700000002.M3P1.host").write_bytes(b"not a mail message at all")
    result = app.test_cli_runner().invoke(args=["ingest-email", "--maildir", str(tmp_path / "md")])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("3 messages in ") and result.output.rstrip().endswith(
        "flagged 1, reply 1, ticket 1")
    rows = list(db.session.scalars(select(InboundMessage).order_by(InboundMessage.id)))
    assert [r.status for r in rows] == ["ticket", "reply", "flagged"]
    assert rows[0].ticket_id == rows[1].ticket_id and {r.via for r in rows} == {"pipe"}


def test_a_folder_that_is_not_a_maildir_is_refused(app, tmp_path):
    result = app.test_cli_runner().invoke(args=["ingest-email", "--maildir", str(tmp_path)])
    assert result.exit_code == 2 and "is not a maildir (no cur/ or new/)" in result.output
