"""The simulator: dry runs and backtests. Nothing here changes a ticket or sends anything.

- /admin/rules/simulate: an existing ticket (by number) or a sample ticket made up in the form,
  and an event; the enabled rules run as a dry run (rule_builder.engine.simulate): which fire, in
  order, each field's before -> after, and the emails, webhooks, notes and notifications that
  would go out. A sample ticket is created through the ticket service inside a savepoint that is
  rolled back, so it is exactly what a real one would be, and then gone.
- /admin/rules/simulate/draft: the rule being edited in the builder, alone, on a ticket.
- /admin/rules/backtest: the builder's draft condition over the viewer's last N tickets in SQL
  (compile_to_sql): "would have matched 312 of 10,000", with a sample.

Every request ends with a rollback, whatever happened.
"""
from __future__ import annotations

import uuid
from contextlib import contextmanager

from flask import abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Contact, ContactIdentity, Department, OutboxEvent, Ticket, utcnow
from portal.services.errors import ValidationFailed
from portal.services.scoping import get_ticket_or_404, ticket_scope
from portal.services.tickets import create_ticket

from .. import engine, services
from ..actions import ACTION_ERRORS, dry_run_scope
from ..catalogue import current_catalogue
from ..forms import BACKTEST_SIZES, SimulateForm
from ..models import Rule
from .access import rule_or_404
from .rules import Builder, bp
from .summary import TRIGGER_LABELS

SAMPLE_SIZE = 20


@contextmanager
def nothing_kept():
    """Whatever runs inside is rolled back, and the queue's pending lists are left as they were."""
    try:
        with dry_run_scope():
            yield
    finally:
        db.session.rollback()


def _sample_ticket(form: SimulateForm) -> Ticket:
    department = db.session.get(Department, int(form.department.data))
    if department is None:
        abort(404)
    contact = Contact(name=_("Sample customer"), tier=form.tier.data, language=form.language.data)
    address = f"sample.customer+{uuid.uuid4().hex[:8]}@example.invalid"   # unique, and never delivered
    contact.identities.append(ContactIdentity(kind="email", value=address))
    db.session.add(contact)
    db.session.flush()
    tags = [t.strip() for t in (form.tags.data or "").replace("，", ",").split(",") if t.strip()]
    return create_ticket(subject=form.subject.data.strip(), body=form.body.data or form.subject.data,
                         department=department, priority=form.priority.data, status=form.status.data,
                         channel=form.channel.data, contact=contact, tags=tags, by="customer")


def _event_changes(ticket: Ticket, trigger: str) -> dict:
    """The change set the event would carry: the creation's own for a new sample ticket."""
    if trigger != "created":
        return {}
    event = db.session.scalar(select(OutboxEvent).where(OutboxEvent.ticket_id == ticket.id,
                                                        OutboxEvent.kind == "ticket.created")
                              .order_by(OutboxEvent.id.desc()).limit(1))
    return dict((event.payload or {}).get("changes") or {}) if event is not None else {}


def _run(ticket: Ticket, trigger: str, changes: dict, rules_for=None) -> dict:
    try:
        report = engine.simulate(ticket, trigger, changes, rules_for=rules_for)
    except ACTION_ERRORS as exc:   # the engine contains rule failures; anything left is shown, not raised
        return dict(error=str(exc), report=None, trigger=trigger, ticket=ticket)
    return dict(report=report, trigger=trigger, ticket=ticket)


def _combined(firings: list[dict]) -> dict:
    """Every field the rules changed: its value before the first rule and after the last."""
    combined: dict = {}
    for firing in firings:
        if firing["status"] != "applied":
            continue
        for name, (old, new) in firing["changes"].items():
            combined[name] = [combined[name][0] if name in combined else old, new]
    return {name: pair for name, pair in combined.items() if pair[0] != pair[1]}


@bp.route("/simulate", methods=["GET", "POST"])
def simulate():
    form = SimulateForm.build(current_user, formdata=request.form if request.method == "POST" else None)
    if request.method == "GET":
        number = request.args.get("ticket", type=int)
        if number:
            form.ticket.data = number
        if not form.department.data and form.department.choices:
            form.department.data = form.department.choices[0].value
    result = None
    status = 200
    if request.method == "POST":
        if form.validate():
            with nothing_kept():
                if form.source.data == "ticket":
                    ticket = get_ticket_or_404(current_user, form.ticket.data)
                    result = _run(ticket, form.trigger.data, {})
                else:
                    try:
                        ticket = _sample_ticket(form)
                    except ValidationFailed as exc:
                        db.session.rollback()
                        form.form_errors.extend(str(m) for m in exc.errors.values())
                        ticket = None
                    if ticket is not None:
                        result = _run(ticket, form.trigger.data, _event_changes(ticket, form.trigger.data))
                        result["sample"] = True
                if result is not None:
                    result = _materialise(result)
        else:
            status = 422
    template = "rule_builder/_sim_result.html" if request.headers.get("HX-Target") == "sim-result" else \
        "rule_builder/simulate.html"
    return render_template(template, form=form, result=result, TRIGGER_LABELS=TRIGGER_LABELS), status


