"""The rule engine: which rules run on a ticket event, in which order, and what is recorded.

Semantics (docs/rules.md is written from this):

- **Triggers.** The outbox events ticket.created, ticket.updated, ticket.customer_replied,
  ticket.agent_replied and ticket.csat_received run the enabled rules of that trigger
  ("created", "updated", ...). Time rules run from a periodic sweep (time_rules.py).
- **Which rules.** Global rules and the rules of the ticket's department, in the admin's order
  (`position`, one order over all rules). A rule of another department is skipped, also when an
  earlier rule moved the ticket away in the same pass.
- **Conditions** are evaluated on a snapshot of the ticket as it is when the rules run, and the
  event's change set (changed / changed_to / changed_from read it). Conditions are compiled once
  per rule revision and shared between rules (RuleSetMatcher).
- **At most once per event.** A rule fires at most once for an event, whatever happens after:
  RuleFiring is unique on (rule, event), so a replayed event finds its firings and does nothing.
- **Later rules see earlier changes.** After a rule changed fields, the snapshot is refreshed
  before the next rule's condition is evaluated. The change set stays the event's: a rule's own
  changes are seen by "changed" conditions in the next pass, not in this one.
- **Stop.** A rule with a `stop` action ends processing for this event once its actions ran.
- **Re-evaluation.** When a pass changed fields, the "updated" rules are evaluated again with
  the change set of that pass (rules that already fired for this event are left out), and so on
  until a pass changes nothing, a rule stops, or RULES_MAX_PASSES passes (default 5) ran. If
  after the last pass some rule would still fire, nothing more runs: those rules get a firing
  with status "loop" (shown on the rule's page) and the ticket's History gets a line saying so.
- **Rule changes don't trigger rules.** The ticket service records rule actions with origin
  "rules"; the rule engine skips such events (re-evaluation above already covered them), other
  subscribers (assignment, SLA...) do see them.
- **Each firing is recorded**: RuleFiring(rule, revision, ticket, event, changes, outputs,
  status, error); its field changes are in the ticket's History under the actor
  "rule 'Name' rN".
- **Failures are contained.** A rule's actions run in a savepoint. If they fail because of the
  rule or the ticket (the ticket service refuses a change, a template error or sandbox refusal, a
  refused webhook address, a regex that ran out of time), the savepoint is rolled back - the
  ticket is untouched by that rule - the firing is recorded as failed with the error, and the
  following rules run. Other errors (the database) propagate: the event's job fails and is
  retried with back-off, and nothing of this run is kept.
- **Side effects after commit.** Emails and webhooks are OutboundMessage rows in the same
  transaction (dedupe key "<event id>:<rule id>:<action index>"); a job sends them after commit.
"""
from __future__ import annotations

import weakref
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterable, Optional

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from portal import conditions
from portal.conditions.columns import DERIVED
from portal.extensions import db
from portal.models import OutboxEvent, Team, Ticket, TicketEvent, utcnow
from portal.services import tickets
from portal.services.tickets import Actor

from .actions import ACTION_ERRORS, ActionContext, apply_actions, dry_run_scope, needs_savepoint
from .catalogue import current_catalogue, matcher_for
from .models import TRIGGER_OF_KIND, Rule, RuleFiring

SUBSCRIBER = "rules"
ORIGIN = "rules"
EVENT_KINDS = tuple(TRIGGER_OF_KIND)


@dataclass
class FiringResult:
    """What one rule did (or would do, in a dry run)."""

    rule: Rule
    status: str                          # applied / failed / loop
    changes: dict = field(default_factory=dict)
    outputs: list = field(default_factory=list)
    error: Optional[str] = None
    stop: bool = False
    raw_changes: dict = field(default_factory=dict)
    pass_number: int = 1
    firing: Optional[RuleFiring] = None  # the row, for a rule with outputs (see _Run._firing_row)


