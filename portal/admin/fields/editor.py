"""The field editor's state: what the side panel shows, read from a field or from a posted panel.

The panel is a plain HTML form whose inputs mirror a field document (portal.fields.schema):
`key`, `type`, `label`, ..., `validation-min`, and picklist options as repeated inputs per list
("opt-0-value", "opt-0-label", "opt-0-label_zh" in the order the rows stand; a department's own
list is "dopt<id>-0-value", a dependent picklist has one numbered group per parent value with
its "-parent" input). `FieldEditor.data()` turns that into what `save_field` takes, raw text and
all: the domain coerces and validates, and its `{path: message}` errors come back here to be
shown next to the input they name (`error("options.2.value")`). Nothing here decides what is
valid.

Buttons that change the panel without saving (add/move/remove an option row, give a department
its own values, pick another type) post the panel with `_op`; `apply(op)` does it and the panel
is rendered again.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field as dc_field
from datetime import datetime, timezone
from typing import Any, Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ...extensions import db
from ...fields.models import VISIBILITIES, CustomField
from ...fields.options import department_lists, option_label
from ...fields.runtime import field_options
from ...fields.types import TYPES, FieldType
from ...models import Department

DEPENDENT = "dependent_picklist"
TEXT_INPUTS = ("label", "label_zh", "help_text", "help_text_zh")

# One line per type for the type picker.
TYPE_HINTS = {
    "text": _l("One line of text, such as an order number."),
    "textarea": _l("Several lines of text, such as a delivery address."),
    "number": _l("A whole number, such as a quantity."),
    "decimal": _l("A number with decimals, such as a weight in kg."),
    "currency": _l("An amount of money in one currency, rounded to cents."),
    "date": _l("A day on the calendar."),
    "datetime": _l("A date and a time of day."),
    "checkbox": _l("Yes or no."),
    "picklist": _l("One choice from a list you define."),
    "multiselect": _l("Any number of choices from a list you define."),
    "dependent_picklist": _l("A choice whose options follow another picklist's value."),
    "email": _l("An email address."),
    "phone": _l("A phone number."),
    "url": _l("A web address starting with http:// or https://."),
}
VISIBILITY_LABELS = {
    "agents": _l("Agents only"),
    "customers_see": _l("Customers see it"),
    "customers_edit": _l("Customers can edit it"),
}
VISIBILITY_HINTS = {
    "agents": _l("Never shown on the customer portal."),
    "customers_see": _l("Shown read-only on the customer portal when the layout puts it there."),
    "customers_edit": _l("Customers fill it in on the portal when the layout puts it there."),
}
RULE_LABELS = {
    "min": _l("Minimum"), "max": _l("Maximum"),
    "min_length": _l("Minimum length"), "max_length": _l("Maximum length"), "regex": _l("Pattern (regular expression)"),
}
# How a value of each type is typed into an <input> (min/max and the default).
INPUT_TYPES = {"number": "number", "decimal": "number", "currency": "number", "date": "date",
               "datetime": "datetime-local", "email": "email", "url": "url", "phone": "tel"}
_GROUP_INPUT = re.compile(r"(opt|dopt\d+)-(\d+)-(value|label|label_zh|parent)$")


@dataclass
class OptionRow:
    value: str = ""
    label: str = ""
    label_zh: str = ""
    path: Optional[str] = None   # the domain's path of this row ("options.2"); None: blank, not sent
    saved: bool = False          # in the stored list: removing it asks about the tickets holding it
    new: bool = False            # just added (gets the focus)

    @property
    def blank(self) -> bool:
        return not (self.value.strip() or self.label.strip() or self.label_zh.strip())


@dataclass
class OptionGroup:
    parent: Optional[str]        # a dependent picklist's parent value; None for a plain list
    parent_label: str = ""
    rows: list[OptionRow] = dc_field(default_factory=list)
    path: str = "options"        # "options", "options.books", "department_options.3.books"
    known: bool = True           # the parent value is one of the parent's (in this scope)


@dataclass
class OptionScope:
    name: str                    # input prefix: "opt" (the field's own list) or "dopt<department id>"
    department: Optional[Department]
    own: bool                    # a department with its own list (the field's own list: always)
    groups: list[OptionGroup]
    path: str                    # "options" or "department_options.<id>"


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _shown_moment(ftype: str, value: Any) -> str:
    """A stored date-time as a datetime-local input shows it (in UTC, as stored)."""
    if ftype == "datetime" and isinstance(value, str):
        try:
            return datetime.fromisoformat(value).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M")
        except ValueError:
            return value
    return _text(value)


class FieldEditor:
    """The panel for a new field (field=None) or an existing one, from the database or a post."""

    def __init__(self, field: Optional[CustomField], form=None):
        self.field = field
        self.errors: dict[str, str] = {}
        self.departments = list(db.session.scalars(select(Department).order_by(Department.name)))
        self.stored = self._stored_lists()
        if form is None:
            self._from_field()
        else:
            self._from_form(form)
        self._build_scopes(form)

    # -- reading ----------------------------------------------------------------------------------
    def _from_field(self) -> None:
        f = self.field
        self.type = f.type if f else "text"
        self.key = f.key if f else ""
        self.texts = {name: _text(getattr(f, name, "")) for name in TEXT_INPUTS}
        self.required = bool(f and f.required)
        self.filterable = bool(f and f.filterable)
        self.visibility = f.visibility if f else "agents"
        self.currency = (f.currency or "") if f else ""
        self.parent_key = (f.parent_key or "") if f else ""
        self.validation = {k: _shown_moment(self.type, v) for k, v in ((f.validation or {}) if f else {}).items()}
        default = f.default if f else None
        if isinstance(default, bool):
            self.default: Any = "true" if default else "false"
        elif isinstance(default, list):
            self.default = [str(v) for v in default]
        else:
            self.default = _shown_moment(self.type, default)

    def _from_form(self, form) -> None:
        self.type = self.field.type if self.field else (form.get("type") or "")
        self.key = self.field.key if self.field else (form.get("key") or "").strip()
        self.texts = {name: form.get(name, "") for name in TEXT_INPUTS}
        self.required = form.get("required") == "1"
        self.filterable = form.get("filterable") == "1"
        self.visibility = form.get("visibility") or "agents"
        self.currency = form.get("currency", "")
        self.parent_key = form.get("parent_key", "")
        self.validation = {rule: form.get(f"validation-{rule}", "") for rule in RULE_LABELS
                           if form.get(f"validation-{rule}", "").strip()}
        self.default = form.getlist("default") if self.type == "multiselect" else form.get("default", "")

    def _stored_lists(self) -> dict[Optional[int], Any]:
        """{None: the field's own options, department id: its own} as saved."""
        if self.field is None:
            return {}
        return {None: self.field.options, **department_lists(self.field)}

    # -- option lists -----------------------------------------------------------------------------
    @property
    def ftype(self) -> Optional[FieldType]:
        return TYPES.get(self.type)

    @property
    def has_options(self) -> bool:
        return bool(self.ftype and self.ftype.choices)

    @property
    def dependent(self) -> bool:
        return self.type == DEPENDENT

    @property
    def parent(self) -> Optional[CustomField]:
        if not self.dependent or not self.parent_key:
            return None
        return db.session.scalar(select(CustomField).where(CustomField.key == self.parent_key))

    def parent_choices(self) -> list[CustomField]:
        """Picklists a dependent picklist may follow."""
        return list(db.session.scalars(select(CustomField).where(
            CustomField.type == "picklist", CustomField.archived_at.is_(None)).order_by(CustomField.position)))

    def _build_scopes(self, form) -> None:
        self.scopes: list[OptionScope] = []
        if not self.has_options:
            return
        own_ids = {d for d in self.stored if d is not None}
        scopes = [(None, "opt", "options", True)]
        for department in self.departments:
            own = (form.get(f"dopt{department.id}-own") == "1") if form is not None else department.id in own_ids
            if department.active or own:
                scopes.append((department, f"dopt{department.id}", f"department_options.{department.id}", own))
        for department, name, path, own in scopes:
            raw = _posted_groups(form, name) if form is not None else self._stored_groups(department)
            groups = self._groups(raw, department, path, self.stored.get(department.id if department else None))
            self.scopes.append(OptionScope(name, department, own, groups, path))

    def _stored_groups(self, department: Optional[Department]) -> dict[Optional[str], list[OptionRow]]:
        options = self.stored.get(department.id if department else None)
        if isinstance(options, dict):
            return {parent: _rows(group) for parent, group in options.items()}
        return {None: _rows(options)}

    def _groups(self, raw: dict, department, path: str, stored: Any) -> list[OptionGroup]:
        saved = _values(stored)
        if not self.dependent:
            rows = [r for group in raw.values() for r in group]
            groups = [OptionGroup(None, rows=rows, path=path)]
        else:
            parent = self.parent
            parents = field_options(parent, department.id if department else None) if parent else []
            groups = [OptionGroup(o["value"], option_label(o), raw.get(o["value"], []), f"{path}.{o['value']}")
                      for o in parents]
            known = {o["value"] for o in parents}
            groups += [OptionGroup(p, p, rows, f"{path}.{p}", known=False)
                       for p, rows in raw.items() if p is not None and p not in known and rows]
        for group in groups:
            index = 0
            for row in group.rows:
                row.saved = row.value in saved.get(group.parent, ()) if row.value else False
                row.path = None if row.blank else f"{group.path}.{index}"
                index += 0 if row.blank else 1
        return groups

    # -- panel operations (no saving) ---------------------------------------------------------------
    def apply(self, op: str) -> None:
        """"add:<scope>:<group>", "remove:/up:/down:<scope>:<group>:<row>", "own:/inherit:<department id>"."""
        parts = op.split(":")
        if parts[0] in ("own", "inherit") and len(parts) == 2:
            scope = self.scope(f"dopt{parts[1]}")
            if scope is not None:
                scope.own = parts[0] == "own"
                if scope.own:  # start from a copy of the default values
                    default = self.scope("opt")
                    scope.groups = self._groups(
                        {g.parent: [OptionRow(r.value, r.label, r.label_zh) for r in g.rows] for g in default.groups},
                        scope.department, scope.path, self.stored.get(scope.department.id))
            return
        group = self._group(parts[1:3]) if len(parts) >= 3 else None
        if group is None:
            return
        if parts[0] == "add":
            group.rows.append(OptionRow(new=True))
            return
        i = int(parts[3]) if len(parts) == 4 and parts[3].isdigit() else -1
        if not 0 <= i < len(group.rows):
            return
        if parts[0] == "remove":
            del group.rows[i]
        elif parts[0] in ("up", "down"):
            j = i - 1 if parts[0] == "up" else i + 1
            if 0 <= j < len(group.rows):
                group.rows[i], group.rows[j] = group.rows[j], group.rows[i]

    def scope(self, name: str) -> Optional[OptionScope]:
        return next((s for s in self.scopes if s.name == name), None)

    def _group(self, where: list[str]) -> Optional[OptionGroup]:
        scope = self.scope(where[0])
        if scope is None or not where[1].isdigit() or int(where[1]) >= len(scope.groups):
            return None
        return scope.groups[int(where[1])]

    # -- what save_field gets -----------------------------------------------------------------------
    def data(self) -> dict:
        data: dict[str, Any] = {name: self.texts[name] for name in TEXT_INPUTS}
        if self.field is None:
            data["key"], data["type"] = self.key, self.type
        ftype = self.ftype
        data.update(required=self.required, filterable=self.filterable, visibility=self.visibility,
                    validation=self._validation(ftype), default=self._default(),
                    currency=self.currency if self.type == "currency" else None,
                    parent_key=self.parent_key or None if self.dependent else None)
        if self.has_options:
            data["options"] = self._options(self.scopes[0])
            data["department_options"] = {str(s.department.id): self._options(s) for s in self.scopes[1:] if s.own}
        else:
            data["options"], data["department_options"] = None, {}
        return data

    def _validation(self, ftype: Optional[FieldType]) -> dict:
        rules = {}
        for rule in (ftype.rules if ftype else ()):
            raw = self.validation.get(rule, "").strip()
            if raw:
                rules[rule] = int(raw) if rule in ("min_length", "max_length") and raw.isdigit() else raw
        return rules

    def _default(self) -> Any:
        if isinstance(self.default, list):
            return self.default or None
        return self.default if self.default.strip() else None

    def _options(self, scope: OptionScope) -> Any:
        def rows(group):
            return [{"value": r.value, "label": r.label, "label_zh": r.label_zh} for r in group.rows if not r.blank]
        if not self.dependent:
            return rows(scope.groups[0])
        return {g.parent: rows(g) for g in scope.groups if rows(g)}

    # -- errors -------------------------------------------------------------------------------------
    def show_errors(self, errors: dict) -> None:
        self.errors = {str(k): str(v) for k, v in errors.items()}

    def error(self, path: str) -> Optional[str]:
        return self.errors.get(path)

    def row_errors(self, row: OptionRow) -> list[str]:
        if row.path is None:
            return []
        return [m for p, m in self.errors.items() if p == row.path or p.startswith(row.path + ".")]

    def other_errors(self) -> list[str]:
        """Messages whose path no input of the panel shows (they go at the top)."""
        shown = {"key", "type", "default", "required", "visibility", "currency", "parent_key", "filterable",
                 "validation", "department_options", *TEXT_INPUTS, *(f"validation.{r}" for r in RULE_LABELS)}
        for scope in self.scopes:
            shown.add(scope.path)
            for group in scope.groups:
                shown.add(group.path)
        rows = [r.path for s in self.scopes for g in s.groups for r in g.rows if r.path]
        return [m for p, m in self.errors.items()
                if p not in shown and not any(p == r or p.startswith(r + ".") for r in rows)]

    def scope_has_errors(self, scope: OptionScope) -> bool:
        return any(p == scope.path or p.startswith(scope.path + ".") for p in self.errors)

    # -- what the template asks ---------------------------------------------------------------------
    @property
    def types(self) -> list[tuple[FieldType, Any]]:
        return [(t, TYPE_HINTS.get(t.name, "")) for t in TYPES.values()]

    @property
    def rules(self) -> tuple[str, ...]:
        return self.ftype.rules if self.ftype else ()

    @property
    def input_type(self) -> str:
        return INPUT_TYPES.get(self.type, "text")

    @property
    def visibilities(self) -> list[tuple[str, Any, Any]]:
        return [(v, VISIBILITY_LABELS[v], VISIBILITY_HINTS[v]) for v in VISIBILITIES]

    def default_choices(self) -> list[tuple[str, str]]:
        """(value, label) of every option a picklist default may take (the field's own values)."""
        if not self.has_options:
            return []
        seen: dict[str, str] = {}
        for group in self.scopes[0].groups:
            for row in group.rows:
                if row.value.strip():
                    seen.setdefault(row.value.strip(), row.label or row.value)
        return list(seen.items())


def _rows(options: Any) -> list[OptionRow]:
    return [OptionRow(o.get("value", ""), o.get("label", ""), o.get("label_zh", ""))
            for o in (options or []) if isinstance(o, dict)]


def _values(stored: Any) -> dict[Optional[str], set[str]]:
    """{parent value or None: the values saved in that list}."""
    if isinstance(stored, dict):
        return {p: {o["value"] for o in group or [] if isinstance(o, dict) and "value" in o}
                for p, group in stored.items()}
    return {None: {o["value"] for o in stored or [] if isinstance(o, dict) and "value" in o}}


def _posted_groups(form, name: str) -> dict[Optional[str], list[OptionRow]]:
    """{parent value or None: rows} of one option list as posted (rows in the order they stand)."""
    numbers = sorted({int(m.group(2)) for key in form.keys() if (m := _GROUP_INPUT.match(key)) and m.group(1) == name})
    groups: dict[Optional[str], list[OptionRow]] = {}
    for g in numbers:
        prefix = f"{name}-{g}"
        parent = form.get(f"{prefix}-parent")
        values, labels, labels_zh = (form.getlist(f"{prefix}-{part}") for part in ("value", "label", "label_zh"))
        count = max(len(values), len(labels), len(labels_zh))
        rows = [OptionRow(_at(values, i), _at(labels, i), _at(labels_zh, i)) for i in range(count)]
        groups.setdefault(parent if parent is not None else None, []).extend(rows)
    return groups


def _at(items: list[str], i: int) -> str:
    return items[i] if i < len(items) else ""
