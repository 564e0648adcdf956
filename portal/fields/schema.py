"""Checking a field definition and a layout document before they are saved.

Both checks return (document, errors): the document normalised as it will be stored, and every
problem as {path: message}, the path naming the exact setting or row so the builder can put the
message next to it: "key", "validation.max", "options.2.value", "options.books.0.label",
"sections.0.fields.2.portal", "sections.0.fields.2.show_when.all.1". Nothing is stored while
there are errors (services.py).

A field document (what save_field takes, what revisions keep):

    {"key": "order_number", "type": "text", "label": "Order number", "label_zh": "订单号",
     "help_text": "", "help_text_zh": "", "default": null, "required": false,
     "validation": {"regex": "SO[0-9]{8}"}, "visibility": "customers_edit", "options": null,
     "parent_key": null, "currency": null, "filterable": false}

A layout document (schema version 1):

    {"version": 1, "sections": [
       {"id": "s1", "title": "Order", "title_zh": "订单",
        "fields": [{"key": "order_number", "required": true, "portal": true,
                    "show_when": {condition}, "require_when": {condition}}]}]}
"""
from __future__ import annotations

import re
from collections import deque
from typing import Any, Iterator, Optional

import regex
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..conditions import Catalogue, CustomFieldSpec, validate
from ..conditions.fields import CUSTOM_KEY
from ..extensions import db
from .labels import Bilingual
from .models import VISIBILITIES, CustomField
from .options import DEPENDENT, OptionBook, values_anywhere, values_of
from .types import RANGE_RULES, TEXTAREA_MAX, TYPES, BadValue
from .values import check_value

FIELD_KEYS = ("key", "type", "label", "label_zh", "help_text", "help_text_zh", "default", "required", "validation",
              "visibility", "options", "parent_key", "currency", "filterable")
LABEL_MAX = 200
HELP_MAX = 2000
OPTION_VALUE_MAX = 100
OPTIONS_MAX = 500
PATTERN_MAX = 500
CURRENCY = re.compile(r"[A-Z]{3}")
LAYOUT_VERSION = 1
SECTION_KEYS = ("id", "title", "title_zh", "fields")
ROW_KEYS = ("key", "required", "portal", "show_when", "require_when")
CONDITION_KEYS = ("show_when", "require_when")
SECTION_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")
SECTIONS_MAX = 50
# Standard fields a form's conditions may use besides its own cf.<key> fields: the values a
# form knows while it is being filled in.
FORM_STANDARD_FIELDS = ("priority", "channel", "department")


# ---------------------------------------------------------------------------------------------
# Field definitions
# ---------------------------------------------------------------------------------------------
def check_field(data: Any, *, current: Optional[CustomField]) -> tuple[dict, dict]:
    """(document, errors) for a new field (current=None) or a change of `current`."""
    if not isinstance(data, dict):
        return {}, {"field": _l("A field must be a JSON object.")}
    errors: dict[str, Any] = {}
    for extra in sorted(set(data) - set(FIELD_KEYS) - {"department_options"}, key=str):
        errors[str(extra)] = _l("Unknown setting %(key)s.", key=repr(extra))
    key = _key(data.get("key"), current, errors)
    ftype = _type(data.get("type"), current, errors)
    document = {
        "key": key, "type": ftype.name if ftype else data.get("type"),
        "label": _text(data, "label", LABEL_MAX, errors, missing=_l("A label is required.")),
        "label_zh": _text(data, "label_zh", LABEL_MAX, errors),
        "help_text": _text(data, "help_text", HELP_MAX, errors),
        "help_text_zh": _text(data, "help_text_zh", HELP_MAX, errors),
        "default": None,
        "required": _flag(data, "required", errors),
        "validation": _rules(data.get("validation"), ftype, errors) if ftype else {},
        "visibility": data.get("visibility", "agents"),
        "options": None, "parent_key": None,
        "currency": _currency(data.get("currency"), ftype, errors) if ftype else None,
        "filterable": _flag(data, "filterable", errors),
    }
    if document["visibility"] not in VISIBILITIES:
        errors["visibility"] = _l("Choose who sees the field: %(choices)s.", choices=", ".join(VISIBILITIES))
    if ftype is not None:
        document["options"], document["parent_key"] = _choices(data, ftype, key, errors)
        document["default"] = _default(data.get("default"), document, ftype, errors)
    return document, errors


