"""Indexes for filterable custom fields: `ix_tickets_cf_<key>` on tickets, made when an admin marks a
field filterable and dropped when they unmark it.

The index is on the *exact* expression the queries use - portal.conditions.columns'
cf_order_expression, which the condition compiler filters on and the queue sorts by - followed by
the ticket id for keyset pages, on both backends: a database only uses an expression index whose
expression matches the query's, and the columns write the key and their fixed words into the SQL
as constants so they can. A multi-select is tested with EXISTS over its JSON array elements, which
no index can serve; it gets a GIN index on the value as jsonb on PostgreSQL (what a containment
test, @>, would use) and a json_extract index on SQLite.

DDL runs in the caller's transaction (both backends have transactional DDL), so an import that
fails rolls its indexes back too. Not CONCURRENTLY: on a large PostgreSQL desk the build locks
tickets against writes while it runs.
"""
from __future__ import annotations

import hashlib
from typing import Optional

from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import BooleanClauseList, ColumnElement

from ..conditions.columns import cf_is, cf_order_expression
from ..conditions.fields import CUSTOM_KEY, CUSTOM_TYPES
from ..extensions import db
from .models import CustomField
from .types import TYPES

NAME_MAX = 63  # PostgreSQL cuts longer identifiers, so two long keys could share a name


def index_name(key: str) -> str:
    name = f"ix_tickets_cf_{key}"
    if len(name) <= NAME_MAX:
        return name
    return f"ix_tickets_cf_{key[:40]}_{hashlib.sha1(key.encode()).hexdigest()[:8]}"


def indexed_expression(field: CustomField) -> Optional[ColumnElement]:
    """What queries on this field test and sort by; None for a multi-select (no expression serves it)."""
    spec_type = CUSTOM_TYPES[TYPES[field.type].condition_type]
    if spec_type == "bool":
        return cf_is(field.key, True)
    return cf_order_expression(field.key, spec_type)


def _index_columns(field: CustomField, dialect: Dialect) -> Optional[list[ColumnElement]]:
    """The index's expressions, before the id. PostgreSQL's planner takes the yes/no test (its type is
    boolean AND its text is 'true') apart and matches each comparison on its own: index what they
    compare. SQLite matches the whole test (the compiler writes it `(test) = 1`)."""
    expression = indexed_expression(field)
    if expression is None:
        return None
    if TYPES[field.type].condition_type == "bool" and dialect.name == "postgresql":
        test = expression.postgresql  # cf_is is per dialect; this is PostgreSQL's AND of two comparisons
        comparisons = test.clauses if isinstance(test, BooleanClauseList) else [test]
        return [comparison.left for comparison in comparisons]
    return [expression]


def create_statement(field: CustomField, dialect: Dialect) -> str:
    key = field.key
    if not CUSTOM_KEY.fullmatch(key):  # keys are written into the DDL; CUSTOM_KEY keeps them plain
        raise ValueError(f"not a custom field key: {key!r}")
    name = index_name(key)
    columns = _index_columns(field, dialect)
    if columns is None and dialect.name == "postgresql":
        return f"CREATE INDEX IF NOT EXISTS {name} ON tickets USING gin (((custom_fields -> '{key}')::jsonb))"
    if columns is None:
        return f"CREATE INDEX IF NOT EXISTS {name} ON tickets (json_extract(custom_fields, '$.\"{key}\"'))"
    sql = ", ".join(f"({_compiled(column, dialect)})" for column in columns)
    return f"CREATE INDEX IF NOT EXISTS {name} ON tickets ({sql}, id)"


def _compiled(expression: ColumnElement, dialect: Dialect) -> str:
    sql = str(expression.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    return sql.replace("tickets.custom_fields", "custom_fields")  # an index names its own table's columns


def apply(field: CustomField) -> None:
    """Create the field's index if it is filterable, else drop it (both idempotent)."""
    connection = db.session.connection()
    if field.filterable:
        statement = create_statement(field, connection.dialect)
    else:
        statement = f"DROP INDEX IF EXISTS {index_name(field.key)}"
    connection.exec_driver_sql(statement)  # as written: no bind-parameter parsing of its quotes and colons
