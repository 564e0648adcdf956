"""The demo desk generator: what `flask seed-demo` puts in an empty database.

Most tests share one desk seeded once for the module (60 tickets, seed 42, on a `db.create_all()`
SQLite file). The last ones use the shared `app` fixture: the real migrations, and PostgreSQL too
when TEST_DATABASE_URL is set.
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal import create_app
from portal.extensions import db
from portal.models import (Account, Contact, ContactIdentity, Department, OutboxEvent, Skill, Team, Thread,
                           Ticket, TicketEvent, User, utcnow)
from portal.seed.demo import DEMO_LOGINS, DEMO_PASSWORD, DeskNotEmpty, desk_is_empty, seed_demo
from portal.services.accounts import check_password

TICKETS = 60
CJK = re.compile(r"[\u4e00-\u9fff]")


def _app(path):
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "QUEUE_MODE": "sync",
                       "REDIS_URL": None, "WTF_CSRF_ENABLED": False, "SECRET_KEY": "x"})


def _dispose() -> None:
    db.session.remove()
    for engine in db.engines.values():
        engine.dispose()


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _fingerprint() -> list[tuple]:
    """What must come out the same for the same seed (times move with the day it runs)."""
    rows = db.session.execute(
        select(Ticket.id, Ticket.subject, Ticket.status, Ticket.priority, Ticket.channel, Department.name,
               User.email, Contact.name, Ticket.thread_count)
        .join(Department, Ticket.department_id == Department.id)
        .outerjoin(User, Ticket.assignee_id == User.id)
        .outerjoin(Contact, Ticket.contact_id == Contact.id)
        .order_by(Ticket.id))
    return [tuple(row) for row in rows]


@pytest.fixture(scope="module")
def desk(tmp_path_factory, monkeypatch_module):
    tmp_path = tmp_path_factory.mktemp("demo")
    monkeypatch_module.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    app = _app(tmp_path / "t.db")
    with app.app_context():
        db.create_all()
        assert desk_is_empty()
        seed_demo(tickets=TICKETS, seed=42)
        db.session.remove()  # tests read what was committed
        yield app
        _dispose()


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


# ------------------------------------------------------------------------------------------
# The organisation
# ------------------------------------------------------------------------------------------
def test_departments_have_english_and_chinese_names_and_a_from_address(desk):
    depts = {d.name: d for d in db.session.scalars(select(Department))}
    assert {n: d.name_zh for n, d in depts.items()} == {
        "Returns": "退换货", "Tech support": "技术支持", "Billing": "账单"}
    assert depts["Returns"].email == "returns@demo.example.com"
    assert all(d.email and d.email.endswith("@demo.example.com") and d.active for d in depts.values())


def test_every_team_has_members_who_work_in_its_department(desk):
    teams = list(db.session.scalars(select(Team)))
    assert {(t.department.name, t.name, t.name_zh) for t in teams} >= {
        ("Returns", "Replacements", "换货组"), ("Returns", "Refunds", "退款组"), ("Tech support", "Tier 1", "一线"),
        ("Tech support", "Senior", "资深组"), ("Billing", "Invoices", "发票组")}
    for team in teams:
        assert team.members, team.name
        assert all(team.department_id in m.department_ids for m in team.members), team.name


def test_staff_roles_skills_shifts_and_logins(desk):
    users = list(db.session.scalars(select(User)))
    roles = sorted(u.role for u in users)
    assert roles.count("admin") == 1 and roles.count("supervisor") == 2 and roles.count("agent") >= 7
    assert len(users) == len(DEMO_LOGINS)
    assert {(u.email, u.role) for u in users} == set(DEMO_LOGINS)
    assert ("admin@demo.example.com", "admin") in DEMO_LOGINS
    assert any(CJK.search(u.name) for u in users) and any(u.name.isascii() for u in users)
    assert {s.name for s in db.session.scalars(select(Skill))} >= {"billing", "hardware", "refunds", "english",
                                                                    "chinese"}
    assert {u.timezone for u in users} >= {"Asia/Shanghai", "Europe/Berlin", "America/New_York"}
    assert len({u.availability for u in users}) > 1
    for u in users:
        assert u.shift_start is not None and u.shift_end is not None and u.shift_start < u.shift_end
        assert u.shift_days and set(u.shift_days) <= set("1234567")
        assert u.capacity > 0 and u.active
        if u.role != "admin":
            assert u.departments and u.skills, u.email
    # One hash for everyone (argon2 is slow), and it is the documented demo password.
    assert len({u.password_hash for u in users}) == 1
    assert check_password(user("li.na@demo.example.com"), DEMO_PASSWORD)
    assert not check_password(user("li.na@demo.example.com"), "wrong-pass-1")


def test_single_department_agents_for_scoping_checks(desk):
    assert [d.name for d in user("li.na@demo.example.com").departments] == ["Returns"]
    assert [d.name for d in user("tom.becker@demo.example.com").departments] == ["Tech support"]
    assert [d.name for d in user("sarah.miller@demo.example.com").departments] == ["Billing"]
    assert len(user("zhang.wei@demo.example.com").departments) == 2


# ------------------------------------------------------------------------------------------
# Customers
# ------------------------------------------------------------------------------------------
def test_contacts_in_both_languages_with_identities_and_vips(desk):
    contacts = list(db.session.scalars(select(Contact)))
    assert 70 <= len(contacts) <= 90
    assert {c.language for c in contacts} == {"zh_Hans", "en"}
    assert sum(c.language == "zh_Hans" for c in contacts) >= 20 and sum(c.language == "en" for c in contacts) >= 20
    assert len({c.timezone for c in contacts}) >= 5
    for c in contacts:
        assert c.email and "@" in c.email, c.name
    kinds = {kind for (kind,) in db.session.execute(select(ContactIdentity.kind).distinct())}
    assert kinds == {"email", "phone", "wechat"}
    assert all(v.endswith(".example") or v.split("@")[1] in ("example.com", "example.net", "example.org")
               for (v,) in db.session.execute(select(ContactIdentity.value).where(ContactIdentity.kind == "email")))
    assert db.session.scalar(select(func.count()).select_from(Account).where(Account.tier == "vip")) >= 1
    assert any(c.tier == "vip" for c in contacts)  # VIP on their own
    assert sum(c.is_vip for c in contacts) >= 5
    assert any(c.account is not None for c in contacts) and any(c.account is None for c in contacts)


# ------------------------------------------------------------------------------------------
# Tickets
# ------------------------------------------------------------------------------------------
def test_ticket_count_channels_priorities_statuses(desk):
    tickets = list(db.session.scalars(select(Ticket)))
    assert len(tickets) == TICKETS
    assert len({t.channel for t in tickets}) >= 4
    assert len({t.priority for t in tickets}) >= 3
    assert len({t.department_id for t in tickets}) == 3
    statuses = {t.status for t in tickets}
    assert {"open", "solved", "closed"} <= statuses and len(statuses) >= 5
    assert any(t.tags for t in tickets) and any("vip" in t.tags for t in tickets)


def test_text_in_chinese_and_english_including_the_seed_documents_example(desk):
    subjects = list(db.session.scalars(select(Ticket.subject)))
    assert any(CJK.search(s) for s in subjects)
    assert any(not CJK.search(s) for s in subjects)
    assert db.session.scalar(select(func.count()).select_from(Ticket)
                             .where(Ticket.search_text.contains("手机发热"))) >= 1
    # A ticket written by a Chinese-speaking customer is in Chinese, an English one in English.
    for ticket in db.session.scalars(select(Ticket)):
        first = ticket.threads[0].body_text
        if ticket.contact.language == "zh_Hans":
            assert CJK.search(ticket.subject) and CJK.search(first), ticket.id
        else:
            assert not CJK.search(ticket.subject) and not CJK.search(first), ticket.id


def test_assignees_work_in_the_ticket_department_and_teams_belong_to_it(desk):
    tickets = list(db.session.scalars(select(Ticket)))
    assigned = [t for t in tickets if t.assignee is not None]
    assert assigned and len(assigned) < len(tickets)  # some left unassigned
    for ticket in assigned:
        assert ticket.department_id in ticket.assignee.department_ids, ticket.id
    with_team = [t for t in tickets if t.team is not None]
    assert with_team and all(t.team.department_id == t.department_id for t in with_team)
    # li.na (Returns only) never holds a ticket outside Returns.
    li_na = user("li.na@demo.example.com")
    assert {t.department.name for t in assigned if t.assignee_id == li_na.id} <= {"Returns"}


def test_conversations_have_customer_messages_replies_and_notes(desk):
    kinds = {kind for (kind,) in db.session.execute(select(Thread.kind).distinct())}
    assert kinds == {"customer", "reply", "note"}
    for ticket in db.session.scalars(select(Ticket)):
        threads = ticket.threads
        assert threads[0].kind == "customer" and ticket.thread_count == len(threads)
        for thread in threads:
            if thread.kind == "customer":
                assert thread.contact_id == ticket.contact_id
            else:
                assert thread.author is not None and thread.author.role in ("agent", "supervisor")
        replies = [th for th in threads if th.kind == "reply"]
        if replies:
            assert ticket.first_response_at == replies[0].created_at
        if ticket.status in ("solved", "closed"):
            assert replies and ticket.resolved_at is not None
        else:
            assert ticket.resolved_at is None
    # Replies are signed by someone in the department (moved tickets: the new one's people answer).
    solved_replies = db.session.execute(
        select(Thread, Ticket).join(Ticket).where(Ticket.status == "solved", Thread.kind == "reply"))
    last_by_ticket = {}
    for thread, ticket in solved_replies:
        last_by_ticket[ticket.id] = (thread, ticket)
    for thread, ticket in last_by_ticket.values():
        assert ticket.department_id in thread.author.department_ids, ticket.id


def test_times_are_aware_utc_spread_over_two_months_and_ordered(desk):
    now = utcnow()
    tickets = list(db.session.scalars(select(Ticket).order_by(Ticket.id)))
    created = [t.created_at for t in tickets]
    assert all(c.tzinfo is not None and c.utcoffset() == timedelta(0) for c in created)
    assert created == sorted(created)  # ticket numbers follow time
    assert now - created[0] > timedelta(days=30) and min(created) > now - timedelta(days=61)
    assert max(created) <= now
    for ticket in tickets:
        assert ticket.created_at <= ticket.updated_at <= now
        stamps = [th.created_at for th in ticket.threads]
        assert stamps == sorted(stamps) and stamps[0] == ticket.created_at
    events = list(db.session.scalars(select(TicketEvent.created_at)))
    assert all(e <= now for e in events)


def test_open_tickets_have_due_times_some_overdue(desk):
    now = utcnow()
    open_tickets = [t for t in db.session.scalars(select(Ticket)) if t.is_open]
    assert open_tickets
    assert all(t.resolution_due_at and t.first_response_due_at for t in open_tickets)
    assert all(t.first_response_due_at <= t.resolution_due_at for t in open_tickets)
    assert any(t.is_overdue(now) for t in open_tickets)
    assert any(not t.is_overdue(now) for t in open_tickets)


def test_history_is_audited_and_not_replayed_by_the_queue(desk):
    assert _count(TicketEvent) > TICKETS * 3
    fields = {f for (f,) in db.session.execute(select(TicketEvent.field).distinct())}
    assert {"subject", "status", "assignee", "resolution_due_at"} <= fields
    labels = {label for (label,) in db.session.execute(select(TicketEvent.actor_label).distinct())}
    assert {"customer", "SLA policy"} <= labels
    # The outbox rows exist (one per change) but are history: done when they happened, not queued.
    assert _count(OutboxEvent) > TICKETS
    assert db.session.scalar(select(func.count()).select_from(OutboxEvent)
                             .where(OutboxEvent.status != "done")) == 0
    assert db.session.scalar(select(func.count()).select_from(OutboxEvent)
                             .where(OutboxEvent.processed_at != OutboxEvent.created_at)) == 0


# ------------------------------------------------------------------------------------------
# Repeatable, and only into an empty desk
# ------------------------------------------------------------------------------------------
def test_the_same_seed_gives_the_same_desk(desk, tmp_path, monkeypatch):
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    expected = _fingerprint()
    contacts = list(db.session.scalars(select(Contact.name).order_by(Contact.id)))

    def seeded(seed: int, name: str):
        other = _app(tmp_path / name)
        with other.app_context():
            db.create_all()
            seed_demo(tickets=TICKETS, seed=seed)
            try:
                return _fingerprint(), list(db.session.scalars(select(Contact.name).order_by(Contact.id)))
            finally:
                _dispose()

    assert seeded(42, "again.db") == (expected, contacts)
    different, _ = seeded(7, "other.db")
    assert [row[1] for row in different] != [row[1] for row in expected]


def test_desk_is_empty_flips_and_a_second_seed_is_refused(desk):
    assert not desk_is_empty()
    before = _count(Ticket)
    with pytest.raises(DeskNotEmpty):
        seed_demo(tickets=5)
    assert _count(Ticket) == before


# ------------------------------------------------------------------------------------------
# On the migrated schema (and PostgreSQL when TEST_DATABASE_URL is set)
# ------------------------------------------------------------------------------------------
@pytest.mark.integration
def test_seeds_the_migrated_schema_without_waking_subscribers(app, subscriber):
    seen = []
    subscriber("demo-seed-probe", lambda event: seen.append(event.id))
    assert desk_is_empty()
    seed_demo(tickets=10, seed=3)
    assert _count(Ticket) == 10 and not desk_is_empty()
    assert seen == []


@pytest.mark.integration
def test_run_subscribers_hands_the_history_to_the_queue(app, subscriber):
    seen = []
    subscriber("demo-seed-probe", lambda event: seen.append(event.id))
    seed_demo(tickets=3, seed=5, run_subscribers=True)
    ids = list(db.session.scalars(select(OutboxEvent.id).order_by(OutboxEvent.id)))
    assert sorted(seen) == ids  # the sync queue ran every event after commit


def test_custom_fields_with_per_department_values_layouts_and_ticket_values(desk):
    from portal.fields.models import CustomField, FieldDepartmentOptions, Layout
    from portal.fields.options import values_of
    fields = {f.key: f for f in db.session.scalars(select(CustomField))}
    assert {"order_number", "product", "subcategory", "purchase_date", "refund_amount", "warranty"} <= set(fields)
    assert fields["subcategory"].label_zh == "子类别"
    lists = {row.department_id: values_of(row.options) for row in
             db.session.scalars(select(FieldDepartmentOptions).filter_by(field_id=fields["subcategory"].id))}
    returns, tech = (db.session.scalar(select(Department.id).filter_by(name=n)) for n in ("Returns", "Tech support"))
    assert "damaged" in lists[returns] and "damaged" not in lists[tech]  # the seed documents' example
    assert db.session.scalar(select(func.count()).select_from(Layout)) == 4  # the default + 3 departments
    with_values = [t for t in db.session.scalars(select(Ticket)) if t.custom_fields]
    assert len(with_values) > TICKETS * 0.7
    for t in with_values:
        if "subcategory" in t.custom_fields:
            dept_list = lists.get(t.department_id)
            assert dept_list is None or t.custom_fields["subcategory"] in dept_list
    # the history's events are settled, as the rest of the seeded history
    assert db.session.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.status != "done")) == 0
