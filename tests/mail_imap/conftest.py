"""A real IMAP server (Dovecot) for the polling tests, and mailboxes that point at it.

Dovecot comes from Debian (`apt-get install dovecot-imapd`, in .ci/run). Without the binary the tests
here are skipped locally with that reason, but FAIL in CI (CI=true): a CI run that skipped them
would hide a missing install step.
"""
from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from factories import make_department
from portal.channels.mail.mailboxes import MailboxData, save_mailbox
from portal.extensions import db

from . import dovecot as dovecot_mod

DESK_PASSWORD = dovecot_mod.PASSWORD


@pytest.fixture(scope="session")
def imapd():
    with dovecot_mod.running_or_skip() as server:
        yield server


@pytest.fixture
def imap_user(imapd) -> str:
    return imapd.new_user()


def mail(subject="Screen cracked", body="It arrived broken.\n", sender="Li Lei <li.lei@example.com>",
         to="support@desk.example", **headers) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Message-ID"] = headers.pop("message_id", None) or make_msgid(domain="example.com")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes()


@pytest.fixture
def make_mailbox(app, imapd, imap_user):
    """`make_mailbox(**settings)`: a saved, committed mailbox polling this test's Dovecot user."""
    department = make_department(name="Support")

    def factory(**overrides):
        values = dict(address="support@desk.example", name="Support", department_id=department.id,
                      imap_host=imapd.host, imap_port=imapd.port, imap_security="none", imap_username=imap_user,
                      imap_password=DESK_PASSWORD, imap_folder="INBOX", imap_after="seen", poll_minutes=5)
        values.update(overrides)
        mailbox = save_mailbox(None, MailboxData(**values))
        db.session.commit()
        return mailbox

    return factory
