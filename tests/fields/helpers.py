"""Building layout documents in tests: layout(section("s1", row("size", portal=True)))."""
from __future__ import annotations


def row(key: str, **settings) -> dict:
    return {"key": key, **settings}


def section(section_id: str, *rows: dict, title: str | None = None, title_zh: str = "") -> dict:
    return {"id": section_id, "title": title or section_id.upper(), "title_zh": title_zh, "fields": list(rows)}


def layout(*sections: dict) -> dict:
    return {"version": 1, "sections": list(sections)}


def leaf(field: str, op: str, value=None) -> dict:
    cond = {"field": field, "op": op}
    if value is not None:
        cond["value"] = value
    return cond


def ticket_indexes() -> dict[str, str]:
    """{name: definition} of the tickets table's indexes, from the database's own catalogue (SQLAlchemy's
    inspector skips SQLite's expression indexes)."""
    from sqlalchemy import text

    from portal.extensions import db

    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        rows = connection.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'tickets' "
                                       "AND schemaname = current_schema()"))
    else:
        rows = connection.execute(text("SELECT name, coalesce(sql, '') FROM sqlite_master WHERE type = 'index' "
                                       "AND tbl_name = 'tickets'"))
    return dict(rows.all())