@dataclass
class RunReport:
    firings: list[FiringResult] = field(default_factory=list)
    passes: int = 0
    stopped_by: Optional[Rule] = None
    loop: bool = False
    skipped: Optional[str] = None        # why nothing ran ("caused by rules", "ticket gone")

    @property
    def applied(self) -> list[FiringResult]:
        return [f for f in self.firings if f.status == "applied"]


def on_event(event: OutboxEvent) -> None:
    """The "rules" outbox subscriber."""
    run_event(event)


def wants_event(kind: str, payload: dict) -> bool:
    """Events caused by rule actions are not the engine's (re-evaluation covered them): when no
    other subscriber wants them either, they are never queued (portal.events.subscribe)."""
    return ((payload or {}).get("actor") or {}).get("origin") != ORIGIN


def run_event(event: OutboxEvent, *, dry_run: bool = False) -> RunReport:
    """Run the rules for an outbox event (see the module docstring)."""
    if not wants_event(event.kind, event.payload or {}):
        return RunReport(skipped="caused by rules")
    trigger = TRIGGER_OF_KIND.get(event.kind)
    ticket = db.session.get(Ticket, event.ticket_id) if event.ticket_id else None
    if trigger is None or ticket is None:
        return RunReport(skipped="no trigger" if trigger is None else "ticket gone")
    batch = _batch_for(event)
    if batch is not None:  # prepare_events read these for the whole batch
        already, by_trigger, derived = batch.fired.get(event.id, set()), batch.by_trigger, batch.derived.get(ticket.id)
        catalogue = batch.catalogue
    else:
        already = set(db.session.scalars(select(RuleFiring.rule_id).where(RuleFiring.event_id == event.id)))
        by_trigger = derived = catalogue = None
    return run_rules(ticket, trigger, (event.payload or {}).get("changes") or {}, event=event, exclude=already,
                     dry_run=dry_run, by_trigger=by_trigger, derived=derived, catalogue=catalogue)


# --------------------------------------------------------------------------------------------
# Batches (portal.jobs.process_events)
# --------------------------------------------------------------------------------------------
BATCH_KEY = "deskwright_rules_batch"


@dataclass
class _Batch:
    event_ids: set[int]
    by_trigger: dict[str, list[Rule]]
    fired: dict[int, set[int]]      # event id -> rules that already fired for it
    derived: dict[int, dict]        # ticket id -> a snapshot's derived fields, as `snapshot(previous=...)` takes
    catalogue: object               # the condition catalogue (custom fields)
    # The rows read for the batch: the session's identity map holds objects weakly, so without
    # this they could be collected before their event runs and be read again.
    keep: list = field(default_factory=list)


def _batch_for(event: OutboxEvent) -> Optional[_Batch]:
    batch = db.session.info.get(BATCH_KEY)
    return batch if batch is not None and event.id in batch.event_ids else None


@contextmanager
def prepare_events(events: list[OutboxEvent]):
    """The subscriber's batch hook: what run_event reads per event, read once for the batch.

    Per event, the rules cost ~20 statements, two thirds of them reads that are the same for
    every event (the enabled rules' stamp, the custom fields, departments, teams) or one row each
    (the ticket, its tags, its derived fields, the rules already fired). Here they are a handful
    of queries for the whole batch; the tickets, their departments, teams and assignees, and the
    teams the rules assign land in the session's identity map, so `session.get` and lazy loads
    find them without a query (and without an autoflush in the middle of a rule run). A
    handler outside the hook (a single event, the one-by-one fallback) reads them itself:
    same result.
    """
    session = db.session
    ours = [e for e in events if TRIGGER_OF_KIND.get(e.kind) and wants_event(e.kind, e.payload or {})]
    with session.no_autoflush:
        by_trigger = _enabled_by_trigger()
        ticket_ids = sorted({e.ticket_id for e in ours if e.ticket_id})
        derived: dict[int, dict] = {}
        keep: list = []
        if ticket_ids:
            keep += session.scalars(select(Ticket).where(Ticket.id.in_(ticket_ids)).options(
                joinedload(Ticket.department), joinedload(Ticket.team), joinedload(Ticket.assignee),
                selectinload(Ticket.tag_rows))).unique().all()
            names = list(DERIVED)
            for row in session.execute(select(Ticket.id, Ticket.contact_id, Ticket.thread_count,
                                              *DERIVED.values()).where(Ticket.id.in_(ticket_ids))):
                derived[row[0]] = {"id": row[0], "contact": row[1], "thread_count": row[2],
                                   **dict(zip(names, row[3:]))}
        team_ids = _teams_named_by(rule for rules in by_trigger.values() for rule in rules)
        if team_ids:
            keep += session.scalars(select(Team).where(Team.id.in_(team_ids))).all()
        fired: dict[int, set[int]] = {e.id: set() for e in ours}
        if ours:
            for event_id, rule_id in session.execute(select(RuleFiring.event_id, RuleFiring.rule_id)
                                                     .where(RuleFiring.event_id.in_(list(fired)))):
                fired[event_id].add(rule_id)
        # Read here once: the custom fields' own cache is per transaction and forgotten at every flush.
        catalogue = current_catalogue()
    session.info[BATCH_KEY] = _Batch({e.id for e in ours}, by_trigger, fired, derived, catalogue, keep)
    try:
        yield
    finally:
        session.info.pop(BATCH_KEY, None)


