"""Workflow rules in the admin area: the list (order, on/off, export, import), the builder, the rule page.

Views are thin: rule_builder.services saves (validation, revisions, order, import), the widgets
(condition_widget, actions_widget) read and render the builder's trees, access.py decides who
may see and change what. Nothing invalid is saved: a refused save answers 422 with the form and
every message on its row.
"""
from __future__ import annotations

import json
from collections import defaultdict

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from portal.extensions import db, htmx
from portal.redirects import see_other
from portal.services.import_files import read_import_file
from portal.forms import apply_service_errors
from portal.models import utcnow
from portal.services.errors import ValidationFailed
from portal.services.scoping import can_manage_department, managed_departments

from .. import services
from ..forms import ImportForm, RuleForm, department_choices
from ..models import TRIGGERS, Rule
from ..stats import rule_stats
from .access import can_edit, can_use_department, guard, managed_ids, rule_or_404, visible_rules_query
from .actions_widget import ActionsEditor, parse_actions
from .choices import names_for, viewer_tz
from .condition_widget import Editor, parse_editor
from .fields import field_uis
from .summary import TRIGGER_HINTS, TRIGGER_LABELS, condition_text, rule_text

bp = Blueprint("rules", __name__, url_prefix="/admin/rules", template_folder="../templates")
bp.before_request(guard)

FORM_FIELDS = ("name", "description", "department", "trigger", "enabled")


@bp.context_processor
def _labels():
    return dict(TRIGGER_LABELS=TRIGGER_LABELS, TRIGGER_HINTS=TRIGGER_HINTS, can_edit=can_edit)


def _done(message: str, location: str, kind: str = "success"):
    flash(message, kind)
    return see_other(location)


def _department_filter() -> int | None:
    value = request.args.get("department", type=int)
    if value is not None and not can_manage_department(current_user, value):
        abort(404)
    return value


# ------------------------------------------------------------------------------------------
# The list
# ------------------------------------------------------------------------------------------
def _groups(department_id: int | None) -> list[tuple[str, list[Rule]]]:
    by_trigger: dict[str, list[Rule]] = defaultdict(list)
    for rule in db.session.scalars(visible_rules_query(department_id)):
        by_trigger[rule.trigger].append(rule)
    return [(t, by_trigger[t]) for t in TRIGGERS if by_trigger[t]]


def _summaries(rules: list[Rule]) -> dict[int, str]:
    """A one-line condition summary per rule (fields of each rule's department)."""
    cache: dict = {}
    out = {}
    for rule in rules:
        key = (rule.department_id, rule.trigger == "time")
        if key not in cache:
            cache[key] = field_uis(rule.department_id, context="query" if key[1] else "event")
        text = condition_text(rule.condition, cache[key], viewer_tz())
        out[rule.id] = text
    return out


@bp.get("")
def index():
    selected = _department_filter()
    groups = _groups(selected)
    rules = [r for _t, rs in groups for r in rs]
    return render_template("rule_builder/rules.html", groups=groups, selected=selected,
                           departments=managed_departments(current_user), summaries=_summaries(rules),
                           can_create=bool(department_choices(current_user)))


@bp.post("/<int:rule_id>/toggle")
def toggle(rule_id: int):
    rule = rule_or_404(rule_id, edit=True)
    enabled = request.form.get("enabled") == "1"
    try:
        services.set_enabled(rule, enabled, current_user)
        db.session.commit()
    except ValidationFailed as exc:
        # An old rule that no longer validates (e.g. a deleted team): it can't be switched as it is.
        db.session.rollback()
        rule = db.session.get(Rule, rule_id)
        message = _("Can't switch this rule until it is fixed: %(reason)s", reason="; ".join(str(m) for m in exc.errors.values()))
        if htmx:
            return render_template("rule_builder/_toggle.html", rule=rule, error=message), 422
        flash(message, "error")
        return redirect(request.referrer or url_for("rules.show", rule_id=rule_id))
    if htmx:
        return render_template("rule_builder/_toggle.html", rule=rule)
    flash(_("Rule “%(name)s” enabled.", name=rule.name) if enabled else
          _("Rule “%(name)s” disabled.", name=rule.name), "success")
    return redirect(request.referrer or url_for("rules.index"))


