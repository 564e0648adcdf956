"""Setting up webhook channels: create and edit (the mapping checked row by row), the secret."""
from __future__ import annotations

import secrets
from typing import Optional

from flask_babel import gettext as _

from ...extensions import db
from ...models import Department, WebhookChannel, utcnow
from .mapping import check_path, validate_rows


class MappingInvalid(ValueError):
    """Nothing was saved: `fields` {form field: message}, `rows` {row index: {column: message}},
    `general` mapping-wide messages."""

    def __init__(self, fields: dict[str, str], rows: dict[int, dict[str, str]], general: list[str]):
        super().__init__("invalid webhook channel")
        self.fields, self.rows, self.general = fields, rows, general


def new_public_id() -> str:
    return secrets.token_urlsafe(16)


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def check_channel(*, department: Department, rows: list[dict], external_id_path: str = "",
                  conversation_path: str = "") -> list[dict]:
    """The mapping as it will be stored; raises MappingInvalid with every problem."""
    clean, row_errors, general = validate_rows(rows)
    fields = {}
    for key, value in (("external_id_path", external_id_path), ("conversation_path", conversation_path)):
        problem = check_path(value)
        if problem:
            fields[key] = problem
    if department is None or not department.active:
        fields["department"] = _("Choose an active department.")
    if fields or row_errors or general:
        raise MappingInvalid(fields, row_errors, general)
    return clean


def save_channel(channel: Optional[WebhookChannel], *, name: str, department: Department, active: bool,
                 rows: list[dict], external_id_path: str = "", conversation_path: str = ""
                 ) -> tuple[WebhookChannel, Optional[str]]:
    """Create or change a channel (flushed). Returns it and, for a new one, its secret (shown once)."""
    clean = check_channel(department=department, rows=rows, external_id_path=external_id_path,
                          conversation_path=conversation_path)
    secret = None
    if channel is None:
        secret = new_secret()
        channel = WebhookChannel(public_id=new_public_id(), secret=secret, secret_rotated_at=utcnow())
        db.session.add(channel)
    channel.name, channel.department, channel.active = name.strip(), department, active
    channel.mapping = clean
    channel.external_id_path = external_id_path.strip() or None
    channel.conversation_path = conversation_path.strip() or None
    db.session.flush()
    return channel, secret


def draft_channel(channel: WebhookChannel, *, department: Department, rows: list[dict], external_id_path: str = "",
                  conversation_path: str = "") -> WebhookChannel:
    """`channel` as the form would save it, for "test with a sample payload" before saving: a copy
    outside the session (never written). Raises MappingInvalid like save_channel."""
    clean = check_channel(department=department, rows=rows, external_id_path=external_id_path,
                          conversation_path=conversation_path)
    return WebhookChannel(id=channel.id, public_id=channel.public_id, name=channel.name, active=channel.active,
                          department_id=department.id, department=department, mapping=clean,
                          external_id_path=external_id_path.strip() or None,
                          conversation_path=conversation_path.strip() or None)


def rotate_secret(channel: WebhookChannel) -> str:
    """A new secret at once; the old one stops working (the sender must be given the new one)."""
    channel.secret = new_secret()
    channel.secret_rotated_at = utcnow()
    db.session.flush()
    return channel.secret
