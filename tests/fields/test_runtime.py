"""The runtime: one server-side check for every channel (validate_submission), the form's state
(form_fields), the dynamic WTForms form (build_form) and department conflicts."""
from __future__ import annotations

import pytest
from flask_babel import force_locale
from werkzeug.datastructures import MultiDict

from factories import make_field, make_ticket
from portal.fields import services
from portal.fields.runtime import build_form, department_conflicts, form_fields, validate_submission

from .helpers import layout, leaf, row, section

pytestmark = pytest.mark.integration


@pytest.fixture
def books_form(desk):
    """Books' layout: an order section on the portal, an internal one for agents."""
    services.save_layout(desk.books, layout(
        section("order", row("order_number", required=True, portal=True), row("category", portal=True),
                row("sub_category", portal=True, required=True, show_when=leaf("cf.category", "eq", "paper")),
                row("warranty_until", portal=True), title="Order", title_zh="订单"),
        section("internal", row("amount", show_when=leaf("cf.category", "is_not_empty")),
                row("internal_note", require_when=leaf("cf.amount", "gt", 1000)), title="Internal")), desk.admin)
    return desk


GOOD = {"order_number": "SO12345678", "category": "paper", "sub_category": "novel"}


def check(desk, audience, submitted, current=None, **kw):
    return validate_submission(desk.books.id, audience, submitted, current, **kw)


def test_a_good_submission_is_coerced(books_form):
    clean, errors = check(books_form, "agent", {**GOOD, "amount": "12.5", "warranty_until": "2027-01-31"})
    assert errors == {}
    assert clean == {**GOOD, "amount": 12.5, "warranty_until": "2027-01-31"}


def test_bad_values_and_unknown_keys_get_their_own_message(books_form):
    make_field("gift_wrap", "checkbox")  # defined, but not on this layout
    clean, errors = check(books_form, "api", {**GOOD, "order_number": "12345678", "amount": "-1", "colour": "red",
                                              "gift_wrap": True, "sub_category": "phone"})
    assert {k: str(v) for k, v in errors.items()} == {
        "order_number": "Enter a value in the format this field asks for.",
        "amount": "Enter 0 or more.",
        "colour": "There is no field colour.",
        "gift_wrap": "This field is not available.",
        "sub_category": "'phone' is not one of the options.",  # an Electronics value
    }
    assert clean == {"category": "paper"}


def test_required_fields(books_form):
    _clean, errors = check(books_form, "agent", {"category": "paper"})
    assert {k: str(v) for k, v in errors.items()} == {"order_number": "This field is required.",
                                                      "sub_category": "This field is required."}
    # an update: values already stored count
    assert check(books_form, "agent", {"category": "paper"}, current=GOOD)[1] == {}
    # and removing one is refused
    assert str(check(books_form, "agent", {"order_number": ""}, current=GOOD)[1]["order_number"]) == \
        "This field is required."


def test_a_hidden_required_field_is_not_required(books_form):
    clean, errors = check(books_form, "agent", {"order_number": "SO12345678", "category": "ebook"})
    assert errors == {} and clean == {"order_number": "SO12345678", "category": "ebook"}


def test_a_crafted_post_cant_set_a_hidden_field(books_form):
    _clean, errors = check(books_form, "customer", {"order_number": "SO12345678", "category": "ebook",
                                                    "sub_category": "novel"})
    assert {k: str(v) for k, v in errors.items()} == {"sub_category": "This field is not available."}
    # with nothing chosen yet, amount is hidden as well
    _clean, errors = check(books_form, "agent", {**GOOD, "category": "", "sub_category": "", "amount": "5"})
    assert str(errors["amount"]) == "This field is not available."
    # a blank for a hidden field is no attempt to set it, and leaves a stored value alone
    clean, errors = check(books_form, "agent", {"category": "ebook", "sub_category": ""}, current=GOOD)
    assert errors == {} and clean == {"category": "ebook"}
    # ... and so does the stored value sent back
    assert check(books_form, "agent", {"category": "ebook", "sub_category": "novel"}, current=GOOD) == (
        {"category": "ebook"}, {})