def _key(key: Any, current: Optional[CustomField], errors: dict) -> Any:
    if key is None and current is not None:
        return current.key
    if not isinstance(key, str) or not CUSTOM_KEY.fullmatch(key):
        errors["key"] = _l("A key uses a-z, 0-9 and _, starts with a letter and has at most 63 characters.")
    elif current is not None and key != current.key:
        errors["key"] = _l("A field's key never changes (tickets store their values under it): it stays %(key)s. "
                           "Change the label instead.", key=current.key)
    else:
        clash = db.session.scalar(select(CustomField.id).where(CustomField.key == key))
        if clash is not None and (current is None or clash != current.id):
            errors["key"] = _l("Another field already has the key %(key)s.", key=key)
    return key


def _type(name: Any, current: Optional[CustomField], errors: dict):
    if name is None and current is not None:
        name = current.type
    ftype = TYPES.get(name) if isinstance(name, str) else None
    if ftype is None:
        errors["type"] = _l("Unknown type %(type)s; choose one of %(types)s.", type=repr(name),
                            types=", ".join(TYPES))
    elif current is not None and name != current.type:
        errors["type"] = _l("A field's type can't change (its stored values would no longer fit); archive it and "
                            "add a new field instead.")
        return None
    return ftype


def _text(data: dict, name: str, limit: int, errors: dict, *, path: str = "", missing=None) -> str:
    """Text setting `name` of `data`, stripped; `missing`: the message when it is required and blank."""
    here = f"{path}.{name}" if path else name
    value = data.get(name)
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[here] = _l("Enter text.")
        return ""
    value = value.strip()
    if missing is not None and not value:
        errors[here] = missing
    elif len(value) > limit:
        errors[here] = _l("Use at most %(num)d characters.", num=limit)
    return value


def _flag(data: dict, name: str, errors: dict) -> bool:
    value = data.get(name, False)
    if not isinstance(value, bool):
        errors[name] = _l("Choose true or false.")
        return False
    return value


def _rules(rules: Any, ftype, errors: dict) -> dict:
    if rules is None:
        return {}
    if not isinstance(rules, dict):
        errors["validation"] = _l("Validation is a JSON object such as %(example)s.", example='{"min": 0}')
        return {}
    clean: dict[str, Any] = {}
    for name, value in rules.items():
        path = f"validation.{name}"
        if name not in ftype.rules:
            errors[path] = (_l("A %(type)s field has no %(rule)s rule; it takes %(rules)s.", type=ftype.label,
                               rule=name, rules=", ".join(ftype.rules)) if ftype.rules else
                            _l("A %(type)s field takes no validation rules.", type=ftype.label))
        elif value is None:
            continue
        elif name in RANGE_RULES:
            try:
                clean[name] = check_value(ftype.name, value)
            except BadValue as exc:
                errors[path] = exc.message
        elif name in ("min_length", "max_length"):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= TEXTAREA_MAX:
                errors[path] = _l("Enter a whole number from 0 to %(num)d.", num=TEXTAREA_MAX)
            else:
                clean[name] = value
        else:
            clean[name] = _pattern(value, path, errors)
    if clean.get("min") is not None and clean.get("max") is not None and clean["min"] > clean["max"]:
        errors["validation.max"] = _l("The maximum must not be less than the minimum.")
    if clean.get("min_length") is not None and clean.get("max_length") is not None \
            and clean["min_length"] > clean["max_length"]:
        errors["validation.max_length"] = _l("The maximum length must not be less than the minimum length.")
    return {k: v for k, v in clean.items() if v is not None}


