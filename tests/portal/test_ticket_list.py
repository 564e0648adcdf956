"""The agent queue: views, filters, text search, sorting and keyset pagination."""
import base64
import json
from datetime import timedelta

import pytest
from werkzeug.datastructures import MultiDict

from factories import make_agent, make_department, make_team, make_ticket
from portal.extensions import db
from portal.models import utcnow
from portal.services.ticket_list import SORTS, VIEWS, QueueQuery, fetch_page, view_counts
from portal.services.tickets import add_thread, update_ticket

pytestmark = pytest.mark.integration

NOW = utcnow().replace(microsecond=0)


@pytest.fixture
def desk(app, held_events):
    """Me (sales + support), a colleague (sales), and tickets in three departments.

    (held_events: the outbox isn't under test here, so commits don't process events.)"""
    sales, support, billing = make_department(name="Sales"), make_department(name="Support"), make_department(
        name="Billing")
    me = make_agent(departments=[sales, support], name="Me")
    other = make_agent(departments=[sales], name="Other")
    support_team = make_team(department=support, name="Tier 2")
    t = {}
    t["refund"] = make_ticket(department=sales, subject="Refund for order 1001", body="Please refund me.",
                              assignee=me, status="open", priority="high", channel="email", tags=["vip"],
                              now=NOW - timedelta(hours=6))
    t["chinese"] = make_ticket(department=sales, subject="退款问题", body="我要退款，发票丢了。", priority="low",
                               now=NOW - timedelta(hours=5))
    t["login"] = make_ticket(department=support, subject="Login broken", body="Cannot sign in since Tuesday",
                             status="pending", priority="urgent", team=support_team, now=NOW - timedelta(hours=4))
    t["printer"] = make_ticket(department=sales, subject="Printer", body="It jams.", assignee=other, status="solved",
                               now=NOW - timedelta(hours=3))
    t["secret"] = make_ticket(department=billing, subject="Refund billing secret", body="Not for sales eyes.",
                              now=NOW - timedelta(hours=2))
    t["closed"] = make_ticket(department=support, subject="Old question", body="100% solved", assignee=me,
                              status="closed", now=NOW - timedelta(hours=1))
    update_ticket(t["login"], {"resolution_due_at": NOW - timedelta(minutes=30)}, by="system",
                  now=NOW - timedelta(hours=4))   # overdue
    update_ticket(t["refund"], {"resolution_due_at": NOW + timedelta(hours=8)}, by="system",
                  now=NOW - timedelta(hours=6))   # due, not overdue
    update_ticket(t["closed"], {"resolution_due_at": NOW - timedelta(days=1)}, by="system",
                  now=NOW - timedelta(hours=1))  # past due but closed
    # A message added later is searchable too.
    add_thread(t["printer"], kind="reply", body="发票已寄出 — the invoice is in the post.", by=other,
               now=NOW - timedelta(hours=3))
    db.session.commit()
    return {"me": me, "other": other, "sales": sales, "support": support, "team": support_team, "t": t}


def names(desk, q: QueueQuery, user=None, **kw) -> list[str]:
    by_id = {ticket.id: name for name, ticket in desk["t"].items()}
    page = fetch_page(q, user or desk["me"], now=NOW, **kw)
    return [by_id[ticket.id] for ticket in page.tickets]


@pytest.mark.parametrize("view, expected", [
    ("mine", ["refund"]),
    ("unassigned", ["login", "chinese"]),
    ("open", ["login", "chinese", "refund"]),
    ("overdue", ["login"]),
    ("recent", ["closed", "printer", "login", "chinese", "refund"]),
])
def test_built_in_views(desk, view, expected):
    assert names(desk, QueueQuery(view=view)) == expected


def test_every_view_is_tested():
    assert set(VIEWS) == {"mine", "unassigned", "open", "overdue", "recent"}


def test_view_counts(desk):
    assert view_counts(desk["me"], now=NOW) == {"mine": 1, "unassigned": 2, "open": 3, "overdue": 1}
    assert view_counts(desk["other"], now=NOW) == {"mine": 0, "unassigned": 1, "open": 2, "overdue": 0}


def test_other_departments_never_show(desk):
    assert "secret" not in names(desk, QueueQuery(view="recent", text="refund"))
    assert names(desk, QueueQuery(view="recent", department_id=make_department().id)) == []


