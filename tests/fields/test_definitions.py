"""Field definitions: every bad setting refused at its path, revisions and rollback, archiving,
per-department values, and the fields in the condition catalogue."""
from __future__ import annotations

import pytest
from flask_babel import force_locale
from sqlalchemy import event, func, select

from factories import make_department, make_field
from portal.conditions import app_catalogue
from portal.extensions import db
from portal.fields import services
from portal.fields.models import CustomField, FieldRevision
from portal.fields.options import field_options
from portal.services.errors import ValidationFailed

pytestmark = pytest.mark.integration


def errors_of(call, *args, **kwargs) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as exc:
        call(*args, **kwargs)
    return {path: str(message) for path, message in exc.value.errors.items()}


def new_field(**data) -> dict[str, str]:
    return errors_of(services.save_field, None, {"key": "size", "type": "text", "label": "Size", **data}, None)


def test_a_field_is_saved_with_every_setting_normalised(app):
    field = make_field("order_total", "currency", label="  Order total ", label_zh="订单金额", currency="cny",
                       validation={"min": "0", "max": 1000}, default="9.999", required=True)
    assert (field.key, field.label, field.label_zh, field.currency) == ("order_total", "Order total", "订单金额", "CNY")
    assert (field.validation, field.default, field.required, field.visibility) == ({"min": 0, "max": 1000}, 10, True,
                                                                                    "agents")
    assert (field.revision, field.position, field.archived) == (1, 0, False)
    assert make_field("second").position == 1


@pytest.mark.parametrize("data, path, message", [
    ({"key": "Size"}, "key", "a-z, 0-9 and _"),
    ({"key": "1size"}, "key", "starts with a letter"),
    ({"key": "size\n"}, "key", "a-z, 0-9 and _"),
    ({"key": "s" * 64}, "key", "at most 63"),
    ({"type": "colour"}, "type", "Unknown type 'colour'"),
    ({"label": "  "}, "label", "A label is required."),
    ({"label": "x" * 201}, "label", "at most 200"),
    ({"visibility": "everyone"}, "visibility", "agents, customers_see, customers_edit"),
    ({"required": "yes"}, "required", "true or false"),
    ({"colour": "red"}, "colour", "Unknown setting 'colour'"),
    ({"validation": {"regex": "(unclosed"}}, "validation.regex", "not a valid regular expression"),
    ({"validation": {"regex": ""}}, "validation.regex", "Enter a pattern"),
    ({"validation": {"min": 5}}, "validation.min", "no min rule; it takes min_length, max_length, regex"),
    ({"validation": {"min_length": 5, "max_length": 2}}, "validation.max_length", "must not be less"),
    ({"validation": {"min_length": -1}}, "validation.min_length", "from 0 to"),
    ({"validation": "strict"}, "validation", "JSON object"),
    ({"type": "number", "validation": {"min": 10, "max": 1}}, "validation.max", "must not be less than the minimum"),
    ({"type": "number", "validation": {"min": "ten"}}, "validation.min", "whole number"),
    ({"type": "date", "validation": {"min": "2026-12-01", "max": "2026-01-01"}}, "validation.max", "must not be less"),
    ({"type": "checkbox", "validation": {"regex": "x"}}, "validation.regex", "takes no validation rules"),
    ({"type": "number", "default": "many"}, "default", "The default doesn't fit the field: Enter a whole number."),
    ({"type": "number", "validation": {"max": 5}, "default": 6}, "default", "Enter 5 or less."),
    ({"validation": {"regex": "[0-9]+"}, "default": "abc"}, "default", "format"),
    ({"type": "picklist"}, "options", "Add at least one option."),
    ({"type": "picklist", "options": []}, "options", "Add at least one option."),
    ({"type": "picklist", "options": "S,M"}, "options", "Options are a list"),
    ({"type": "picklist", "options": ["S", "M", "S"]}, "options.2.value", "'S' is used twice (also option 1)"),
    ({"type": "picklist", "options": [{"value": " "}]}, "options.0.value", "Enter the option's value"),
    ({"type": "picklist", "options": [{"value": "S", "colour": 1}]}, "options.0", "Unknown key 'colour'"),
    ({"type": "picklist", "options": [{"value": "S", "label": 5}]}, "options.0.label", "Enter text."),
    ({"type": "picklist", "options": [7]}, "options.0", "An option is an object"),
    ({"type": "picklist", "options": ["S"], "default": "M"}, "default", "'M' is not one of the options."),
    ({"options": ["S"]}, "options", "Only picklists and multi-selects have options."),
    ({"parent_key": "category"}, "parent_key", "Only a dependent picklist has a parent field."),
    ({"type": "currency"}, "currency", "three-letter ISO code"),
    ({"type": "currency", "currency": "RMB1"}, "currency", "three-letter ISO code"),
    ({"currency": "CNY"}, "currency", "Only a currency field has a currency."),
])
def test_bad_settings_are_refused_at_their_path(app, data, path, message):
    errors = new_field(**data)
    assert path in errors and message in errors[path], errors
    assert db.session.scalar(select(func.count()).select_from(CustomField)) == 0


