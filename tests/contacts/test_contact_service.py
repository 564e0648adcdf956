"""The contact service: identities in one stored form, details with per-field errors, merges."""
import pytest
from sqlalchemy import select

from factories import make_account, make_admin, make_agent, make_contact, make_department, make_ticket
from portal.extensions import db
from portal.models import Contact, ContactEvent, ContactIdentity, Thread, TicketEvent
from portal.services import contacts as svc
from portal.services import tickets as ticket_service
from portal.services.errors import StaleEdit, ValidationFailed

pytestmark = pytest.mark.integration


# ---------------------------------------------------------------------------------- identities
def test_phone_numbers_are_stored_in_e164_with_the_default_region(app):
    app.config["PHONE_DEFAULT_REGION"] = "CN"
    assert svc.normalise_identity("phone", "138 0013 8000") == "+8613800138000"
    assert svc.normalise_identity("phone", "+1 (415) 555-2671") == "+14155552671"
    app.config["PHONE_DEFAULT_REGION"] = "GB"
    assert svc.normalise_identity("phone", "020 7946 0018") == "+442079460018"
    assert svc.normalise_identity("phone", "not a number") == "not a number"  # channels never lose it
    assert svc.normalise_identity("email", " Ann@Example.COM ") == "ann@example.com"
    assert svc.normalise_identity("wechat", " oAbC_12-x ") == "oAbC_12-x"


def test_one_number_in_two_spellings_finds_one_contact(app):
    first = svc.find_or_create_by_identity("phone", "+86 138-0013-8000")
    assert svc.find_or_create_by_identity("phone", "13800138000") is first
    assert first.name == "+86 138 0013 8000"
    assert svc.find_contact_by_identity("phone", "+8613800138000") is first


def test_add_identity_normalises_and_audits(app):
    agent = make_admin()
    contact = make_contact("ann@example.com")
    identity = svc.add_identity(contact, "phone", "138 0013 8000", by=agent)
    assert (identity.kind, identity.value) == ("phone", "+8613800138000")
    assert svc.add_identity(contact, "phone", "+86 13800138000", by=agent) is identity  # already theirs
    event = db.session.scalar(select(ContactEvent).filter_by(contact_id=contact.id, action="identity_added"))
    assert event.actor_id == agent.id and event.detail == {"kind": "phone", "value": "+8613800138000"}


@pytest.mark.parametrize("kind,value,field,words", [
    ("fax", "123", "kind", "Unknown kind"),
    ("email", "  ", "value", "Please enter"),
    ("email", "not-an-address", "value", "is not an email address"),
    ("phone", "12", "value", "is not a phone number"),
    ("phone", "+999 123", "value", "is not a phone number"),
    ("wechat", "has spaces in it", "value", "WeChat openid"),
])
def test_add_identity_refuses_bad_values(app, kind, value, field, words):
    contact = make_contact()
    with pytest.raises(ValidationFailed) as caught:
        svc.add_identity(contact, kind, value)
    assert list(caught.value.errors) == [field]
    assert words in str(caught.value.errors[field])
    assert len(contact.identities) == 1


def test_a_local_number_error_says_which_region_it_was_read_in(app):
    app.config["PHONE_DEFAULT_REGION"] = "CN"
    with pytest.raises(ValidationFailed) as caught:
        svc.add_identity(make_contact(), "phone", "1234")
    assert "CN" in caught.value.errors["value"]


def test_an_identity_of_another_contact_names_them(app):
    owner = make_contact("bob@example.com", name="Bob Owner")
    contact = make_contact()
    with pytest.raises(svc.IdentityTaken) as caught:
        svc.add_identity(contact, "email", "BOB@example.com")
    assert caught.value.owner is owner
    assert "Bob Owner" in caught.value.errors["value"]
    assert [i.value for i in owner.identities] == ["bob@example.com"]


def test_remove_identity(app):
    contact = make_contact("a@example.com", name="Ann")
    svc.add_identity(contact, "phone", "+8613800138000")
    svc.remove_identity(contact, "phone", "138 0013 8000")  # any spelling of it
    assert [i.kind for i in contact.identities] == ["email"]
    with pytest.raises(ValidationFailed, match="not one of Ann's identities"):
        svc.remove_identity(contact, "phone", "+8613800138000")
    with pytest.raises(ValidationFailed, match="at least one identity"):
        svc.remove_identity(contact, "email", "a@example.com")
    assert db.session.scalar(select(ContactEvent).filter_by(action="identity_removed")).detail["value"] == \
        "+8613800138000"