def _pattern(value: Any, path: str, errors: dict) -> Optional[str]:
    if not isinstance(value, str) or not value:
        errors[path] = _l("Enter a pattern.")
        return None
    if len(value) > PATTERN_MAX:
        errors[path] = _l("The pattern is too long (at most %(num)d characters).", num=PATTERN_MAX)
        return None
    try:
        regex.compile(value, regex.V0)
    except regex.error as exc:
        errors[path] = _l("The pattern is not a valid regular expression: %(error)s.", error=str(exc))
        return None
    return value


def _currency(code: Any, ftype, errors: dict) -> Optional[str]:
    if ftype.name != "currency":
        if code not in (None, ""):
            errors["currency"] = _l("Only a currency field has a currency.")
        return None
    code = code.strip().upper() if isinstance(code, str) else code
    if not isinstance(code, str) or not CURRENCY.fullmatch(code):
        errors["currency"] = _l("Enter the currency's three-letter ISO code, such as CNY or USD.")
        return None
    return code


def _choices(data: dict, ftype, key: Any, errors: dict) -> tuple[Any, Optional[str]]:
    """(options, parent_key) of the document."""
    options, parent_key = data.get("options"), data.get("parent_key")
    if ftype.name != DEPENDENT and parent_key not in (None, ""):
        errors["parent_key"] = _l("Only a dependent picklist has a parent field.")
    if ftype.choices is None:
        if options not in (None, [], {}):
            errors["options"] = _l("Only picklists and multi-selects have options.")
        return None, None
    if ftype.name != DEPENDENT:
        return check_option_list(options, "options", errors), None
    parent = _parent(parent_key, key, errors)
    if parent is None:
        return (options if isinstance(options, dict) else None), parent_key
    return check_mapping(options, "options", values_anywhere(parent), parent, errors), parent.key


def _parent(parent_key: Any, key: Any, errors: dict) -> Optional[CustomField]:
    if parent_key in (None, ""):
        errors["parent_key"] = _l("Choose the picklist this one depends on.")
        return None
    parent = db.session.scalar(select(CustomField).where(CustomField.key == parent_key)) \
        if isinstance(parent_key, str) else None
    if parent is None:
        errors["parent_key"] = _l("There is no field %(key)s.", key=repr(parent_key))
    elif parent.type != "picklist" or parent_key == key:
        errors["parent_key"] = _l("%(key)s is not a picklist; a dependent picklist depends on a picklist.",
                                  key=parent_key)
    elif parent.archived:
        errors["parent_key"] = _l("%(key)s is archived.", key=parent_key)
    else:
        return parent
    return None


def check_option_list(options: Any, path: str, errors: dict) -> list[dict]:
    """A list of options normalised to {"value", "label", "label_zh"}; a bare string is an option
    whose label is its value. At least one option; values unique."""
    if not isinstance(options, list) or not options:
        errors[path] = _l("Add at least one option.") if options in (None, [], {}) else \
            _l("Options are a list such as %(example)s.", example='[{"value": "books", "label": "Books"}]')
        return []
    if len(options) > OPTIONS_MAX:
        errors[path] = _l("Use at most %(num)d options.", num=OPTIONS_MAX)
        return []
    clean: list[dict] = []
    seen: dict[str, int] = {}
    for i, option in enumerate(options):
        here = f"{path}.{i}"
        if isinstance(option, str):
            option = {"value": option}
        if not isinstance(option, dict):
            errors[here] = _l("An option is an object with a value, a label and a Chinese label.")
            continue
        extra = sorted(str(k) for k in option if k not in ("value", "label", "label_zh"))
        if extra:
            errors[here] = _l("Unknown key %(key)s.", key=repr(extra[0]))
        value = option.get("value")
        value = value.strip() if isinstance(value, str) else ""
        if not value:
            errors[f"{here}.value"] = _l("Enter the option's value (the key tickets store).")
            continue
        if len(value) > OPTION_VALUE_MAX:
            errors[f"{here}.value"] = _l("Use at most %(num)d characters.", num=OPTION_VALUE_MAX)
        if value in seen:
            errors[f"{here}.value"] = _l("The value %(value)s is used twice (also option %(other)d).",
                                         value=repr(value), other=seen[value] + 1)
        seen.setdefault(value, i)
        labels = {}
        for name in ("label", "label_zh"):
            text = option.get(name)
            if text is not None and not isinstance(text, str):
                errors[f"{here}.{name}"] = _l("Enter text.")
                text = None
            labels[name] = (text or "").strip()
            if len(labels[name]) > LABEL_MAX:
                errors[f"{here}.{name}"] = _l("Use at most %(num)d characters.", num=LABEL_MAX)
        clean.append({"value": value, "label": labels["label"] or value, "label_zh": labels["label_zh"]})
    return clean


