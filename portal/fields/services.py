"""Saving custom fields and layouts: the only write path for definitions.

Every save validates everything first (schema.py) and raises ValidationFailed with errors keyed by
path; nothing invalid is stored. A save that changes the document makes revision N+1 and a
*Revision row (author, time, the whole document, a one-line summary); saving an unchanged document
changes nothing. Rollback saves an old revision's document as a new revision, validated like any
save. Services flush; the caller commits.

Safe evolution: a field's key and type never change; "deleting" a field archives it (tickets keep
their values, shown read-only; nobody can set new ones) and it can be restored; a label may change
at any time. Export/import (exchange.py), picklist value usage and removal (picklists.py) and
filterable indexes (indexes.py) are part of this API and re-exported here.
"""
from __future__ import annotations

import re
from typing import Any, Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..extensions import db
from ..models import Department, User, utcnow
from ..models.revisions import record_revision
from ..services.errors import ValidationFailed
from . import catalogue, indexes
from .documents import field_document, summarize_field, summarize_layout
from .models import CustomField, FieldDepartmentOptions, FieldRevision, Layout, LayoutRevision, stored_layout
from .options import department_lists
from .schema import FIELD_KEYS, check_department_options, check_field, check_layout

__all__ = ["save_field", "archive_field", "restore_field", "set_department_options", "set_filterable",
           "save_layout", "field_revisions", "layout_revisions", "rollback_field", "rollback_layout",
           "layout_row", "export_layouts", "import_layouts", "picklist_value_usage", "remove_picklist_value"]


# --------------------------------------------------------------------------------------------
# Fields
# --------------------------------------------------------------------------------------------
def save_field(field: Optional[CustomField], data: Any, by: Optional[User], *, summary: str | None = None
               ) -> CustomField:
    """Create (field=None) or change a field. For a change, settings left out of `data` keep their
    current values. `data["department_options"]`, when given, is every department's own list
    ({department id: options}; a department left out uses the field's options)."""
    if field is not None and isinstance(data, dict):
        data = {**field_document(field), **data}
    document, errors = check_field(data, current=field)
    lists = _department_lists(data.get("department_options"), document, errors) if isinstance(data, dict) else None
    if errors:
        raise ValidationFailed(errors)
    old = field_document(field) if field is not None else None
    if lists is None:
        lists = {int(d): o for d, o in old["department_options"].items()} if old else {}
    new = {**document, "department_options": {str(d): o for d, o in sorted(lists.items())}}
    if old == new:
        return field
    now = utcnow()
    if field is None:
        last = db.session.scalar(select(func.max(CustomField.position)))
        field = CustomField(revision=0, position=(last + 1) if last is not None else 0, created_at=now,
                            created_by_id=by.id if by else None)
        db.session.add(field)
    for name in FIELD_KEYS:
        setattr(field, name, document[name])
    was_filterable = bool(old and old["filterable"])
    _record_field(field, new, old, by, now, summary)  # flushes: a new field has its id from here on
    _store_department_lists(field, lists)
    if document["filterable"] != was_filterable:
        indexes.apply(field)
    return field


def _department_lists(raw: Any, document: dict, errors: dict) -> Optional[dict[int, Any]]:
    """{department id: checked options} from a document's "department_options" (None: not given)."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        errors["department_options"] = _l("Department options are keyed by department id.")
        return None
    lists = {}
    for key, options in raw.items():
        path = f"department_options.{key}"
        is_id = re.fullmatch(r"[0-9]{1,18}", str(key))  # a 64-bit id ("²" is a digit to isdigit(), not to int())
        department = db.session.get(Department, int(key)) if is_id else None
        if department is None:
            errors[path] = _l("Unknown department %(department)s.", department=repr(key))
            continue
        clean, problems = check_department_options(document, department.id, options, path)
        errors.update(problems)
        lists[department.id] = clean
    return lists


def _store_department_lists(field: CustomField, lists: dict[int, Any]) -> None:
    rows = {row.department_id: row for row in db.session.scalars(
        select(FieldDepartmentOptions).where(FieldDepartmentOptions.field_id == field.id))}
    for department_id, row in rows.items():
        if department_id not in lists:
            db.session.delete(row)
        elif row.options != lists[department_id]:
            row.options = lists[department_id]
    for department_id, options in lists.items():
        if department_id not in rows:
            db.session.add(FieldDepartmentOptions(field_id=field.id, department_id=department_id, options=options))
    db.session.flush()


def _record_field(field: CustomField, document: dict, old: Optional[dict], by: Optional[User], now,
                  summary: Optional[str]) -> None:
    record_revision(field, FieldRevision, "field_id", document, by, now, summary or summarize_field(old, document))
    catalogue.forget()


def archive_field(field: CustomField, by: Optional[User]) -> CustomField:
    """"Delete" a field: tickets keep their values (shown read-only) and no one can set new ones.
    It stays on layouts that have it, read-only, and can't be added to others until restored."""
    if field.archived:
        return field
    now = utcnow()
    field.archived_at = now
    _record_field(field, field_document(field), None, by, now, "Archived.")
    return field