def _teams_named_by(rules: Iterable[Rule]) -> set[int]:
    """The teams the rules' actions assign or move to (ids as stored)."""
    ids = set()
    for rule in rules:
        for action in rule.actions or ():
            if not isinstance(action, dict) or action.get("type") not in ("assign", "move_department"):
                continue
            try:
                ids.add(int(action["team"]))
            except (KeyError, TypeError, ValueError):
                continue  # no team (a strategy, an agent), or malformed: the action itself says so when it runs
    return ids


def run_rules(ticket: Ticket, trigger: str, raw_changes: dict, *, event: OutboxEvent | None = None,
              dedupe_prefix: str | None = None, exclude: Iterable[int] = (), dry_run: bool = False,
              now: datetime | None = None, rules_for: Callable[[str, int], list[Rule]] | None = None,
              by_trigger: dict[str, list[Rule]] | None = None, derived: dict | None = None,
              catalogue=None) -> RunReport:
    """Run the `trigger` rules on `ticket`, then the re-evaluation passes.

    `raw_changes` is the change set as the outbox payload has it. Without an `event` (time rules'
    follow-up passes) `dedupe_prefix` names the cause for the outputs' dedupe keys. `rules_for`
    (trigger, department id) -> rules replaces the enabled rules from the database (the simulator's
    drafts). A dry run changes and sends nothing (see actions.execute). `by_trigger` (the enabled
    rules, as `_enabled_by_trigger` gives them), `derived` (the ticket's derived snapshot
    fields) and `catalogue` are what a batch read beforehand (prepare_events).
    """
    if rules_for is None:
        # Read once per run, not once per pass: the passes of one event see the same rules, and a
        # read after the first firing would autoflush the run's changes half-way.
        rules = by_trigger if by_trigger is not None else _enabled_by_trigger()

        def rules_for(trigger: str, department_id: int | None) -> list[Rule]:
            return _of_department(rules, trigger, department_id)

    run = _Run(ticket, event=event, dedupe_prefix=dedupe_prefix, exclude=exclude, dry_run=dry_run,
               now=now or utcnow(), rules_for=rules_for, derived=derived, catalogue=catalogue)
    if dry_run:
        with dry_run_scope():
            return run.run(trigger, raw_changes)
    return run.run(trigger, raw_changes)


def enabled_rules(trigger: str, department_id: int | None) -> list[Rule]:
    """The enabled rules of `trigger` for a ticket in `department_id`, in the admin's order."""
    return _of_department(_enabled_by_trigger(), trigger, department_id)


def _of_department(by_trigger: dict[str, list[Rule]], trigger: str, department_id: int | None) -> list[Rule]:
    return [rule for rule in by_trigger.get(trigger, ())
            if rule.department_id is None or rule.department_id == department_id]