def new_order(trigger: str, posted: list[int], visible: list[Rule], everyone: list[Rule], movable: set[int]) -> list[int]:
    """The full order of `trigger`'s rules after the viewer dragged the ones they see into `posted`.

    Rules the viewer doesn't see keep their place relative to the visible rules they can't move
    (each stays after the same one as before), so one department's reordering never reshuffles
    another's. Raises ValueError when `posted` isn't a reordering of `visible` that keeps the
    unmovable ones in their order.
    """
    visible_ids = [r.id for r in visible]
    if sorted(posted) != sorted(visible_ids) or len(set(posted)) != len(posted):
        raise ValueError("not the rules of this list")
    fixed_before = [i for i in visible_ids if i not in movable]
    fixed_after = [i for i in posted if i not in movable]
    if fixed_before != fixed_after:
        raise ValueError("rules you can't change were moved")
    seen = set(visible_ids)
    anchor: int | None = None
    followers: dict[int | None, list[int]] = defaultdict(list)
    for rule in everyone:
        if rule.id in seen:
            if rule.id not in movable:
                anchor = rule.id
        else:
            followers[anchor].append(rule.id)
    order = list(followers[None])
    for rule_id in posted:
        order.append(rule_id)
        if rule_id not in movable:
            order += followers[rule_id]
    return order


@bp.post("/reorder")
def reorder():
    trigger = request.form.get("trigger", "")
    if trigger not in TRIGGERS:
        abort(400)
    selected = request.form.get("department", type=int)
    if selected is not None and not can_manage_department(current_user, selected):
        abort(404)
    posted = [int(v) for v in request.form.getlist("rule") if v.isdigit()]
    visible = [r for r in db.session.scalars(visible_rules_query(selected)) if r.trigger == trigger]
    everyone = list(db.session.scalars(select(Rule).where(Rule.trigger == trigger).order_by(Rule.position, Rule.id)))
    movable = {r.id for r in visible if can_edit(r)}
    try:
        order = new_order(trigger, posted, visible, everyone, movable)
    except ValueError:
        message = _("The order could not be saved: the list changed meanwhile or includes rules you can't move. "
                    "Reload the page.")
        return _group_fragment(trigger, selected, error=message), 422
    services.reorder(order)
    db.session.commit()
    return _group_fragment(trigger, selected, saved=True)


def _group_fragment(trigger: str, selected: int | None, **extra):
    rules = [r for r in db.session.scalars(visible_rules_query(selected)) if r.trigger == trigger]
    return render_template("rule_builder/_rule_group.html", trigger=trigger, rules=rules, selected=selected,
                           summaries=_summaries(rules), **extra)


@bp.get("/export")
def export():
    if current_user.is_admin and request.args.get("department") is None:
        document = services.export_rules()
    else:
        selected = _department_filter()
        rules = [r for r in db.session.scalars(visible_rules_query(selected)) if can_edit(r)]
        document = {"schema": services.SCHEMA, "rules": [services.rule_document(r) for r in rules]}
    body = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    name = f"deskwright-rules-{utcnow():%Y%m%d}.json"
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _import_scope_errors(text: str) -> list[str]:
    """A supervisor imports only into their departments, and never over a rule they can't change."""
    if current_user.is_admin:
        return []
    try:
        document = json.loads(text)
        items = document.get("rules") if isinstance(document, dict) else None
    except (ValueError, AttributeError):
        return []   # the service says what is wrong with the file
    problems = []
    for i, data in enumerate(items if isinstance(items, list) else []):
        if not isinstance(data, dict):
            continue
        name = data.get("name") if isinstance(data.get("name"), str) else f"{i + 1}"
        raw = data.get("department_id", data.get("department"))
        department = services.find_department(raw) if raw not in (None, "") else None
        if raw in (None, "") or department is None or department.id not in managed_ids():
            if raw in (None, "") or department is not None:
                problems.append(_("Rule “%(name)s”: you can only import rules of your own departments.", name=name))
            continue
        key = " ".join(str(name).split()).lower()
        existing = db.session.scalar(select(Rule).where(func.lower(Rule.name) == key))
        if existing is not None and not can_edit(existing):
            problems.append(_("Rule “%(name)s”: a rule of that name exists that you can't change.", name=name))
    return problems


