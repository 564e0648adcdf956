"""The layout builder's draft: the layout document, posted back in a hidden input with every change.

There is no draft on the server: each request reads the document from the form (`read`), applies
one change (add a field to a section, rearrange after a drag, move with the keyboard buttons,
add/rename/remove/reorder sections, a field's layout settings) and renders the builder with the
new document in the hidden input again. Whether the result is a valid layout is decided by
portal.fields when it is saved; `LayoutErrors` files the domain's `{path: message}` under the
section, row and condition they name.
"""
from __future__ import annotations

import copy
import json
import re
from typing import Any, Optional

from flask_babel import lazy_gettext as _l

VERSION = 1
ROW_SETTINGS = ("required", "portal", "show_when", "require_when")
# New sections get titles in both languages; the admin renames them in place.
FIRST_SECTION = ("Details", "详细信息")
NEW_SECTION = ("New section", "新分区")
_SECTION_PATH = re.compile(r"sections\.(\d+)(?:\.(.*))?$")
_ROW_PATH = re.compile(r"fields\.(\d+)(?:\.(.*))?$")


class UnreadableDraft(ValueError):
    """The hidden document is not a layout document at all (a tampered or truncated post)."""


def empty(document: Optional[dict]) -> dict:
    """What the builder starts from: the saved document, or one empty section to drop fields into."""
    if document and document.get("sections"):
        return copy.deepcopy(document)
    return {"version": VERSION, "sections": [_section("s1", *FIRST_SECTION)]}


def _section(section_id: str, title: str, title_zh: str) -> dict:
    return {"id": section_id, "title": title, "title_zh": title_zh, "fields": []}


def read(form) -> dict:
    """The posted draft, with the section titles typed into the canvas since it was rendered."""
    try:
        document = json.loads(form.get("document") or "")
    except ValueError:
        raise UnreadableDraft("the layout document is not JSON") from None
    sections = document.get("sections") if isinstance(document, dict) else None
    if not isinstance(sections, list) or not all(isinstance(s, dict) for s in sections):
        raise UnreadableDraft("the layout document has no list of sections")
    document.setdefault("version", VERSION)
    for section in sections:
        for name in ("id", "title", "title_zh"):
            section.setdefault(name, "")
        if not isinstance(section.get("fields"), list):
            section["fields"] = []
        # The runtime reads rows by key: a row without one can't be shown (nor saved).
        section["fields"] = [row for row in section["fields"] if isinstance(row, dict) and isinstance(row.get("key"), str)]
        sid = section.get("id")
        for name in ("title", "title_zh"):
            typed = form.get(f"{name}-{sid}")
            if typed is not None:
                section[name] = typed
    return document


def dumps(document: dict) -> str:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def keys(document: dict) -> list[str]:
    return [row.get("key") for section in document["sections"] for row in section["fields"]]


def find_row(document: dict, key: str) -> Optional[dict]:
    return next((row for section in document["sections"] for row in section["fields"] if row.get("key") == key), None)


def _section_by_id(document: dict, section_id: str) -> Optional[dict]:
    return next((s for s in document["sections"] if str(s.get("id")) == section_id), None)


# ---------------------------------------------------------------------------------------------
# Changes
# ---------------------------------------------------------------------------------------------
def add(document: dict, key: str, section_id: Optional[str]) -> None:
    """Put `key` at the end of a section (default: the last one); a key already placed stays put."""
    if not key or find_row(document, key) is not None:
        return
    section = _section_by_id(document, section_id or "") if section_id else None
    if section is None:
        if not document["sections"]:
            document["sections"].append(_section(new_section_id(document), *FIRST_SECTION))
        section = document["sections"][-1]
    section["fields"].append({"key": key, "portal": False})


def arrange(document: dict, arrangement: Any) -> None:
    """The order after a drag: [{"id": section id, "keys": [...]}, ...] in the order they stand.

    Rows keep their settings wherever they go; a key new to the layout (dragged in from the
    palette) gets a fresh row; a placed key the arrangement leaves out stays where it was.
    """
    if not isinstance(arrangement, list):
        return
    rows = {row.get("key"): row for section in document["sections"] for row in section["fields"]}
    by_id = {str(s.get("id")): s for s in document["sections"]}
    order, placed = [], set()
    for item in arrangement:
        if not isinstance(item, dict) or str(item.get("id")) not in by_id or str(item.get("id")) in order:
            continue
        section = by_id[str(item["id"])]
        section_keys = [k for k in item.get("keys") or [] if isinstance(k, str) and k and k not in placed]
        placed.update(section_keys)
        section["fields"] = [rows.get(k) or {"key": k, "portal": False} for k in section_keys]
        order.append(str(item["id"]))
    left_out = [s for sid, s in by_id.items() if sid not in order]
    for section in left_out:  # sections the arrangement didn't name keep their rows (minus moved ones)
        section["fields"] = [row for row in section["fields"] if row.get("key") not in placed]
    document["sections"] = [by_id[sid] for sid in order] + left_out
    for key, row in rows.items():  # a placed key the arrangement lost goes back to its section's end
        if key not in placed and not any(row in s["fields"] for s in document["sections"]):
            document["sections"][-1]["fields"].append(row)


