"""Export and import of the desk's custom fields, department values and layouts, as one JSON document:

    {"schema": 1,
     "fields": [{<field document>, "archived": false,
                 "department_options": [{"department": "Books", "options": [...]}]}, ...],
     "layouts": [{"department": null, "document": {"version": 1, "sections": [...]}},
                 {"department": "Books", "document": {...}}]}

Departments are named by name (a desk's ids mean nothing to another desk); fields by their key.
Import creates or updates by key and department, validates every item as a save would, and is all
or nothing: errors name the item and the row ("Field 'size', options.2.value: ...", "Layout
'Books', section 1, row 3: ..."), and when there is any, nothing of the file is kept.
"""
from __future__ import annotations

import json
import re
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..extensions import db
from ..models import Department, User
from ..services.departments import find_department
from ..services.errors import ValidationFailed
from . import services
from .documents import field_document
from .models import CustomField, Layout
from .options import DEPENDENT

SCHEMA = 1


def export_layouts() -> dict:
    """Every field (archived ones too, marked), every department list and every layout."""
    names = dict(db.session.execute(select(Department.id, Department.name)).all())
    fields = []
    for field in db.session.scalars(select(CustomField).order_by(CustomField.position, CustomField.id)):
        document = field_document(field)
        lists = document.pop("department_options")
        document["archived"] = field.archived
        document["department_options"] = [{"department": names[int(d)], "options": options}
                                          for d, options in lists.items()]
        fields.append(document)
    layouts = [{"department": names[layout.department_id] if layout.department_id else None,
                "document": layout.document}
               for layout in db.session.scalars(select(Layout).order_by(func.coalesce(Layout.department_id, 0)))]
    return {"schema": SCHEMA, "fields": fields, "layouts": layouts}


def import_layouts(doc: Any, by: User | None) -> dict:
    """Create or update every field and layout of an export; all or nothing (ValidationFailed).

    Returns {"fields": {"created": [keys], "updated": [...], "unchanged": [...]},
             "layouts": {"created": [departments], "updated": [...], "unchanged": [...]}}
    (the default layout is named "default").
    """
    doc = _parsed(doc)
    errors: dict[str, Any] = {}
    outcome = {"fields": _tally(), "layouts": _tally()}
    with db.session.begin_nested():  # rolled back when this block raises
        archive_flags = _import_fields(doc["fields"], by, errors, outcome["fields"])
        # Restored before the layouts are saved and archived after: a layout may only take a field
        # that isn't archived, and a field archived in the file may still sit on its layouts.
        _set_archived([(f, a) for f, a in archive_flags if not a], by, outcome["fields"])
        _import_layouts(doc["layouts"], by, errors, outcome["layouts"])
        _set_archived([(f, a) for f, a in archive_flags if a], by, outcome["fields"])
        if errors:
            raise ValidationFailed(errors)
    return outcome


def _set_archived(flags: list[tuple[CustomField, bool]], by, tally: dict) -> None:
    for field, archived in flags:
        if field.archived == archived:
            continue
        (services.archive_field if archived else services.restore_field)(field, by)
        if field.key in tally["unchanged"]:
            tally["unchanged"].remove(field.key)
            tally["updated"].append(field.key)


def _parsed(doc: Any) -> dict:
    if isinstance(doc, (str, bytes, bytearray)):
        try:
            doc = json.loads(doc)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValidationFailed({"file": _l("Not valid JSON: %(reason)s.", reason=str(exc))}) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("fields", []), list) \
            or not isinstance(doc.get("layouts", []), list):
        raise ValidationFailed({"file": _l("Expected %(shape)s.",
                                           shape='{"schema": 1, "fields": [...], "layouts": [...]}')})
    if doc.get("schema") != SCHEMA:
        raise ValidationFailed({"schema": _l("Unsupported schema %(schema)s; this desk reads schema %(supported)d.",
                                             schema=repr(doc.get("schema")), supported=SCHEMA)})
    return {"fields": doc.get("fields", []), "layouts": doc.get("layouts", [])}


def _tally() -> dict[str, list]:
    return {"created": [], "updated": [], "unchanged": []}


