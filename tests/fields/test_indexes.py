"""Filterable fields get an expression index on tickets, on the expression the SQL compiler uses."""
from __future__ import annotations

import pytest
from sqlalchemy.dialects import postgresql

from factories import make_department, make_field, make_ticket
from portal.conditions import app_catalogue, compile_to_sql
from portal.extensions import db
from portal.fields import services
from portal.fields.indexes import create_statement, index_name, indexed_expression
from portal.models import Ticket, utcnow

from .helpers import ticket_indexes

pytestmark = pytest.mark.integration


def index_names() -> set[str]:
    return set(ticket_indexes())


@pytest.mark.parametrize("type_name, options", [
    ("picklist", ["S", "M"]), ("number", None), ("date", None), ("checkbox", None), ("text", None),
    ("multiselect", ["red", "blue"]),
])
def test_an_index_is_made_and_dropped_with_the_filterable_flag(app, db_backend, type_name, options):
    field = make_field("size", type_name, options=options)
    assert "ix_tickets_cf_size" not in index_names()
    services.set_filterable(field, True)
    assert field.filterable and "ix_tickets_cf_size" in index_names()
    assert services.field_revisions(field)[0].summary == "Filterable."
    definition = ticket_indexes()["ix_tickets_cf_size"]
    if type_name == "multiselect":
        assert ("gin" in definition and "jsonb" in definition) if db_backend == "postgresql" else \
            "json_extract(custom_fields, '$.\"size\"')" in definition
    else:  # the compiler's expression (json_typeof / json_type of the value), then the id for keyset pages
        assert ("json_typeof" if db_backend == "postgresql" else "json_type") in definition
        assert "'size'" in definition or '"size"' in definition
        assert definition.rstrip(")").endswith(", id")
    db.session.commit()  # DDL is committed with the revision
    services.set_filterable(field, False)
    assert "ix_tickets_cf_size" not in index_names()


def plan(query) -> str:
    connection = db.session.connection()
    sql = query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
    if connection.dialect.name == "postgresql":
        return "\n".join(connection.exec_driver_sql(f"EXPLAIN {sql}").scalars())
    return "\n".join(row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))


MOSTLY_M = ["S"] + ["M"] * 8 + ["L"]


@pytest.mark.parametrize("type_name, options, samples, condition, matches", [
    ("picklist", ["S", "M", "L"], MOSTLY_M, {"op": "eq", "value": "S"}, 1),
    ("picklist", ["S", "M", "L"], MOSTLY_M, {"op": "in", "value": ["S", "L"]}, 2),
    ("decimal", None, [5, 15, 25, 35, 45, 55, 65, 75, 85, 95], {"op": "between", "value": [10, 20]}, 1),
    ("date", None, ["2026-01-01"] * 9 + ["2026-07-01"], {"op": "gt", "value": "2026-06-01"}, 1),
    ("checkbox", None, [True] + [False] * 5 + [None] * 4, {"op": "eq", "value": True}, 1),
])
def test_queries_on_a_filterable_field_use_its_index(app, db_backend, type_name, options, samples, condition, matches):
    if db_backend == "sqlite" and condition["op"] == "in":
        pytest.skip("SQLite's planner (3.40) uses an expression index for = and ranges, not for IN")
    field = make_field("size", type_name, options=options, filterable=True)
    dept = make_department()
    for value in samples * 8:
        make_ticket(department=dept, custom_fields={"size": value} if value is not None else {})
    db.session.commit()
    connection = db.session.connection()
    connection.exec_driver_sql("ANALYZE tickets" if db_backend == "postgresql" else "ANALYZE")
    if db_backend == "postgresql":
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")  # a tiny table: the index must be possible
    clause = compile_to_sql({"field": "cf.size", **condition}, app_catalogue(), now=utcnow())
    query = db.select(Ticket.id).where(clause)
    assert index_name(field.key) in plan(query), plan(query)
    assert len(db.session.scalars(query).all()) == 8 * matches


def test_sorting_by_a_filterable_field_walks_its_index(app, db_backend):
    field = make_field("reference", "text", filterable=True)
    dept = make_department()
    for n in range(30):
        make_ticket(department=dept, custom_fields={"reference": f"R{n:03}"})
    db.session.commit()
    if db_backend == "postgresql":
        db.session.connection().exec_driver_sql("SET LOCAL enable_seqscan = off")
    expression = indexed_expression(field)
    query = db.select(Ticket.id).order_by(expression, Ticket.id).limit(5)
    assert index_name("reference") in plan(query)
    assert [db.session.get(Ticket, i).custom_fields["reference"] for i in db.session.scalars(query)] == [
        "R000", "R001", "R002", "R003", "R004"]


def test_long_keys_get_names_postgresql_keeps_whole(app):
    long_a, long_b = "a" * 60 + "_one", "a" * 60 + "_two"
    assert len(index_name(long_a)) <= 63 and index_name(long_a) != index_name(long_b)
    assert index_name("size") == "ix_tickets_cf_size"


def test_only_custom_keys_are_ever_inlined_in_ddl(app):
    field = make_field("size", "number")
    field.key = "size'); DROP TABLE tickets; --"
    with pytest.raises(ValueError):
        create_statement(field, postgresql.dialect())
    db.session.rollback()