def test_require_when_makes_a_field_required_while_its_condition_holds(books_form):
    _clean, errors = check(books_form, "agent", {**GOOD, "amount": "1000.01"})
    assert {k: str(v) for k, v in errors.items()} == {"internal_note": "This field is required."}
    assert check(books_form, "agent", {**GOOD, "amount": "1000.01", "internal_note": "Checked by phone"})[1] == {}
    assert check(books_form, "agent", {**GOOD, "amount": "1000"})[1] == {}


def test_customers_set_only_the_portal_fields_they_may_edit(books_form):
    current = {**GOOD, "warranty_until": "2027-01-31", "internal_note": "VIP"}
    clean, errors = check(books_form, "customer", {"order_number": "SO87654321", "internal_note": "hi",
                                                   "warranty_until": "2030-01-01", "amount": "5"}, current)
    assert {k: str(v) for k, v in errors.items()} == {"internal_note": "This field is not available.",
                                                      "warranty_until": "This field is not available.",
                                                      "amount": "This field is not available."}
    assert clean == {"order_number": "SO87654321"}
    # a form that echoes a read-only value back is not trying to change it
    clean, errors = check(books_form, "customer", {"order_number": "SO87654321", "warranty_until": "2027-01-31"},
                          current)
    assert errors == {} and clean == {"order_number": "SO87654321"}
    # agents-only required fields are not the customer's to fill in
    services.save_field(books_form["internal_note"], {"required": True}, None)
    assert check(books_form, "customer", GOOD)[1] == {}
    assert "internal_note" in check(books_form, "agent", GOOD)[1]


def test_each_department_checks_its_own_values(books_form):
    services.save_layout(None, layout(section("s1", row("sub_category"))), None)
    assert check(books_form, "api", {"sub_category": "phone"})[1] != {}  # Books has its own layout and values
    clean, errors = validate_submission(books_form.electronics.id, "api", {"sub_category": "phone"})
    assert errors == {} and clean == {"sub_category": "phone"}
    assert "not one of the options" in str(
        validate_submission(books_form.electronics.id, "api", {"sub_category": "novel"})[1]["sub_category"])


def test_dependent_picklists_follow_their_parent(books_form):
    make_field("format", "dependent_picklist", parent_key="category",
               options={"paper": ["hardback", "paperback"], "ebook": ["epub", "pdf"]})
    services.save_layout(books_form.electronics, layout(section("s1", row("category"), row("format"))), None)

    def submit(values, current=None):
        clean, errors = validate_submission(books_form.electronics.id, "api", values, current)
        return clean, {k: str(v) for k, v in errors.items()}

    assert submit({"category": "ebook", "format": "pdf"}) == ({"category": "ebook", "format": "pdf"}, {})
    assert submit({"category": "ebook", "format": "hardback"})[1] == {
        "format": "'hardback' is not one of the options."}
    assert submit({"format": "pdf"})[1] == {"format": "Choose a value of category first."}
    # the parent changes and the stored child no longer goes with it
    assert submit({"category": "paper"}, {"category": "ebook", "format": "pdf"})[1] == {
        "format": "'pdf' doesn't go with the new category; choose again."}
    assert submit({"category": "paper", "format": "paperback"}, {"category": "ebook", "format": "pdf"})[1] == {}


def test_a_value_sent_back_unchanged_is_kept_even_if_it_no_longer_fits(books_form):
    moved = {"sub_category": "novel", "order_number": "SO12345678"}  # a Books value, on an Electronics ticket
    services.save_layout(None, layout(section("s1", row("sub_category"), row("amount"))), None)
    clean, errors = validate_submission(books_form.electronics.id, "agent", {"sub_category": "novel", "amount": "5"},
                                        moved)
    assert errors == {} and clean == {"amount": 5}
    _clean, errors = validate_submission(books_form.electronics.id, "agent", {"sub_category": "textbook"}, moved)
    assert str(errors["sub_category"]) == "'textbook' is not one of the options."


