"""Time-based rules: a periodic sweep over open tickets with SQL-compiled conditions.

Every TIME_RULES_SECONDS (default 300) each enabled time rule, in the admin's order:

1. compiles its condition to SQL (portal.conditions.compile_to_sql, `now` = the sweep's time)
   over open tickets (status new/open/pending/on_hold) of its department (all, if global);
2. ends the episodes of tickets that no longer match (their TimeRuleEpisode row is deleted, so
   the rule may fire again when the condition next becomes true);
3. fires on every matching ticket that has no episode yet, in batches of BATCH by ticket id:
   the episode row is written (unique per rule and ticket: two sweeps running at once can't
   both fire), then the actions run in a savepoint, with a RuleFiring (event NULL) either way.
   Output dedupe keys are "time:<rule>:<ticket>:<episode start>:<action index>".

So a time rule fires once per ticket per *episode*: not again while its condition stays true,
again after it was seen false and then true. A failed firing still opens the episode (it is not
retried every few minutes; the failure is on the rule's page). When the actions changed fields,
the "updated" rules then run on the ticket like after an event (engine.run_rules). Each ticket
commits on its own: a ticket an agent is editing at that moment is simply taken up next sweep.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, delete, exists, select
from sqlalchemy.exc import IntegrityError

from portal import conditions
from portal.extensions import db
from portal.models import OPEN_STATUSES, Ticket, utcnow
from portal.services.errors import StaleEdit
from portal.services.tickets import Actor

from .actions import ACTION_ERRORS, ActionContext, apply_actions
from .catalogue import current_catalogue
from .engine import ORIGIN, _error_text, run_rules
from .models import Rule, RuleFiring, TimeRuleEpisode

log = logging.getLogger(__name__)
BATCH = 200


@dataclass
class TimeRuleRun:
    rule_id: int
    fired: list[int] = field(default_factory=list)    # ticket ids
    failed: list[int] = field(default_factory=list)
    ended: int = 0                                    # episodes closed


def run_time_rules(now: datetime | None = None) -> list[TimeRuleRun]:
    """The periodic task: every enabled time rule once."""
    now = now or utcnow()
    catalogue = current_catalogue()
    rules = list(db.session.scalars(select(Rule).where(Rule.trigger == "time", Rule.enabled.is_(True))
                                    .order_by(Rule.position, Rule.id)))
    runs = []
    for rule in rules:
        try:
            runs.append(run_time_rule(rule, now, catalogue))
        except conditions.InvalidCondition:
            log.exception("time rule %s has an invalid condition; skipped", rule.id)
            db.session.rollback()
    return runs


def matching_clause(rule: Rule, now: datetime, catalogue=None):
    """Open tickets of the rule's scope that satisfy its condition at `now`."""
    clause = conditions.compile_to_sql(rule.condition, catalogue or current_catalogue(), now=now)
    parts = [Ticket.status.in_(OPEN_STATUSES), clause]
    if rule.department_id is not None:
        parts.append(Ticket.department_id == rule.department_id)
    return and_(*parts)


def run_time_rule(rule: Rule, now: datetime, catalogue=None) -> TimeRuleRun:
    run = TimeRuleRun(rule.id)
    rule_id = rule.id
    matching = matching_clause(rule, now, catalogue)
    # 1. episodes whose ticket no longer matches are over
    ended = list(db.session.scalars(select(TimeRuleEpisode.id).where(
        TimeRuleEpisode.rule_id == rule_id,
        ~exists(select(Ticket.id).where(Ticket.id == TimeRuleEpisode.ticket_id, matching)))))
    for start in range(0, len(ended), 500):
        db.session.execute(delete(TimeRuleEpisode).where(TimeRuleEpisode.id.in_(ended[start:start + 500])))
    run.ended = len(ended)
    db.session.commit()
    # 2. matching tickets without an episode fire
    last_id = 0
    while True:
        ids = list(db.session.scalars(
            select(Ticket.id).where(matching, Ticket.id > last_id,
                                    ~exists(select(TimeRuleEpisode.id).where(TimeRuleEpisode.rule_id == rule_id,
                                                                             TimeRuleEpisode.ticket_id == Ticket.id)))
            .order_by(Ticket.id).limit(BATCH)))
        if not ids:
            return run
        for ticket_id in ids:
            rule = db.session.get(Rule, rule_id)  # committed per ticket: reload what expired
            try:
                status = fire_on_ticket(rule, ticket_id, now)
                db.session.commit()
            except StaleEdit:
                db.session.rollback()  # an agent changed the ticket meanwhile: next sweep
                continue
            if status == "applied":
                run.fired.append(ticket_id)
            elif status == "failed":
                run.failed.append(ticket_id)
        last_id = ids[-1]


def fire_on_ticket(rule: Rule, ticket_id: int, now: datetime) -> str | None:
    """Open the episode and run the rule's actions on one ticket (the caller commits)."""
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None:
        return None
    try:
        with db.session.begin_nested():
            db.session.add(TimeRuleEpisode(rule_id=rule.id, ticket_id=ticket.id, started_at=now))
    except IntegrityError:
        return None  # another sweep opened this episode
    prefix = f"time:{rule.id}:{ticket.id}:{now.isoformat()}"
    context = ActionContext(dedupe_base=prefix, event_kind="time", rule=rule, now=now)
    try:
        with db.session.begin_nested():
            result = apply_actions(ticket, list(rule.actions or []), actor=Actor(label=rule.label, origin=ORIGIN),
                                   context=context)
            firing = RuleFiring(rule_id=rule.id, revision=rule.revision, ticket_id=ticket.id, event_id=None,
                                status="applied", changes=result.changes, outputs=result.outputs, created_at=utcnow())
            db.session.add(firing)
            db.session.flush()
            for message in result.messages:
                message.rule_firing_id = firing.id
    except ACTION_ERRORS as exc:
        db.session.expire(ticket)
        db.session.add(RuleFiring(rule_id=rule.id, revision=rule.revision, ticket_id=ticket.id, event_id=None,
                                  status="failed", changes={}, outputs=[], error=_error_text(exc),
                                  created_at=utcnow()))
        return "failed"
    if result.raw_changes and not result.stop:
        run_rules(ticket, "updated", result.raw_changes, dedupe_prefix=prefix, exclude={rule.id}, now=now)
    return "applied"