# engine -> (stamp, {trigger: [Rule copies]}). Rules change rarely and every event needs them:
# loading 50 rows with their JSON cost ~2.5 ms an event, the stamp below ~0.3 ms.
_rules_cache: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _enabled_by_trigger() -> dict[str, list[Rule]]:
    """All enabled rules by trigger, as copies outside any session, reloaded when the stamp moves.

    The stamp is (id, revision, position, trigger, department) of every enabled rule: every
    change to a rule bumps its revision (enabling/disabling too), reordering moves positions,
    deleting drops a row. It is read in the caller's transaction, so uncommitted changes count.
    """
    stamp = tuple(tuple(row) for row in db.session.execute(
        select(Rule.id, Rule.revision, Rule.position, Rule.trigger, Rule.department_id)
        .where(Rule.enabled.is_(True)).order_by(Rule.position, Rule.id)))
    bind = db.session.get_bind()
    cached = _rules_cache.get(bind)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    by_trigger: dict[str, list[Rule]] = {}
    columns = [attr.key for attr in sa_inspect(Rule).column_attrs]
    for rule in db.session.scalars(select(Rule).where(Rule.enabled.is_(True)).order_by(Rule.position, Rule.id)):
        # Transient copies: read-only for the engine, never attached to (or expired by) a session.
        by_trigger.setdefault(rule.trigger, []).append(Rule(**{key: getattr(rule, key) for key in columns}))
    _rules_cache[bind] = (stamp, by_trigger)
    return by_trigger


def max_passes() -> int:
    return int(current_app.config.get("RULES_MAX_PASSES", 5))


