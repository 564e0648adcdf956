"""Macros in the agent workspace: the ticket page's "Apply macro" menu, the queue's bulk apply,
and the macro list where agents keep their own macros and supervisors/admins the shared ones.

portal may not import rule_builder, so this module plugs into portal's hooks at start-up
(portal.agent.hooks: a ticket-page action and a queue bulk action; portal.agent.condition_editor:
the condition widget for saved views). Applying goes through rule_builder.macros.apply_macro (the
ticket service underneath: History, outbox, rules react), and never applies a macro that is not
available for the ticket: availability is checked again on every POST, whatever the menu showed.

Who may do what:
- a macro is usable by its owner (personal) or, when shared, by everyone who works in its
  department (shared for every department: everyone); admins see every shared macro;
- personal macros are edited by their owner only; shared ones by admins, and by supervisors when
  the macro belongs to a department they manage. A macro the user can't see answers 404, one they
  see but can't change 403.
"""
from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Flask, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select

from portal.agent.condition_editor import ConditionEditor, register_condition_editor
from portal.agent.hooks import BulkAction, register_queue_bulk_action, register_ticket_action
from portal.extensions import db, htmx
from portal.redirects import see_other
from portal.models import Ticket, User
from portal.services.errors import ValidationFailed
from portal.services.scoping import get_ticket_or_404, managed_departments, ticket_scope

from . import macros as macro_service
from .models import Macro
from .views import actions_widget, condition_widget  # noqa: F401  (their routes join the widgets' blueprint)

bp = Blueprint("macros", __name__, url_prefix="/macros", template_folder="templates")

BULK_MAX = 200   # tickets per bulk apply (the queue's page is 50)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    register_ticket_action(app, "macros/_ticket_action.html")
    register_queue_bulk_action(app, BulkAction(key="macro", label=_l("Apply macro"),
                                               template="macros/_bulk_value.html", endpoint="macros.bulk_apply"))
    register_condition_editor(app, _portal_condition_editor())
    app.jinja_env.globals.update(bulk_macros=lambda: usable_macros(current_user))


def _portal_condition_editor() -> ConditionEditor:
    """The rule builder's condition widget for portal screens (saved views).

    A plain `condition` input holding JSON is read too: scripts and tests post conditions as
    JSON instead of the widget's many inputs (validated the same way)."""
    from .views.condition_widget import parse_editor, render_editor

    def parse(form, *, name: str = "condition"):
        raw = form.get(name)
        if raw is not None and not any(key.startswith(name + "[") for key in form.keys()):
            try:
                return json.loads(raw) if raw.strip() else {"all": []}
            except json.JSONDecodeError as exc:
                raise ValueError(str(exc)) from None
        return parse_editor(form, name=name)

    return ConditionEditor(render=render_editor, parse=parse, name="builder")


# ------------------------------------------------------------------------------------------
# Who sees and changes which macro
# ------------------------------------------------------------------------------------------
def _visible_clause(user: User):
    if user.is_admin:
        return or_(Macro.owner_id.is_(None), Macro.owner_id == user.id)
    ids = user.department_ids or [-1]
    return or_(Macro.owner_id == user.id,
               Macro.owner_id.is_(None) & (Macro.department_id.is_(None) | Macro.department_id.in_(ids)))


def usable_macros(user: User) -> list[Macro]:
    """Every macro the user may apply somewhere (own first, then shared; most used first)."""
    if not getattr(user, "is_authenticated", False):
        return []
    return list(db.session.scalars(select(Macro).where(_visible_clause(user)).order_by(
        Macro.owner_id.is_(None), Macro.usage_count.desc(), func.lower(Macro.name))))


def macro_or_404(macro_id: int, *, edit: bool = False) -> Macro:
    macro = db.session.scalar(select(Macro).where(Macro.id == macro_id, _visible_clause(current_user)))
    if macro is None:
        abort(404)
    if edit and not can_edit(current_user, macro):
        abort(403)
    return macro


def can_share(user: User) -> bool:
    return user.is_supervisor


def can_edit(user: User, macro: Macro) -> bool:
    if macro.owner_id is not None:
        return macro.owner_id == user.id
    if user.is_admin:
        return True
    return can_share(user) and macro.department_id is not None and \
        macro.department_id in {d.id for d in managed_departments(user)}


def available_for(ticket: Ticket) -> list[Macro]:
    """Macros the current user may apply to this ticket now: own or shared, the ticket's department
    (or every department), availability condition true (rule_builder.macros.macros_for)."""
    return macro_service.macros_for(current_user, ticket)


# ------------------------------------------------------------------------------------------
# The ticket page
# ------------------------------------------------------------------------------------------
@bp.get("/ticket/<int:number>/menu")
@login_required
def menu(number: int):
    ticket = get_ticket_or_404(current_user, number)
    return render_template("macros/_menu.html", ticket=ticket, macros=available_for(ticket))