@bp.route("/import", methods=["GET", "POST"])
def import_():
    form = ImportForm()
    problems: list[str] = []
    if form.validate_on_submit():
        text, problems = read_import_file(form.file.data)
        if text is not None:
            problems = _import_scope_errors(text)
            if not problems:
                try:
                    outcome = services.import_rules(text, current_user)
                    db.session.commit()
                except ValidationFailed as exc:
                    db.session.rollback()
                    problems = [str(m) for m in exc.errors.values()]
                else:
                    return _done(_("Imported: %(created)d new, %(updated)d updated, %(same)d unchanged.",
                                   created=len(outcome["created"]), updated=len(outcome["updated"]),
                                   same=len(outcome["unchanged"])), url_for("rules.index"))
    status = 422 if request.method == "POST" and (problems or form.errors) else 200
    return render_template("rule_builder/import.html", form=form, problems=problems), status


# ------------------------------------------------------------------------------------------
# The builder
# ------------------------------------------------------------------------------------------
class Builder:
    """The builder's state for one request: the meta form, the condition tree and the actions."""

    def __init__(self, rule: Rule | None, formdata=None):
        self.rule = rule
        posted = formdata is not None
        self.form = RuleForm.build(current_user, rule, formdata=formdata) if posted else \
            RuleForm.build(current_user, rule, formdata=None)
        self.department_id = self.form.department_id
        self.context = self.form.context
        fields = field_uis(self.department_id, context=self.context)
        self.condition_editor = Editor("condition", context=self.context, department_id=self.department_id,
                                       fields=fields)
        self.actions_editor = ActionsEditor("actions", department_id=self.department_id,
                                            allow_stop=self.form.trigger.data != "time", fields=fields)
        if posted:
            # Read the trees with the editors they were posted from (their department's choices).
            from .condition_widget import editor_from_form as cond_from
            from .actions_widget import editor_from_form as act_from
            self.condition = parse_editor(request.form, name="condition", editor=cond_from(request.form))
            self.actions = parse_actions(request.form, name="actions", editor=act_from(request.form))
        else:
            self.condition = rule.condition if rule else {"all": []}
            self.actions = list(rule.actions or []) if rule else []

    def data(self) -> dict:
        return {"name": self.form.name.data or "", "description": (self.form.description.data or "").strip(),
                "department_id": self.department_id, "trigger": self.form.trigger.data,
                "enabled": bool(self.form.enabled.data), "condition": self.condition, "actions": self.actions}

    def show_errors(self, errors: dict) -> None:
        self.condition_editor.errors = self.condition_editor.errors | _prefixed(errors, "condition")
        from .. import builder_state as bs
        self.actions_editor.errors = bs.action_errors({k: v for k, v in errors.items()
                                                      if k == "actions" or k.startswith("actions.")})
        rest = {k: v for k, v in errors.items()
                if not (k == "condition" or k.startswith("condition.") or k == "actions" or k.startswith("actions."))}
        apply_service_errors(self.form, {k: v for k, v in rest.items() if k in FORM_FIELDS})
        self.form.form_errors.extend(str(v) for k, v in rest.items() if k not in FORM_FIELDS)

    @property
    def has_row_errors(self) -> bool:
        return bool(self.condition_editor.errors or self.actions_editor.errors)

    def summary(self) -> str:
        return rule_text(self.form.trigger.data, self.condition, self.actions, self.condition_editor.fields,
                         names_for(self.department_id).lookup(), viewer_tz())

    def context_vars(self) -> dict:
        rule = self.rule
        return dict(builder=self, form=self.form, rule=rule,
                    action=url_for("rules.edit", rule_id=rule.id) if rule else url_for("rules.new"),
                    condition_html=self.condition_editor.render(_tree(self.condition)),
                    actions_html=self.actions_editor.render(self.actions), summary=self.summary())


