"""Removing a picklist value: how many tickets hold it, and mapping them through the ticket service."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from factories import make_department, make_field, make_ticket
from portal.extensions import db
from portal.fields import services
from portal.fields.options import field_options
from portal.fields.picklists import BATCH
from portal.models import TicketEvent
from portal.services.errors import ValidationFailed

pytestmark = pytest.mark.integration


def values(field, department=None) -> list[str]:
    return [o["value"] for o in field_options(field, department.id if department else None)]


def refused(**kwargs) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as exc:
        services.remove_picklist_value(**kwargs)
    return {path: str(message) for path, message in exc.value.errors.items()}


def test_usage_counts_the_tickets_of_the_lists_departments(desk):
    other = make_department()  # uses the field's own list: ["other"]
    for _ in range(3):
        make_ticket(department=desk.books, custom_fields={"sub_category": "novel"})
    make_ticket(department=desk.books, custom_fields={"sub_category": "other"})
    make_ticket(department=desk.electronics, custom_fields={"sub_category": "other"})
    make_ticket(department=other, custom_fields={"sub_category": "other"})
    sub = desk["sub_category"]
    assert services.picklist_value_usage(sub, "novel", desk.books) == 3
    assert services.picklist_value_usage(sub, "other", desk.books) == 1
    assert services.picklist_value_usage(sub, "other", desk.electronics) == 1
    assert services.picklist_value_usage(sub, "other") == 1  # only departments without their own list
    assert services.picklist_value_usage(sub, "novel", desk.electronics) == 0


def test_removing_with_a_mapping_changes_the_tickets_through_the_service(desk):
    novels = [make_ticket(department=desk.books, custom_fields={"sub_category": "novel"}) for _ in range(2)]
    textbook = make_ticket(department=desk.books, custom_fields={"sub_category": "textbook"})
    sub = desk["sub_category"]
    changed = services.remove_picklist_value(sub, "novel", map_to="other", department=desk.books, by=desk.admin)
    assert changed == 2
    assert values(sub, desk.books) == ["textbook", "other"] and values(sub, desk.electronics)[0] == "phone"
    assert [t.custom_fields for t in novels] == [{"sub_category": "other"}] * 2
    assert textbook.custom_fields == {"sub_category": "textbook"}
    history = db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == novels[0].id,
                                                           TicketEvent.field == "custom_fields")
                                 .order_by(TicketEvent.id)).all()[-1]
    assert (history.old_value, history.new_value, history.actor_id) == ("sub_category=novel", "sub_category=other",
                                                                        desk.admin.id)
    assert history.reason == "sub_category: value 'novel' removed, mapped to 'other'"
    assert services.field_revisions(sub)[0].summary == "Department options changed (Books)."


def test_removing_without_a_mapping_leaves_the_tickets_values_alone(desk):
    ticket = make_ticket(department=desk.books, custom_fields={"category": "ebook"})
    category = desk["category"]
    assert services.remove_picklist_value(category, "ebook", by=None) == 0
    assert values(category) == ["paper"] and ticket.custom_fields == {"category": "ebook"}
    assert services.field_revisions(category)[0].summary == "Removed option 'ebook'."
    assert services.picklist_value_usage(category, "ebook") == 1  # still held, to resolve


def test_multi_select_values_are_mapped_inside_the_list(app):
    colours = make_field("colours", "multiselect", options=["red", "crimson", "blue"])
    dept = make_department()
    both = make_ticket(department=dept, custom_fields={"colours": ["red", "crimson", "blue"]})
    one = make_ticket(department=dept, custom_fields={"colours": ["crimson"]})
    assert services.picklist_value_usage(colours, "crimson") == 2
    assert services.remove_picklist_value(colours, "crimson", map_to="red", by=None) == 2
    assert (both.custom_fields, one.custom_fields) == ({"colours": ["red", "blue"]}, {"colours": ["red"]})


def test_dependent_picklist_values_are_removed_from_every_parent_list(desk):
    fmt = make_field("format", "dependent_picklist", parent_key="category",
                     options={"paper": ["hardback", "pdf"], "ebook": ["pdf", "epub"]})
    ticket = make_ticket(department=desk.books, custom_fields={"category": "ebook", "format": "pdf"})
    assert refused(field=fmt, value="pdf", map_to="epub", by=None) == {
        "map_to": "Map to another value of the same list, not 'epub'."}  # "paper" has no epub
    services.remove_picklist_value(fmt, "pdf", by=None)
    assert fmt.options == {"paper": [{"value": "hardback", "label": "hardback", "label_zh": ""}],
                           "ebook": [{"value": "epub", "label": "epub", "label_zh": ""}]}
    assert ticket.custom_fields["format"] == "pdf"


def test_bad_removals_are_refused_with_the_reason(desk):
    sub, category = desk["sub_category"], desk["category"]
    assert refused(field=sub, value="comic", department=desk.books, by=None) == {
        "value": "'comic' is not a value of sub_category here."}
    assert refused(field=sub, value="novel", map_to="novel", department=desk.books, by=None) == {
        "map_to": "Map to another value of the same list, not 'novel'."}
    assert refused(field=sub, value="novel", map_to="phone", department=desk.books, by=None) == {
        "map_to": "Map to another value of the same list, not 'phone'."}
    assert refused(field=sub, value="other", by=None) == {
        "value": "'other' is the last value of its list; a list keeps at least one."}
    assert refused(field=category, value="paper", department=desk.books, by=None) == {
        "department": "Books uses the field's own values; remove the value there."}
    assert refused(field=desk["amount"], value="1", by=None) == {
        "value": "Only picklists and multi-selects have values to remove."}


def test_a_ticket_that_cant_take_the_new_value_undoes_the_whole_mapping(app):
    colours = make_field("colours", "multiselect", options=["red", "crimson", "blue", "teal"])
    dept = make_department()
    fine = make_ticket(department=dept, custom_fields={"colours": ["crimson"]})
    stuck = make_ticket(department=dept, custom_fields={"colours": ["crimson", "teal"]})
    services.save_field(colours, {"options": ["red", "crimson", "blue"]}, None)  # teal gone, still on `stuck`
    with pytest.raises(ValidationFailed) as exc:
        services.remove_picklist_value(colours, "crimson", map_to="red", by=None)
    assert str(exc.value.errors["map_to"]) == f"Ticket #{stuck.id} can't take 'red': 'teal' is not one of the options."
    db.session.expire_all()
    assert fine.custom_fields == {"colours": ["crimson"]} and values(colours) == ["red", "crimson", "blue"]


def test_many_tickets_are_mapped_in_batches(app, monkeypatch):
    monkeypatch.setattr("portal.fields.picklists.BATCH", 2)
    size = make_field("size", "picklist", options=["S", "M"])
    dept = make_department()
    tickets = [make_ticket(department=dept, custom_fields={"size": "S"}) for _ in range(5)]
    assert services.remove_picklist_value(size, "S", map_to="M", by=None) == 5
    assert {t.custom_fields["size"] for t in tickets} == {"M"} and BATCH == 200
