"""Field and layout documents as revisions keep them, and one-line summaries of what changed.

A field's revision document is its definition (schema.FIELD_KEYS) plus "department_options":
{"<department id>": options} for the departments with their own list, so rolling back restores
the department lists too. A layout's revision document is the layout document itself.

Summaries are short English sentences like the rules' ("Label 'Size' → 'Shoe size'; options 3 → 4."),
built from plain words and the admin's own names so they read the same in any language's UI.
"""
from __future__ import annotations

from typing import Any, Optional

from ..extensions import db
from ..models import Department
from .models import CustomField
from .options import department_lists, values_of
from .schema import FIELD_KEYS, layout_keys


def field_document(field: CustomField) -> dict:
    document = {name: getattr(field, name) for name in FIELD_KEYS}
    document["validation"] = dict(field.validation or {})
    document["department_options"] = {str(d): options for d, options in department_lists(field).items()}
    return document


def summarize_field(old: Optional[dict], new: dict) -> str:
    if old is None:
        return "Created."
    return sentence(field_changes(old, new))


def field_changes(old: dict, new: dict) -> list[str]:
    def changed(name: str) -> bool:
        return name in old and name in new and old[name] != new[name]

    parts = []
    for name in ("label", "label_zh"):
        if changed(name):
            parts.append(f"{name.replace('_', ' ')} '{old[name]}' → '{new[name]}'")
    if changed("help_text") or changed("help_text_zh"):
        parts.append("help text changed")
    if changed("required"):
        parts.append("required" if new["required"] else "optional")
    if changed("visibility"):
        parts.append(f"visibility {old['visibility']} → {new['visibility']}")
    if changed("default"):
        parts.append(f"default {_shown(old['default'])} → {_shown(new['default'])}")
    if changed("validation"):
        parts.append("validation changed")
    if changed("currency"):
        parts.append(f"currency {old['currency']} → {new['currency']}")
    if changed("options"):
        parts.append(_option_change(old["options"], new["options"]))
    if changed("department_options"):
        before, after = old["department_options"], new["department_options"]
        touched = sorted((d for d in set(before) | set(after) if before.get(d) != after.get(d)), key=int)
        parts.append(f"department options changed ({', '.join(_department_name(d) for d in touched)})")
    if changed("filterable"):
        parts.append("filterable" if new["filterable"] else "not filterable")
    return parts


def _option_change(old: Any, new: Any) -> str:
    before, after = values_of(old), values_of(new)
    removed = [v for v in before if v not in after]
    added = [v for v in after if v not in before]
    words = []
    if added:
        words.append("added option" + ("s " if len(added) > 1 else " ") + ", ".join(f"'{v}'" for v in added))
    if removed:
        words.append("removed option" + ("s " if len(removed) > 1 else " ") + ", ".join(f"'{v}'" for v in removed))
    return "; ".join(words) or "options changed"


def summarize_layout(old: Optional[dict], new: dict) -> str:
    if old is None:
        return "Created."
    return sentence(layout_changes(old, new))


def layout_changes(old: dict, new: dict) -> list[str]:
    parts = []
    old_sections, new_sections = old.get("sections", []), new.get("sections", [])
    if len(old_sections) != len(new_sections):
        parts.append(f"sections {len(old_sections)} → {len(new_sections)}")
    elif [(s["title"], s.get("title_zh")) for s in old_sections] != [(s["title"], s.get("title_zh"))
                                                                     for s in new_sections]:
        parts.append("section titles changed")
    before, after = layout_keys(old), layout_keys(new)
    added = [k for k in after if k not in before]
    removed = [k for k in before if k not in after]
    if added:
        parts.append("added " + ", ".join(added))
    if removed:
        parts.append("removed " + ", ".join(removed))
    if not added and not removed and before != after:
        parts.append("fields reordered")
    old_rows, new_rows = _rows(old), _rows(new)
    for key in after:
        if key in old_rows and old_rows[key] != new_rows[key]:
            parts.append(f"{key} settings changed")
    return parts


def _rows(document: dict) -> dict[str, dict]:
    return {row["key"]: {k: v for k, v in row.items() if k != "key"}
            for section in document.get("sections", []) for row in section.get("fields", [])}


def sentence(parts: list[str]) -> str:
    text = "; ".join(parts) or "no changes"
    return text[0].upper() + text[1:] + "."


def _department_name(department_id: str) -> str:
    department = db.session.get(Department, int(department_id))
    return department.name if department is not None else f"department {department_id}"


def _shown(value: Any) -> str:
    return "none" if value is None else repr(value)