@pytest.mark.parametrize("filters, expected", [
    ({"statuses": ["pending"]}, ["login"]),
    ({"statuses": ["solved", "closed"]}, ["closed", "printer"]),
    ({"priorities": ["high", "urgent"]}, ["login", "refund"]),
    ({"priorities": ["low"]}, ["chinese"]),
    ({"assignee": "me"}, ["closed", "refund"]),
    ({"assignee": "none"}, ["login", "chinese"]),
    ({"channel": "email"}, ["refund"]),
    ({"tag": "vip"}, ["refund"]),
    ({"statuses": ["new", "open"], "assignee": "none"}, ["chinese"]),
])
def test_filters(desk, filters, expected):
    assert names(desk, QueueQuery(view="recent", **filters)) == expected


def test_filter_by_department_team_and_assignee_id(desk):
    assert names(desk, QueueQuery(view="recent", department_id=desk["support"].id)) == ["closed", "login"]
    assert names(desk, QueueQuery(view="recent", team_id=desk["team"].id)) == ["login"]
    assert names(desk, QueueQuery(view="recent", assignee=str(desk["other"].id))) == ["printer"]


@pytest.mark.parametrize("text, expected", [
    ("refund", ["refund"]),               # subject and body
    ("REFUND", ["refund"]),               # any case
    ("sign in since", ["login"]),         # first message only
    ("退款", ["chinese"]),                 # Chinese subject
    ("发票丢了", ["chinese"]),              # Chinese message body
    ("发票", ["printer", "chinese"]),       # ...and a later reply
    ("寄出", ["printer"]),
    ("款发", []),                          # 2 characters never adjacent ("退款，发票"): no false match
    ("款，发", ["chinese"]),                 # ...with the comma they are
    ("invoice is in", ["printer"]),
    ("100%", ["closed"]),                 # % is a character, not a wildcard
    ("%", ["closed"]),
    ("_", []),
    ("no such words", []),
])
def test_text_search_in_subject_and_messages(desk, text, expected):
    assert names(desk, QueueQuery(view="recent", text=text)) == expected


def test_number_search(desk):
    login = desk["t"]["login"]
    assert names(desk, QueueQuery(view="recent", text=f"#{login.id}")) == ["login"]
    assert "login" in names(desk, QueueQuery(view="recent", text=str(login.id)))
    # A number the agent may not see finds nothing.
    assert names(desk, QueueQuery(view="recent", text=f"#{desk['t']['secret'].id}")) == []


@pytest.mark.parametrize("sort, expected", [
    ("updated", ["closed", "printer", "login", "chinese", "refund"]),
    ("created", ["closed", "printer", "login", "chinese", "refund"]),
    ("priority", ["login", "refund", "closed", "printer", "chinese"]),   # urgent, high, normal (newest first), low
    ("due", ["closed", "login", "refund", "chinese", "printer"]),        # soonest first, none last (oldest first)
])
def test_sorting(desk, sort, expected):
    assert names(desk, QueueQuery(view="recent", sort=sort)) == expected


def test_a_change_moves_a_ticket_to_the_top_of_updated(desk):
    update_ticket(desk["t"]["refund"], {"priority": "urgent"}, by=desk["me"], now=NOW)
    db.session.commit()
    assert names(desk, QueueQuery(view="recent"))[0] == "refund"