def test_keys_are_unique_and_never_change(app):
    size = make_field("size", "picklist", options=["S", "M"])
    assert new_field() == {"key": "Another field already has the key size."}
    errors = errors_of(services.save_field, size, {"key": "shoe_size"}, None)
    assert "never changes" in errors["key"] and "size" in errors["key"]
    # a label may change at any time; the key stays
    services.save_field(size, {"label": "Shoe size", "label_zh": "鞋码"}, None)
    assert (size.key, size.label, size.revision) == ("size", "Shoe size", 2)


def test_a_fields_type_never_changes(app):
    size = make_field("size", "number")
    assert "type can't change" in errors_of(services.save_field, size, {"type": "text"}, None)["type"]


def test_dependent_picklists_need_a_picklist_parent_and_its_values(desk):
    def dependent(**data):
        return new_field(key="format", type="dependent_picklist", **data)

    assert dependent(options={"paper": ["a"]})["parent_key"] == "Choose the picklist this one depends on."
    assert dependent(parent_key="nope", options={"paper": ["a"]})["parent_key"] == "There is no field 'nope'."
    assert "is not a picklist" in dependent(parent_key="order_number", options={"x": ["a"]})["parent_key"]
    errors = dependent(parent_key="category", options={"paper": ["hardback"], "audio": ["cd"], "ebook": ["a", "a"]})
    assert errors == {"options.audio": "'audio' is not a value of category.",
                      "options.ebook.1.value": "The value 'a' is used twice (also option 1)."}
    assert dependent(parent_key="category", options=["hardback"])["options"].startswith("A dependent picklist's")
    # a department's own parent values count too: sub_category is a picklist with department lists
    made = services.save_field(None, {"key": "format", "type": "dependent_picklist", "label": "Format",
                                      "parent_key": "category", "options": {"paper": ["hardback", "paperback"],
                                                                            "ebook": ["epub"]}}, None)
    assert field_options(made, desk.books.id, "paper") == [
        {"value": "hardback", "label": "hardback", "label_zh": ""},
        {"value": "paperback", "label": "paperback", "label_zh": ""}]
    assert field_options(made, desk.books.id, "audio") == [] and field_options(made, desk.books.id) == []


def test_department_values_replace_the_fields_own_for_that_department(desk):
    sub = desk["sub_category"]
    values = lambda dept: [o["value"] for o in field_options(sub, dept)]  # noqa: E731
    assert values(desk.books.id) == ["novel", "textbook", "other"]
    assert values(desk.electronics.id) == ["phone", "laptop", "other"]
    assert values(make_department().id) == ["other"] and values(None) == ["other"]
    services.set_department_options(sub, desk.books, ["novel", "comic"], desk.admin)
    assert values(desk.books.id) == ["novel", "comic"] and sub.revision == 2
    assert field_revisions_summary(sub) == "Department options changed (Books)."
    errors = errors_of(services.set_department_options, sub, desk.books, ["a", "a"], None)
    assert errors == {"options.1.value": "The value 'a' is used twice (also option 1)."}
    services.set_department_options(sub, desk.books, None, desk.admin)  # back to the field's own
    assert values(desk.books.id) == ["other"]
    text = desk["order_number"]
    assert "Only picklists" in errors_of(services.set_department_options, text, desk.books, ["a"], None)["options"]


def test_department_lists_name_real_departments(desk):
    errors = errors_of(services.save_field, None, {
        "key": "size", "type": "picklist", "label": "Size", "options": ["S"],
        "department_options": {"books": ["S"], "99999999999999999999999": ["S"], "²": ["S"],
                               str(desk.books.id): ["S", "S"]}}, None)
    assert errors == {"department_options.books": "Unknown department 'books'.",
                      "department_options.99999999999999999999999": "Unknown department '99999999999999999999999'.",
                      "department_options.²": "Unknown department '²'.",
                      f"department_options.{desk.books.id}.1.value": "The value 'S' is used twice (also option 1)."}
    assert errors_of(services.save_field, None, {"key": "size", "type": "picklist", "label": "Size", "options": ["S"],
                                                 "department_options": ["S"]}, None) == {
        "department_options": "Department options are keyed by department id."}


