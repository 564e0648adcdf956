"""Proposed changes to portal/services/ticket_list.py, applied by monkeypatching so the bench can
measure them before anyone edits the real module. BENCH ONLY: nothing in the app imports this.

    apply("keyset")  ORDER BY without NULLS LAST for NOT NULL sort columns, and the keyset cursor
                     as a row comparison (updated_at, id) < (:v, :id), so both can use the
                     (…, updated_at, id) btree indexes instead of sorting every matching row.
    apply("cjk")     Text search for pure Chinese/Japanese terms through the expression index of
                     migration 0002 (deskwright_cjk_key), so 2-character words like 退款 and 2-character
                     names are found through an index (pg_trgm alone extracts no trigram from them).
    apply("caseless") A term without letter case (Chinese, digits) is matched with LIKE, not ILIKE.
    apply("all")     all three.
    apply("proposed") bench/proposed_ticket_list.diff applied to the current ticket_list.py (the same
                     three changes, as the patch to commit).

The real change (see bench/README.md "Proposed change to ticket_list.py") is the same code.
"""
from __future__ import annotations

import re

# Same character class as migrations/versions/0002_queue_indexes.py (CJK_CLASS): kana, CJK
# extension A, CJK unified ideographs, CJK compatibility ideographs.
CJK_CHARS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK_PAIR = re.compile(f"[{CJK_CHARS}]{{2}}")


def cjk_key(text: str) -> str:
    """Python twin of the SQL deskwright_cjk_key() for a pure-CJK term: every character doubled."""
    return "".join(ch * 2 for ch in text)


def _fetch_page_keyset(tl):
    """fetch_page as in ticket_list.py today, with the two keyset changes marked CHANGED."""
    from sqlalchemy import and_, literal, or_, select, tuple_
    from sqlalchemy.orm import selectinload

    def _after(column, descending, value, ticket_id):
        Ticket = tl.Ticket
        if not column.nullable and value is not None:  # CHANGED: one row comparison, an index range
            bound = tuple_(literal(value, column.type), ticket_id)  # literal(): keep UTCDateTime's binding
            return tuple_(column, Ticket.id) < bound if descending else tuple_(column, Ticket.id) > bound
        id_after = Ticket.id < ticket_id if descending else Ticket.id > ticket_id
        if value is None:
            return and_(column.is_(None), id_after)
        beyond = column < value if descending else column > value
        return or_(beyond, and_(column == value, id_after), column.is_(None))

    def fetch_page(q, user, *, page_size=50, now=None):
        Ticket = tl.Ticket
        now = now or tl.utcnow()
        column, descending = tl.SORTS[q.sort]
        stmt = select(Ticket).where(tl.ticket_scope(user), tl.view_clause(q.view, user, now),
                                    *tl.filter_clauses(q, user))
        if q.cursor and (decoded := tl._decode_cursor(q.cursor)) and tl._cursor_fits(column, decoded[0]):
            stmt = stmt.where(tl._after(column, descending, *decoded))
        order = column.desc() if descending else column.asc()
        if column.nullable:  # CHANGED: was `if column is not Ticket.id`; NULLS LAST only where NULLs exist
            order = order.nulls_last()
        stmt = stmt.order_by(order, Ticket.id.desc() if descending else Ticket.id.asc()).limit(page_size + 1)
        stmt = stmt.options(selectinload(Ticket.contact).selectinload(tl.Contact.account),
                            selectinload(Ticket.assignee), selectinload(Ticket.department),
                            selectinload(Ticket.tag_rows))
        rows = list(tl.db.session.scalars(stmt))
        next_cursor = None
        if len(rows) > page_size:
            rows = rows[:page_size]
            last = rows[-1]
            next_cursor = tl._encode_cursor(getattr(last, column.key), last.id)
        return tl.Page(rows, next_cursor)

    return _after, fetch_page


def _text_clause_cjk(tl, original):
    from sqlalchemy import func

    def text_clause(text: str):
        # CHANGED: a term of exactly two CJK characters (退款, a 2-character name) has no trigram; look it
        # up in the doubled-CJK key instead (退款 -> 退退款款), which the GIN index of migration 0002 covers.
        # Exact, not a heuristic: a text contains the term exactly when its key contains the term's key.
        # Longer CJK terms have trigrams of their own and stay on search_text. PostgreSQL only.
        if tl.db.engine.dialect.name == "postgresql" and CJK_PAIR.fullmatch(text):
            return func.deskwright_cjk_key(tl.Ticket.search_text).like(f"%{cjk_key(text)}%")
        return original(text)

    return text_clause


def _text_clause_caseless(tl, original):
    from sqlalchemy import or_

    def text_clause(text: str):
        # CHANGED: a term without upper/lower case (Chinese, digits, an order number) is matched with
        # LIKE instead of ILIKE: the same rows, but about 3x cheaper per row when PostgreSQL walks the
        # newest tickets and filters (ILIKE lower-cases every ticket's whole search_text first).
        if text.lower() != text.upper():
            return original(text)
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        match = tl.Ticket.search_text.like(f"%{escaped}%", escape="\\")
        number = text.lstrip("#")
        if number.isdigit() and len(number) < 10:
            return or_(tl.Ticket.id == int(number), match)
        return match

    return text_clause


def apply_proposed_diff() -> None:
    """Run portal/services/ticket_list.py *with bench/proposed_ticket_list.diff applied* (patched into a
    temporary copy with `patch`, then executed in the module's namespace): measures exactly the diff
    the README proposes, against whatever ticket_list.py is in the working tree now."""
    import subprocess
    import tempfile
    from pathlib import Path

    from portal.services import ticket_list as tl
    here = Path(__file__).resolve().parent
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "ticket_list.py"
        res = subprocess.run(["patch", "-s", "-o", str(out), tl.__file__, str(here / "proposed_ticket_list.diff")],
                             capture_output=True, text=True)
        if res.returncode:
            raise SystemExit(f"bench/proposed_ticket_list.diff no longer applies to ticket_list.py:\n"
                             f"{res.stdout}{res.stderr}")
        code = compile(out.read_text(), tl.__file__, "exec")
    exec(code, tl.__dict__)


def apply(name: str) -> None:
    if name == "proposed":
        return apply_proposed_diff()
    from portal.services import ticket_list as tl
    names = {"keyset": ("keyset",), "cjk": ("cjk",), "caseless": ("caseless",),
             "all": ("keyset", "cjk", "caseless")}.get(name)
    if names is None:
        raise SystemExit(f"unknown patch {name!r}: keyset, cjk, caseless or all")
    if "keyset" in names:
        tl._after, tl.fetch_page = _fetch_page_keyset(tl)
    if "caseless" in names:
        tl.text_clause = _text_clause_caseless(tl, tl.text_clause)
    if "cjk" in names:  # after "caseless": a 2-character CJK term goes to the key first
        tl.text_clause = _text_clause_cjk(tl, tl.text_clause)