def test_archived_fields_are_read_only_for_everyone(books_form):
    services.archive_field(books_form["internal_note"], None)
    services.archive_field(books_form["amount"], None)
    current = {**GOOD, "internal_note": "old value", "amount": 12.5}
    _clean, errors = check(books_form, "agent", {"internal_note": "new value", "amount": ""}, current)
    assert {k: str(v) for k, v in errors.items()} == {
        "internal_note": "This field is archived; its value can't be changed.",
        "amount": "This field is archived; its value can't be changed."}
    # the stored values sent back, as text or as JSON, change nothing
    assert check(books_form, "agent", {"internal_note": "old value", "amount": "12.50"}, current) == ({}, {})
    assert check(books_form, "agent", {"amount": 12.5}, current) == ({}, {})
    [_order, internal] = form_fields(books_form.books.id, "agent", current)
    note = internal.fields[1]
    assert (note.key, note.read_only, note.value, note.required) == ("internal_note", True, "old value", False)


def test_a_hidden_field_counts_as_empty_for_other_conditions(desk):
    services.save_layout(desk.books, layout(section(
        "s1", row("category"), row("sub_category", show_when=leaf("cf.category", "eq", "paper")),
        row("amount", show_when=leaf("cf.sub_category", "eq", "novel"), required=True))), None)
    stored = {"category": "ebook", "sub_category": "novel"}  # picked while the category was paper
    [s1] = form_fields(desk.books.id, "agent", stored)
    assert [(f.key, f.visible, f.required) for f in s1.fields] == [
        ("category", True, False), ("sub_category", False, False), ("amount", False, False)]
    assert validate_submission(desk.books.id, "agent", {"category": "ebook"}, stored) == ({}, {})  # nothing changed
    clean, errors = validate_submission(desk.books.id, "agent", {"category": "paper"}, stored)
    assert {k: str(v) for k, v in errors.items()} == {"amount": "This field is required."}


def test_standard_fields_in_conditions(desk):
    services.save_layout(desk.books, layout(section(
        "s1", row("amount", require_when={"all": [leaf("priority", "gte", "high"), leaf("channel", "eq", "phone")]}))),
        None)
    assert validate_submission(desk.books.id, "agent", {}, ticket_fields={"priority": "urgent", "channel": "phone"}
                               )[1].keys() == {"amount"}
    assert validate_submission(desk.books.id, "agent", {}, ticket_fields={"priority": "low", "channel": "phone"}) \
        == ({}, {})


def test_form_fields_for_each_audience(books_form, request_ctx):
    values = {"category": "paper", "warranty_until": "2027-01-31"}
    agent = form_fields(books_form.books.id, "agent", values)
    assert [(s.id, [f.key for f in s.fields]) for s in agent] == [
        ("order", ["order_number", "category", "sub_category", "warranty_until"]),
        ("internal", ["amount", "internal_note"])]
    customer = form_fields(books_form.books.id, "customer", values)
    assert [(s.id, [(f.key, f.visible, f.required, f.read_only) for f in s.fields]) for s in customer] == [
        ("order", [("order_number", True, True, False), ("category", True, False, False),
                   ("sub_category", True, True, False), ("warranty_until", True, False, True)])]
    category = customer[0].fields[1]
    assert [o["value"] for o in category.options] == ["paper", "ebook"]
    assert [o["value"] for o in customer[0].fields[2].options] == ["novel", "textbook", "other"]
    with force_locale("zh_Hans"):
        [order] = form_fields(books_form.books.id, "customer", values)
        assert (order.title, order.fields[0].label, order.fields[2].label) == ("订单", "订单号", "子类别")