def _import_fields(items: list, by, errors: dict, tally: dict) -> list[tuple[CustomField, bool]]:
    flags = []
    seen: set[str] = set()
    # Parents first: a dependent picklist is checked against its parent's values.
    order = sorted(enumerate(items), key=lambda pair: isinstance(pair[1], dict) and pair[1].get("type") == DEPENDENT)
    for i, item in order:
        key = item.get("key") if isinstance(item, dict) else None
        name = _l("Field %(key)s", key=repr(key)) if isinstance(key, str) else _l("Field %(num)d", num=i + 1)
        problems: dict[str, Any] = {}
        if not isinstance(item, dict):
            problems[""] = _l("A field must be a JSON object.")
        elif key in seen:
            problems["key"] = _l("The key is used twice in the file.")
        else:
            seen.add(key)
            data = dict(item)
            archived = data.pop("archived", False)
            if not isinstance(archived, bool):
                problems["archived"] = _l("Choose true or false.")
            if "department_options" in data:
                data["department_options"] = _department_ids(data["department_options"], problems)
            existing = db.session.scalar(select(CustomField).where(CustomField.key == key)) \
                if isinstance(key, str) else None
            if not problems:
                before = existing.revision if existing is not None else None
                try:
                    field = services.save_field(existing, data, by)
                except ValidationFailed as exc:
                    problems.update(exc.errors)
                else:
                    tally[_what_happened(existing, before, field.revision)].append(field.key)
                    flags.append((field, archived))
        for path, message in problems.items():
            errors[_join(f"fields.{i}", path)] = _named(name, path, message)
    return flags


def _department_ids(lists: Any, problems: dict) -> Any:
    """[{"department": name, "options": [...]}] as save_field takes it: {department id: options}."""
    if not isinstance(lists, list):
        problems["department_options"] = _l("Department options are a list of %(shape)s.",
                                            shape='{"department": "Books", "options": [...]}')
        return None
    by_id = {}
    for j, entry in enumerate(lists):
        department = _department(entry.get("department")) if isinstance(entry, dict) else None
        if department is None:
            problems[f"department_options.{j}.department"] = _l("Unknown department %(department)s.", department=repr(
                entry.get("department") if isinstance(entry, dict) else entry))
            continue
        by_id[str(department.id)] = entry.get("options")
    return by_id


def _department(name: Any) -> Department | None:
    """Layouts name their department (ids differ between desks): a name only, never an id."""
    return find_department(name) if isinstance(name, str) else None


def _import_layouts(items: list, by, errors: dict, tally: dict) -> None:
    for j, item in enumerate(items):
        named = item.get("department") if isinstance(item, dict) else None
        name = _l("Layout %(department)s", department=repr(named)) if named else _l("The default layout")
        problems: dict[str, Any] = {}
        department = _department(named) if named is not None else None
        if not isinstance(item, dict):
            problems[""] = _l("A layout entry is %(shape)s.", shape='{"department": ..., "document": {...}}')
        elif named is not None and department is None:
            problems["department"] = _l("Unknown department %(department)s.", department=repr(named))
        else:
            existing = services.layout_row(department)
            before = existing.revision if existing is not None else None
            try:
                layout = services.save_layout(department, item.get("document"), by)
            except ValidationFailed as exc:
                problems.update(exc.errors)
            else:
                tally[_what_happened(existing, before, layout.revision)].append(department.name if department
                                                                                 else "default")
        for path, message in problems.items():
            errors[_join(f"layouts.{j}", path)] = _named(name, _row_name(path), message)


def _named(item, row: str, message):
    """An import error as people read it: which item, which row, what is wrong."""
    if not row:
        return _l("%(item)s: %(message)s", item=item, message=message)
    return _l("%(item)s, %(row)s: %(message)s", item=item, row=row, message=message)


def _what_happened(existing, before, after) -> str:
    if existing is None:
        return "created"
    return "updated" if after != before else "unchanged"


def _join(base: str, path: str) -> str:
    return f"{base}.{path}" if path else base


_LAYOUT_ROW = re.compile(r"sections\.(\d+)(?:\.fields\.(\d+))?(?:\.(.+))?")


def _row_name(path: str) -> str:
    """"sections.0.fields.2.portal" as people count: "section 1, row 3, portal"."""
    match = _LAYOUT_ROW.fullmatch(path)
    if match is None:
        return path
    parts = [str(_l("section %(num)d", num=int(match[1]) + 1))]
    if match[2] is not None:
        parts.append(str(_l("row %(num)d", num=int(match[2]) + 1)))
    if match[3]:
        parts.append(match[3])
    return ", ".join(parts)