@bp.post("/<int:macro_id>/apply/<int:number>")
@login_required
def apply(macro_id: int, number: int):
    """Apply one macro to one ticket: the ticket's fragments come back (out of band) with a toast."""
    from portal.agent.ticket_views import ticket_context

    ticket = get_ticket_or_404(current_user, number)
    macro = macro_or_404(macro_id)
    outcome = macro_service.apply_macro(macro, [ticket], current_user).get(ticket.id, "")
    if outcome != "applied":
        db.session.rollback()
        message = _("“%(name)s” was not applied: %(reason)s", name=macro.name, reason=_reason(outcome))
        if not htmx:
            abort(422)
        response = current_app.make_response(render_template(
            "macros/_applied.html", message=message, kind="error", **ticket_context(ticket), refresh=False))
        response.status_code = 422
        return response
    name = macro.name
    db.session.commit()
    if not htmx:
        return redirect(url_for("tickets.show", number=number))
    ticket = db.session.get(Ticket, number)
    return render_template("macros/_applied.html", message=_("Applied “%(name)s”.", name=name), kind="success",
                           refresh=True, **ticket_context(ticket))


def _reason(outcome: str) -> str:
    """The service's reasons (English) in the viewer's language where we know them."""
    known = {"This macro is someone else's.": _("This macro is someone else's."),
             "This macro is for another department.": _("This macro is for another department."),
             "This macro is not available for this ticket.": _("This macro is not available for this ticket."),
             "The macro's condition took too long.": _("The macro's condition took too long.")}
    return known.get(outcome, outcome)


# ------------------------------------------------------------------------------------------
# The queue's bulk bar ("Change…" → "Apply macro")
# ------------------------------------------------------------------------------------------
@bp.post("/bulk")
@login_required
def bulk_apply():
    numbers = [int(n) for n in request.form.getlist("ticket") if n.isdigit()][:BULK_MAX]
    raw = request.form.get("macro") or request.form.get("value") or ""
    if not raw.isdigit():
        return _bulk_result(_("Choose a macro."), "error")
    macro = macro_or_404(int(raw))
    tickets = list(db.session.scalars(select(Ticket).where(ticket_scope(current_user), Ticket.id.in_(numbers))
                                      .order_by(Ticket.id)))
    if not tickets:
        return _bulk_result(_("Select at least one ticket."), "error")
    outcome = macro_service.apply_macro(macro, tickets, current_user)
    db.session.commit()
    done = [n for n, result in outcome.items() if result == "applied"]
    failed = {n: _reason(result) for n, result in outcome.items() if result != "applied"}
    message = ngettext("Applied “%(name)s” to %(num)d ticket.", "Applied “%(name)s” to %(num)d tickets.",
                       len(done), name=macro.name)
    if failed:
        message += " " + _("Not applied: %(list)s", list=_("; ").join(_("#%(number)d: %(reason)s", number=n, reason=e)
                                                                  for n, e in failed.items()))
    return _bulk_result(message, "error" if failed else "success", refresh=bool(done))


def _bulk_result(message: str, kind: str, refresh: bool = False):
    response = current_app.make_response(render_template("portal/agent/_bulk_result.html", message=message,
                                                         kind=kind))
    if refresh:
        response.headers["HX-Trigger"] = "queue-changed"
    return response


# ------------------------------------------------------------------------------------------
# Managing macros
# ------------------------------------------------------------------------------------------
@bp.get("")
@login_required
def index():
    rows = usable_macros(current_user)
    mine = [m for m in rows if m.owner_id == current_user.id]
    shared = [m for m in rows if m.owner_id is None]
    return render_template("macros/index.html", mine=mine, shared=shared, can_edit=lambda m: can_edit(current_user, m),
                           can_share=can_share(current_user), summaries=_summaries(rows))


def _summaries(rows: list[Macro]) -> dict[int, str]:
    """One line per macro saying what it does ("Set priority to High, add tag refund")."""
    try:
        from .views.fields import field_uis
        from .views.summary import action_text
        from .views.choices import names_for
    except ImportError:  # pragma: no cover - the builder's summary is part of rule_builder
        return {}
    fields, names = field_uis(None), names_for(None).lookup()
    out = {}
    for m in rows:
        try:
            out[m.id] = "; ".join(action_text(a, fields, names) for a in (m.actions or []))
        except Exception:  # noqa: BLE001 - a summary must never break the list
            out[m.id] = ""
    return out


def _department_choices() -> list:
    from portal.services.scoping import departments_for
    return departments_for(current_user)


def _form_data(macro: Macro | None, errors: dict) -> dict[str, Any]:
    from .views.condition_widget import parse_editor
    form = request.form
    department = form.get("department", "")
    shared = form.get("shared") == "1" if macro is None else macro.owner_id is None
    data: dict[str, Any] = {"name": form.get("name", ""), "description": form.get("description", ""),
                            "department_id": int(department) if department.isdigit() else None, "shared": shared}
    data["condition"] = parse_editor(form, name="condition") if any(k.startswith("condition[") for k in form.keys()) \
        else _json_field("condition", {"all": []}, errors)
    data["actions"] = _parse_actions(errors)
    return data