# ---------------------------------------------------------------------------------- details
def test_update_contact_changes_and_audits(app):
    agent = make_admin()
    account = make_account(name="Acme")
    contact = make_contact(name="Ann")
    diff = svc.update_contact(contact, {"name": "  Ann   Lee ", "account": "acme", "tier": "vip",
                                        "language": "zh_Hans", "timezone": "Asia/Shanghai"}, by=agent)
    assert set(diff) == {"name", "account", "tier", "language", "timezone"}
    assert (contact.name, contact.account, contact.tier) == ("Ann Lee", account, "vip")  # found, case-insensitively
    event = db.session.scalar(select(ContactEvent).filter_by(action="updated"))
    assert event.detail["account"] == [None, "Acme"] and event.actor_id == agent.id
    assert svc.update_contact(contact, {"name": "Ann Lee"}, by=agent) == {}
    svc.update_contact(contact, {"account": "Globex", "tier": ""})
    assert contact.account.name == "Globex" and contact.account.id and contact.tier is None
    svc.update_contact(contact, {"account": ""})
    assert contact.account is None


def test_update_contact_reports_every_bad_field_and_changes_nothing(app):
    contact = make_contact(name="Ann")
    with pytest.raises(ValidationFailed) as caught:
        svc.update_contact(contact, {"name": " ", "tier": "gold", "language": "xx", "timezone": "Mars/Base",
                                     "account": "x" * 201, "email": "a@b.c"})
    assert set(caught.value.errors) == {"name", "tier", "language", "timezone", "account", "email"}
    assert contact.name == "Ann" and contact.tier is None and contact.language == "en"
    with pytest.raises(ValidationFailed, match="at most 200"):
        svc.update_contact(contact, {"name": "x" * 201})


# ---------------------------------------------------------------------------------- search
def test_search_by_name_email_phone_openid_and_skips_merged(app):
    ann = make_contact("ann@example.com", name="Ann Lee")
    svc.add_identity(ann, "phone", "+8613800138000")
    bob = make_contact("bob@example.com", name="Bob 王")
    svc.add_identity(bob, "wechat", "oWx_42abc")
    gone = make_contact("gone@example.com", name="Ann Gone")
    gone.merged_into = ann

    def names(q):
        return [c.name for c in db.session.scalars(svc.search_contacts(q))]
    assert names("ann") == ["Ann Lee"]
    assert names("BOB@EXAMPLE") == ["Bob 王"]
    assert names("王") == ["Bob 王"]
    assert names("138 0013 8000") == ["Ann Lee"]
    assert names("wx_42") == ["Bob 王"]
    assert names("100%") == []
    assert names("") == ["Ann Lee", "Bob 王"]


# ---------------------------------------------------------------------------------- merging
@pytest.fixture
def pair(app):
    sales, support = make_department(name="Sales"), make_department(name="Support")
    source = make_contact("ann.old@example.com", name="Ann (old)", tier="vip", account=make_account(name="Acme"))
    svc.add_identity(source, "phone", "+8613800138000")
    into = make_contact("ann@example.com", name="Ann Lee")
    t1 = make_ticket(contact=source, department=sales, subject="Old order")
    t2 = make_ticket(contact=source, department=support, subject="Old refund")
    t3 = make_ticket(contact=into, department=sales, subject="New question")
    other = make_ticket(contact=make_contact(), department=sales, subject="Someone else's")
    # The source also wrote on someone else's ticket (copied in).
    cc = ticket_service.add_thread(other, kind="customer", body="me too", contact=source, by="customer")
    db.session.commit()
    return dict(source=source, into=into, tickets=(t1, t2, t3), cc=cc, sales=sales, support=support)


def test_merge_moves_tickets_threads_identities_account_and_audits(pair):
    source, into = pair["source"], pair["into"]
    admin = make_admin(name="Root")
    preview = svc.merge_preview(source, into)
    assert preview["tickets"] == [pair["tickets"][0].id, pair["tickets"][1].id]
    assert preview["account"].name == "Acme"
    event = svc.merge_contacts(source, into, admin, fingerprint=preview["fingerprint"])
    db.session.commit()
    t1, t2, t3 = pair["tickets"]
    assert {t.contact_id for t in (t1, t2, t3)} == {into.id}
    assert db.session.get(Thread, pair["cc"].id).contact_id == into.id
    assert db.session.scalar(select(Thread).where(Thread.contact_id == source.id)) is None
    assert sorted((i.kind, i.value) for i in into.identities) == [
        ("email", "ann.old@example.com"), ("email", "ann@example.com"), ("phone", "+8613800138000")]
    assert source.identities == [] and db.session.scalar(select(ContactIdentity).filter_by(contact_id=source.id)) is None
    assert into.account.name == "Acme" and into.tier == "vip"
    assert source.merged_into is into and source.merged_at is not None
    # History: each moved ticket says who moved it and why.
    history = db.session.scalar(select(TicketEvent).filter_by(ticket_id=t1.id, field="contact")
                                .where(TicketEvent.old_value.is_not(None)))
    assert (history.old_value, history.new_value, history.actor_id) == ("Ann (old)", "Ann Lee", admin.id)
    assert "merged into" in history.reason
    assert event.action == "merged" and event.contact_id == into.id and event.actor_id == admin.id
    assert event.detail["tickets"] == [t1.id, t2.id] and event.detail["source_name"] == "Ann (old)"
    # The old contact's identity now finds the survivor; the old page redirects there.
    assert svc.find_contact_by_identity("email", "ann.old@example.com") is into
    assert svc.live_contact(source.id) == (source, into)


