"""Export and import of fields, department values and layouts: a round trip, and all or nothing."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from factories import make_field
from portal.extensions import db
from portal.fields import services
from portal.fields.models import CustomField, FieldRevision, Layout
from portal.services.errors import ValidationFailed

from .helpers import layout, leaf, row, section, ticket_indexes

pytestmark = pytest.mark.integration


@pytest.fixture
def laid_out(desk):
    services.save_layout(None, layout(section("s1", row("order_number", portal=True), row("amount"))), desk.admin)
    services.save_layout(desk.books, layout(section(
        "s1", row("category", portal=True), row("sub_category", show_when=leaf("cf.category", "eq", "paper")),
        title="Book", title_zh="图书")), desk.admin)
    services.archive_field(desk["internal_note"], desk.admin)
    db.session.commit()
    return desk


def counts() -> tuple[int, int, int]:
    return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (CustomField, FieldRevision, Layout))


def test_the_export_names_departments_and_marks_archived_fields(laid_out):
    exported = services.export_layouts()
    assert exported["schema"] == 1
    by_key = {f["key"]: f for f in exported["fields"]}
    assert list(by_key) == ["order_number", "category", "sub_category", "internal_note", "warranty_until", "amount"]
    assert by_key["internal_note"]["archived"] is True and by_key["amount"]["archived"] is False
    assert [(d["department"], [o["value"] for o in d["options"]]) for d in by_key["sub_category"]["department_options"]
            ] == [("Books", ["novel", "textbook", "other"]), ("Electronics", ["phone", "laptop", "other"])]
    assert [(entry["department"], len(entry["document"]["sections"])) for entry in exported["layouts"]] == [
        (None, 1), ("Books", 1)]
    json.dumps(exported)  # plain JSON


def test_a_round_trip_puts_back_what_was_exported(laid_out):
    exported = services.export_layouts()
    # the desk moves on ...
    services.save_field(laid_out["category"], {"label": "Kind", "options": ["paper"]}, None)
    services.set_department_options(laid_out["sub_category"], laid_out.books, None, None)
    services.save_layout(laid_out.books, layout(section("s1", row("amount"))), None)
    services.restore_field(laid_out["internal_note"], None)
    make_field("gift_wrap", "checkbox")
    # ... and the file brings it back (the field made since stays: import creates and updates, never deletes)
    outcome = services.import_layouts(json.dumps(exported), laid_out.admin)
    assert outcome == {"fields": {"created": [], "updated": ["category", "sub_category", "internal_note"],
                                  "unchanged": ["order_number", "warranty_until", "amount"]},
                       "layouts": {"created": [], "updated": ["Books"], "unchanged": ["default"]}}
    again = services.export_layouts()
    assert [f for f in again["fields"] if f["key"] != "gift_wrap"] == exported["fields"]
    assert again["layouts"] == exported["layouts"]
    assert services.field_revisions(laid_out["category"])[0].author_id == laid_out.admin.id


def test_a_field_the_file_restores_may_join_a_layout_of_the_file(laid_out):
    exported = services.export_layouts()
    next(f for f in exported["fields"] if f["key"] == "internal_note")["archived"] = False
    exported["layouts"][1]["document"]["sections"][0]["fields"].append({"key": "internal_note"})
    outcome = services.import_layouts(exported, None)
    assert "internal_note" in outcome["fields"]["updated"] and not laid_out["internal_note"].archived
    assert outcome["layouts"]["updated"] == ["Books"]


def test_importing_into_a_fresh_desk_creates_everything(laid_out):
    exported = services.export_layouts()
    for item in exported["fields"]:
        item["key"] = "new_" + item["key"]
        if item.get("parent_key"):
            item["parent_key"] = "new_" + item["parent_key"]
    for entry in exported["layouts"]:
        for sec in entry["document"]["sections"]:
            for r in sec["fields"]:
                r["key"] = "new_" + r["key"]
                if "show_when" in r:
                    r["show_when"]["field"] = "cf.new_category"
    exported["layouts"][1]["department"] = "电子产品"  # a department may be named in Chinese too
    outcome = services.import_layouts(exported, None)
    assert len(outcome["fields"]["created"]) == 6 and outcome["layouts"]["updated"] == ["default"]
    assert outcome["layouts"]["created"] == ["Electronics"]
    note = db.session.scalar(select(CustomField).where(CustomField.key == "new_internal_note"))
    assert note.archived  # archived after the layouts were saved, as in the file


def test_an_import_is_all_or_nothing_and_names_each_problem(laid_out):
    before = counts()
    doc = {"schema": 1, "fields": [
        {"key": "gift_wrap", "type": "checkbox", "label": "Gift wrap"},                        # fine
        {"key": "size", "type": "picklist", "label": "Size", "options": ["S", "S"]},           # duplicate value
        {"key": "gift_wrap", "type": "checkbox", "label": "Twice"},                             # key twice in file
        {"key": "amount", "type": "text", "label": "Amount"},                                   # type change
        {"key": "colour", "type": "picklist", "label": "Colour", "options": ["red"],
         "department_options": [{"department": "Toys", "options": ["red"]}]},                  # unknown department
        "not a field",
    ], "layouts": [
        {"department": None, "document": layout(section("s1", row("gift_wrap"), row("nope")))},
        {"department": "Books", "document": layout(section("s1", row("amount", portal=True)))},
        {"department": "Toys", "document": layout()},
    ]}
    with pytest.raises(ValidationFailed) as exc:
        services.import_layouts(doc, None)
    errors = {path: str(message) for path, message in exc.value.errors.items()}
    assert errors == {
        "fields.1.options.1.value": "Field 'size', options.1.value: The value 'S' is used twice (also option 1).",
        "fields.2.key": "Field 'gift_wrap', key: The key is used twice in the file.",
        "fields.3.type": "Field 'amount', type: A field's type can't change (its stored values would no longer fit); "
                         "archive it and add a new field instead.",
        "fields.4.department_options.0.department": "Field 'colour', department_options.0.department: Unknown "
                                                    "department 'Toys'.",
        "fields.5": "Field 6: A field must be a JSON object.",
        "layouts.0.sections.0.fields.1.key": "The default layout, section 1, row 2, key: There is no field 'nope'.",
        "layouts.1.sections.0.fields.0.portal": "Layout 'Books', section 1, row 1, portal: Amount is for agents only; "
                                                "let customers see it (its visibility) before putting it on the "
                                                "customer portal.",
        "layouts.2.department": "Layout 'Toys', department: Unknown department 'Toys'.",
    }
    assert counts() == before  # gift_wrap, valid on its own, is not kept either
    assert db.session.scalar(select(CustomField).where(CustomField.key == "gift_wrap")) is None


@pytest.mark.parametrize("doc, path, message", [
    ("{not json", "file", "Not valid JSON"),
    (b"[]", "file", '{"schema": 1, "fields": [...], "layouts": [...]}'),
    ({"schema": 1, "fields": {}}, "file", "Expected"),
    ({"schema": 2, "fields": []}, "schema", "Unsupported schema 2; this desk reads schema 1."),
])
def test_a_file_that_isnt_an_export_is_refused(app, doc, path, message):
    with pytest.raises(ValidationFailed) as exc:
        services.import_layouts(doc, None)
    assert message in str(exc.value.errors[path])


def test_a_filterable_field_imported_in_a_failed_file_leaves_no_index(app):
    doc = {"schema": 1, "fields": [{"key": "size", "type": "number", "label": "Size", "filterable": True},
                                   {"key": "bad", "type": "nope", "label": "Bad"}]}
    with pytest.raises(ValidationFailed):
        services.import_layouts(doc, None)
    assert "ix_tickets_cf_size" not in ticket_indexes()
