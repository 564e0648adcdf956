"""Layouts: validation (missing and archived fields, duplicates, portal rules, conditions, circular
conditions), the default layout, revisions and rollback."""
from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from factories import make_department, make_field
from portal.extensions import db
from portal.fields import services
from portal.fields.models import Layout
from portal.fields.runtime import layout_for
from portal.services.errors import ValidationFailed

from .helpers import layout, leaf, row, section

pytestmark = pytest.mark.integration


def errors_of(document, department=None) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as exc:
        services.save_layout(department, document, None)
    return {path: str(message) for path, message in exc.value.errors.items()}


def test_a_layout_is_saved_normalised(desk):
    saved = services.save_layout(desk.books, layout(section(
        "order", row("order_number", required=True, portal=True), row("category", portal=True),
        row("internal_note", show_when=leaf("cf.category", "eq", "paper")), title=" Order ", title_zh="订单")),
        desk.admin)
    assert saved.document == {"version": 1, "sections": [
        {"id": "order", "title": "Order", "title_zh": "订单", "fields": [
            {"key": "order_number", "required": True, "portal": True},
            {"key": "category", "portal": True},
            {"key": "internal_note", "portal": False, "show_when": {"field": "cf.category", "op": "eq",
                                                                    "value": "paper"}}]}]}
    assert (saved.department_id, saved.revision, saved.updated_by_id) == (desk.books.id, 1, desk.admin.id)


@pytest.mark.parametrize("document, path, message", [
    ("sections", "layout", "JSON object"),
    ({"version": 2, "sections": []}, "version", "Unsupported layout version 2"),
    ({"version": 1, "sections": {}}, "sections", "Sections are a list"),
    ({"version": 1, "sections": [], "theme": "dark"}, "theme", "Unknown setting 'theme'"),
    (layout(section("s1", row("nope"))), "sections.0.fields.0.key", "There is no field 'nope'."),
    (layout(section("s1", row("category")), section("s2", row("amount"), row("category"))),
     "sections.1.fields.1.key", "Field category is already on the layout (at sections.0.fields.0)."),
    (layout(section("s1"), section("s1")), "sections.1.id", "Section id 's1' is used twice."),
    (layout(section("s 1")), "sections.0.id", "letters, digits, _ and -"),
    (layout({"id": "s1", "title": " ", "fields": []}), "sections.0.title", "A section needs a title."),
    (layout(section("s1", row("internal_note", portal=True))), "sections.0.fields.0.portal",
     "Internal note is for agents only"),
    (layout(section("s1", row("amount", required="yes"))), "sections.0.fields.0.required", "Choose true, false"),
    (layout(section("s1", row("amount", colour=1))), "sections.0.fields.0", "Unknown key 'colour'"),
    (layout(section("s1", "amount")), "sections.0.fields.0", "A row is an object naming a field"),
])
def test_bad_layouts_are_refused_at_the_row(desk, document, path, message):
    errors = errors_of(document)
    assert path in errors and message in errors[path], errors
    assert layout_for(None).id is None  # nothing stored


def test_conditions_are_checked_at_the_exact_row(desk):
    errors = errors_of(layout(section(
        "s1", row("category"), row("sub_category"),
        row("amount", show_when={"all": [leaf("cf.category", "eq", "paper"),
                                         leaf("cf.category", "eq", "vinyl"),
                                         {"any": [leaf("cf.nope", "eq", "x"), leaf("subject", "contains", "x")]}]},
            require_when=leaf("priority", "eq", "huge")),
        row("order_number", show_when=leaf("cf.internal_note", "is_not_empty")))), desk.books)
    assert errors == {
        "sections.0.fields.2.show_when.all.1": "'vinyl' is not one of the choices of Category.",
        "sections.0.fields.2.show_when.all.2.any.0":
            "Field nope is not on this layout; a condition can only use fields of the same form.",
        "sections.0.fields.2.show_when.all.2.any.1":
            "A form's conditions can use the form's own fields, priority, channel and department.",
        "sections.0.fields.2.require_when": "Unknown priority 'huge'; use low, normal, high or urgent.",
        "sections.0.fields.3.show_when":
            "Field internal_note is not on this layout; a condition can only use fields of the same form.",
    }


def test_condition_values_are_the_departments_own(desk):
    document = layout(section("s1", row("sub_category"),
                              row("amount", show_when=leaf("cf.sub_category", "eq", "phone"))))
    assert "not one of the choices" in errors_of(document, desk.books)["sections.0.fields.1.show_when"]
    assert services.save_layout(desk.electronics, document, None).revision == 1
    # the default layout serves departments without their own: any department's values go
    assert services.save_layout(None, document, None).revision == 1


def test_change_operators_are_refused_in_form_conditions(desk):
    errors = errors_of(layout(section("s1", row("category"), row("amount", show_when=leaf("cf.category", "changed")))))
    assert "only works in rules that react to a change" in errors["sections.0.fields.1.show_when"]


