"""Forms at request time: one layout engine for the agent form, the customer portal and the API.

    layout = layout_for(department_id)                       # the department's, else the default
    sections = form_fields(department_id, "customer", values) # what to show, required, read-only
    clean, errors = validate_submission(department_id, "api", submitted, current=ticket.custom_fields)
    conflicts = department_conflicts(ticket, new_department_id)

Audiences: "agent" and "api" may set every field on the layout that isn't archived; "customer"
only the fields placed on the portal (`portal: true`) that customers may edit (`customers_edit`),
and sees read-only the portal fields they may only see (`customers_see`).

Conditional fields: `show_when` / `require_when` are conditions (portal.conditions) over the form's
values as `cf.<key>` plus priority, channel and department, evaluated with compile_to_python and
no change set. A hidden field counts as empty for other fields' conditions (pick a category, its
sub-category appears; pick another, both the sub-category and what depended on it go away), is
never required, and can't be set: a crafted POST naming it is refused. Layouts have no cycles
(schema.py refuses them), so this settles in as many passes as the longest chain of conditions.
"""
from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field
from datetime import tzinfo
from typing import Any, Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from ..conditions import ConditionTimeout, InvalidCondition, compile_to_python
from ..extensions import db
from ..models import Department, Priority, Ticket, utcnow
from .labels import localised
from .models import CustomField, Layout, stored_layout
from .options import DEPENDENT, OptionBook, field_options  # noqa: F401  (field_options: part of this API)
from .schema import LAYOUT_VERSION, form_catalogue, layout_keys
from .ticket_values import same_value
from .types import TYPES, BadValue, is_blank
from .values import check_value

AUDIENCES = ("agent", "customer", "api")
NOT_AVAILABLE = _l("This field is not available.")


def layout_for(department_id: Optional[int]) -> Layout:
    """The department's layout, else the default one; a desk with no layout at all gets an empty
    default (not saved)."""
    if department_id is None:
        layout = stored_layout(None)
    else:  # one query for both (every ticket written through a form or the API reads this)
        layout = db.session.scalar(
            select(Layout).where(or_(Layout.department_id == department_id, Layout.department_id.is_(None)))
            .order_by(Layout.department_id.is_(None)).limit(1))
    return layout or Layout(department_id=None, revision=0, document={"version": LAYOUT_VERSION, "sections": []})


@dataclass
class FormField:
    field: CustomField
    row: dict                  # the layout row: key, required, portal, show_when, require_when
    label: str                 # in the reader's language
    help_text: str
    value: Any
    options: list[dict]        # the options that apply now (department, parent's value)
    visible: bool = True
    required: bool = False     # effective: the row's or the field's setting, or require_when; never when hidden
    read_only: bool = False    # archived; or, for customers, a field they may only see

    @property
    def key(self) -> str:
        return self.field.key

    @property
    def type(self) -> str:
        return self.field.type


@dataclass
class FormSection:
    id: str
    title: str
    fields: list[FormField] = dataclass_field(default_factory=list)


