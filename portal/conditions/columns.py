"""Where each field's value lives in SQL: a tickets column, a correlated subquery, or custom_fields JSON.

The SQL compiler builds its tests on these, and `snapshot()` reads the derived fields through the
very same expressions, so a snapshot and a query can't disagree on what "body" or "contact.tier" is.
Expressions are raw (NULL when there is no value); the compiler makes each test null-safe.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import ARRAY, Float, String, and_, case, cast, exists, func, literal, literal_column, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from ..models import Account, Contact, ContactIdentity, Thread, Ticket
from .fields import CUSTOM_KEY

# Fields stored in a tickets column: name -> (column, may be NULL)
COLUMNS: dict[str, tuple[Any, bool]] = {
    "subject": (Ticket.subject, False), "status": (Ticket.status, False), "priority": (Ticket.priority, False),
    "channel": (Ticket.channel, False), "department": (Ticket.department_id, False),
    "team": (Ticket.team_id, True), "assignee": (Ticket.assignee_id, True), "contact": (Ticket.contact_id, True),
    "created_at": (Ticket.created_at, False), "updated_at": (Ticket.updated_at, False),
    "resolution_due_at": (Ticket.resolution_due_at, True),
    "first_response_due_at": (Ticket.first_response_due_at, True),
    "last_customer_reply_at": (Ticket.last_customer_reply_at, True), "thread_count": (Ticket.thread_count, False),
}


def _of_contact(stmt):
    return stmt.where(Contact.id == Ticket.contact_id).correlate(Ticket).scalar_subquery()


def _first_thread_body(*where, newest: bool = False):
    order = Thread.id.desc() if newest else Thread.id
    return (select(Thread.body_text).where(Thread.ticket_id == Ticket.id, *where).order_by(order).limit(1)
            .correlate(Ticket).scalar_subquery())


# Fields computed by a correlated subquery: name -> expression (NULL when there is nothing).
DERIVED: dict[str, Any] = {
    "body": _first_thread_body(),  # the request itself: the first message is always the customer's
    "last_message": _first_thread_body(Thread.kind == "customer", newest=True),
    "customer_reply_count": (select(func.count()).select_from(Thread)
                             .where(Thread.ticket_id == Ticket.id, Thread.kind == "customer")
                             .correlate(Ticket).scalar_subquery()),
    "contact.name": _of_contact(select(Contact.name)),
    # the contact's first e-mail identity, as Contact.email
    "contact.email": (select(ContactIdentity.value)
                      .where(ContactIdentity.contact_id == Ticket.contact_id, ContactIdentity.kind == "email")
                      .order_by(ContactIdentity.id).limit(1).correlate(Ticket).scalar_subquery()),
    "account.name": _of_contact(select(Account.name).join(Contact, Contact.account_id == Account.id)),
    # Contact.effective_tier: the contact's own, else the account's, else "standard"
    "contact.tier": _of_contact(select(func.coalesce(func.nullif(Contact.tier, ""), Account.tier, "standard"))
                                .select_from(Contact).outerjoin(Account, Contact.account_id == Account.id)),
    # the language family of the contact's locale ("zh_Hans" -> "zh")
    "contact.language": _of_contact(select(case((Contact.language.like("zh%"), "zh"),
                                                (Contact.language.like("en%"), "en"), else_=Contact.language))),
}


# ---------------------------------------------------------------------------------------------
class PerDialect(ColumnElement):
    """`sqlite` on SQLite, `postgresql` on PostgreSQL: one clause for both backends, chosen when the
    statement is compiled (the JSON functions differ)."""

    inherit_cache = True
    _traverse_internals = [("sqlite", InternalTraversal.dp_clauseelement),
                           ("postgresql", InternalTraversal.dp_clauseelement)]

    def __init__(self, sqlite, postgresql, type_=None):
        self.sqlite = sqlite
        self.postgresql = postgresql
        self.type = type_ if type_ is not None else sqlite.type


@compiles(PerDialect)
def _compile_postgresql(element, compiler, **kw):
    return compiler.process(element.postgresql.self_group(), **kw)


@compiles(PerDialect, "sqlite")
def _compile_sqlite(element, compiler, **kw):
    return compiler.process(element.sqlite.self_group(), **kw)


def _key_literal(text: str):
    """The key written into the SQL text, not bound as a parameter: an expression index on a custom
    field (portal.fields) matches a query only when both spell the same constant. Safe because keys
    are [a-z][a-z0-9_]* (CUSTOM_KEY), checked again here."""
    if not CUSTOM_KEY.match(text):
        raise ValueError(f"unsafe custom field key {text!r}")
    return literal_column(f"'{text}'", String)


def _sqlite_path(key: str):
    if not CUSTOM_KEY.match(key):
        raise ValueError(f"unsafe custom field key {key!r}")
    return literal_column(f"""'$."{key}"'""", String)


def _pg_json(key: str):
    return Ticket.custom_fields.op("->")(_key_literal(key))


def _pg_text(key: str):
    return Ticket.custom_fields.op("->>", return_type=String)(_key_literal(key))


def _word(text: str):
    """A fixed word of these expressions, inline for the same reason as the key (_key_literal)."""
    return literal_column(f"'{text}'", String)


def _sqlite_type(key: str):
    return func.coalesce(func.json_type(Ticket.custom_fields, _sqlite_path(key)), _word(""))


def _pg_type(key: str):
    return func.coalesce(func.json_typeof(_pg_json(key)), _word(""))


def cf_text(key: str) -> ColumnElement:
    """A custom field's value if it is a JSON string, else NULL."""
    return PerDialect(
        case((_sqlite_type(key) == _word("text"), func.json_extract(Ticket.custom_fields, _sqlite_path(key))),
             else_=None),
        case((_pg_type(key) == _word("string"), _pg_text(key)), else_=None), String())


