"""The rule page's numbers: last firings, failures, tickets affected in the last 24 h / 7 days.

Every query filters on (rule_id, created_at) and uses ix_rule_firings_rule_created.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import distinct, func, select

from portal.extensions import db
from portal.models import OutboundMessage, utcnow

from .models import Rule, RuleFiring


@dataclass
class RuleStats:
    last_firings: list[RuleFiring] = field(default_factory=list)
    failures: list[RuleFiring] = field(default_factory=list)          # failed or stopped by the loop bound
    failed_messages: list[OutboundMessage] = field(default_factory=list)  # emails/webhooks that never went out
    tickets_24h: int = 0
    tickets_7d: int = 0
    firings_24h: int = 0
    firings_7d: int = 0
    failures_7d: int = 0


def rule_stats(rule: Rule, *, now: datetime | None = None, limit: int = 20) -> RuleStats:
    now = now or utcnow()
    day, week = now - timedelta(hours=24), now - timedelta(days=7)
    stats = RuleStats()
    newest = select(RuleFiring).where(RuleFiring.rule_id == rule.id).order_by(RuleFiring.created_at.desc(),
                                                                             RuleFiring.id.desc())
    stats.last_firings = list(db.session.scalars(newest.limit(limit)))
    stats.failures = list(db.session.scalars(newest.where(RuleFiring.status != "applied").limit(limit)))
    stats.failed_messages = list(db.session.scalars(
        select(OutboundMessage).where(OutboundMessage.status == "failed", OutboundMessage.rule_firing_id.in_(
            select(RuleFiring.id).where(RuleFiring.rule_id == rule.id, RuleFiring.created_at >= week)))
        .order_by(OutboundMessage.id.desc()).limit(limit)))
    for since, tickets, firings in ((day, "tickets_24h", "firings_24h"), (week, "tickets_7d", "firings_7d")):
        row = db.session.execute(
            select(func.count(distinct(RuleFiring.ticket_id)), func.count())
            .where(RuleFiring.rule_id == rule.id, RuleFiring.created_at >= since, RuleFiring.status == "applied")).one()
        setattr(stats, tickets, row[0])
        setattr(stats, firings, row[1])
    stats.failures_7d = db.session.scalar(select(func.count()).where(
        RuleFiring.rule_id == rule.id, RuleFiring.created_at >= week, RuleFiring.status != "applied"))
    return stats