def test_circular_conditions_are_refused_on_every_field_of_the_cycle(desk):
    errors = errors_of(layout(section(
        "s1",
        row("category", show_when=leaf("cf.amount", "gt", 10)),
        row("amount", require_when=leaf("cf.category", "eq", "paper")),
        row("order_number", show_when=leaf("cf.order_number", "is_not_empty")),
        row("sub_category", show_when={"not": leaf("cf.warranty_until", "is_empty")}),
        row("warranty_until", show_when={"any": [leaf("cf.internal_note", "is_empty")]}),
        row("internal_note", require_when=leaf("cf.sub_category", "eq", "other")),
    )))
    assert errors == {
        "sections.0.fields.0.show_when": "Circular condition: category → amount → category.",
        "sections.0.fields.1.require_when": "Circular condition: amount → category → amount.",
        "sections.0.fields.2.show_when": "Circular condition: order_number → order_number.",
        "sections.0.fields.3.show_when": "Circular condition: sub_category → warranty_until → internal_note → "
                                         "sub_category.",
        "sections.0.fields.4.show_when": "Circular condition: warranty_until → internal_note → sub_category → "
                                         "warranty_until.",
        "sections.0.fields.5.require_when": "Circular condition: internal_note → sub_category → warranty_until → "
                                            "internal_note.",
    }


def test_a_chain_of_conditions_without_a_cycle_is_fine(desk):
    saved = services.save_layout(None, layout(section(
        "s1", row("category"), row("sub_category", show_when=leaf("cf.category", "eq", "paper")),
        row("amount", show_when=leaf("cf.sub_category", "eq", "other"),
            require_when=leaf("cf.category", "is_not_empty")),
        row("order_number", show_when={"all": [leaf("cf.amount", "gt", 0), leaf("channel", "eq", "email"),
                                                leaf("department", "eq", desk.books.id)]}))), None)
    assert saved.revision == 1


def test_archived_fields_cant_join_a_layout_but_may_stay_on_one(desk):
    document = layout(section("s1", row("internal_note"), row("amount")))
    services.save_layout(desk.books, document, None)
    services.archive_field(desk["internal_note"], None)
    # re-saving the layout that already has it is fine (it shows read-only) ...
    document["sections"][0]["title"] = "Changed"
    assert services.save_layout(desk.books, document, None).revision == 2
    # ... adding it anywhere else is not
    assert errors_of(document, desk.electronics) == {
        "sections.0.fields.0.key": "Field internal_note is archived; it can't be added to a layout."}


def test_each_department_has_one_layout_and_the_others_use_the_default(desk):
    assert layout_for(desk.books.id).document == {"version": 1, "sections": []}  # a desk without layouts
    default = services.save_layout(None, layout(section("s1", row("amount"))), None)
    books = services.save_layout(desk.books, layout(section("s1", row("category"))), None)
    assert layout_for(desk.books.id) is books
    assert layout_for(desk.electronics.id) is default and layout_for(None) is default
    again = services.save_layout(desk.books.id, layout(section("s1", row("category"), row("amount"))), None)
    assert again is books and books.revision == 2
    assert "Unknown department" in errors_of(layout(), 99999)["department"]


def test_the_database_keeps_one_default_layout_and_one_per_department(desk):
    services.save_layout(None, layout(), None)
    services.save_layout(desk.books, layout(), None)
    db.session.commit()
    for duplicate in (Layout(department_id=None, is_default=True, document={}, revision=1),  # a second default
                      Layout(department_id=desk.books.id, document={}, revision=1),           # Books again
                      Layout(department_id=desk.electronics.id, is_default=True, document={}, revision=1),
                      Layout(department_id=None, document={}, revision=1)):                  # default, unmarked
        db.session.add(duplicate)
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_layout_revisions_and_rollback(desk):
    first = layout(section("s1", row("category"), row("amount")))
    saved = services.save_layout(desk.books, first, desk.admin)
    services.save_layout(desk.books, layout(section("s1", row("amount"), row("category")), section("s2", row(
        "order_number", required=True))), desk.admin)
    services.save_layout(desk.books, layout(section("s1", row("amount", required=True), row("category")),
                                            section("s2", row("order_number", required=True))), desk.admin)
    assert [(r.revision, r.summary) for r in services.layout_revisions(saved)] == [
        (3, "Amount settings changed."),
        (2, "Sections 1 → 2; added order_number."),
        (1, "Created.")]
    services.rollback_layout(saved, 1, desk.admin)
    assert saved.document == services.layout_revisions(saved)[-1].document and saved.revision == 4
    assert services.layout_revisions(saved)[0].summary == (
        "Rolled back to r1: sections 2 → 1; removed order_number; amount settings changed.")
    with pytest.raises(ValidationFailed):
        services.rollback_layout(saved, 7, None)


def test_rolling_back_to_a_layout_with_a_field_archived_since_is_refused(desk):
    saved = services.save_layout(desk.books, layout(section("s1", row("internal_note"))), None)
    services.save_layout(desk.books, layout(section("s1", row("amount"))), None)
    services.archive_field(desk["internal_note"], None)
    with pytest.raises(ValidationFailed) as exc:
        services.rollback_layout(saved, 1, None)
    assert "archived" in str(exc.value.errors["sections.0.fields.0.key"])


def test_a_layout_names_fields_made_after_it_only_once_they_exist(desk):
    other = make_department()
    assert "There is no field 'gift_wrap'" in errors_of(layout(section("s1", row("gift_wrap"))), other)[
        "sections.0.fields.0.key"]
    make_field("gift_wrap", "checkbox")
    assert services.save_layout(other, layout(section("s1", row("gift_wrap"))), None).revision == 1
