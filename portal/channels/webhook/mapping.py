"""A webhook channel's mapping: which value of the sender's JSON becomes which ticket field.

Paths are dotted keys with list indexes, as most senders' docs write them: `ticket.title`,
`data.customer.email`, `items[0].sku`; a leading `$.` (JSONPath style) is accepted and ignored.
That small syntax covers what a mapping needs (one value per field) without a query language.

A mapping is a list of rows {"field", "path", "default"}. `validate_rows` checks it at save (the
admin's screen shows each message on its row); `extract` applies it to one payload.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ...extensions import db
from ...fields.models import CustomField

STANDARD_FIELDS = ("subject", "body", "contact_email", "contact_name", "contact_phone", "priority", "tags")
REQUIRED_FIELDS = ("subject", "body")  # a ticket needs both: mapped, or a default
PATH_MAX = 300
DEFAULT_MAX = 1000

_KEY = r"[^.\[\]\s]+"
_PATH = re.compile(rf"^{_KEY}(?:\[\d+\])*(?:\.{_KEY}(?:\[\d+\])*)*$")
_STEP = re.compile(rf"({_KEY})|\[(\d+)\]")
_MISSING = object()


class PathError(ValueError):
    pass


def parse_path(text: str) -> list[str | int]:
    """`data.items[0].sku` -> ["data", "items", 0, "sku"]; PathError for anything else."""
    path = (text or "").strip()
    if path.startswith("$."):
        path = path[2:]
    if not path:
        raise PathError(_l("Enter a path, e.g. data.customer.email."))
    if len(path) > PATH_MAX:
        raise PathError(_l("A path may be at most %(n)d characters.", n=PATH_MAX))
    if not _PATH.match(path):
        raise PathError(_l("“%(path)s” is not a path: use keys separated by dots and [n] for list items, "
                           "e.g. data.items[0].sku.", path=path))
    return [m.group(1) if m.group(1) is not None else int(m.group(2))
            for m in _STEP.finditer(path.replace(".", " "))]


def lookup(payload: Any, steps: list[str | int]) -> Any:
    """The value at `steps`, or _MISSING (a key that isn't there, an index past the end, a wrong type)."""
    value = payload
    for step in steps:
        if isinstance(step, int) and isinstance(value, list) and step < len(value):
            value = value[step]
        elif isinstance(step, str) and isinstance(value, dict) and step in value:
            value = value[step]
        else:
            return _MISSING
    return value


def known_fields() -> list[str]:
    """What a row may map to: the standard fields and every custom field that isn't archived."""
    keys = db.session.scalars(select(CustomField.key).where(CustomField.archived_at.is_(None))
                              .order_by(CustomField.key))
    return [*STANDARD_FIELDS, *(f"cf.{k}" for k in keys)]


@dataclass
class Row:
    field: str
    path: str
    default: str


def validate_rows(raw_rows: list[dict]) -> tuple[list[dict], dict[int, dict[str, str]], list[str]]:
    """(clean rows to store, {row index: {"field"/"path"/"default": message}}, mapping-wide messages).

    Blank rows are dropped; a row needs a field and a path or a default.
    """
    allowed = set(known_fields())
    clean: list[dict] = []
    errors: dict[int, dict[str, str]] = {}
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_rows):
        row = Row(str(raw.get("field") or "").strip(), str(raw.get("path") or "").strip(),
                  str(raw.get("default") or "").strip())
        if not (row.field or row.path or row.default):
            continue
        problems: dict[str, str] = {}
        if not row.field:
            problems["field"] = str(_l("Choose the ticket field this row fills."))
        elif row.field not in allowed:
            problems["field"] = str(_l("There is no ticket field “%(field)s”.", field=row.field)
                                    if not row.field.startswith("cf.")
                                    else _l("There is no custom field %(key)s.", key=row.field[3:]))
        elif row.field in seen:
            problems["field"] = str(_l("%(field)s is already mapped on row %(row)d.", field=row.field,
                                       row=seen[row.field] + 1))
        if row.path:
            try:
                parse_path(row.path)
            except PathError as exc:
                problems["path"] = str(exc)
        elif not row.default:
            problems["path"] = str(_l("Enter a path, or a default value for when there is none."))
        if len(row.default) > DEFAULT_MAX:
            problems["default"] = str(_l("A default may be at most %(n)d characters.", n=DEFAULT_MAX))
        if problems:
            errors[index] = problems
        if row.field and row.field not in seen:
            seen[row.field] = index
        clean.append({"field": row.field, "path": row.path, "default": row.default})
    missing = [f for f in REQUIRED_FIELDS if f not in seen]
    general = [str(_l("Map the ticket's %(field)s (a path or a default): every ticket needs one.", field=f))
               for f in missing]
    return clean, errors, general


def check_path(text: str) -> Optional[str]:
    """The message for an optional path field (external id, conversation key), or None."""
    if not (text or "").strip():
        return None
    try:
        parse_path(text)
    except PathError as exc:
        return str(exc)
    return None


@dataclass
class Extracted:
    """What one payload maps to, or `problems` ({path or field: message}) saying why it can't."""

    values: dict[str, Any] = field(default_factory=dict)   # subject, body, contact_*, priority, tags
    custom_fields: dict[str, Any] = field(default_factory=dict)
    external_id: Optional[str] = None
    conversation: Optional[str] = None
    problems: dict[str, str] = field(default_factory=dict)


def _as_text(value: Any) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value).strip()
    return None  # an object or a list where text belongs


def extract(mapping: list[dict], payload: Any, external_id_path: Optional[str] = None,
            conversation_path: Optional[str] = None) -> Extracted:
    out = Extracted()
    for row in mapping:
        name, path, default = row["field"], row.get("path") or "", row.get("default") or ""
        value = lookup(payload, parse_path(path)) if path else _MISSING
        if value is _MISSING or value is None or value == "" or value == []:
            if default:
                value = default if name != "tags" else [t for t in default.split(",")]
            elif name in REQUIRED_FIELDS:
                out.problems[path or name] = _l("The payload has no value at %(path)s (it fills the "
                                                "ticket's %(field)s).", path=path, field=name)
                continue
            else:
                continue
        if name.startswith("cf."):
            if isinstance(value, dict):
                out.problems[path] = _l("The value at %(path)s is an object; %(field)s needs a single value.",
                                        path=path, field=name)
                continue
            out.custom_fields[name[3:]] = value
        elif name == "tags":
            items = value if isinstance(value, list) else str(value).split(",") if _as_text(value) else None
            texts = [_as_text(v) for v in items] if items is not None else None
            if texts is None or any(t is None for t in texts):
                out.problems[path] = _l("The value at %(path)s must be text or a list of texts (tags).",
                                        path=path)
                continue
            out.values["tags"] = [t for t in texts if t]
        else:
            text = _as_text(value)
            if text is None:
                out.problems[path] = _l("The value at %(path)s must be text or a number (it fills the "
                                        "ticket's %(field)s).", path=path, field=name)
                continue
            out.values[name] = text
    for attr, path in (("external_id", external_id_path), ("conversation", conversation_path)):
        if path:
            value = _as_text(lookup(payload, parse_path(path)))
            setattr(out, attr, value[:255] if value else None)
    return out