def check_mapping(options: Any, path: str, parent_values: list[str], parent: CustomField, errors: dict) -> dict:
    """A dependent picklist's {"<parent value>": [options]}: each key a value of the parent."""
    if not isinstance(options, dict) or not options:
        errors[path] = _l("Add at least one option.") if options in (None, [], {}) else \
            _l("A dependent picklist's options are lists keyed by the parent's values, such as %(example)s.",
               example='{"books": [{"value": "novel", "label": "Novel"}]}')
        return {}
    clean = {}
    for parent_value, group in options.items():
        here = f"{path}.{parent_value}"
        if parent_value not in parent_values:
            errors[here] = _l("%(value)s is not a value of %(parent)s.", value=repr(parent_value), parent=parent.key)
            continue
        clean[parent_value] = check_option_list(group, here, errors)
    return clean


def _default(value: Any, document: dict, ftype, errors: dict) -> Any:
    if value is None or any(p.startswith(("options", "validation", "parent_key")) for p in errors):
        return None  # the default is checked against settings that are themselves fine
    try:
        return check_value(ftype.name, value, rules=document["validation"], options=values_of(document["options"]))
    except BadValue as exc:
        errors["default"] = _l("The default doesn't fit the field: %(reason)s", reason=exc.message)
        return None


def check_department_options(document: dict, department_id: int, options: Any, path: str = "options"
                             ) -> tuple[Any, dict]:
    """(options, errors) of a department's own list for the field `document` describes (error
    paths under `path`: "options", "options.0.value"). A dependent picklist's list is keyed by the
    values its parent has in that department."""
    errors: dict[str, Any] = {}
    ftype = TYPES.get(document.get("type"))
    if ftype is None or ftype.choices is None:
        return None, {path: _l("Only picklists and multi-selects have options.")}
    if ftype.name != DEPENDENT:
        return check_option_list(options, path, errors), errors
    parent = db.session.scalar(select(CustomField).where(CustomField.key == document.get("parent_key")))
    if parent is None:
        return None, {path: _l("Choose the picklist this one depends on.")}
    parent_values = OptionBook([parent], department_id).every_value(parent)
    return check_mapping(options, path, parent_values, parent, errors), errors


# ---------------------------------------------------------------------------------------------
# Layouts
# ---------------------------------------------------------------------------------------------
def check_layout(document: Any, *, department_id: Optional[int], previous: Optional[dict] = None
                 ) -> tuple[dict, dict]:
    """(document, errors) of a layout for `department_id` (None: the default layout). `previous`,
    the layout's current document: an archived field already on it may stay (it shows read-only)."""
    errors: dict[str, Any] = {}
    if not isinstance(document, dict):
        return {}, {"layout": _l("A layout must be a JSON object.")}
    for extra in sorted(str(k) for k in document if k not in ("version", "sections")):
        errors[extra] = _l("Unknown setting %(key)s.", key=repr(extra))
    if document.get("version") != LAYOUT_VERSION:
        errors["version"] = _l("Unsupported layout version %(version)s; this desk reads version %(supported)d.",
                               version=repr(document.get("version")), supported=LAYOUT_VERSION)
    sections = document.get("sections")
    if not isinstance(sections, list) or len(sections) > SECTIONS_MAX:
        errors["sections"] = _l("Sections are a list of at most %(num)d sections.", num=SECTIONS_MAX)
        sections = []
    keys = [row.get("key") for s in sections if isinstance(s, dict) and isinstance(s.get("fields"), list)
            for row in s["fields"] if isinstance(row, dict) and isinstance(row.get("key"), str)]
    fields = {f.key: f for f in db.session.scalars(select(CustomField).where(CustomField.key.in_(set(keys))))}
    kept = set(layout_keys(previous or {}))
    clean_sections, placed = [], {}
    section_ids: dict[str, int] = {}
    for i, section in enumerate(sections):
        clean_sections.append(_section(section, f"sections.{i}", section_ids, fields, kept, placed, errors))
    _check_conditions(placed, fields, department_id, errors)
    return {"version": LAYOUT_VERSION, "sections": clean_sections}, errors