def test_earlier_merges_follow_to_the_survivor(pair):
    admin = make_admin()
    first = make_contact(name="First")
    svc.merge_contacts(first, pair["source"], admin)
    svc.merge_contacts(pair["source"], pair["into"], admin)
    assert first.merged_into is pair["into"]
    assert svc.live_contact(first.id)[1] is pair["into"]


def test_merge_refusals(pair):
    source, into = pair["source"], pair["into"]
    admin = make_admin()
    with pytest.raises(svc.MergeRefused, match="into itself"):
        svc.merge_contacts(source, source, admin)
    with pytest.raises(svc.MergeRefused, match="changed since you looked"):
        svc.merge_contacts(source, into, admin, fingerprint="0" * 16)
    assert source.merged_into_id is None and pair["tickets"][0].contact_id == source.id
    svc.merge_contacts(source, into, admin)
    with pytest.raises(svc.MergeRefused, match="already merged into Ann Lee"):
        svc.merge_contacts(source, into, admin)
    third = make_contact(name="Third")
    with pytest.raises(svc.MergeRefused, match="merge into that contact instead"):
        svc.merge_contacts(third, source, admin)


def test_only_agents_who_see_all_the_sources_tickets_may_merge(pair):
    sales_only = make_agent(departments=[pair["sales"]])
    both = make_agent(departments=[pair["sales"], pair["support"]])
    assert not svc.can_merge(sales_only, pair["source"])
    assert svc.can_merge(both, pair["source"]) and svc.can_merge(make_admin(), pair["source"])
    assert svc.can_merge(sales_only, pair["into"])  # all of Ann Lee's tickets are in Sales
    with pytest.raises(svc.MergeRefused, match="Ask an admin"):
        svc.merge_contacts(pair["source"], pair["into"], sales_only)
    assert pair["source"].merged_into_id is None
    svc.merge_contacts(pair["source"], pair["into"], both)
    assert pair["source"].merged_into is pair["into"]


def test_a_failing_merge_leaves_nothing_half_done(pair, monkeypatch):
    source, into = pair["source"], pair["into"]
    t1, t2, _ = pair["tickets"]
    calls = []
    real = ticket_service.update_ticket

    def flaky(ticket, changes, **kw):
        calls.append(ticket.id)
        if len(calls) == 2:
            raise StaleEdit(ticket, [])
        return real(ticket, changes, **kw)
    monkeypatch.setattr(ticket_service, "update_ticket", flaky)
    with pytest.raises(StaleEdit):
        svc.merge_contacts(source, into, make_admin())
    db.session.rollback()
    source, into = db.session.get(Contact, source.id), db.session.get(Contact, into.id)
    assert source.merged_into_id is None
    assert db.session.get(type(t1), t1.id).contact_id == source.id
    assert len(source.identities) == 2 and len(into.identities) == 1
    assert db.session.scalar(select(ContactEvent).filter_by(action="merged")) is None
    assert db.session.scalar(select(TicketEvent).filter_by(field="contact")
                             .where(TicketEvent.old_value.is_not(None))) is None


def test_a_ticket_changed_by_someone_else_during_the_merge_stops_it_cleanly(pair):
    """Another session bumps a ticket's version after we loaded it: the ticket service's optimistic
    lock refuses, and the merge leaves nothing behind."""
    source, into = pair["source"], pair["into"]
    t1 = pair["tickets"][0]
    assert t1.version  # loaded in this session
    with db.engine.connect() as other:
        other.exec_driver_sql(f"UPDATE tickets SET version = version + 1 WHERE id = {t1.id}")
        other.commit()
    with pytest.raises(StaleEdit):
        svc.merge_contacts(source, into, make_admin())
    db.session.rollback()
    assert db.session.get(Contact, source.id).merged_into_id is None
    assert db.session.get(type(t1), t1.id).contact_id == source.id
    assert {i.contact_id for i in db.session.scalars(select(ContactIdentity))} >= {source.id}


def test_a_merge_rechecks_the_contacts_as_they_are_now_not_as_loaded(pair):
    """Another agent merged the duplicate elsewhere after this session loaded it: the merge reads
    the rows again (locked, on PostgreSQL) and refuses instead of merging a contact twice."""
    source, into = pair["source"], pair["into"]
    elsewhere = make_contact(name="Ann Elsewhere")
    db.session.commit()
    assert source.merged_into_id is None  # loaded here
    with db.engine.connect() as other:
        other.exec_driver_sql(f"UPDATE contacts SET merged_into_id = {elsewhere.id} WHERE id = {source.id}")
        other.commit()
    with pytest.raises(svc.MergeRefused, match="already merged into Ann Elsewhere"):
        svc.merge_contacts(source, into, make_admin())
    db.session.rollback()
    assert db.session.get(type(pair["tickets"][0]), pair["tickets"][0].id).contact_id == source.id
