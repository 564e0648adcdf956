"""The condition editor: the one widget that edits every "when" in the product.

Rules, macros' availability, saved views (portal registers it through
portal.agent.condition_editor), SLA targets and blueprint guards all render it with

    render_editor(condition, errors, name="condition", context="event"|"query", department_id=None)

inside their own <form>, and read it back with `parse_editor(request.form, name=...)`
(builder_state explains the inputs). Its buttons and selects post the enclosing form to this
module's endpoints, which answer the re-rendered editor (add/remove a row or group, change a
group's kind) or one row (a new field: its operators and value input), so no page reloads.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, abort, make_response, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from .. import builder_state as bs
from .choices import viewer_tz, visible_department_id
from .fields import OP_LABELS, field_uis

bp = Blueprint("builder_widgets", __name__, url_prefix="/builder", template_folder="../templates")
CHANGED_EVENT = "builder-changed"   # HX-Trigger after a structural change: summaries refresh

KIND_LABELS = {"all": _l("All of these are true"), "any": _l("Any of these is true"),
               "none": _l("None of these is true")}
UNIT_LABELS = {"minutes": _l("minutes"), "hours": _l("hours")}
MULTI_AS_CHECKS = 12
# Changing the operator keeps the typed value ("vip" -> ["vip"]) unless one side is one of these.
_KEEPS_NOTHING = {"none", "date", "datetime", "duration", "number_range", "date_range", "datetime_range",
                  "text_range"}   # up to this many choices: checkboxes; more: a multi-select list


@bp.before_request
def _signed_in_staff():
    if not current_user.is_authenticated or not hasattr(current_user, "role"):
        abort(403)


class Editor:
    """One condition editor on a page: its input name, context, department and errors."""

    def __init__(self, name: str = "condition", *, context: str = "event", department_id: int | None = None,
                 errors: Any = None, fields: Mapping[str, bs.FieldUI] | None = None, max_depth: int = 4):
        self.name = name
        self.context = context if context in ("event", "query") else "event"
        self.department_id = department_id
        self.fields = fields if fields is not None else field_uis(department_id, context=self.context)
        self.tz = viewer_tz()
        self.max_depth = max_depth
        self.errors = _normalise_errors(errors, name)
        self.dom_id = "cond-" + "".join(c if c.isalnum() else "-" for c in name)

    # -- what templates ask --------------------------------------------------------------------
    @property
    def categories(self) -> list[tuple[str, list[bs.FieldUI]]]:
        groups: dict[str, list[bs.FieldUI]] = {}
        for spec in self.fields.values():
            groups.setdefault(str(spec.category or ""), []).append(spec)
        return list(groups.items())

    def ops_for(self, spec: bs.FieldUI | None) -> list[tuple[str, str]]:
        if spec is None:
            return []
        ops = [op for op in spec.ops if self.context == "event" or op not in bs.CHANGE_OPS]
        told = dict(spec.op_labels)
        return [(op, told.get(op) or OP_LABELS.label(op, spec.type)) for op in ops]

    def row(self, node: bs.Node) -> dict[str, Any]:
        spec = self.fields.get(node.leaf.get("field") or "")
        shown = bs.row_inputs(node.leaf, spec, self.tz)
        if shown["widget"] == "multi" and spec is not None and len(spec.choices or ()) > MULTI_AS_CHECKS:
            shown["widget"] = "multi_select"
        return dict(spec=spec, ops=self.ops_for(spec), op=node.leaf.get("op") or "", **shown)

    def errors_for(self, node: bs.Node) -> list[str]:
        found: list[str] = []
        for path in node.paths:
            found += self.errors.get(path, [])
        return found

    def vals(self, **extra) -> str:
        """hx-vals for a button: which editor, and what to do."""
        return json.dumps({"_cond": self.name, **extra})

    def unknown_field(self, node: bs.Node) -> str | None:
        name = node.leaf.get("field") or ""
        return name if name and name not in self.fields else None

    # -- rendering ----------------------------------------------------------------------------
    def render(self, root: bs.Node) -> Markup:
        return Markup(render_template("rule_builder/conditions/_editor.html", ed=self, root=root,
                                      KIND_LABELS=KIND_LABELS, UNIT_LABELS=UNIT_LABELS))

    def render_row(self, node: bs.Node, node_id: str) -> Markup:
        return Markup(render_template("rule_builder/conditions/_row_only.html", ed=self, node=node, node_id=node_id,
                                      KIND_LABELS=KIND_LABELS, UNIT_LABELS=UNIT_LABELS))


def _normalise_errors(errors: Any, name: str) -> dict[str, list[str]]:
    """Errors keyed by JSON path; also accepts paths prefixed with the editor's name ("condition.1.0")."""
    plain = bs.errors_by_path(errors)
    if any(k == name or k.startswith(name + ".") for k in plain):
        return bs.errors_by_path(errors, name)
    return plain