class _Form:
    """A department's layout resolved for one audience: its fields, options and conditions."""

    def __init__(self, department_id: Optional[int], audience: str):
        if audience not in AUDIENCES:
            raise ValueError(f"audience must be one of {AUDIENCES}, not {audience!r}")
        self.department_id, self.audience = department_id, audience
        self.document = layout_for(department_id).document
        keys = layout_keys(self.document)
        self.fields = {f.key: f for f in db.session.scalars(select(CustomField).where(CustomField.key.in_(keys)))
                       } if keys else {}
        self.rows = {row["key"]: row for section in self.document["sections"] for row in section["fields"]
                     if row["key"] in self.fields}
        self.book = OptionBook(self.fields.values(), department_id)
        # Any value goes in the runtime catalogue: a saved condition must keep compiling after one
        # of the values it names is removed from a list (it then simply doesn't match).
        self.catalogue = form_catalogue(list(self.fields.values()), None, with_choices=False)

    def shown_to_audience(self, key: str) -> bool:
        """Customers see only the portal's fields, and only those not kept for agents."""
        if self.audience != "customer":
            return True
        return bool(self.rows[key].get("portal")) and self.fields[key].visibility != "agents"

    def read_only(self, key: str) -> bool:
        field = self.fields[key]
        return field.archived or (self.audience == "customer" and field.visibility != "customers_edit")

    def settable(self, key: str) -> bool:
        return self.shown_to_audience(key) and not self.read_only(key)

    def settle(self, values: dict, ticket_fields: Optional[dict]) -> tuple[dict[str, bool], dict]:
        """({key: visible}, the snapshot conditions saw): hidden fields count as empty, so repeat
        until no visibility changes (a chain of n conditions settles in n passes)."""
        base = _standard_snapshot(self.department_id, ticket_fields)
        visible = {key: True for key in self.rows}
        for _ in range(len(self.rows) + 1):
            snapshot = {**base, **{f"cf.{k}": (values.get(k) if visible[k] else None) for k in self.rows}}
            now = {key: self._holds(self.rows[key].get("show_when"), snapshot, True) for key in self.rows}
            if now == visible:
                return visible, snapshot
            visible = now
        return visible, snapshot

    def required(self, key: str, visible: bool, snapshot: dict) -> bool:
        if not visible or not self.settable(key):
            return False
        row, field = self.rows[key], self.fields[key]
        own = row["required"] if row.get("required") is not None else field.required
        return bool(own or self._holds(row.get("require_when"), snapshot, False))

    def options(self, key: str, values: dict) -> list[dict]:
        field = self.fields[key]
        return self.book.options(field, values.get(field.parent_key) if field.type == DEPENDENT else None)

    def _holds(self, condition: Any, snapshot: dict, absent: bool) -> bool:
        """The condition's answer; `absent` when there is none or it can't be evaluated (a
        regex that timed out), so a broken condition neither hides nor demands a field."""
        if condition is None:
            return absent
        try:
            return compile_to_python(condition, self.catalogue)(snapshot, {})
        except (InvalidCondition, ConditionTimeout):
            return absent


def _standard_snapshot(department_id: Optional[int], ticket_fields: Optional[dict]) -> dict:
    """The standard fields a form's conditions may use, as portal.conditions.snapshot has them."""
    ticket_fields = ticket_fields or {}
    priority = ticket_fields.get("priority", "normal")
    try:
        rank = int(priority) if isinstance(priority, int) else int(Priority.from_key(priority))
    except ValueError:
        rank = None
    return {"priority": rank, "channel": ticket_fields.get("channel"), "department": department_id, "now": utcnow()}


# ---------------------------------------------------------------------------------------------
def form_fields(department_id: Optional[int], audience: str, values: Optional[dict] = None, *,
                ticket_fields: Optional[dict] = None) -> list[FormSection]:
    """The layout's sections as `audience` gets them, with each field's current state for `values`
    ({key: stored value}); `ticket_fields`: the standard fields conditions may use
    ({"priority": "high", "channel": "email"}). Sections with no field for the audience are left out."""
    form = _Form(department_id, audience)
    values = dict(values or {})
    visible, snapshot = form.settle(values, ticket_fields)
    sections = []
    for section in form.document["sections"]:
        shown = []
        for row in section["fields"]:
            key = row["key"]
            if key not in form.rows or not form.shown_to_audience(key):
                continue
            field = form.fields[key]
            shown.append(FormField(
                field=field, row=form.rows[key], label=localised(field.label, field.label_zh),
                help_text=localised(field.help_text, field.help_text_zh), value=values.get(key),
                options=form.options(key, values), visible=visible[key],
                required=form.required(key, visible[key], snapshot), read_only=form.read_only(key)))
        if shown:
            sections.append(FormSection(section["id"], localised(section["title"], section.get("title_zh")), shown))
    return sections