def _tree(condition):
    from .. import builder_state as bs
    return bs.tree_from_condition(condition)


def _prefixed(errors: dict, prefix: str) -> dict[str, list[str]]:
    from .. import builder_state as bs
    return bs.errors_by_path({k: v for k, v in errors.items() if k == prefix or k.startswith(prefix + ".")}, prefix)


def _builder_response(builder: Builder, status: int = 200):
    template = "rule_builder/_rule_form.html" if htmx else "rule_builder/rule_form.html"
    return render_template(template, **builder.context_vars()), status


def _save(rule: Rule | None):
    if request.method == "GET":
        return _builder_response(Builder(rule))
    builder = Builder(rule, formdata=request.form)
    if not builder.form.validate_on_submit():
        return _builder_response(builder, 422)
    if not can_use_department(builder.department_id):
        abort(403)
    try:
        saved = services.save_rule(rule, builder.data(), current_user)
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        builder.show_errors(exc.errors)
        return _builder_response(builder, 422)
    message = _("Rule “%(name)s” saved.", name=saved.name) if rule else \
        _("Rule “%(name)s” created.", name=saved.name)
    return _done(message, url_for("rules.show", rule_id=saved.id))


@bp.route("/new", methods=["GET", "POST"])
def new():
    if not department_choices(current_user):
        abort(403)
    return _save(None)


@bp.route("/<int:rule_id>/edit", methods=["GET", "POST"])
def edit(rule_id: int):
    return _save(rule_or_404(rule_id, edit=True))


@bp.post("/builder")
def builder_refresh():
    """The builder after its department or trigger changed: editors with that department's choices
    and the trigger's context (time rules: no change conditions, no "stop")."""
    rule_id = request.form.get("rule_id", type=int)
    rule = rule_or_404(rule_id, edit=True) if rule_id else None
    builder = Builder(rule, formdata=request.form)
    return render_template("rule_builder/_builder_body.html", **builder.context_vars())


@bp.post("/summary")
def summary():
    rule_id = request.form.get("rule_id", type=int)
    rule = rule_or_404(rule_id) if rule_id else None
    builder = Builder(rule, formdata=request.form)
    return render_template("rule_builder/_summary.html", summary=builder.summary())


# ------------------------------------------------------------------------------------------
# The rule page
# ------------------------------------------------------------------------------------------
@bp.get("/<int:rule_id>")
def show(rule_id: int):
    rule = rule_or_404(rule_id)
    fields = field_uis(rule.department_id, context="query" if rule.trigger == "time" else "event")
    text = rule_text(rule.trigger, rule.condition, list(rule.actions or []), fields,
                     names_for(rule.department_id).lookup(), viewer_tz())
    return render_template("rule_builder/rule.html", rule=rule, summary=text, stats=rule_stats(rule),
                           revisions=services.revisions(rule), editable=can_edit(rule))


@bp.post("/<int:rule_id>/rollback")
def rollback(rule_id: int):
    rule = rule_or_404(rule_id, edit=True)
    revision = request.form.get("revision", type=int)
    if revision is None:
        abort(400)
    try:
        services.rollback(rule, revision, current_user)
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        return _done(_("Revision %(revision)d can't be restored: %(reason)s", revision=revision,
                       reason="; ".join(str(m) for m in exc.errors.values())),
                     url_for("rules.show", rule_id=rule_id), "error")
    return _done(_("Restored revision %(revision)d as revision %(new)d.", revision=revision,
                   new=db.session.get(Rule, rule_id).revision), url_for("rules.show", rule_id=rule_id))


@bp.post("/<int:rule_id>/delete")
def delete(rule_id: int):
    rule = rule_or_404(rule_id, edit=True)
    name = rule.name
    services.delete_rule(rule)
    db.session.commit()
    return _done(_("Rule “%(name)s” deleted.", name=name), url_for("rules.index"))