# ------------------------------------------------------------------------------------------
# The API other screens use
# ------------------------------------------------------------------------------------------
def render_editor(condition: Any, errors: Any = None, *, name: str = "condition", context: str = "event",
                  department_id: int | None = None, **_ignored) -> Markup:
    editor = Editor(name, context=context, department_id=department_id, errors=errors)
    return editor.render(bs.tree_from_condition(condition))


def editor_from_form(form: Mapping[str, Any], name: str = "condition", **overrides) -> Editor:
    meta = bs.meta_from_form(form, name)
    department_id = overrides.pop("department_id", visible_department_id(meta["department"]))
    context = overrides.pop("context", meta["context"] or "event")
    return Editor(name, context=context, department_id=department_id, **overrides)


def parse_editor(form: Mapping[str, Any], *, name: str = "condition", editor: Editor | None = None) -> dict:
    """The condition JSON from the editor's posted inputs (never raises: bad values stay for validation)."""
    editor = editor or editor_from_form(form, name)
    return bs.condition_from_form(form, name, editor.fields, editor.tz)


def portal_editor():
    """The editor as portal.agent.condition_editor wants it (saved views)."""
    from portal.agent.condition_editor import ConditionEditor

    def parse(form, *, name: str = "condition"):
        return parse_editor(form, name=name)

    return ConditionEditor(render=render_editor, parse=parse, name="builder")


# ------------------------------------------------------------------------------------------
# Endpoints: the editor's buttons and selects
# ------------------------------------------------------------------------------------------
def _posted_editor() -> tuple[Editor, bs.Node]:
    name = request.form.get("_cond", "condition")
    editor = editor_from_form(request.form, name)
    return editor, bs.tree_from_form(request.form, name, editor.fields, editor.tz)


@bp.post("/conditions")
def conditions():
    """Add a row or group, remove one, or re-render after a group's kind changed."""
    editor, root = _posted_editor()
    op = request.form.get("_cond_op", "")
    bs.apply_op(root, op, request.form.get("_cond_at", ""), max_depth=editor.max_depth)
    response = make_response(editor.render(bs.tree_from_condition(bs.condition_from_tree(root))))
    response.headers["HX-Trigger"] = CHANGED_EVENT
    return response


@bp.post("/conditions/row")
def condition_row():
    """A row after its field or operator changed: fitting operators and value input."""
    editor, root = _posted_editor()
    node_id = request.form.get("_cond_at", "")
    node = bs.find(root, node_id)
    if node is None or node.is_group:
        abort(400)
    leaf = node.leaf
    spec = editor.fields.get(leaf.get("field") or "")
    ops = [op for op, _label in editor.ops_for(spec)]
    if request.form.get("_cond_changed") == "field" or leaf.get("op") not in ops:
        node.leaf = {"field": leaf.get("field") or "", "op": ops[0] if ops else ""}
    else:
        before, after = request.form.get("_cond_widget", ""), bs.widget_for(spec, leaf.get("op"))
        if before != after and (before in _KEEPS_NOTHING or after in _KEEPS_NOTHING):
            node.leaf = {k: v for k, v in leaf.items() if k in ("field", "op")}   # another kind of input
    response = make_response(editor.render_row(node, node_id))
    response.headers["HX-Trigger"] = CHANGED_EVENT
    return response
