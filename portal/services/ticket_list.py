"""The agent queue: built-in views, filters, sorting and keyset pagination.

Every query starts from `scoping.visible_tickets(user)`. Pages are keyset pages (after
the last row's sort value and id), so page 2,000 costs what page 1 costs.
"""
from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, literal, or_, select, tuple_
from sqlalchemy.orm import selectinload

from .. import conditions
from ..conditions import columns
from ..extensions import db
from ..models import CHANNELS, OPEN_STATUSES, STATUSES, Contact, Priority, Ticket, TicketTag, User, utcnow
from .scoping import ticket_scope

VIEWS = ("mine", "unassigned", "open", "overdue", "recent")
# sort name -> (column, descending?)
SORTS = {
    "updated": (Ticket.updated_at, True),
    "created": (Ticket.id, True),
    "priority": (Ticket.priority, True),
    "due": (Ticket.resolution_due_at, False),
}
CUSTOM_SORT = re.compile(r"^cf\.([a-z][a-z0-9_]{0,62})(:desc)?$")  # "cf.order_total", "cf.order_total:desc"
CUSTOM_ARG = re.compile(r"^cf\.([a-z][a-z0-9_]{0,62})(\.min|\.max)?$")  # ?cf.product=x&cf.order_total.min=10
# A term of exactly two Chinese/Japanese characters. Same class as CJK_CLASS in migration 0002.
CJK_PAIR = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{2}")
COUNT_CAP = 1000  # live counts above this show "999+": counting a million rows is not worth it


@dataclass
class QueueQuery:
    view: str = "open"
    statuses: list[str] = field(default_factory=list)
    priorities: list[str] = field(default_factory=list)
    department_id: int | None = None
    team_id: int | None = None
    assignee: str | None = None  # "me", "none", or a user id
    channel: str | None = None
    tag: str | None = None
    text: str = ""
    sort: str = "updated"
    cursor: str | None = None
    saved: int | None = None  # a saved view's id: its condition replaces the built-in view's clause
    # Custom-field filters as condition rows {"field": "cf.<key>", "op": ..., "value": ...}, all must hold
    custom: list[dict] = field(default_factory=list)

    @classmethod
    def from_args(cls, args) -> "QueueQuery":
        """Read request args, dropping values that aren't valid instead of failing the page."""
        def as_int(name):
            value = args.get(name, "")
            return int(value) if value.isdigit() else None
        view = args.get("view", "open")
        sort = args.get("sort", "updated")
        custom = custom_filters(args)
        assignee = args.get("assignee") or None
        if assignee not in (None, "me", "none") and not assignee.isdigit():
            assignee = None
        return cls(
            view=view if view in VIEWS else "open",
            statuses=[s for s in args.getlist("status") if s in STATUSES],
            priorities=[p for p in args.getlist("priority") if p in {x.key for x in Priority}],
            department_id=as_int("department"), team_id=as_int("team"), assignee=assignee,
            channel=args.get("channel") if args.get("channel") in CHANNELS else None,
            tag=(args.get("tag") or "").strip().lower() or None,
            text=(args.get("q") or "").strip()[:200],
            sort=sort if sort in SORTS or custom_sort_field(sort) else "updated",
            cursor=args.get("after") or None,
            saved=as_int("saved"),
            custom=custom,
        )

    def args(self, **overrides) -> dict[str, Any]:
        """Query-string args that reproduce this query (for links and the next page)."""
        data = {"view": self.view, "status": self.statuses, "priority": self.priorities,
                "department": self.department_id, "team": self.team_id, "assignee": self.assignee,
                "channel": self.channel, "tag": self.tag, "q": self.text or None, "sort": self.sort,
                "saved": self.saved}
        data.update(custom_args(self.custom))
        data.update(overrides)
        return {k: v for k, v in data.items() if v not in (None, [], "")}

    @property
    def has_filters(self) -> bool:
        return bool(self.statuses or self.priorities or self.department_id or self.team_id or self.assignee
                    or self.channel or self.tag or self.text or self.custom)


def view_clause(view: str, user: User, now: datetime):
    is_open = Ticket.status.in_(OPEN_STATUSES)
    if view == "mine":
        return and_(Ticket.assignee_id == user.id, is_open)
    if view == "unassigned":
        return and_(Ticket.assignee_id.is_(None), is_open)
    if view == "overdue":
        return and_(is_open, Ticket.resolution_due_at < now)
    if view == "recent":
        return Ticket.id.is_not(None)
    return is_open


def base_clause(q: QueueQuery, user: User, now: datetime):
    """The built-in view's clause, or the saved view's compiled condition (false if it can't run)."""
    if q.saved is not None:
        from .saved_views import clause_for  # saved_views builds on this module
        return clause_for(q.saved, user, now)
    return view_clause(q.view, user, now)