class _Run:
    def __init__(self, ticket, *, event, dedupe_prefix, exclude, dry_run, now, rules_for, derived=None,
                 catalogue=None):
        self.ticket, self.event, self.dry_run, self.now = ticket, event, dry_run, now
        # The latest snapshot: the next one reuses its derived fields when they can't have changed
        # (same contact, no new message), so a pass costs no query for them.
        self.last_snap: dict | None = derived
        self.dedupe_prefix = dedupe_prefix
        self.fired: set[int] = set(exclude)
        self.rules_for = rules_for
        self.catalogue = catalogue if catalogue is not None else current_catalogue()
        self.report = RunReport()
        self.event_changes: dict = {}
        self.firing_rows: list[dict] = []  # firings not written yet (see _firing_row)

    def run(self, trigger: str, raw_changes: dict) -> RunReport:
        # All passes' field changes become one version and one ticket.updated event (each History
        # row still names its rule): one flush and one outbox row per run, not per firing.
        with tickets.batched(self.ticket, by=Actor(label="rules", origin=ORIGIN), now=self.now) as batch:
            self.batch = batch
            report = self._run(trigger, raw_changes)
            self._write_firings()
            return report

    def _run(self, trigger: str, raw_changes: dict) -> RunReport:
        self.event_changes = raw_changes
        changes = raw_changes
        for number in range(1, max_passes() + 1):
            self.report.passes = number
            pass_changes, stopped = self._pass(trigger if number == 1 else "updated", changes, number)
            if stopped or not pass_changes:
                return self.report
            changes = pass_changes
        self._loop_check(changes)
        return self.report

    # -- one pass ---------------------------------------------------------------------------
    def _pass(self, trigger: str, raw_changes: dict, number: int) -> tuple[dict, bool]:
        rules = self.rules_for(trigger, self.ticket.department_id)
        if not any(r.id not in self.fired for r in rules):
            return {}, False
        matcher, invalid = matcher_for(rules, self.catalogue)
        snap = self.last_snap = conditions.snapshot(self.ticket, self.now, previous=self.last_snap)
        # Lazy and memoised; rules whose indexed equality rows don't fit are answered by the index.
        evaluation = matcher.evaluation(snap, conditions.changes_from_payload(raw_changes))
        pass_changes: dict = {}
        for rule in rules:
            if rule.id in self.fired:
                continue
            if rule.department_id is not None and rule.department_id != self.ticket.department_id:
                continue  # an earlier rule moved the ticket out of this rule's department
            if rule.id in invalid:
                self._record_failure(rule, _("The condition is no longer valid: %(reason)s", reason=invalid[rule.id]),
                                     number)
                continue
            try:
                matched = evaluation.matches(rule.id)
            except conditions.ConditionTimeout as exc:
                self._record_failure(rule, _("The condition took too long: %(reason)s", reason=str(exc)), number)
                continue
            if not matched:
                continue
            result = self._fire(rule, number)
            if result.raw_changes:
                _merge_changes(pass_changes, result.raw_changes)
                fresh = conditions.snapshot(self.ticket, self.now, previous=snap)
                changed = [k for k in set(snap) | set(fresh) if snap.get(k) != fresh.get(k)]
                snap.clear()
                snap.update(fresh)  # the evaluation reads this dict: later rules see the changes
                evaluation.invalidate(changed)
            if result.stop:
                self.report.stopped_by = rule
                return pass_changes, True
        return pass_changes, False

    # -- one rule ---------------------------------------------------------------------------
    def _dedupe_base(self, rule: Rule) -> str:
        if self.event is not None:
            return f"{self.event.id}:{rule.id}"
        return f"{self.dedupe_prefix}>{rule.id}"

    def _fire(self, rule: Rule, number: int) -> FiringResult:
        self.fired.add(rule.id)
        actor = Actor(label=rule.label, origin=ORIGIN)
        context = ActionContext(
            dedupe_base=self._dedupe_base(rule), event_kind=self.event.kind if self.event else "time",
            event_id=self.event.id if self.event else None, changes=self.event_changes, rule=rule,
            dry_run=self.dry_run, rollback_dry_run=False, now=self.now)
        actions_list = list(rule.actions or [])
        mark = self.batch.mark()
        # Field changes alone are validated before anything is touched (a refusal leaves the ticket
        # as it was), so they need no savepoint; outputs and strategies write rows as they go.
        guarded = needs_savepoint(actions_list) or self.dry_run
        if guarded and not self.dry_run:
            self._write_firings()  # the earlier firings first: ids keep the firing order
        try:
            with db.session.begin_nested() if guarded else nullcontext():
                actions = apply_actions(self.ticket, actions_list, actor=actor, context=context)
                result = FiringResult(rule, "applied", actions.changes, actions.outputs, stop=actions.stop,
                                      raw_changes=actions.raw_changes, pass_number=number)
                if not self.dry_run:
                    result.firing = self._firing_row(rule, "applied", actions.changes, actions.outputs,
                                                     as_object=guarded)
                    if actions.messages:
                        db.session.flush()  # the messages point at the firing
                        for message in actions.messages:
                            message.rule_firing_id = result.firing.id
        except ACTION_ERRORS as exc:
            self.batch.discard_after(mark)
            if guarded:
                db.session.expire(self.ticket)
            return self._record_failure(rule, _error_text(exc), number)
        except IntegrityError:
            self.batch.discard_after(mark)
            if self.event is not None and self._already_fired(rule):
                db.session.expire(self.ticket)  # another worker fired it for this event meanwhile
                return FiringResult(rule, "duplicate", pass_number=number)
            raise
        self.report.firings.append(result)
        return result

    def _firing_row(self, rule: Rule, status: str, changes: dict, outputs: list, error: str | None = None, *,
                    as_object: bool = False) -> Optional[RuleFiring]:
        """Record a firing. As an ORM object when asked (a rule with outputs: it runs in a
        savepoint, and its messages point at the row); otherwise as a row written with the run's
        others in one INSERT when the run ends (`_write_firings`): ~5 firings an event cost the
        unit of work ~15% of the event as objects."""
        values = dict(rule_id=rule.id, revision=rule.revision, ticket_id=self.ticket.id,
                      event_id=self.event.id if self.event else None, status=status, changes=changes,
                      outputs=outputs, error=error, created_at=utcnow())
        if not as_object:
            self.firing_rows.append(values)
            return None
        row = RuleFiring(**values)
        db.session.add(row)
        return row

    def _write_firings(self) -> None:
        if self.firing_rows:
            rows, self.firing_rows = self.firing_rows, []
            with db.session.no_autoflush:  # the ticket's changes are flushed once, when the run's batch closes
                db.session.execute(RuleFiring.__table__.insert(), rows)

    def _record_failure(self, rule: Rule, error: str, number: int, status: str = "failed") -> FiringResult:
        self.fired.add(rule.id)
        result = FiringResult(rule, status, error=error, pass_number=number)
        if not self.dry_run:
            self._firing_row(rule, status, {}, [], error)
        self.report.firings.append(result)
        return result

    def _already_fired(self, rule: Rule) -> bool:
        return db.session.scalar(select(RuleFiring.id).where(
            RuleFiring.rule_id == rule.id, RuleFiring.event_id == self.event.id)) is not None

    # -- the bound ----------------------------------------------------------------------------
    def _loop_check(self, raw_changes: dict) -> None:
        """The last pass still changed fields: report the rules that would fire next, run none."""
        updated = self.rules_for("updated", self.ticket.department_id)
        if not any(r.id not in self.fired for r in updated):
            return
        matcher, invalid = matcher_for(updated, self.catalogue)
        rules = [r for r in updated if r.id not in self.fired and r.id not in invalid]
        evaluation = matcher.evaluation(conditions.snapshot(self.ticket, self.now),
                                        conditions.changes_from_payload(raw_changes))
        pending = []
        for rule in rules:
            try:
                if evaluation.matches(rule.id):
                    pending.append(rule)
            except conditions.ConditionTimeout:
                continue
        if not pending:
            return
        self.report.loop = True
        names = ", ".join(f"'{r.name}'" for r in pending)
        message = _("Rules stopped after %(num)d passes: each pass changed fields again. Not run: %(rules)s.",
                    num=self.report.passes, rules=names)
        for rule in pending:
            self._record_failure(rule, message, self.report.passes + 1, status="loop")
        if not self.dry_run:
            db.session.add(TicketEvent(ticket_id=self.ticket.id, outbox_id=self.event.id if self.event else None,
                                       actor_label="rules", field="rules", new_value=message,
                                       version=self.ticket.version, created_at=utcnow()))