def restore_field(field: CustomField, by: Optional[User]) -> CustomField:
    if not field.archived:
        return field
    field.archived_at = None
    _record_field(field, field_document(field), None, by, utcnow(), "Restored.")
    return field


def set_department_options(field: CustomField, department: Department, options: Any, by: Optional[User]
                           ) -> CustomField:
    """Give `department` its own picklist values for `field` (options=None: back to the field's
    own). Errors are keyed "options", "options.2.value" like the field's own list."""
    lists = department_lists(field)
    if options is None:
        lists.pop(department.id, None)
    else:
        clean, errors = check_department_options(field_document(field), department.id, options)
        if errors:
            raise ValidationFailed(errors)
        lists[department.id] = clean
    return save_field(field, {"department_options": {str(d): o for d, o in lists.items()}}, by)


def set_filterable(field: CustomField, filterable: bool, by: Optional[User] = None) -> CustomField:
    """Mark a field filterable (an expression index on tickets is created) or not (it is dropped)."""
    return save_field(field, {"filterable": bool(filterable)}, by)


def field_revisions(field: CustomField) -> list[FieldRevision]:
    return list(db.session.scalars(select(FieldRevision).filter_by(field_id=field.id)
                                   .order_by(FieldRevision.revision.desc())))


def rollback_field(field: CustomField, revision: int, by: Optional[User]) -> CustomField:
    """Make `revision`'s definition (and department lists) current again, as a new revision."""
    old = db.session.scalar(select(FieldRevision).filter_by(field_id=field.id, revision=revision))
    if old is None:
        raise ValidationFailed({"revision": _l("Field %(key)s has no revision %(revision)d.", key=field.key,
                                               revision=revision)})
    before = field_document(field)
    if before == old.document:
        return field
    return save_field(field, old.document, by, summary=_rolled_back(revision, summarize_field(before, old.document)))


def _rolled_back(revision: int, change: str) -> str:
    return f"Rolled back to r{revision}: {change[0].lower()}{change[1:]}"


# --------------------------------------------------------------------------------------------
# Layouts
# --------------------------------------------------------------------------------------------
def layout_row(department: Department | int | None) -> Optional[Layout]:
    """The saved layout of a department (None: the default layout), if there is one."""
    return stored_layout(department.id if isinstance(department, Department) else department)


def save_layout(department: Department | int | None, document: Any, by: Optional[User], *,
                summary: str | None = None) -> Layout:
    """Create or change a department's layout (department=None: the default layout)."""
    department_id = department.id if isinstance(department, Department) else department
    if department_id is not None and db.session.get(Department, department_id) is None:
        raise ValidationFailed({"department": _l("Unknown department %(department)s.", department=department_id)})
    layout = layout_row(department_id)
    previous = layout.document if layout is not None else None
    clean, errors = check_layout(document, department_id=department_id, previous=previous)
    if errors:
        raise ValidationFailed(errors)
    if previous == clean:
        return layout
    now = utcnow()
    if layout is None:
        layout = Layout(department_id=department_id, is_default=True if department_id is None else None, revision=0)
        db.session.add(layout)
    layout.document = clean
    record_revision(layout, LayoutRevision, "layout_id", clean, by, now, summary or summarize_layout(previous, clean))
    return layout


def layout_revisions(layout: Layout) -> list[LayoutRevision]:
    return list(db.session.scalars(select(LayoutRevision).filter_by(layout_id=layout.id)
                                   .order_by(LayoutRevision.revision.desc())))


def rollback_layout(layout: Layout, revision: int, by: Optional[User]) -> Layout:
    """Make `revision`'s document current again, as a new revision (an archived field that has
    since left the layout can't come back, as with any save)."""
    old = db.session.scalar(select(LayoutRevision).filter_by(layout_id=layout.id, revision=revision))
    if old is None:
        raise ValidationFailed({"revision": _l("The layout has no revision %(revision)d.", revision=revision)})
    if layout.document == old.document:
        return layout
    change = summarize_layout(layout.document, old.document)
    return save_layout(layout.department_id, old.document, by, summary=_rolled_back(revision, change))


# Part of this API, kept in modules of their own (they call back into the functions above).
from .exchange import export_layouts, import_layouts  # noqa: E402
from .picklists import picklist_value_usage, remove_picklist_value  # noqa: E402