def field_revisions_summary(field) -> str:
    return services.field_revisions(field)[0].summary


def test_every_save_is_a_revision_and_rollback_is_a_new_one(desk):
    category = desk["category"]
    services.save_field(category, {"label": "Kind", "options": ["paper", "ebook", "audio"]}, desk.admin)
    services.save_field(category, {"required": True}, desk.admin)
    assert services.save_field(category, {"required": True}, desk.admin).revision == 3  # unchanged: no revision
    history = services.field_revisions(category)
    assert [(r.revision, r.summary) for r in history] == [
        (3, "Required."),
        (2, "Label 'Category' → 'Kind'; added option 'audio'."),
        (1, "Created.")]
    assert history[0].author_id == desk.admin.id and history[2].document["label"] == "Category"
    services.rollback_field(category, 1, desk.admin)
    assert (category.label, category.required, category.revision) == ("Category", False, 4)
    assert [o["value"] for o in category.options] == ["paper", "ebook"]
    assert services.field_revisions(category)[0].summary == (
        "Rolled back to r1: label 'Kind' → 'Category'; optional; removed option 'audio'.")
    assert "no revision 9" in errors_of(services.rollback_field, category, 9, None)["revision"]


def test_rollback_restores_department_values_too(desk):
    sub = desk["sub_category"]
    services.set_department_options(sub, desk.electronics, ["tablet"], None)
    services.rollback_field(sub, 1, None)
    assert [o["value"] for o in field_options(sub, desk.electronics.id)] == ["phone", "laptop", "other"]
    assert db.session.scalar(select(func.count()).select_from(FieldRevision).where(
        FieldRevision.field_id == sub.id)) == 3


def test_archiving_keeps_the_field_and_can_be_undone(desk):
    note = desk["internal_note"]
    services.archive_field(note, desk.admin)
    assert note.archived and note.revision == 2 and services.field_revisions(note)[0].summary == "Archived."
    assert services.archive_field(note, desk.admin).revision == 2  # already archived
    services.restore_field(note, desk.admin)
    assert not note.archived and services.field_revisions(note)[0].summary == "Restored."


# ---------------------------------------------------------------------------------------------
def test_the_condition_catalogue_has_the_fields_with_each_departments_values(desk):
    catalogue = app_catalogue()
    assert catalogue.get("cf.order_number").type == "text" and catalogue.get("cf.amount").type == "number"
    assert catalogue.get("cf.warranty_until").type == "date" and catalogue.get("cf.category").type == "enum"
    sub = catalogue.get("cf.sub_category")
    assert str(sub.label) == "Sub-category"
    assert sub.allowed_values(desk.books.id) == ["novel", "textbook", "other"]
    assert sub.allowed_values(desk.electronics.id) == ["phone", "laptop", "other"]
    other = make_department()
    assert app_catalogue().get("cf.sub_category").allowed_values(other.id) == ["other"]
    described = {f["name"]: f for f in app_catalogue().describe(desk.books.id)}
    assert [c["value"] for c in described["cf.sub_category"]["choices"]] == ["novel", "textbook", "other"]


def test_the_catalogue_follows_saves_and_labels_archived_fields(desk):
    assert app_catalogue().get("cf.colour") is None
    colour = make_field("colour", "multiselect", options=["red", "blue"])
    assert app_catalogue().get("cf.colour").type == "list"
    services.archive_field(colour, None)
    assert str(app_catalogue().get("cf.colour").label) == "Colour (archived)"


def test_the_catalogue_is_read_once_per_transaction(desk):
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    engine = db.engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        app_catalogue(), app_catalogue(), app_catalogue()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len([s for s in statements if "custom_fields" in s]) == 1
    db.session.commit()  # a new transaction reads again
    event.listen(engine, "before_cursor_execute", listener)
    try:
        app_catalogue()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len([s for s in statements if "custom_fields" in s]) == 2


def test_labels_follow_the_readers_language(desk, request_ctx):
    label = app_catalogue().get("cf.sub_category").label  # one catalogue serves readers of both languages
    with force_locale("zh_Hans"):
        assert str(label) == "子类别"
    with force_locale("en"):
        assert str(label) == "Sub-category"
