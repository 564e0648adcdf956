"""The ticket service checks the custom-field values that change, for every writer."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from factories import make_ticket
from portal.extensions import db
from portal.fields import services
from portal.fields.ticket_values import changed_keys
from portal.models import TicketEvent
from portal.services.errors import ValidationFailed
from portal.services.tickets import bulk_update, create_ticket, update_ticket

from rules.helpers import firings, fresh, make_rule

pytestmark = pytest.mark.integration


def refused(call, *args, **kwargs) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as exc:
        call(*args, **kwargs)
    return {path: str(message) for path, message in exc.value.errors.items()}


def test_values_are_coerced_and_checked_when_a_ticket_is_created(desk):
    ticket = make_ticket(department=desk.books, custom_fields={"amount": "19.999", "sub_category": "novel",
                                                               "order_number": "SO12345678"})
    assert ticket.custom_fields == {"amount": 20, "sub_category": "novel", "order_number": "SO12345678"}
    errors = refused(create_ticket, subject="x", body="x", department=desk.electronics,
                     custom_fields={"sub_category": "novel", "amount": "lots", "colour": "red", "order_number": None})
    assert errors == {"cf.sub_category": "'novel' is not one of the options.", "cf.amount": "Enter an amount, such "
                      "as 99.90.", "cf.colour": "There is no custom field colour."}


def test_only_changed_keys_are_checked(desk):
    ticket = make_ticket(department=desk.books, custom_fields={"sub_category": "novel", "amount": 5})
    # Electronics has no "novel": moving keeps it (a conflict for an agent to resolve, not an error)
    update_ticket(ticket, {"department": desk.electronics}, by="system")
    update_ticket(ticket, {"custom_fields": {**ticket.custom_fields, "amount": "7"}}, by="system")
    assert ticket.custom_fields == {"sub_category": "novel", "amount": 7}
    # changing it is checked against the new department's values
    assert refused(update_ticket, ticket, {"custom_fields": {**ticket.custom_fields, "sub_category": "textbook"}},
                   by="system") == {"cf.sub_category": "'textbook' is not one of the options."}
    update_ticket(ticket, {"custom_fields": {**ticket.custom_fields, "sub_category": "laptop"}}, by="system")
    assert ticket.custom_fields["sub_category"] == "laptop"


def test_a_move_and_a_value_change_together_use_the_new_departments_values(desk):
    ticket = make_ticket(department=desk.books)
    update_ticket(ticket, {"department": desk.electronics, "custom_fields": {"sub_category": "phone"}}, by="system")
    assert (ticket.department_id, ticket.custom_fields) == (desk.electronics.id, {"sub_category": "phone"})


def test_none_removes_a_value_and_the_history_says_so(desk):
    ticket = make_ticket(department=desk.books, custom_fields={"amount": 5, "category": "paper"})
    diff = update_ticket(ticket, {"custom_fields": {"amount": None, "category": "paper"}}, by=desk.admin)
    assert ticket.custom_fields == {"category": "paper"}
    assert diff == {"custom_fields": ({"amount": 5, "category": "paper"}, {"category": "paper"})}
    row = db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                             .order_by(TicketEvent.id.desc())).first()
    assert (row.field, row.old_value, row.new_value) == ("custom_fields", "amount=5, category=paper", "category=paper")


def test_archived_fields_keep_their_values_and_refuse_new_ones(desk):
    ticket = make_ticket(department=desk.books, custom_fields={"internal_note": "fragile", "amount": 1})
    services.archive_field(desk["internal_note"], desk.admin)
    update_ticket(ticket, {"custom_fields": {**ticket.custom_fields, "amount": 2}}, by="system")  # untouched: kept
    assert ticket.custom_fields == {"internal_note": "fragile", "amount": 2}
    expected = {"cf.internal_note": "Internal note is archived: its values can't be changed."}
    assert refused(update_ticket, ticket, {"custom_fields": {"amount": 2}}, by="system") == expected
    assert refused(update_ticket, ticket, {"custom_fields": {**ticket.custom_fields, "internal_note": "x"}},
                   by="system") == expected


def test_the_same_value_in_another_json_type_is_a_change():
    assert changed_keys({"a": 1, "b": True, "c": "x", "d": None}, {"a": True, "b": True, "c": "x"}) == ["a"]
    assert changed_keys({"a": 1}, {"a": 1.0}) == ["a"]
    assert changed_keys({}, {"a": None}) == [] and changed_keys({"a": 0}, {}) == ["a"]


def test_rules_setting_a_custom_field_go_through_the_same_check(desk):
    make_rule(actions=[{"type": "set_field", "field": "cf.amount", "value": 120}], department=desk.books)
    # saved for every department, where "phone" is a value (Electronics'); it fires on a Books ticket
    make_rule(name="Bad", actions=[{"type": "set_field", "field": "cf.sub_category", "value": "phone"}])
    ticket = make_ticket(department=desk.books)
    db.session.commit()
    ticket = fresh(ticket)
    assert ticket.custom_fields == {"amount": 120}
    failed = [f for f in firings(ticket=ticket) if f.status == "failed"]
    assert len(failed) == 1 and "'phone' is not one of the options." in failed[0].error


def test_bulk_updates_report_the_tickets_whose_value_doesnt_fit(desk):
    books, electronics = make_ticket(department=desk.books), make_ticket(department=desk.electronics)
    failures = bulk_update([books, electronics], {"custom_fields": {"sub_category": "novel"}}, by=desk.admin)
    assert failures == {electronics.id: "'novel' is not one of the options."}
    assert books.custom_fields == {"sub_category": "novel"} and electronics.custom_fields == {}
