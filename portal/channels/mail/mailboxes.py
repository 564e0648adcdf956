"""Creating and changing mailboxes: the one place their rules live (the admin screens call it).

Everything is checked first and every problem is raised at once as `ValidationFailed({field: message})`
before a row is touched; then the mailbox is written and flushed (the caller commits).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import func, select

from ...extensions import db
from ...models import Department, Mailbox
from ...services.errors import ValidationFailed
from .credentials import seal
from .imap import AFTER, DEFAULT_PORTS, SECURITY, ImapSettings, plaintext_allowed, settings_of

POLL_MINUTES = (1, 1440)
# A host name (labels of letters, digits, hyphens) or an IP address (v4 dotted, v6 in its usual forms).
_HOST = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}"
                   r"[A-Za-z0-9])?)*\.?$|^[0-9A-Fa-f:.]+$")


@dataclass
class MailboxData:
    address: str = ""
    name: str = ""
    department_id: Optional[int] = None
    active: bool = True
    imap_host: str = ""
    imap_port: Optional[int] = None
    imap_security: str = "ssl"
    imap_username: str = ""
    imap_password: str = ""          # blank on an existing mailbox: keep the stored one
    imap_folder: str = "INBOX"
    imap_after: str = "seen"
    imap_move_to: str = ""
    poll_minutes: Optional[int] = 5


def _clean(data: MailboxData) -> MailboxData:
    strip = lambda v: (v or "").strip()  # noqa: E731
    return MailboxData(
        address=strip(data.address).lower(), name=strip(data.name), department_id=data.department_id,
        active=bool(data.active), imap_host=strip(data.imap_host), imap_port=data.imap_port,
        imap_security=strip(data.imap_security) or "ssl", imap_username=strip(data.imap_username),
        imap_password=data.imap_password or "", imap_folder=strip(data.imap_folder) or "INBOX",
        imap_after=strip(data.imap_after) or "seen", imap_move_to=strip(data.imap_move_to),
        poll_minutes=data.poll_minutes)


def check(mailbox: Optional[Mailbox], data: MailboxData) -> tuple[MailboxData, dict]:
    """The cleaned data and {field: message} for everything wrong with it."""
    data, errors = _clean(data), {}
    if not data.address:
        errors["address"] = _("Enter the address customers write to.")
    else:
        try:
            validate_email(data.address, check_deliverability=False)
        except EmailNotValidError:
            errors["address"] = _("“%(address)s” is not an email address.", address=data.address)
        else:
            query = select(Mailbox.id).where(func.lower(Mailbox.address) == data.address)
            if mailbox is not None and mailbox.id is not None:
                query = query.where(Mailbox.id != mailbox.id)
            if db.session.scalar(query.limit(1)) is not None:
                errors["address"] = _("Another mailbox already has the address %(address)s.", address=data.address)
    if len(data.name) > 120:
        errors["name"] = _("At most %(max)d characters.", max=120)
    department = db.session.get(Department, data.department_id) if data.department_id else None
    if department is None:
        errors["department_id"] = _("Choose the department whose tickets this mail becomes.")
    elif not department.active and (mailbox is None or mailbox.department_id != department.id):
        errors["department_id"] = _("“%(name)s” is deactivated; choose an active department.", name=department.label)
    if data.imap_host:
        errors.update(_check_imap(mailbox, data))
    return data, errors


def _check_imap(mailbox: Optional[Mailbox], data: MailboxData) -> dict:
    errors = {}
    if not _HOST.match(data.imap_host):
        errors["imap_host"] = _("Enter a host name such as imap.example.com, or an IP address.")
    if data.imap_security not in SECURITY:
        errors["imap_security"] = _("Choose how the connection is secured.")
    elif data.imap_security == "none" and "imap_host" not in errors and not plaintext_allowed(data.imap_host):
        errors["imap_security"] = _("Without TLS the password crosses the network in clear text. That is only "
                                    "allowed to this machine (localhost) unless MAIL_IMAP_ALLOW_PLAINTEXT is set.")
    if data.imap_port is not None and not 1 <= data.imap_port <= 65535:
        errors["imap_port"] = _("A port is a number from 1 to 65535.")
    if not data.imap_username:
        errors["imap_username"] = _("Enter the user name to log in with.")
    elif len(data.imap_username) > 320:
        errors["imap_username"] = _("At most %(max)d characters.", max=320)
    has_password = bool(mailbox is not None and mailbox.imap_password)
    if not data.imap_password and not has_password:
        errors["imap_password"] = _("Enter the password to log in with.")
    elif len(data.imap_password) > 1000:
        errors["imap_password"] = _("At most %(max)d characters.", max=1000)
    if len(data.imap_folder) > 200:
        errors["imap_folder"] = _("At most %(max)d characters.", max=200)
    if data.imap_after not in AFTER:
        errors["imap_after"] = _("Choose what happens to a message on the server once it is imported.")
    elif data.imap_after == "move":
        if not data.imap_move_to:
            errors["imap_move_to"] = _("Enter the folder to move imported mail to.")
        elif data.imap_move_to == data.imap_folder:
            errors["imap_move_to"] = _("Choose a folder other than the one being read.")
        elif len(data.imap_move_to) > 200:
            errors["imap_move_to"] = _("At most %(max)d characters.", max=200)
    lo, hi = POLL_MINUTES
    if data.poll_minutes is None or not lo <= data.poll_minutes <= hi:
        errors["poll_minutes"] = _("Between %(min)d and %(max)d minutes.", min=lo, max=hi)
    return errors


def save_mailbox(mailbox: Optional[Mailbox], data: MailboxData) -> Mailbox:
    """Create (mailbox=None) or update a mailbox; ValidationFailed before anything is written."""
    data, errors = check(mailbox, data)
    if errors:
        raise ValidationFailed(errors)
    if mailbox is None:
        mailbox = Mailbox(imap_last_uid=0, imported_count=0, poll_failures=0, last_poll_count=0)
        db.session.add(mailbox)
    where_before = (mailbox.imap_host, mailbox.imap_port, mailbox.imap_username, mailbox.imap_folder)
    mailbox.address, mailbox.name, mailbox.department_id = data.address, data.name, data.department_id
    mailbox.active = data.active
    if data.imap_host:
        mailbox.imap_host, mailbox.imap_security = data.imap_host, data.imap_security
        mailbox.imap_port = data.imap_port or DEFAULT_PORTS[data.imap_security]
        mailbox.imap_username, mailbox.imap_folder = data.imap_username, data.imap_folder
        mailbox.imap_after = data.imap_after
        mailbox.imap_move_to = data.imap_move_to if data.imap_after == "move" else None
        mailbox.poll_minutes = data.poll_minutes
        if data.imap_password:
            mailbox.imap_password = seal(data.imap_password)
    else:
        mailbox.imap_host = mailbox.imap_port = mailbox.imap_username = mailbox.imap_password = None
    if where_before != (mailbox.imap_host, mailbox.imap_port, mailbox.imap_username, mailbox.imap_folder):
        # Another folder: its UIDs mean nothing to the old mark. Poll soon, with a clean slate.
        mailbox.imap_uidvalidity, mailbox.imap_last_uid = None, 0
        mailbox.poll_failures, mailbox.next_poll_at = 0, None
        mailbox.last_poll_ok = mailbox.last_poll_error = None
    db.session.flush()
    return mailbox


def set_mailbox_active(mailbox: Mailbox, active: bool) -> None:
    """An inactive mailbox is not polled and its address is not chosen for incoming mail; its messages stay."""
    mailbox.active = active
    if active:
        mailbox.next_poll_at, mailbox.poll_failures = None, 0
    db.session.flush()


def settings_for_test(mailbox: Optional[Mailbox], data: MailboxData) -> ImapSettings:
    """What "Test connection" logs in with: the form's values, and the stored password when the
    form's is blank (it is never sent back to the browser). ValidationFailed for the IMAP fields."""
    data, errors = check(mailbox, data)
    if not data.imap_host:
        errors = {"imap_host": _("Enter the IMAP server's host name.")}
    errors = {k: v for k, v in errors.items() if k.startswith("imap_")}
    if errors:
        raise ValidationFailed(errors)
    stored = settings_of(mailbox) if (mailbox is not None and not data.imap_password) else None
    return ImapSettings(host=data.imap_host, port=data.imap_port or DEFAULT_PORTS[data.imap_security],
                        security=data.imap_security, username=data.imap_username,
                        password=data.imap_password or (stored.password if stored else ""),
                        folder=data.imap_folder, after=data.imap_after, move_to=data.imap_move_to or None)