def _materialise(result: dict) -> dict:
    """Read everything the template shows before the rollback expires the objects."""
    report = result.get("report")
    ticket = result.pop("ticket", None)
    result["ticket_number"] = ticket.id if ticket is not None and not result.get("sample") else None
    result["ticket_subject"] = ticket.subject if ticket is not None else ""
    if report is None:
        result.update(firings=[], combined={}, applied=0)
        return result
    result["firings"] = [dict(rule_id=f.rule.id, name=f.rule.name, revision=f.rule.revision, status=f.status,
                              changes=dict(f.changes or {}), outputs=list(f.outputs or []), error=f.error,
                              stop=f.stop, pass_number=f.pass_number) for f in report.firings]
    result["stopped_by"] = report.stopped_by.name if report.stopped_by is not None else None
    result["loop"] = report.loop
    result["passes"] = report.passes
    result["combined"] = _combined(result["firings"])
    result["applied"] = sum(1 for f in result["firings"] if f["status"] == "applied")
    result.pop("report")
    return result


@bp.post("/simulate/draft")
def simulate_draft():
    """The builder's "Test this rule": the draft alone on a ticket, nothing saved."""
    rule_id = request.form.get("rule_id", type=int)
    rule = rule_or_404(rule_id) if rule_id else None
    builder = Builder(rule, formdata=request.form)
    number = request.form.get("sim_ticket", type=int)
    errors = services.validate_rule(builder.data(), rule)
    errors.pop("name", None)   # an unnamed draft can still be tried
    problems = [str(m) for m in errors.values()]
    if not number:
        problems.insert(0, _("Enter the number of a ticket to try the rule on."))
    if problems:
        return render_template("rule_builder/_draft_result.html", problems=problems, result=None), 422
    data = builder.data()
    draft = Rule(id=None, name=data["name"] or _("(draft)"), trigger=data["trigger"], enabled=True,
                 department_id=data["department_id"], condition=data["condition"], actions=data["actions"],
                 revision=(rule.revision + 1) if rule else 1, position=0)

    def rules_for(trigger: str, department_id: int | None) -> list[Rule]:
        fits = draft.department_id is None or draft.department_id == department_id
        return [draft] if fits and trigger == draft.trigger else []

    with nothing_kept():
        ticket = get_ticket_or_404(current_user, number)
        if draft.department_id is not None and ticket.department_id != draft.department_id:
            result = None
            problems = [_("Ticket #%(number)d is in another department than the rule.", number=number)]
        else:
            result = _materialise(_run(ticket, draft.trigger, {}, rules_for=rules_for))
    return render_template("rule_builder/_draft_result.html", problems=problems, result=result,
                           TRIGGER_LABELS=TRIGGER_LABELS), 422 if problems else 200


@bp.post("/backtest")
def backtest():
    """The draft condition over the last N tickets the viewer can see (the rule's department's)."""
    from portal import conditions

    rule_id = request.form.get("rule_id", type=int)
    rule = rule_or_404(rule_id) if rule_id else None
    builder = Builder(rule, formdata=request.form)
    size = request.form.get("backtest_size", type=int)
    if size not in BACKTEST_SIZES:
        size = BACKTEST_SIZES[0]
    catalogue = current_catalogue()
    condition_errors = conditions.validate(builder.condition, catalogue, context="query")
    if condition_errors:
        return render_template("rule_builder/_backtest.html", problems=condition_errors, size=size), 422
    scope = ticket_scope(current_user)
    recent = select(Ticket.id).where(scope)
    if builder.department_id is not None:
        recent = recent.where(Ticket.department_id == builder.department_id)
    recent = recent.order_by(Ticket.id.desc()).limit(size).subquery()
    now = utcnow()
    clause = conditions.compile_to_sql(builder.condition, catalogue, now=now, me=current_user.id)
    with nothing_kept():
        total = db.session.scalar(select(func.count()).select_from(recent))
        matched_query = select(Ticket).where(Ticket.id.in_(select(recent.c.id)), clause)
        matched = db.session.scalar(select(func.count()).select_from(matched_query.with_only_columns(Ticket.id)
                                                                      .subquery()))
        sample = [dict(id=t.id, subject=t.subject, status=t.status, created_at=t.created_at)
                  for t in db.session.scalars(matched_query.order_by(Ticket.id.desc()).limit(SAMPLE_SIZE))]
    return render_template("rule_builder/_backtest.html", problems=[], size=size, total=total, matched=matched,
                           sample=sample)