def _json_field(name: str, default: Any, errors: dict) -> Any:
    raw = (request.form.get(name) or "").strip()
    if not raw:
        return default
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        errors[name] = _("Not valid JSON: %(reason)s", reason=str(exc))
        return raw


def _parse_actions(errors: dict) -> Any:
    editor = _actions_editor()
    if editor is not None and any(k.startswith("actions[") for k in request.form.keys()):
        return editor["parse"](request.form)
    return _json_field("actions", [], errors)


def _actions_editor() -> dict | None:
    """The rule builder's actions list (macros can't `stop`); None falls back to a JSON text area."""
    try:
        from .views.actions_widget import parse_actions, render_actions
    except ImportError:  # pragma: no cover - the widget ships with rule_builder
        return None

    def render(actions, errors, *, name="actions", department_id=None):
        return render_actions(actions, errors, name=name, department_id=department_id, allow_stop=False)

    return {"render": render, "parse": lambda form: parse_actions(form, name="actions")}


def _check_sharing(data: dict, macro: Macro | None, errors: dict) -> None:
    """Sharing rules on top of save_macro's own checks (it doesn't know who may share)."""
    if not data["shared"]:
        if data["department_id"] is not None and data["department_id"] not in {d.id for d in _department_choices()}:
            errors["department"] = _("Choose one of your departments.")
        return
    if not can_share(current_user):
        errors["shared"] = _("Only supervisors and admins share macros.")
        return
    managed = {d.id for d in managed_departments(current_user)}
    if data["department_id"] is None and not current_user.is_admin:
        errors["department"] = _("Choose one of your departments.")
    elif data["department_id"] is not None and data["department_id"] not in managed:
        errors["department"] = _("Choose one of your departments.")


def _editor_page(macro: Macro | None, data: dict, errors: dict | None = None, status: int = 200):
    from .views.condition_widget import render_editor
    errors = errors or {}
    condition_errors = {k: v for k, v in errors.items() if k == "condition" or k.startswith("condition.")}
    actions_editor = _actions_editor()
    actions_html = None
    if actions_editor is not None and isinstance(data.get("actions"), list):
        actions_html = actions_editor["render"](data["actions"], {k: v for k, v in errors.items()
                                                                 if k.startswith("actions")},
                                                name="actions", department_id=data.get("department_id"))
    editable = macro is None or can_edit(current_user, macro)
    return render_template(
        "macros/edit.html", macro=macro, data=data, errors=errors, editable=editable,
        condition_html=render_editor(data.get("condition") if isinstance(data.get("condition"), dict) else {"all": []},
                                     condition_errors, name="condition", context="event",
                                     department_id=data.get("department_id")),
        actions_html=actions_html,
        actions_json=data["actions"] if isinstance(data.get("actions"), str)
        else json.dumps(data.get("actions") or [], ensure_ascii=False, indent=2),
        departments=_department_choices(), share_departments=managed_departments(current_user),
        can_share=can_share(current_user)), status


def _data_of(macro: Macro) -> dict:
    return {"name": macro.name, "description": macro.description or "", "department_id": macro.department_id,
            "shared": macro.owner_id is None, "condition": macro.condition or {"all": []},
            "actions": list(macro.actions or [])}


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    if request.method == "GET":
        return _editor_page(None, {"name": "", "description": "", "department_id": None, "shared": False,
                                   "condition": {"all": []}, "actions": []})
    errors: dict = {}
    data = _form_data(None, errors)
    _check_sharing(data, None, errors)
    if errors:
        return _editor_page(None, data, errors, 422)
    try:
        macro = macro_service.save_macro(None, data, current_user)
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        return _editor_page(None, data, _translated(exc.errors), 422)
    return redirect(url_for("macros.index", saved=macro.id))


@bp.route("/<int:macro_id>/edit", methods=["GET", "POST"])
@login_required
def edit(macro_id: int):
    macro = macro_or_404(macro_id, edit=request.method == "POST")
    if request.method == "GET":
        return _editor_page(macro, _data_of(macro))
    errors: dict = {}
    data = _form_data(macro, errors)
    _check_sharing(data, macro, errors)
    if errors:
        return _editor_page(macro, data, errors, 422)
    try:
        macro_service.save_macro(macro, data, current_user)
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        return _editor_page(db.session.get(Macro, macro_id), data, _translated(exc.errors), 422)
    return redirect(url_for("macros.index", saved=macro_id))


@bp.post("/<int:macro_id>/delete")
@login_required
def delete(macro_id: int):
    macro = macro_or_404(macro_id, edit=True)
    db.session.delete(macro)
    db.session.commit()
    return see_other(url_for("macros.index"))


def _translated(errors: dict) -> dict:
    """save_macro's generic messages; the ones a person meets most get a macro-specific wording."""
    known = {_("A name is required."): _("Give the macro a name."),
             _("A macro needs at least one action."): _("Add at least one action.")}
    return {k: known.get(str(v), v) for k, v in errors.items()}