def layout_keys(document: dict) -> list[str]:
    """The field keys of a (stored, valid) layout document, in order."""
    return [row["key"] for section in document.get("sections", []) for row in section.get("fields", [])]


def _section(section: Any, path: str, section_ids: dict, fields: dict, kept: set, placed: dict, errors: dict) -> dict:
    if not isinstance(section, dict):
        errors[path] = _l("A section is an object with an id, a title and fields.")
        return {}
    for extra in sorted(str(k) for k in section if k not in SECTION_KEYS):
        errors[path] = _l("Unknown key %(key)s.", key=repr(extra))
    section_id = section.get("id")
    if not isinstance(section_id, str) or not SECTION_ID.fullmatch(section_id):
        errors[f"{path}.id"] = _l("A section id uses letters, digits, _ and - (at most 40).")
    elif section_id in section_ids:
        errors[f"{path}.id"] = _l("Section id %(id)s is used twice.", id=repr(section_id))
    else:
        section_ids[section_id] = len(section_ids)
    title = _text(section, "title", LABEL_MAX, errors, path=path, missing=_l("A section needs a title."))
    title_zh = _text(section, "title_zh", LABEL_MAX, errors, path=path)
    rows = section.get("fields", [])
    if not isinstance(rows, list):
        errors[f"{path}.fields"] = _l("A section's fields are a list.")
        rows = []
    clean_rows = [_row(row, f"{path}.fields.{j}", fields, kept, placed, errors) for j, row in enumerate(rows)]
    return {"id": section_id, "title": title, "title_zh": title_zh, "fields": clean_rows}


def _row(row: Any, path: str, fields: dict, kept: set, placed: dict, errors: dict) -> dict:
    if not isinstance(row, dict):
        errors[path] = _l("A row is an object naming a field: %(example)s.", example='{"key": "order_number"}')
        return {}
    for extra in sorted(str(k) for k in row if k not in ROW_KEYS):
        errors[path] = _l("Unknown key %(key)s.", key=repr(extra))
    key = row.get("key")
    field = fields.get(key) if isinstance(key, str) else None
    if field is None:
        errors[f"{path}.key"] = _l("There is no field %(key)s.", key=repr(key))
    elif field.archived and key not in kept:
        errors[f"{path}.key"] = _l("Field %(key)s is archived; it can't be added to a layout.", key=key)
    elif key in placed:
        errors[f"{path}.key"] = _l("Field %(key)s is already on the layout (at %(where)s).", key=key,
                                   where=placed[key][0])
        field = None
    clean: dict[str, Any] = {"key": key}
    required = row.get("required")
    if required is not None and not isinstance(required, bool):
        errors[f"{path}.required"] = _l("Choose true, false or leave it out (the field's own setting).")
    elif required is not None:
        clean["required"] = required
    portal = row.get("portal", False)
    if not isinstance(portal, bool):
        errors[f"{path}.portal"] = _l("Choose true or false.")
        portal = False
    elif portal and field is not None and field.visibility == "agents":
        errors[f"{path}.portal"] = _l("%(field)s is for agents only; let customers see it (its visibility) before "
                                      "putting it on the customer portal.", field=field.label)
    clean["portal"] = portal
    for name in CONDITION_KEYS:
        if row.get(name) is not None:
            clean[name] = row[name]
    if field is not None:
        placed[key] = (path, clean)
    return clean


