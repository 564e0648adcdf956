"""The mailbox form. It only reads the values (types, choices); the rules are in
`portal.channels.mail.mailboxes`, whose messages land on these fields (same names)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import Optional, StopValidation

from ..channels.mail.mailboxes import MailboxData
from ..extensions import db
from ..forms import choices
from ..models import Department, Mailbox

SECURITY_LABELS = {"ssl": _l("SSL/TLS (port 993)"), "starttls": _l("STARTTLS (port 143)"),
                   "none": _l("None (this machine only)")}
AFTER_LABELS = {"seen": _l("Mark as read (keep it on the server)"), "move": _l("Move to a folder"),
                "delete": _l("Delete it from the server")}


def _stop_if_unreadable(_form, field):
    if field.process_errors:
        raise StopValidation()


class MailboxForm(FlaskForm):
    address = StringField(_l("Address"))
    name = StringField(_l("From name"))
    department_id = SelectField(_l("Department"), coerce=int, validate_choice=False)
    active = BooleanField(_l("Active"), default=True)
    imap_host = StringField(_l("IMAP server"))
    imap_port = IntegerField(_l("Port"), validators=[Optional(), _stop_if_unreadable],
                             render_kw={"inputmode": "numeric", "placeholder": "993"})
    imap_security = SelectField(_l("Security"), default="ssl", validate_choice=False,
                                choices=choices(SECURITY_LABELS.items()))
    imap_username = StringField(_l("User name"), render_kw={"autocomplete": "off"})
    imap_password = PasswordField(_l("Password"), render_kw={"autocomplete": "new-password"})
    imap_folder = StringField(_l("Folder"), default="INBOX")
    imap_after = SelectField(_l("After import"), default="seen", validate_choice=False,
                             choices=choices(AFTER_LABELS.items()))
    imap_move_to = StringField(_l("Move to folder"))
    poll_minutes = IntegerField(_l("Check every (minutes)"), default=5,
                                validators=[Optional(), _stop_if_unreadable],
                                render_kw={"inputmode": "numeric"})

    @classmethod
    def build(cls, mailbox: Mailbox | None = None, **kwargs) -> "MailboxForm":
        data = None
        if mailbox is not None:
            data = {name: getattr(mailbox, name) for name in (
                "address", "name", "department_id", "active", "imap_host", "imap_port", "imap_security",
                "imap_username", "imap_folder", "imap_after", "imap_move_to", "poll_minutes")}
        form = cls(data=data, **kwargs)
        departments = db.session.scalars(select(Department).where(
            (Department.active.is_(True)) | (Department.id == (mailbox.department_id if mailbox else None)))
            .order_by(Department.name))
        form.department_id.choices = choices((d.id, d.label) for d in departments)
        return form

    def mailbox_data(self) -> MailboxData:
        return MailboxData(
            address=self.address.data or "", name=self.name.data or "", department_id=self.department_id.data,
            active=bool(self.active.data), imap_host=self.imap_host.data or "", imap_port=self.imap_port.data,
            imap_security=self.imap_security.data or "ssl", imap_username=self.imap_username.data or "",
            imap_password=self.imap_password.data or "", imap_folder=self.imap_folder.data or "",
            imap_after=self.imap_after.data or "seen", imap_move_to=self.imap_move_to.data or "",
            poll_minutes=self.poll_minutes.data)