def validate_submission(department_id: Optional[int], audience: str, submitted: dict, current: Optional[dict] = None,
                        tz: tzinfo | str | None = None, *, ticket_fields: Optional[dict] = None
                        ) -> tuple[dict, dict]:
    """The one server-side check of a submitted form, whatever the channel.

    `submitted`: {key: value as typed or sent}; `current`: the ticket's stored values (None: a new
    ticket); `tz`: how to read a date-time without an offset. Returns (clean, errors): clean is
    {key: stored value, None to remove} for the accepted keys of the layout; errors is
    {key: message}. Nothing is refused silently: unknown keys, fields the audience can't set or
    that are hidden, bad values and missing required values each get their message.
    """
    form = _Form(department_id, audience)
    current = dict(current or {})
    errors: dict[str, Any] = {}
    candidates: dict[str, Any] = {}
    unknown = set(submitted) - set(form.rows)
    defined = set(db.session.scalars(select(CustomField.key).where(CustomField.key.in_(unknown)))) if unknown else set()
    for key in sorted(unknown):
        errors[key] = NOT_AVAILABLE if key in defined else _l("There is no field %(key)s.", key=key)
    # Parents before dependents: a dependent's options follow its parent's new value.
    wanted = sorted((k for k in submitted if k in form.rows), key=lambda k: form.fields[k].type == DEPENDENT)
    merged = dict(current)
    for key in wanted:
        raw, field = submitted[key], form.fields[key]
        if not _changes(field.type, raw, current.get(key), tz):
            # Sent back as stored: nothing to check or store. Like the ticket service, a value that
            # no longer fits (another department's, a removed option) stays until someone changes it.
            continue
        if not form.settable(key):
            errors[key] = (_l("This field is archived; its value can't be changed.")
                           if field.archived and form.shown_to_audience(key) else NOT_AVAILABLE)
            continue
        try:
            if field.type == DEPENDENT and not is_blank(raw) and is_blank(merged.get(field.parent_key)):
                raise BadValue(_l("Choose a value of %(parent)s first.", parent=field.parent_key))
            value = check_value(field.type, raw, rules=field.validation,
                                options=[o["value"] for o in form.options(key, merged)], tz=tz)
        except BadValue as exc:
            errors[key] = exc.message
            continue
        candidates[key] = value
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    visible, snapshot = form.settle(merged, ticket_fields)
    for key in list(candidates):
        if not visible[key]:
            # A form may post its hidden inputs empty: only a value is an attempt to set the field.
            if candidates[key] is not None:
                errors[key] = NOT_AVAILABLE
            del candidates[key]
            merged[key] = current.get(key)
    for key in form.rows:
        if key in errors or not form.required(key, visible[key], snapshot):
            continue
        value = merged.get(key)
        if is_blank(value) or (form.fields[key].type == "checkbox" and value is not True):
            errors[key] = _l("This field is required.")
    _check_dependents(form, current, merged, visible, errors)
    return candidates, errors


def _changes(type_name: str, raw: Any, stored: Any, tz) -> bool:
    """Does a submitted value try to change a stored one? A form echoing it back doesn't, as
    text ("12.5") or as JSON (12.5)."""
    if is_blank(raw):
        return not is_blank(stored)
    try:
        return not same_value(TYPES[type_name].coerce(raw, tz), stored)
    except BadValue:
        return True


def _check_dependents(form: _Form, current: dict, merged: dict, visible: dict, errors: dict) -> None:
    """A dependent picklist whose parent changed must hold a value of the parent's new list."""
    for key, field in form.fields.items():
        if field.type != DEPENDENT or key in errors or not visible.get(key) or not form.settable(key):
            continue
        value = merged.get(key)
        parent_changed = not same_value(current.get(field.parent_key), merged.get(field.parent_key))
        if parent_changed and value is not None and value not in [o["value"] for o in form.options(key, merged)]:
            errors[key] = _l("'%(value)s' doesn't go with the new %(parent)s; choose again.", value=value,
                             parent=field.parent_key)


def department_conflicts(ticket: Ticket, new_department_id: int) -> list[dict]:
    """The ticket's values that the new department's form doesn't accept: [{key, value, reason}].

    Shown to the agent to resolve; the values stay on the ticket until someone changes them.
    """
    values = dict(ticket.custom_fields or {})
    if not values:
        return []
    department = db.session.get(Department, new_department_id)
    where = department.label if department is not None else str(new_department_id)
    on_form = set(layout_keys(layout_for(new_department_id).document))
    fields = {f.key: f for f in db.session.scalars(select(CustomField).where(CustomField.key.in_(list(values))))}
    book = OptionBook(fields.values(), new_department_id)
    conflicts = []
    for key, value in values.items():
        field = fields.get(key)
        if field is None or field.archived:
            continue  # read-only everywhere: nothing to resolve
        reason = None
        if key not in on_form:
            reason = _l("%(field)s is not on the %(department)s form.", field=localised(field.label, field.label_zh),
                        department=where)
        elif TYPES[field.type].choices:
            allowed = book.values(field, values.get(field.parent_key) if field.type == DEPENDENT else None)
            missing = [v for v in (value if isinstance(value, list) else [value]) if v not in allowed]
            if missing:
                reason = _l("%(values)s: not a value of %(field)s in %(department)s.",
                            values=", ".join(f"'{v}'" for v in missing), field=localised(field.label, field.label_zh),
                            department=where)
        if reason is not None:
            conflicts.append({"key": key, "value": value, "reason": reason})
    return conflicts


# Part of this API; forms.py builds on the functions above.
from .forms import build_form  # noqa: E402