def _check_conditions(placed: dict, fields: dict, department_id: Optional[int], errors: dict) -> None:
    """show_when / require_when of every row: valid conditions over the form's own fields, and no
    field waiting on itself through a chain of them."""
    catalogue = form_catalogue([fields[k] for k in placed], department_id, with_choices=True)
    edges: dict[str, dict[str, str]] = {}
    for key, (path, row) in placed.items():
        for name in CONDITION_KEYS:
            if name not in row:
                continue
            cond, here = row[name], f"{path}.{name}"
            for leaf_path, leaf in _leaves(cond, ""):
                field_name = leaf.get("field")
                if not isinstance(field_name, str) or field_name in FORM_STANDARD_FIELDS:
                    continue
                if field_name.startswith("cf.") and field_name[3:] in placed:
                    edges.setdefault(key, {}).setdefault(field_name[3:], name)
                elif field_name.startswith("cf."):
                    errors.setdefault(_join(here, named_path(cond, leaf_path)), _l(
                        "Field %(key)s is not on this layout; a condition can only use fields of the same form.",
                        key=field_name[3:]))
                else:
                    errors.setdefault(_join(here, named_path(cond, leaf_path)), _l(
                        "A form's conditions can use the form's own fields, priority, channel and department."))
            for problem in validate(cond, catalogue, context="query"):
                errors.setdefault(_join(here, named_path(cond, problem.path)), problem.message)
    for key, (cycle, name) in _cycles(edges).items():
        errors.setdefault(f"{placed[key][0]}.{name}",
                          _l("Circular condition: %(cycle)s.", cycle=" → ".join(cycle)))


def form_catalogue(fields: list[CustomField], department_id: Optional[int], *, with_choices: bool) -> Catalogue:
    """The standard fields plus `fields` as cf.<key>. With choices: the values the department
    offers (the default layout: any department's), so a condition naming another value is refused."""
    book = OptionBook(fields, department_id) if department_id is not None else None
    specs = []
    for field in fields:
        by_department = None
        if with_choices and TYPES[field.type].choices:
            values = book.every_value(field) if book else values_anywhere(field)
            by_department = {department_id or 0: values}
        label = Bilingual(field.label, field.label_zh)
        specs.append(CustomFieldSpec(field.key, TYPES[field.type].condition_type, label,
                                     choices_by_department=by_department))
    return Catalogue(custom=specs)


def _join(base: str, path: str) -> str:
    return f"{base}.{path}" if path else base


def _leaves(cond: Any, path: str) -> Iterator[tuple[str, dict]]:
    """(validate()'s row path, row) of every row (leaf) of a condition, however malformed."""
    if not isinstance(cond, dict):
        return
    for kind in ("all", "any", "not"):
        if kind in cond:
            children = [cond[kind]] if kind == "not" else cond[kind]
            if isinstance(children, list):
                for i, child in enumerate(children):
                    yield from _leaves(child, f"{path}.{i}" if path else str(i))
            return
    yield path, cond


def named_path(cond: Any, path: str) -> str:
    """validate()'s index path ("1.0") spelled with the group names ("all.1.any.0"), as the
    builder addresses rows; a `not`'s child is "not"."""
    if not path:
        return ""
    out, node = [], cond
    for step in path.split("."):
        kind = next((k for k in ("all", "any", "not") if isinstance(node, dict) and k in node), None)
        if kind is None:
            out.append(step)
            node = None
        elif kind == "not":
            out.append("not")
            node = node["not"]
        else:
            out += [kind, step]
            children = node[kind]
            node = children[int(step)] if isinstance(children, list) and step.isdigit() and int(step) < len(children) \
                else None
    return ".".join(out)


def _cycles(edges: dict[str, dict[str, str]]) -> dict[str, tuple[list[str], str]]:
    """{key: (its shortest cycle, from key back to key; the condition of key's first step)} for
    every key on a cycle of condition references."""
    found = {}
    for start in edges:
        came_from: dict[str, str] = {}
        queue = deque([start])
        while queue:
            node = queue.popleft()
            for nxt in edges.get(node, {}):
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    cycle = [start, *reversed(path[:-1]), start] if node != start else [start, start]
                    found[start] = (cycle, edges[start][cycle[1]])
                    queue.clear()
                    break
                if nxt not in came_from:
                    came_from[nxt] = node
                    queue.append(nxt)
    return found
