"""The rule page's numbers."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from factories import make_ticket
from portal.extensions import db
from portal.models import utcnow
from rule_builder.models import RuleFiring
from rule_builder.stats import rule_stats

from .helpers import make_rule

pytestmark = pytest.mark.integration


def test_rule_stats(app):
    rule = make_rule("Hook", actions=[{"type": "webhook", "url": "http://127.0.0.1:1/unreachable"}])
    app.config["OUTBOUND_MAX_ATTEMPTS"] = 1
    tickets = [make_ticket() for _ in range(3)]
    db.session.commit()
    # Backdate: one firing two days ago, one two weeks ago.
    rows = list(db.session.scalars(select(RuleFiring).order_by(RuleFiring.id)))
    rows[0].created_at = utcnow() - timedelta(days=2)
    rows[1].created_at = utcnow() - timedelta(days=14)
    db.session.add(RuleFiring(rule_id=rule.id, revision=1, ticket_id=tickets[2].id, event_id=None, status="failed",
                              changes={}, outputs=[], error="boom", created_at=utcnow()))
    db.session.commit()
    stats = rule_stats(rule)
    assert (stats.tickets_24h, stats.firings_24h) == (1, 1)
    assert (stats.tickets_7d, stats.firings_7d) == (2, 2)
    assert stats.failures_7d == 1 and [f.error for f in stats.failures] == ["boom"]
    assert len(stats.last_firings) == 4
    # Each webhook failed for good (1 attempt): those of the last 7 days are listed.
    assert len(stats.failed_messages) == 2 and all("Connection" in m.last_error for m in stats.failed_messages)
