"""The actions editor: a list of actions, each a type and its settings (rules, macros, blueprints).

    render_actions(actions, errors, name="actions", department_id=None, allow_stop=True) -> Markup
    parse_actions(request.form, name="actions") -> [action JSON]

Like the condition editor it lives inside the caller's <form>; adding, removing and moving rows
posts the form to /builder/actions (the list comes back), and changing a row's type or a choice
that decides its other inputs (field, recipient, department) to /builder/actions/row.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask import abort, make_response, render_template, request
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from portal.models import CHANNELS, PRIORITY_KEYS, STATUSES
from portal.templating import CHANNEL_LABELS, PRIORITY_LABELS, STATUS_LABELS

from .. import builder_state as bs
from ..actions import ACTION_TYPES, EMAIL_TO, NOTIFY_TO
from .choices import names_for, teams_of, viewer_tz, visible_department_id
from .condition_widget import CHANGED_EVENT, bp
from .fields import action_fields, field_uis

ACTION_LABELS = {
    "set_field": _l("Set a field"), "assign": _l("Assign"), "add_tags": _l("Add tags"),
    "remove_tags": _l("Remove tags"), "add_note": _l("Add an internal note"), "send_email": _l("Send an email"),
    "notify": _l("Notify in the app"), "webhook": _l("Call a webhook"), "move_department": _l("Move to department"),
    "stop": _l("Stop processing rules"),
}
EMAIL_TO_LABELS = {"customer": _l("The customer"), "assignee": _l("The assignee"), "team": _l("The team"),
                   "supervisor": _l("The department's supervisors"), "address": _l("An address…")}
NOTIFY_TO_LABELS = {"assignee": _l("The assignee"), "team": _l("The team"),
                    "supervisor": _l("The department's supervisors"), "agent": _l("An agent…")}
ASSIGN_TO_LABELS = {"team": _l("A team"), "agent": _l("An agent"), "strategy": _l("A strategy")}
PLACEHOLDERS = ("ticket.ref", "ticket.subject", "ticket.status", "ticket.priority", "ticket.url", "ticket.tags",
                "contact.name", "contact.email", "assignee.name", "team.name", "department.name")


class ActionsEditor:
    def __init__(self, name: str = "actions", *, department_id: int | None = None, allow_stop: bool = True,
                 errors: Any = None, fields: Mapping[str, bs.FieldUI] | None = None):
        self.name = name
        self.department_id = department_id
        self.allow_stop = allow_stop
        all_fields = fields if fields is not None else field_uis(department_id, context="event")
        self.fields = action_fields(all_fields)
        self.tz = viewer_tz()
        self.names = names_for(department_id)
        self.errors = bs.action_errors(errors, name) if errors else {}
        self.dom_id = "actions-" + "".join(c if c.isalnum() else "-" for c in name)

    @property
    def types(self) -> list[tuple[str, str]]:
        return [(t, str(ACTION_LABELS[t])) for t in ACTION_TYPES if self.allow_stop or t != "stop"]

    def vals(self, **extra) -> str:
        return json.dumps({"_act": self.name, **extra})

    def input(self, index: int, key: str) -> str:
        return f"{self.name}[{index}][{key}]"

    def shown(self, action: Mapping[str, Any]) -> dict[str, Any]:
        return bs.action_inputs(action, self.fields, self.tz)

    def value_choices(self, field: str) -> list[tuple[Any, str]] | None:
        """A set_field value's picker (None: a free input of the field's type)."""
        if field == "status":
            return [(s, str(STATUS_LABELS[s])) for s in STATUSES]
        if field == "priority":
            return [(p, str(PRIORITY_LABELS[p])) for p in PRIORITY_KEYS]
        if field == "channel":
            return [(c, str(CHANNEL_LABELS[c])) for c in CHANNELS]
        if field == "team":
            return self.names.teams
        if field == "assignee":
            return self.names.agents
        spec = self.fields.get(field)
        return list(spec.choices) if spec is not None and spec.choices is not None else None

    def field_type(self, field: str) -> str:
        spec = self.fields.get(field)
        return spec.type if spec is not None else "text"

    def move_teams(self, department: str) -> list[tuple[int, str]]:
        return teams_of(int(department)) if str(department).isdigit() else []

    def render(self, actions: list[dict]) -> Markup:
        return Markup(render_template("rule_builder/actions/_editor.html", ae=self, actions=actions, **_labels()))

    def render_row(self, action: dict, index: int) -> Markup:
        return Markup(render_template("rule_builder/actions/_row_only.html", ae=self, action=action, index=index,
                                      **_labels()))


def _labels() -> dict:
    return dict(EMAIL_TO=EMAIL_TO, NOTIFY_TO=NOTIFY_TO, EMAIL_TO_LABELS=EMAIL_TO_LABELS,
                NOTIFY_TO_LABELS=NOTIFY_TO_LABELS, ASSIGN_TO_LABELS=ASSIGN_TO_LABELS, PLACEHOLDERS=PLACEHOLDERS)


def render_actions(actions: list, errors: Any = None, *, name: str = "actions", department_id: int | None = None,
                   allow_stop: bool = True) -> Markup:
    editor = ActionsEditor(name, department_id=department_id, allow_stop=allow_stop, errors=errors)
    return editor.render(list(actions or []))


def editor_from_form(form: Mapping[str, Any], name: str = "actions", **overrides) -> ActionsEditor:
    meta = {k: (form.get(f"{name}[meta][{k}]") or "") for k in ("department", "allow_stop")}
    department_id = overrides.pop("department_id", visible_department_id(meta["department"]))
    allow_stop = overrides.pop("allow_stop", meta["allow_stop"] != "0")
    return ActionsEditor(name, department_id=department_id, allow_stop=allow_stop, **overrides)


def parse_actions(form: Mapping[str, Any], *, name: str = "actions", editor: ActionsEditor | None = None) -> list:
    editor = editor or editor_from_form(form, name)
    return bs.actions_from_form(form, name, editor.fields, editor.tz)


@bp.post("/actions")
def actions():
    """Add an action (of the chosen type), remove one, move one up or down."""
    name = request.form.get("_act", "actions")
    editor = editor_from_form(request.form, name)
    current = parse_actions(request.form, name=name, editor=editor)
    index = request.form.get("_act_at", "")
    new_type = request.form.get("_act_new") or request.form.get(f"{name}[meta][new]", "")
    if request.form.get("_act_op") == "add" and new_type not in ACTION_TYPES:
        new_type = ""
    updated = bs.apply_action_op(current, request.form.get("_act_op", ""), int(index) if index.isdigit() else None,
                                 new_type)
    response = make_response(editor.render(updated))
    response.headers["HX-Trigger"] = CHANGED_EVENT
    return response


@bp.post("/actions/row")
def action_row():
    """One action after its type (or a choice that decides its other inputs) changed."""
    name = request.form.get("_act", "actions")
    editor = editor_from_form(request.form, name)
    index = request.form.get("_act_at", "")
    current = parse_actions(request.form, name=name, editor=editor)
    if not index.isdigit() or int(index) >= len(current):
        abort(400)
    action = current[int(index)]
    changed = request.form.get("_act_changed", "")
    if changed == "type":
        action = {"type": action.get("type", "")}
    elif changed == "field":
        action = {"type": "set_field", "field": action.get("field", "")}
    elif changed == "department":
        action.pop("team", None)
    response = make_response(editor.render_row(action, int(index)))
    response.headers["HX-Trigger"] = CHANGED_EVENT
    return response
