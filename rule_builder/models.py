"""Workflow rules, their revisions and firings, time-rule episodes, macros.

A rule or macro is a versioned JSON document (see services.py): the live row holds the current
revision, and every save also writes a *Revision row with the whole document as exported, who
saved it and a one-line summary of the change, so any revision can be looked at or restored.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models import Department, Ticket, User, UTCDateTime, utcnow
from portal.models.revisions import RevisionColumns

TRIGGERS = ("created", "updated", "customer_replied", "agent_replied", "csat_received", "time")
EVENT_TRIGGERS = TRIGGERS[:-1]
# Outbox event kind -> trigger
TRIGGER_OF_KIND = {f"ticket.{t}": t for t in EVENT_TRIGGERS}
FIRING_STATUSES = ("applied", "failed", "loop")


class Rule(db.Model):
    __tablename__ = "rules"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    department_id: Mapped[Optional[int]] = mapped_column(ForeignKey("departments.id"))  # NULL: every department
    trigger: Mapped[str] = mapped_column(String(20))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)  # the admin's order, over all rules
    revision: Mapped[int] = mapped_column(Integer, default=1)
    condition: Mapped[dict] = mapped_column(JSON, default=dict)
    actions: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    department: Mapped[Optional[Department]] = relationship()
    created_by: Mapped[Optional[User]] = relationship(foreign_keys=[created_by_id])
    updated_by: Mapped[Optional[User]] = relationship(foreign_keys=[updated_by_id])

    # The engine's one query per event: enabled rules of a trigger, in order.
    __table_args__ = (Index("ix_rules_trigger_enabled_position", "trigger", "enabled", "position"),)

    @property
    def label(self) -> str:
        """How the History tab names this rule as an actor: rule 'VIP to senior' r3."""
        return f"rule '{self.name}' r{self.revision}"

    def __repr__(self) -> str:
        return f"<Rule {self.id} {self.name!r} r{self.revision}>"


class RuleRevision(RevisionColumns, db.Model):
    __tablename__ = "rule_revisions"
    rule_id: Mapped[int] = mapped_column(ForeignKey("rules.id", ondelete="CASCADE"))
    __table_args__ = (db.UniqueConstraint("rule_id", "revision", name="uq_rule_revisions_rule_revision"),)


class RuleFiring(db.Model):
    """One rule firing (or failing) on one ticket for one event (time rules: event_id NULL).

    status: applied; failed (the rule's savepoint was rolled back, `error` says why); loop (the
    rule matched but was not run because re-evaluation hit its bound, see engine.py).
    """

    __tablename__ = "rule_firings"
    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("rules.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(Integer)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    event_id: Mapped[Optional[int]] = mapped_column(ForeignKey("outbox_events.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20))
    changes: Mapped[dict] = mapped_column(JSON, default=dict)   # {field: [old, new]} as people read them
    outputs: Mapped[list] = mapped_column(JSON, default=list)   # emails, webhooks, notifications, notes
    error: Mapped[Optional[str]] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    rule: Mapped[Rule] = relationship()
    ticket: Mapped[Ticket] = relationship()

    __table_args__ = (
        # At most once per event: a replayed event finds its firing and does nothing.
        db.UniqueConstraint("rule_id", "event_id", name="uq_rule_firings_rule_event"),
        # The rule page (last firings, tickets in the last 24 h / 7 d) and the ticket's rule log.
        Index("ix_rule_firings_rule_created", "rule_id", "created_at"),
        Index("ix_rule_firings_ticket", "ticket_id", "id"),
    )


class TimeRuleEpisode(db.Model):
    """A time rule matched this ticket at `started_at` and fired; deleted when it stops matching."""

    __tablename__ = "time_rule_episodes"
    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("rules.id", ondelete="CASCADE"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (db.UniqueConstraint("rule_id", "ticket_id", name="uq_time_rule_episodes_rule_ticket"),)


class Macro(db.Model):
    """A named bundle of actions an agent applies by hand; personal (owner) or shared."""

    __tablename__ = "macros"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    department_id: Mapped[Optional[int]] = mapped_column(ForeignKey("departments.id"))  # NULL: all
    condition: Mapped[dict] = mapped_column(JSON, default=dict)  # availability
    actions: Mapped[list] = mapped_column(JSON, default=list)
    usage_count: Mapped[int] = mapped_column(Integer, default=0)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    owner: Mapped[Optional[User]] = relationship(foreign_keys=[owner_id])
    department: Mapped[Optional[Department]] = relationship()

    def __repr__(self) -> str:
        return f"<Macro {self.id} {self.name!r} r{self.revision}>"


class MacroRevision(RevisionColumns, db.Model):
    __tablename__ = "macro_revisions"
    macro_id: Mapped[int] = mapped_column(ForeignKey("macros.id", ondelete="CASCADE"))
    __table_args__ = (db.UniqueConstraint("macro_id", "revision", name="uq_macro_revisions_macro_revision"),)