def _merge_changes(into: dict, changes: dict) -> None:
    for name, (old, new) in changes.items():
        into[name] = [into[name][0] if name in into else old, new]


def _error_text(exc: BaseException) -> str:
    return (str(exc) or exc.__class__.__name__)[:2000]


def simulate(ticket: Ticket, trigger: str, raw_changes: dict | None = None, *,
             rules_for: Callable[[str, int], list[Rule]] | None = None, now: datetime | None = None) -> RunReport:
    """Dry run: which rules would fire on `ticket` for `trigger`, with their changes and outputs.
    Nothing is changed or sent (everything runs in a savepoint that is rolled back)."""
    return run_rules(ticket, trigger, raw_changes or {}, dedupe_prefix="simulation", dry_run=True, now=now,
                     rules_for=rules_for)


def firings_for_ticket(ticket_id: int, limit: int = 50) -> list[RuleFiring]:
    """The ticket's rule log, newest first (the ticket page's "Rules" section)."""
    return list(db.session.scalars(select(RuleFiring).where(RuleFiring.ticket_id == ticket_id)
                                   .order_by(RuleFiring.id.desc()).limit(limit)))


def describe(result: FiringResult) -> str:
    """One line for people: "Rule 'VIP to senior' r3: priority normal→high, team → Senior"."""
    parts = []
    for name, (old, new) in result.changes.items():
        parts.append(f"{name} {old}→{new}" if old is not None else f"{name} → {new}")
    head = f"Rule '{result.rule.name}' r{result.rule.revision}"
    if result.status != "applied":
        return f"{head}: {result.status}: {result.error}"
    return f"{head}: " + (", ".join(parts) if parts else "no field changes")