# ------------------------------------------------------------------------------------------
# keyset pagination
# ------------------------------------------------------------------------------------------
@pytest.fixture
def many(app, held_events):
    """23 tickets with ties in every sort column and some without a due time."""
    dept = make_department()
    agent = make_agent(departments=[dept])
    priorities = ["low", "normal", "high", "urgent"]
    ids = []
    for i in range(23):
        at = NOW - timedelta(minutes=i // 3)  # three tickets per timestamp
        ticket = make_ticket(department=dept, priority=priorities[i % 4], now=at)
        if i % 3:
            update_ticket(ticket, {"resolution_due_at": NOW + timedelta(hours=i % 5)}, by="system", now=at)
        ids.append(ticket.id)
    db.session.commit()
    return agent, ids


def walk_pages(agent, sort: str, page_size: int, **filters) -> tuple[list[int], int]:
    seen, cursor, pages = [], None, 0
    while True:
        page = fetch_page(QueueQuery(view="recent", sort=sort, cursor=cursor, **filters), agent,
                          page_size=page_size, now=NOW)
        pages += 1
        assert len(page.tickets) <= page_size
        seen += [t.id for t in page.tickets]
        if page.next_cursor is None:
            return seen, pages
        cursor = page.next_cursor
        assert pages < 30, "pagination does not end"


@pytest.mark.parametrize("sort", sorted(SORTS))
def test_keyset_pages_return_every_ticket_exactly_once_in_order(many, sort):
    agent, ids = many
    everything = fetch_page(QueueQuery(view="recent", sort=sort), agent, page_size=1000, now=NOW)
    assert everything.next_cursor is None and len(everything.tickets) == 23
    for page_size in (1, 4, 5, 22, 23, 50):
        seen, pages = walk_pages(agent, sort, page_size)
        assert len(seen) == len(set(seen)) == 23, f"page size {page_size}: duplicates or gaps"
        assert set(seen) == set(ids)
        assert seen == [t.id for t in everything.tickets], f"page size {page_size}: order differs"
        assert pages == -(-23 // page_size)


def test_keyset_pages_with_a_filter(many):
    agent, _ = many
    seen, _pages = walk_pages(agent, "priority", 2, priorities=["high", "urgent"])
    expected = fetch_page(QueueQuery(view="recent", sort="priority", priorities=["high", "urgent"]), agent,
                          page_size=100, now=NOW)
    assert seen == [t.id for t in expected.tickets] and len(seen) == 11


def test_next_cursor_only_when_there_is_more(many):
    agent, _ = many
    assert fetch_page(QueueQuery(view="recent"), agent, page_size=23, now=NOW).next_cursor is None
    assert fetch_page(QueueQuery(view="recent"), agent, page_size=22, now=NOW).next_cursor


def _b64(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


@pytest.mark.parametrize("cursor", [
    "garbage!!", "%%%", "", "AAAA", _b64([1]), _b64({}), _b64("x"), _b64([{"t": "not a time"}, 3]),
    _b64([{"x": 1}, 3]), _b64([None, "seven"]), _b64([True, 3]), _b64(["high", 3]), _b64([1.5, 3]),
])
def test_garbage_cursor_means_first_page(many, cursor):
    agent, _ = many
    for sort in SORTS:
        first = fetch_page(QueueQuery(view="recent", sort=sort), agent, page_size=5, now=NOW)
        again = fetch_page(QueueQuery(view="recent", sort=sort, cursor=cursor), agent, page_size=5, now=NOW)
        assert [t.id for t in again.tickets] == [t.id for t in first.tickets], sort


def test_a_null_position_is_garbage_except_for_due(many):
    agent, _ = many
    for sort in ("updated", "created", "priority"):
        first = fetch_page(QueueQuery(view="recent", sort=sort), agent, page_size=5, now=NOW)
        again = fetch_page(QueueQuery(view="recent", sort=sort, cursor=_b64([None, 3])), agent, page_size=5, now=NOW)
        assert [t.id for t in again.tickets] == [t.id for t in first.tickets], sort
    # "due" has tickets without a due time, sorted last: after (none, #3) come those with a larger number.
    page = fetch_page(QueueQuery(view="recent", sort="due", cursor=_b64([None, 3])), agent, page_size=50, now=NOW)
    assert page.tickets and all(t.resolution_due_at is None and t.id > 3 for t in page.tickets)


def test_cursor_of_another_sort_does_not_break_the_page(many):
    agent, _ = many
    by_priority = fetch_page(QueueQuery(view="recent", sort="priority"), agent, page_size=5, now=NOW)
    by_updated = fetch_page(QueueQuery(view="recent", sort="updated", cursor=by_priority.next_cursor), agent,
                            page_size=5, now=NOW)
    assert len(by_updated.tickets) == 5
    by_due = fetch_page(QueueQuery(view="recent", sort="due"), agent, page_size=5, now=NOW)
    assert len(fetch_page(QueueQuery(view="recent", sort="priority", cursor=by_due.next_cursor), agent,
                          page_size=5, now=NOW).tickets) == 5


# ------------------------------------------------------------------------------------------
# request args
# ------------------------------------------------------------------------------------------
def test_from_args_drops_invalid_values():
    q = QueueQuery.from_args(MultiDict([
        ("view", "everything"), ("status", "open"), ("status", "exploded"), ("priority", "high"),
        ("priority", "meh"), ("department", "3"), ("team", "x"), ("assignee", "bob"), ("channel", "pigeon"),
        ("tag", "  VIP "), ("q", "  退款  "), ("sort", "random"), ("after", "abc"),
    ]))
    assert (q.view, q.statuses, q.priorities, q.department_id, q.team_id, q.assignee, q.channel, q.tag, q.text,
            q.sort, q.cursor) == ("open", ["open"], ["high"], 3, None, None, None, "vip", "退款", "updated", "abc")
    assert q.has_filters
    assert not QueueQuery.from_args(MultiDict()).has_filters


def test_args_round_trip():
    q = QueueQuery(view="mine", statuses=["open", "pending"], priorities=["high"], assignee="none", text="x",
                   sort="due")
    again = QueueQuery.from_args(MultiDict([(k, v) for k, vs in q.args().items()
                                            for v in (vs if isinstance(vs, list) else [vs])]))
    assert again == q
    assert "after" not in q.args()
    assert q.args(after="CUR")["after"] == "CUR"

