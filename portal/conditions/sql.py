"""compile_to_sql: a condition as a WHERE clause over tickets, for views, time rules and backtests.

    select(Ticket).where(compile_to_sql(cond, catalogue, now=now, me=user.id))

Same answers as compile_to_python on the same tickets, on SQLite and PostgreSQL:
- Every test is null-safe (never NULL), so `not` is plain negation: `col IS NOT NULL AND col = v`,
  `col IS NULL OR col <> v`; text is compared as coalesce(deskwright_fold(col), '').
- Computed hours fields become comparisons of their timestamp with a bound time computed from
  `now` here (exact, and they can use the timestamp's index); is_business_hours becomes
  `department_id IN (...)`, the departments in business hours at `now`.
- Custom fields are read from the custom_fields JSON, only when the JSON value has the field's type.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Optional

from sqlalchemy import String, and_, exists, false, func, not_, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from ..extensions import db
from ..models import Department, Ticket, TicketTag
from .columns import COLUMNS, DERIVED, binary_text, cf_has_element, cf_is, cf_number, cf_text
from .fields import HOURS_FIELDS, Catalogue, FieldSpec, business_hours
from .ir import All, AnyOf, Const, Leaf, Node, Not, build
from .validate import InvalidCondition, validate
from .values import ME, date_text, datetime_text

_COMPARE = {"gt": "__gt__", "gte": "__ge__", "lt": "__lt__", "lte": "__le__", "eq": "__eq__"}
# hours since a timestamp grow as the timestamp gets older: "more than x hours since" is "before now - x"
_MIRRORED = {"gt": "lt", "gte": "lte", "lt": "gt", "lte": "gte", "eq": "eq"}


def compile_to_sql(cond: Any, catalogue: Catalogue, *, now: datetime, me: Optional[int] = None) -> ColumnElement:
    """The condition as a clause over Ticket; raises InvalidCondition if it doesn't validate in
    context "query". `me` is who "me" is (the viewer); `now` must be time-zone aware."""
    errors = validate(cond, catalogue, "query")
    if errors:
        raise InvalidCondition(errors)
    if now.tzinfo is None:
        raise ValueError("compile_to_sql needs an aware `now`")
    return _SqlCompiler(now, me).clause(build(cond, catalogue))


def _present(expr, nullable: bool, test):
    return and_(expr.is_not(None), test) if nullable else test


def _absent_or(expr, nullable: bool, test):
    return or_(expr.is_(None), test) if nullable else test


class _SqlCompiler:
    def __init__(self, now: datetime, me: Optional[int]):
        self.now = now
        self.me = me

    def clause(self, node: Node) -> ColumnElement:
        if isinstance(node, Const):
            return true() if node.value else false()
        if isinstance(node, All):
            return and_(*(self.clause(c) for c in node.children))
        if isinstance(node, AnyOf):
            return or_(*(self.clause(c) for c in node.children))
        if isinstance(node, Not):
            return not_(self.clause(node.child))
        return self.leaf(node)

    def leaf(self, leaf: Leaf) -> ColumnElement:
        spec = leaf.spec
        if spec.name in HOURS_FIELDS:
            return self.hours(leaf)
        if spec.name == "is_business_hours":
            return self.business_hours(leaf)
        if spec.type == "text":
            return self.text(self.operand(spec)[0], leaf)
        if spec.type == "list":
            return self.tags(leaf) if not spec.custom else self.multiselect(leaf)
        if spec.type == "bool":
            return cf_is(spec.key, leaf.value)
        if spec.type == "ref":
            return self.ref(leaf)
        expr, nullable = self.operand(spec)
        if spec.type in ("datetime", "date") and spec.custom:
            return self.ordered(binary_text(expr), True, leaf, self.text_threshold(spec))
        if spec.type == "enum":
            return self.choice(expr, nullable, leaf)
        return self.ordered(expr, nullable, leaf, lambda span: self.now - span)

    def operand(self, spec: FieldSpec) -> tuple[Any, bool]:
        """(expression, may be NULL) of a field; text-like values coalesced to '' where that's free."""
        if spec.custom:
            if spec.type == "number":
                return cf_number(spec.key), True
            return cf_text(spec.key), True  # enums too: the expression a filterable field's index is on
        if spec.name in COLUMNS:
            return COLUMNS[spec.name]
        expr = DERIVED[spec.name]
        if spec.type == "enum":
            return func.coalesce(expr, ""), False
        return expr, spec.name != "customer_reply_count"

    # --- per type ------------------------------------------------------------------------------
    def text(self, expr, leaf: Leaf) -> ColumnElement:
        op, x = leaf.op, leaf.value
        if op in ("is_empty", "is_not_empty"):
            present = func.coalesce(expr, "")
            return present == "" if op == "is_empty" else present != ""
        folded = func.coalesce(func.deskwright_fold(expr, type_=String), "")
        if op == "eq":
            return folded == x
        if op == "neq":
            return folded != x
        if op == "contains":
            return folded.contains(x, autoescape=True)
        if op == "not_contains":
            return not_(folded.contains(x, autoescape=True))
        if op == "starts_with":
            return folded.startswith(x, autoescape=True)
        # regex: PostgreSQL `~*`; SQLite REGEXP, our `regexp` function (case-insensitive itself)
        return and_(folded != "", folded.regexp_match(x, flags="i"))

    def choice(self, expr, nullable: bool, leaf: Leaf) -> ColumnElement:
        op, x = leaf.op, leaf.value
        if op == "eq":
            return _present(expr, nullable, expr == x)
        if op == "neq":
            return _absent_or(expr, nullable, expr != x)
        if op == "in":
            return _present(expr, nullable, expr.in_(sorted(x)))
        if op == "not_in":
            return _absent_or(expr, nullable, expr.not_in(sorted(x)))
        empty = _absent_or(expr, nullable, expr == "")
        return empty if op == "is_empty" else not_(empty)

    def ref(self, leaf: Leaf) -> ColumnElement:
        expr, nullable = COLUMNS[leaf.name]
        op, x = leaf.op, leaf.value
        if op in ("is_empty", "is_not_empty"):
            return expr.is_(None) if op == "is_empty" else expr.is_not(None)
        ids = sorted(self.ids(x if isinstance(x, frozenset) else frozenset((x,))))
        if not ids:
            return false() if op in ("eq", "in") else true()
        if op in ("eq", "in"):
            return _present(expr, nullable, expr == ids[0] if len(ids) == 1 else expr.in_(ids))
        return _absent_or(expr, nullable, expr != ids[0] if len(ids) == 1 else expr.not_in(ids))

    def ids(self, values: frozenset) -> set:
        """"me" is the viewer; without one it matches nobody."""
        found = set(values - {ME})
        if ME in values and self.me is not None:
            found.add(self.me)
        return found

    def ordered(self, expr, nullable: bool, leaf: Leaf, threshold) -> ColumnElement:
        """Numbers, priorities, date-times: comparisons; `threshold(span)` is the bound time of
        older_than / within (now - span, in the field's own form)."""
        op, x = leaf.op, leaf.value
        if op in ("is_empty", "is_not_empty"):
            return expr.is_(None) if op == "is_empty" else expr.is_not(None)
        if op == "neq":
            return _absent_or(expr, nullable, expr != x)
        if op == "between":
            return _present(expr, nullable, and_(expr >= x[0], expr <= x[1]))
        if op == "in":
            return _present(expr, nullable, expr.in_(sorted(x)))
        if op == "not_in":
            return _absent_or(expr, nullable, expr.not_in(sorted(x)))
        if op in ("older_than", "within"):
            op, x = ("lt" if op == "older_than" else "gte"), threshold(x)
        return _present(expr, nullable, getattr(expr, _COMPARE[op])(x))

    def text_threshold(self, spec: FieldSpec):
        form = datetime_text if spec.type == "datetime" else date_text
        return lambda span: form(self.now - span)

    def hours(self, leaf: Leaf) -> ColumnElement:
        """hours_since_created > 4  ->  created_at < now - 4 h  (and so on): exact and indexable."""
        source, direction = HOURS_FIELDS[leaf.name]
        expr, nullable = COLUMNS[source]
        op, x = leaf.op, leaf.value

        def at(hours: float) -> datetime:
            return self.now - direction * timedelta(hours=hours)
        if op in ("is_empty", "is_not_empty"):
            return expr.is_(None) if op == "is_empty" else expr.is_not(None)
        if op == "neq":
            return _absent_or(expr, nullable, expr != at(x))
        if op == "between":
            bounds = sorted((at(x[0]), at(x[1])))
            return _present(expr, nullable, and_(expr >= bounds[0], expr <= bounds[1]))
        op = _MIRRORED[op] if direction > 0 else op
        return _present(expr, nullable, getattr(expr, _COMPARE[op])(at(x)))

    def business_hours(self, leaf: Leaf) -> ColumnElement:
        """Decided per department now, in Python (the hook may be anything), then an IN list."""
        open_ids = [d for d in db.session.scalars(select(Department.id).order_by(Department.id))
                    if business_hours(d, self.now)]
        inside = Ticket.department_id.in_(open_ids)
        return inside if leaf.value else not_(inside)

    def tags(self, leaf: Leaf) -> ColumnElement:
        op, x = leaf.op, leaf.value
        tagged = [TicketTag.ticket_id == Ticket.id]
        if op in ("is_empty", "is_not_empty"):
            found = exists().where(*tagged)
            return not_(found) if op == "is_empty" else found
        if op == "contains_any":
            return exists().where(*tagged, TicketTag.tag.in_(sorted(x)))
        found = exists().where(*tagged, TicketTag.tag == x)
        return found if op == "contains" else not_(found)

    def multiselect(self, leaf: Leaf) -> ColumnElement:
        op, x = leaf.op, leaf.value
        key = leaf.spec.key
        if op in ("is_empty", "is_not_empty"):
            found = cf_has_element(key)
            return not_(found) if op == "is_empty" else found
        if op == "contains_any":
            return cf_has_element(key, x)
        found = cf_has_element(key, (x,))
        return found if op == "contains" else not_(found)