def filter_clauses(q: QueueQuery, user: User) -> list:
    clauses = []
    if q.statuses:
        clauses.append(Ticket.status.in_(q.statuses))
    if q.priorities:
        clauses.append(Ticket.priority.in_([int(Priority.from_key(p)) for p in q.priorities]))
    if q.department_id:
        clauses.append(Ticket.department_id == q.department_id)
    if q.team_id:
        clauses.append(Ticket.team_id == q.team_id)
    if q.assignee == "me":
        clauses.append(Ticket.assignee_id == user.id)
    elif q.assignee == "none":
        clauses.append(Ticket.assignee_id.is_(None))
    elif q.assignee:
        clauses.append(Ticket.assignee_id == int(q.assignee))
    if q.channel:
        clauses.append(Ticket.channel == q.channel)
    if q.tag:
        clauses.append(exists().where(TicketTag.ticket_id == Ticket.id, TicketTag.tag == q.tag))
    if q.text:
        clauses.append(text_clause(q.text))
    if q.custom:
        clauses.append(conditions.compile_to_sql({"all": q.custom}, conditions.app_catalogue(), now=utcnow(),
                                                 me=user.id))
    return clauses


# --------------------------------------------------------------------------------------------
# Custom fields: filters from the query string, sorting
# --------------------------------------------------------------------------------------------
def custom_sort_field(sort: str):
    """The catalogue's FieldSpec for a custom-field sort ("cf.key" or "cf.key:desc"), if sortable."""
    match = CUSTOM_SORT.match(sort or "")
    if not match:
        return None
    spec = conditions.app_catalogue().get(f"cf.{match.group(1)}")
    if spec is None or columns.cf_order_expression(match.group(1), spec.type) is None:
        return None
    return spec


def custom_filters(args) -> list[dict]:
    """Condition rows from `cf.<key>=value` (repeated: any of them), `cf.<key>.min` / `.max` (numbers
    and dates). Unknown fields and values that don't fit the field are dropped, as the other filters
    drop theirs: a stale link shows a page, not an error."""
    catalogue = None
    rows: list[dict] = []
    for name in sorted(set(args.keys())):
        match = CUSTOM_ARG.match(name)
        if not match:
            continue
        catalogue = catalogue or conditions.app_catalogue()
        spec = catalogue.get(f"cf.{match.group(1)}")
        values = [v.strip() for v in args.getlist(name) if v.strip()][:50]
        if spec is None or not values:
            continue
        field_name, bound = f"cf.{match.group(1)}", match.group(2)
        if bound:
            row = {"field": field_name, "op": "gte" if bound == ".min" else "lte",
                   "value": _typed(spec.type, values[0])}
        elif spec.type == "list":
            row = {"field": field_name, "op": "contains_any", "value": values}
        elif spec.type == "bool":
            row = {"field": field_name, "op": "eq", "value": values[0] in ("1", "true", "yes", "on")}
        elif spec.type == "text":
            row = {"field": field_name, "op": "contains", "value": values[0]}
        else:
            typed = [_typed(spec.type, v) for v in values]
            row = {"field": field_name, "op": "in", "value": typed} if len(typed) > 1 else \
                {"field": field_name, "op": "eq", "value": typed[0]}
        if row["value"] is not None and not conditions.validate(row, catalogue, "query"):
            rows.append(row)
    return rows


def _typed(condition_type: str, text: str):
    if condition_type == "number":
        try:
            number = float(text)
        except ValueError:
            return None
        return int(number) if number.is_integer() else number
    return text


def custom_args(rows: list[dict]) -> dict[str, Any]:
    """The query-string args that give `rows` back (the inverse of custom_filters)."""
    out: dict[str, Any] = {}
    for row in rows:
        name, op, value = row["field"], row["op"], row["value"]
        if op in ("gte", "lte"):
            out[f"{name}.{'min' if op == 'gte' else 'max'}"] = value
        elif isinstance(value, bool):
            out[name] = "1" if value else "0"
        else:
            out[name] = value
    return out


@dataclass
class SortKey:
    """What a page is ordered by: the expression, its direction, whether NULLs can occur, and how to
    read a row's value for the next page's cursor."""

    expression: Any
    descending: bool
    nullable: bool
    value_of: Any
    python_types: tuple


def sort_key(q: QueueQuery) -> SortKey:
    spec = custom_sort_field(q.sort)
    if spec is None:
        column, descending = SORTS[q.sort if q.sort in SORTS else "updated"]
        expected = getattr(column.type, "impl", column.type).python_type
        return SortKey(column, descending, bool(getattr(column.expression, "nullable", True)),
                       lambda ticket: getattr(ticket, column.key), (expected,))
    key = spec.key
    expression = columns.cf_order_expression(key, spec.type)
    # A filter on the sorted field itself (eq, in, a range) leaves no empty values: the page can then
    # be an index range in either direction, which "NULLS LAST" would rule out for descending order.
    filtered = any(row["field"] == spec.name and row["op"] in ("eq", "in", "gte", "lte") for row in q.custom)
    types = (int, float) if spec.type == "number" else (str,)
    return SortKey(expression, q.sort.endswith(":desc"), not filtered,
                   lambda ticket: (ticket.custom_fields or {}).get(key), types)


