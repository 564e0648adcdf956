"""SQLite gets the SQL functions conditions compile to as Python functions, on every connection:
deskwright_fold (PostgreSQL has it from migration 0003) and regexp (what `x REGEXP p` calls).

SQLAlchemy's SQLite dialect registers its own `regexp` (re.search: case-sensitive, no time limit)
when it connects; ours is registered on each engine after it, so it replaces that one: the
same engine, flags and time limit as the Python predicates (regexes.search).
"""
from __future__ import annotations

import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine

from . import regexes
from .fold import fold


def _fold(value):
    return fold(value) if isinstance(value, str) else value


def _regexp(pattern, value):
    if pattern is None or value is None:
        return None
    return int(regexes.search(pattern, value, folded=False))  # REGEXP may be used on any text


def _register(dbapi_connection, _connection_record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.create_function("deskwright_fold", 1, _fold, deterministic=True)
        dbapi_connection.create_function("regexp", 2, _regexp, deterministic=True)


def install(engine: Engine) -> None:
    """Register on this engine's new connections (idempotent)."""
    if not event.contains(engine, "connect", _register):
        event.listen(engine, "connect", _register)
