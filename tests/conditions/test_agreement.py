"""Property: for any condition, SQL finds exactly the tickets the Python predicate accepts (both backends)."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy import select

from portal.conditions import compile_to_python, compile_to_sql, validate
from portal.extensions import db
from portal.models import Ticket

from .pool import NOW
from .strategies import conditions

pytestmark = pytest.mark.integration


def test_sql_and_python_agree_on_random_conditions(pool_data):
    pool = pool_data

    @given(conditions(pool))
    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    def check(cond):
        assert validate(cond, pool.catalogue, "query") == []
        predicate = compile_to_python(cond, pool.catalogue)
        by_python = {s["id"] for s in pool.snapshots if predicate(s)}
        with db.session.begin_nested():
            clause = compile_to_sql(cond, pool.catalogue, now=NOW, me=pool.me)
            by_sql = set(db.session.scalars(select(Ticket.id).where(clause)))
        assert pool.names(by_sql) == pool.names(by_python)

    check()