def cf_number(key: str) -> ColumnElement:
    """A custom field's value if it is a JSON number, else NULL."""
    return PerDialect(
        case((_sqlite_type(key).in_((_word("integer"), _word("real"))),
              func.json_extract(Ticket.custom_fields, _sqlite_path(key))), else_=None),
        case((_pg_type(key) == _word("number"), cast(_pg_text(key), Float)), else_=None), Float())


def cf_is(key: str, value: bool) -> ColumnElement:
    """The custom field holds JSON true (or false)."""
    word = "true" if value else "false"
    return PerDialect(_sqlite_type(key) == _word(word),
                      and_(_pg_type(key) == _word("boolean"), func.coalesce(_pg_text(key), _word("")) == _word(word)))


# How a custom field of each condition type is ordered and indexed (queue sorting, range filters,
# and the expression index portal.fields creates for a filterable field): the very expressions the
# condition compiler filters on, so one index serves both. None: not sortable.
def cf_order_expression(key: str, condition_type: str) -> ColumnElement | None:
    if condition_type == "number":
        return cf_number(key)
    if condition_type in ("date", "datetime"):
        return binary_text(cf_text(key))  # ISO text: code-point order is time order
    if condition_type in ("text", "enum"):
        return cf_text(key)
    return None


def cf_has_element(key: str, values=None) -> ColumnElement:
    """The custom field is a JSON array with a string element (one of `values`, if given)."""
    each = func.json_each(Ticket.custom_fields, _sqlite_path(key)).table_valued("value", "type")
    sqlite_where = [each.c.type == "text"]
    elements = func.json_array_elements(case((_pg_type(key) == "array", _pg_json(key)))).table_valued("value")
    pg_value = elements.c.value.op("#>>", return_type=String)(cast(literal("{}"), ARRAY(String)))  # the scalar's text
    pg_where = [func.json_typeof(elements.c.value) == "string"]
    if values is not None:
        sqlite_where.append(each.c.value.in_(sorted(values)))
        pg_where.append(pg_value.in_(sorted(values)))
    return PerDialect(
        and_(_sqlite_type(key) == "array", exists(select(1).select_from(each).where(*sqlite_where))),
        exists(select(1).select_from(elements).where(*pg_where)))


def binary_text(expr) -> ColumnElement:
    """`expr` compared code point by code point: PostgreSQL's default collation would order ISO
    date text by locale rules; SQLite compares bytes already."""
    return PerDialect(expr, expr.collate("C"), expr.type)
