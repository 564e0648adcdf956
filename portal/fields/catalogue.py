"""Custom fields in the condition catalogue: cf.<key> in rules, views and reports.

`install()` (from portal.fields.init_app) registers `custom_field_specs` as the catalogue's provider.
portal.conditions calls it on every catalogue build, so the answer - every field with each
department's picklist values, read in one query plus the department ids - is kept in the session
for the rest of the transaction. A save of a definition (services.py) forgets it, and so does the
end of any transaction or savepoint, so a rolled-back save is never remembered.

Archived fields stay in the catalogue (labelled so): rules and views that name them keep working
on the values old tickets hold; the ticket service refuses new values anyway.
"""
from __future__ import annotations

from flask import has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from ..conditions import CustomFieldSpec, register_custom_field_provider
from ..extensions import db
from ..models import Department
from .labels import Bilingual
from .models import CustomField, FieldDepartmentOptions
from .options import values_of
from .types import TYPES

CACHE_KEY = "deskwright_custom_field_specs"
NO_DEPARTMENT = 0  # no department has id 0: its entry holds the fields' own values


def custom_field_specs() -> list[CustomFieldSpec]:
    """The desk's custom fields as the condition catalogue describes them."""
    if not has_app_context():
        return []
    cached = db.session.info.get(CACHE_KEY)
    if cached is None:
        cached = db.session.info[CACHE_KEY] = _read()
    return cached


def _read() -> list[CustomFieldSpec]:
    rows = db.session.execute(
        select(CustomField, FieldDepartmentOptions.department_id, FieldDepartmentOptions.options)
        .outerjoin(FieldDepartmentOptions, FieldDepartmentOptions.field_id == CustomField.id)
        .order_by(CustomField.position, CustomField.id)).all()
    fields: dict[int, CustomField] = {}
    own: dict[int, dict[int, object]] = {}
    for field, department_id, options in rows:
        fields.setdefault(field.id, field)
        if department_id is not None:
            own.setdefault(field.id, {})[department_id] = options
    needs_departments = any(TYPES[f.type].choices for f in fields.values())
    departments = list(db.session.scalars(select(Department.id))) if needs_departments else []
    return [_spec(field, own.get(field.id, {}), departments) for field in fields.values()]


def _spec(field: CustomField, own: dict, departments: list[int]) -> CustomFieldSpec:
    ftype = TYPES[field.type]
    label = Bilingual(field.label, field.label_zh)
    if field.archived:
        label = _l("%(label)s (archived)", label=label)
    by_department = None
    if ftype.choices:
        by_department = {NO_DEPARTMENT: values_of(field.options)}
        by_department.update({d: values_of(own.get(d, field.options)) for d in departments})
    return CustomFieldSpec(field.key, ftype.condition_type, label, choices_by_department=by_department)


def forget() -> None:
    """Drop the remembered specs (a definition changed in this transaction)."""
    if has_app_context():
        db.session.info.pop(CACHE_KEY, None)


def _forget_at_transaction_end(session: Session, transaction) -> None:
    # The session's own transaction or a savepoint ended; not a flush (SQLAlchemy runs each flush
    # in a subtransaction, and ends it with this same event: forgetting then re-read the fields
    # after every flush).
    if transaction.parent is None or transaction.nested:
        session.info.pop(CACHE_KEY, None)


_SOURCES = (CustomField, FieldDepartmentOptions, Department)  # the rows the catalogue is built from


def _forget_when_sources_change(session: Session, _context) -> None:
    """A flush that wrote a field, its per-department values or a department: the catalogue read
    before it is out of date (a department added in this transaction has its own values)."""
    if CACHE_KEY in session.info and any(isinstance(obj, _SOURCES) for obj in
                                         (*session.new, *session.dirty, *session.deleted)):
        session.info.pop(CACHE_KEY, None)


def install() -> None:
    register_custom_field_provider(custom_field_specs)
    if not event.contains(Session, "after_transaction_end", _forget_at_transaction_end):
        event.listen(Session, "after_transaction_end", _forget_at_transaction_end)
    if not event.contains(Session, "after_flush", _forget_when_sources_change):
        event.listen(Session, "after_flush", _forget_when_sources_change)