def text_clause(text: str):
    """Subject and messages contain the text (case-insensitive); "#1042" or "1042" also finds by number."""
    if CJK_PAIR.fullmatch(text) and db.session.get_bind().dialect.name == "postgresql":
        # pg_trgm extracts no trigram from a 2-character word, so LIKE '%退款%' can't use the trigram
        # index; the doubled-CJK key of migration 0002 has two (退款 -> 退退款款). Exact: a text
        # contains the term exactly when its key contains the term's key.
        return func.deskwright_cjk_key(Ticket.search_text).like(f"%{text[0] * 2}{text[1] * 2}%")
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    if text.lower() == text.upper():
        # No letter case (Chinese, digits): LIKE finds the same rows and costs ~3x less per row than
        # ILIKE, which lower-cases each ticket's whole search_text when PostgreSQL filters.
        match = Ticket.search_text.like(f"%{escaped}%", escape="\\")
    else:
        match = Ticket.search_text.ilike(f"%{escaped}%", escape="\\")
    number = text.lstrip("#")
    if number.isdigit() and len(number) < 10:
        return or_(Ticket.id == int(number), match)
    return match


def _encode_cursor(value: Any, ticket_id: int) -> str:
    if isinstance(value, datetime):
        value = {"t": value.isoformat()}
    raw = json.dumps([value, ticket_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[Any, int] | None:
    try:
        value, ticket_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if isinstance(value, dict):
            value = datetime.fromisoformat(value["t"])
        return value, int(ticket_id)
    except (ValueError, TypeError, KeyError):
        return None  # a mangled cursor means "first page", not an error page


def _cursor_fits(sort: SortKey, value: Any) -> bool:
    """A cursor made for another sort (or edited by hand) is mangled too: first page, not a 500."""
    if value is None:  # only an order that has NULLs can have a NULL position
        return sort.nullable
    return isinstance(value, sort.python_types) and not isinstance(value, bool)


def _after(sort: SortKey, value: Any, ticket_id: int):
    """Rows strictly after (value, id) in the sort order, with NULLs last."""
    column, descending = sort.expression, sort.descending
    if value is not None and not sort.nullable:
        # One row comparison: PostgreSQL uses it as an index range on (..., updated_at, id), so page
        # 200 costs what page 1 costs. literal() keeps the column's type (UTCDateTime) for the value.
        bound = tuple_(literal(value, column.type), ticket_id)
        return tuple_(column, Ticket.id) < bound if descending else tuple_(column, Ticket.id) > bound
    id_after = Ticket.id < ticket_id if descending else Ticket.id > ticket_id
    if value is None:
        return and_(column.is_(None), id_after)
    beyond = column < value if descending else column > value
    return or_(beyond, and_(column == value, id_after), column.is_(None))


@dataclass
class Page:
    tickets: list[Ticket]
    next_cursor: str | None


def fetch_page(q: QueueQuery, user: User, *, page_size: int = 50, now: datetime | None = None) -> Page:
    now = now or utcnow()
    sort = sort_key(q)
    column = sort.expression
    stmt = select(Ticket).where(ticket_scope(user), base_clause(q, user, now), *filter_clauses(q, user))
    if q.cursor and (decoded := _decode_cursor(q.cursor)) and _cursor_fits(sort, decoded[0]):
        stmt = stmt.where(_after(sort, *decoded))
    order = column.desc() if sort.descending else column.asc()
    if sort.nullable:
        # NULLS LAST only where NULLs can exist: on a NOT NULL column it stops PostgreSQL reading
        # the (updated_at, id) index backwards and makes it sort every matching row instead.
        order = order.nulls_last()
    stmt = stmt.order_by(order, Ticket.id.desc() if sort.descending else Ticket.id.asc()).limit(page_size + 1)
    # What each row shows, loaded in a handful of IN queries instead of one per row.
    stmt = stmt.options(selectinload(Ticket.contact).selectinload(Contact.account),
                        selectinload(Ticket.assignee), selectinload(Ticket.department),
                        selectinload(Ticket.team), selectinload(Ticket.tag_rows))
    rows = list(db.session.scalars(stmt))
    next_cursor = None
    if len(rows) > page_size:
        rows = rows[:page_size]
        last = rows[-1]
        next_cursor = _encode_cursor(sort.value_of(last), last.id)
    return Page(rows, next_cursor)


def view_counts(user: User, now: datetime | None = None) -> dict[str, int]:
    """Live counts for the sidebar, each capped at COUNT_CAP so they stay fast at a million tickets."""
    now = now or utcnow()
    counts = {}
    for view in VIEWS:
        if view == "recent":
            continue
        capped = select(Ticket.id).where(ticket_scope(user), view_clause(view, user, now)).limit(COUNT_CAP).subquery()
        counts[view] = db.session.scalar(select(func.count()).select_from(capped))
    return counts