def move(document: dict, key: str, direction: str) -> None:
    """One place up or down; past a section's edge into the previous/next section."""
    sections = document["sections"]
    for i, section in enumerate(sections):
        rows = section["fields"]
        j = next((j for j, row in enumerate(rows) if row.get("key") == key), None)
        if j is None:
            continue
        step = -1 if direction == "up" else 1
        if 0 <= j + step < len(rows):
            rows[j], rows[j + step] = rows[j + step], rows[j]
        elif 0 <= i + step < len(sections):
            row = rows.pop(j)
            target = sections[i + step]["fields"]
            target.insert(len(target) if step < 0 else 0, row)
        return


def remove(document: dict, key: str) -> None:
    for section in document["sections"]:
        section["fields"] = [row for row in section["fields"] if row.get("key") != key]


def new_section_id(document: dict) -> str:
    taken = {str(s.get("id")) for s in document["sections"]}
    n = len(taken) + 1
    while f"s{n}" in taken:
        n += 1
    return f"s{n}"


def add_section(document: dict) -> str:
    section_id = new_section_id(document)
    document["sections"].append(_section(section_id, *NEW_SECTION))
    return section_id


def remove_section(document: dict, section_id: str) -> None:
    """The section goes; its fields go back to the palette."""
    document["sections"] = [s for s in document["sections"] if str(s.get("id")) != section_id]


def move_section(document: dict, section_id: str, direction: str) -> None:
    sections = document["sections"]
    i = next((i for i, s in enumerate(sections) if str(s.get("id")) == section_id), None)
    j = None if i is None else i + (-1 if direction == "up" else 1)
    if j is not None and 0 <= j < len(sections):
        sections[i], sections[j] = sections[j], sections[i]


def set_row(document: dict, key: str, *, required: Optional[bool], portal: bool,
            show_when: Any = None, require_when: Any = None) -> None:
    """A placed field's layout settings; an empty condition (no rows) is no condition."""
    row = find_row(document, key)
    if row is None:
        return
    for name in ROW_SETTINGS:
        row.pop(name, None)
    if required is not None:
        row["required"] = required
    row["portal"] = portal
    for name, condition in (("show_when", show_when), ("require_when", require_when)):
        if condition is not None and not _is_empty(condition):
            row[name] = condition


def _is_empty(condition: Any) -> bool:
    return isinstance(condition, dict) and len(condition) == 1 and condition.get("all", condition.get("any")) == []


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------
SETTING_LABELS = {"key": None, "required": _l("Required"), "portal": _l("Customer portal"),
                  "show_when": _l("Show when"), "require_when": _l("Require when")}


class LayoutErrors:
    """A refused layout's errors filed by section and row (indices of the document that was saved)."""

    def __init__(self, errors: Optional[dict] = None):
        self.sections: dict[int, list[tuple[str, str]]] = {}
        self.rows: dict[tuple[int, int], list[tuple[str, str]]] = {}
        self.other: list[str] = []
        for path, message in (errors or {}).items():
            self._file(str(path), str(message))

    def __bool__(self) -> bool:
        return bool(self.sections or self.rows or self.other)

    def _file(self, path: str, message: str) -> None:
        match = _SECTION_PATH.match(path)
        if match is None:
            self.other.append(message)
            return
        i, rest = int(match[1]), match[2] or ""
        row = _ROW_PATH.match(rest)
        if row is None:
            self.sections.setdefault(i, []).append((rest, message))
        else:
            self.rows.setdefault((i, int(row[1])), []).append((row[2] or "", message))

    def section(self, i: int, setting: Optional[str] = None) -> list[str]:
        """Messages about section i (setting "title": only those about its title)."""
        return [m for where, m in self.sections.get(i, []) if setting is None or where == setting]

    def row(self, i: int, j: int) -> list[str]:
        """Messages about row j of section i, each saying which setting it is about."""
        out = []
        for where, message in self.rows.get((i, j), []):
            label = SETTING_LABELS.get(where.split(".")[0])
            out.append(f"{label}: {message}" if label else message)
        return out

    def condition(self, i: int, j: int, name: str) -> dict[str, str]:
        """Row j's errors inside its `name` condition, keyed as the condition editor's rows are
        ("1.0"; the domain spells paths with group names: "all.1.any.0")."""
        found = {}
        for where, message in self.rows.get((i, j), []):
            if where == name or where.startswith(name + "."):
                found[index_path(where[len(name) + 1:])] = message
        return found


def index_path(named: str) -> str:
    """"all.1.any.0" -> "1.0"; a `not`'s child is index 0 ("not.any.2" -> "0.2")."""
    out = []
    for part in named.split(".") if named else []:
        if part == "not":
            out.append("0")
        elif part.isdigit():
            out.append(part)
    return ".".join(out)