# ---------------------------------------------------------------------------------------------
def test_build_form_renders_the_visible_fields_in_the_readers_language(books_form, request_ctx):
    with force_locale("zh_Hans"):
        form = build_form(books_form.books.id, "customer", {"category": "paper"})
        assert list(form._fields) == ["order_number", "category", "sub_category", "warranty_until"]
        assert form.order_number.label.text == "订单号" and form.order_number.name == "cf-order_number"
        assert [(c.value, c.label) for c in form.category.choices] == [("", "—"), ("paper", "纸质"), ("ebook", "ebook")]
        html = str(form.warranty_until)
        assert 'type="date"' in html and "disabled" in html
        assert "required" in str(form.order_number)
    form = build_form(books_form.books.id, "customer", {"category": "ebook"})
    assert "sub_category" not in form._fields  # hidden while the category isn't paper


def test_build_form_validates_through_validate_submission(books_form, request_ctx):
    posted = MultiDict({"cf-order_number": "SO1", "cf-category": "paper", "cf-sub_category": "novel",
                        "cf-internal_note": "crafted"})
    form = build_form(books_form.books.id, "customer", {}, posted)
    assert form.validate() is False
    assert form.order_number.errors == ["Enter a value in the format this field asks for."]
    assert "internal_note" not in form._fields and form.form_errors == []  # not on the customer's form at all
    posted["cf-order_number"] = "SO12345678"
    form = build_form(books_form.books.id, "customer", {}, posted)
    assert form.validate() is True
    assert form.clean == {"order_number": "SO12345678", "category": "paper", "sub_category": "novel"}


def test_build_form_shows_what_the_posted_values_reveal(books_form, request_ctx):
    # the customer picked "paper" (the sub-category appears) but didn't choose one yet
    posted = MultiDict({"cf-order_number": "SO12345678", "cf-category": "paper"})
    form = build_form(books_form.books.id, "customer", {"category": "ebook"}, posted)
    assert "sub_category" in form._fields
    assert form.validate() is False and form.sub_category.errors == ["This field is required."]


def test_build_form_keeps_a_stored_value_the_department_lacks(books_form, request_ctx):
    services.save_layout(None, layout(section("s1", row("sub_category"), row("amount"))), None)
    moved = {"sub_category": "novel"}  # a Books value on what is now an Electronics ticket
    form = build_form(books_form.electronics.id, "agent", moved)
    assert [c.value for c in form.sub_category.choices] == ["", "phone", "laptop", "other", "novel"]
    assert form.sub_category.choices[-1].label == "novel (not an option here)" and form.sub_category.data == "novel"
    form = build_form(books_form.electronics.id, "agent", moved,
                      MultiDict({"cf-sub_category": "novel", "cf-amount": "3"}))
    assert form.validate() and form.clean == {"amount": 3}


def test_build_form_shows_date_times_in_the_readers_time_zone(desk, request_ctx):
    make_field("call_back_at", "datetime")
    services.save_layout(desk.books, layout(section("s1", row("call_back_at"))), None)
    form = build_form(desk.books.id, "agent", {"call_back_at": "2026-11-20T01:30:00+00:00"}, tz="Asia/Shanghai")
    assert form.call_back_at.data == "2026-11-20T09:30" and 'type="datetime-local"' in str(form.call_back_at)
    form = build_form(desk.books.id, "agent", {}, MultiDict({"cf-call_back_at": "2026-11-20T09:30"}),
                      tz="Asia/Shanghai")
    assert form.validate() and form.clean == {"call_back_at": "2026-11-20T01:30:00+00:00"}


# ---------------------------------------------------------------------------------------------
def test_department_conflicts_list_the_values_the_new_department_refuses(books_form):
    services.save_layout(books_form.electronics, layout(section("s1", row("category"), row("sub_category"))), None)
    ticket = make_ticket(department=books_form.books, custom_fields={
        "category": "paper", "sub_category": "novel", "order_number": "SO12345678"})
    conflicts = department_conflicts(ticket, books_form.electronics.id)
    assert [(c["key"], c["value"], str(c["reason"])) for c in conflicts] == [
        ("sub_category", "novel", "'novel': not a value of Sub-category in Electronics."),
        ("order_number", "SO12345678", "Order number is not on the Electronics form.")]
    assert department_conflicts(ticket, books_form.books.id) == []
