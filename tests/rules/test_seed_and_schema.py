"""The demo desk's example rules, and the schema: migrations match the models (autogenerate finds
nothing to do)."""
from __future__ import annotations

import warnings

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from factories import make_contact
from portal.extensions import db
from portal.models import Department, Priority, Team, utcnow
from portal.seed.demo import seed_demo
from portal.services.tickets import create_ticket
from rule_builder.models import Rule
from rule_builder.seed import seed_demo_rules
from rule_builder.time_rules import run_time_rules

pytestmark = pytest.mark.integration


def test_the_demo_seed_adds_the_example_rules_and_they_work(app):
    seed_demo(tickets=20, seed=7)
    rules = {r.name: r for r in db.session.scalars(select(Rule))}
    assert set(rules) == {"Overheating phones to Replacements", "VIP to senior", "Long overdue conversations"}
    assert all(r.revision == 1 and r.created_by_id is not None for r in rules.values())
    assert seed_demo_rules() == []  # idempotent
    returns = db.session.scalar(select(Department).filter_by(name="Returns"))
    tech = db.session.scalar(select(Department).filter_by(name="Tech support"))
    replacements = db.session.scalar(select(Team).filter_by(name="Replacements"))
    senior = db.session.scalar(select(Team).filter_by(name="Senior"))
    hot = create_ticket(subject="换货", body="新买的手机发热，很烫", department=returns, by="customer")
    vip = create_ticket(subject="Crash", body="App crashes", department=tech, by="customer",
                        contact=make_contact(tier="vip"))
    db.session.commit()
    db.session.expire_all()
    assert (hot.priority, hot.team_id) == (Priority.HIGH, replacements.id)
    assert (vip.team_id, vip.tags) == (senior.id, ["vip"])
    run_time_rules(utcnow())  # runs on the demo's history without error


def _diffs():
    connection = db.session.connection()
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    with warnings.catch_warnings():
        # The expression index on deskwright_cjk_key(search_text) (0002): SQLite can't reflect it,
        # PostgreSQL can't compare its operator class. Alembic says so and skips it.
        warnings.filterwarnings("ignore", message="autogenerate skipping metadata-specified expression-based index")
        warnings.filterwarnings("ignore", message=r"Expression #1 'deskwright_cjk_key")
        diffs = compare_metadata(context, db.metadata)
    if connection.dialect.name != "postgresql":
        # PostgreSQL-only indexes (trigram search) exist only there.
        diffs = [d for d in diffs if not (d[0] == "add_index" and d[1].name.startswith("ix_tickets_search"))]
    return diffs


def test_migrations_match_the_models(app):
    assert _diffs() == []
