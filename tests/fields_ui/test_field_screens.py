"""The fields list and the field editor in its side panel: rendering, HTMX fragments, saving,
errors next to the exact input, revisions, archive/restore and removing a picklist value."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from factories import login, make_ticket
from portal.extensions import db
from portal.fields import services
from portal.fields.models import CustomField, FieldDepartmentOptions
from portal.models import Ticket, TicketEvent

from .conftest import error_after, errors_around, field_count, field_form, field_revision_count, hx_get, page, post

pytestmark = pytest.mark.integration


def test_empty_list_explains_custom_fields(client, app):
    from factories import make_admin
    admin = make_admin()
    login(client, admin)
    html = page(client.get("/admin/fields"))
    assert "No custom fields yet" in html
    assert "Custom fields ask what your team needs on every ticket" in html
    assert 'id="field-panel" class="side-panel" hidden' in html
    assert ">Fields</a>" in html and ">Layouts</a>" in html   # the admin tabs


def test_list_shows_fields_in_the_viewers_language_and_filters_archived(client, desk):
    services.archive_field(desk["internal_note"], desk.admin)
    db.session.commit()
    login(client, desk.admin)
    html = page(client.get("/admin/fields"))
    assert "<code>order_number</code>" in html and "<code>sub_category</code>" in html
    assert "<code>internal_note</code>" not in html
    assert "Customers can edit it" in html and "Sub-category" in html
    archived = page(client.get("/admin/fields?show=archived"))
    assert "<code>internal_note</code>" in archived and "<code>order_number</code>" not in archived

    desk.admin.language = "zh_Hans"
    db.session.commit()
    html = page(client.get("/admin/fields"))
    assert "子类别" in html and "订单号" in html


def test_the_panel_is_an_htmx_fragment_and_a_page_without_htmx(client, desk):
    login(client, desk.admin)
    fragment = page(hx_get(client, "/admin/fields/new"))
    assert "<html" not in fragment and fragment.lstrip().startswith('<aside id="field-panel"')
    assert 'name="type" value="dependent_picklist"' in fragment
    assert "A choice whose options follow another picklist's value." in fragment   # the type's one line
    full = page(client.get(f"/admin/fields/{desk['order_number'].id}"))
    assert "<html" in full and '<aside id="field-panel"' in full and "<code>sub_category</code>" in full
    assert 'name="key"' not in full          # the key is shown, never editable after creation
    assert "never changes" in full


def test_create_a_field_through_the_panel(client, desk):
    login(client, desk.admin)
    before = field_count()
    response = post(client, "/admin/fields/new", field_form(**{"validation-max_length": "20", "required": "1"}))
    assert response.status_code == 200
    html = page(response)
    assert "Field “tracking_code” created." in html
    assert 'id="fields-list" class="fields-list" hx-swap-oob="true"' in html      # the list comes along
    assert "<code>tracking_code</code>" in html
    assert response.headers["HX-Push-Url"].startswith("/admin/fields/")
    field = db.session.scalar(select(CustomField).filter_by(key="tracking_code"))
    assert field_count() == before + 1
    assert (field.label_zh, field.required, field.validation, field.revision) == ("运单号", True, {"max_length": 20}, 1)


def test_duplicate_key_is_refused_next_to_the_key(client, desk):
    login(client, desk.admin)
    before, revisions = field_count(), field_revision_count()
    response = post(client, "/admin/fields/new", field_form(key="order_number"))
    assert response.status_code == 422
    html = page(response)
    assert error_after(html, 'id="f-key"') == "Another field already has the key order_number."
    assert "Nothing was saved." in html
    assert 'value="Tracking code"' in html      # what was typed stays
    assert field_count() == before and field_revision_count() == revisions


def test_bad_regex_is_refused_next_to_the_pattern(client, desk):
    login(client, desk.admin)
    before = field_count()
    response = post(client, "/admin/fields/new", field_form(**{"validation-regex": "SO[0-9"}))
    assert response.status_code == 422
    message = error_after(page(response), 'id="f-validation-regex"')
    assert message and message.startswith("The pattern is not a valid regular expression")
    assert field_count() == before


def test_option_errors_land_on_their_row(client, desk):
    login(client, desk.admin)
    response = post(client, "/admin/fields/new", field_form(
        type="picklist", key="colour", **{"opt-0-value": ["red", "blue", "red"], "opt-0-label": ["Red", "Blue", "Red 2"],
                                          "opt-0-label_zh": ["红", "蓝", ""]}))
    assert response.status_code == 422
    html = page(response)
    assert errors_around(html, 'id="opt-0-2-value"') == ["The value 'red' is used twice (also option 1)."]
    assert re.search(r'id="opt-0-2-value"[^>]*aria-invalid="true"', html)
    assert errors_around(html, 'id="opt-0-0-value"') == []
    assert db.session.scalar(select(CustomField).filter_by(key="colour")) is None


def test_editor_refresh_changes_type_and_edits_option_rows_without_saving(client, desk):
    login(client, desk.admin)
    before = field_count()
    html = page(post(client, "/admin/fields/editor", field_form(type="picklist", key="colour")))
    assert 'data-tab="opt"' in html and f'data-tab="dopt{desk.electronics.id}"' in html
    assert "Electronics uses the default values." in html
    html = page(post(client, "/admin/fields/editor", field_form(
        type="picklist", key="colour", _op="add:opt:0", **{"opt-0-value": ["red"], "opt-0-label": ["Red"],
                                                          "opt-0-label_zh": ["红"]})))
    assert html.count('name="opt-0-value"') == 2 and 'id="opt-0-1-value"' in html
    # Electronics gets its own values, starting from a copy of the default ones.
    html = page(post(client, "/admin/fields/editor", field_form(
        type="picklist", key="colour", _op=f"own:{desk.electronics.id}", **{
            "opt-0-value": ["red", "blue"], "opt-0-label": ["Red", "Blue"], "opt-0-label_zh": ["", ""]})))
    assert f'name="dopt{desk.electronics.id}-own" value="1"' in html
    assert html.count(f'name="dopt{desk.electronics.id}-0-value"') == 2
    # Moving a row down swaps it with the next.
    html = page(post(client, "/admin/fields/editor", field_form(
        type="picklist", key="colour", _op="down:opt:0:0", **{
            "opt-0-value": ["red", "blue"], "opt-0-label": ["Red", "Blue"], "opt-0-label_zh": ["", ""]})))
    assert html.index('value="blue"') < html.index('value="red"')
    assert field_count() == before


def test_per_department_values_are_saved(client, desk):
    login(client, desk.admin)
    e = desk.electronics.id
    response = post(client, "/admin/fields/new", field_form(
        type="picklist", key="colour", visibility="customers_edit", **{
            "opt-0-value": ["red", "blue"], "opt-0-label": ["Red", "Blue"], "opt-0-label_zh": ["红", "蓝"],
            f"dopt{e}-own": "1", f"dopt{e}-0-value": ["black"], f"dopt{e}-0-label": ["Black"],
            f"dopt{e}-0-label_zh": ["黑"]}))
    assert response.status_code == 200, page(response)
    field = db.session.scalar(select(CustomField).filter_by(key="colour"))
    assert [o["value"] for o in field.options] == ["red", "blue"]
    own = db.session.scalar(select(FieldDepartmentOptions).filter_by(field_id=field.id, department_id=e))
    assert own.options == [{"value": "black", "label": "Black", "label_zh": "黑"}]
    html = page(hx_get(client, f"/admin/fields/{field.id}"))
    assert f'name="dopt{e}-own" value="1"' in html and "Books uses the default values." in html


def test_department_option_errors_land_in_that_departments_tab(client, desk):
    login(client, desk.admin)
    field = desk["sub_category"]
    b = desk.books.id
    response = post(client, f"/admin/fields/{field.id}", field_form(
        label="Sub-category", **{"key": None, "type": None, "opt-0-value": ["other"], "opt-0-label": ["other"],
                                 "opt-0-label_zh": [""], f"dopt{b}-own": "1", f"dopt{b}-0-value": ["novel", "novel"],
                                 f"dopt{b}-0-label": ["Novel", "Novel again"], f"dopt{b}-0-label_zh": ["", ""]}))
    assert response.status_code == 422
    html = page(response)
    assert errors_around(html, f'id="dopt{b}-0-1-value"') == ["The value 'novel' is used twice (also option 1)."]
    assert f'class="option-tab has-error"' in html


def test_the_key_never_changes_and_a_label_change_is_a_revision(client, desk):
    login(client, desk.admin)
    field = desk["order_number"]
    response = post(client, f"/admin/fields/{field.id}", field_form(
        key="renamed", label="Order no.", label_zh="订单号", visibility="customers_edit",
        **{"type": None, "validation-regex": "SO[0-9]{8}"}))
    assert response.status_code == 200, page(response)
    db.session.expire_all()
    assert (field.key, field.label, field.revision) == ("order_number", "Order no.", 2)
    assert "Label 'Order number' → 'Order no.'." in page(response)   # the new revision's summary


def test_rollback_restores_an_old_revision_as_a_new_one(client, desk):
    field = desk["order_number"]
    services.save_field(field, {"label": "Order no."}, desk.admin)
    db.session.commit()
    login(client, desk.admin)
    html = page(hx_get(client, f"/admin/fields/{field.id}"))
    assert "r2" in html and 'name="revision" value="1"' in html
    response = post(client, f"/admin/fields/{field.id}/rollback", {"revision": "1"})
    assert response.status_code == 200
    assert "Restored revision 1 as revision 3." in page(response)
    db.session.expire_all()
    assert (field.label, field.revision) == ("Order number", 3)
    assert "Rolled back to r1" in page(response)


def test_archive_and_restore(client, desk):
    field = desk["internal_note"]
    login(client, desk.admin)
    response = post(client, f"/admin/fields/{field.id}/archive")
    html = page(response)
    assert "Archived: old tickets keep their values, read-only." in html
    db.session.expire_all()
    assert field.archived
    response = post(client, f"/admin/fields/{field.id}/restore")
    assert "Field “internal_note” restored." in page(response)
    db.session.expire_all()
    assert not field.archived and field.revision == 3


def test_removing_a_used_value_asks_and_maps_the_tickets(client, desk):
    field = desk["sub_category"]
    tickets = [make_ticket(department=desk.books, custom_fields={"sub_category": "novel"}) for _ in range(2)]
    make_ticket(department=desk.books, custom_fields={"sub_category": "textbook"})
    db.session.commit()
    login(client, desk.admin)
    panel = page(hx_get(client, f"/admin/fields/{field.id}"))
    # A saved value's × asks first (the dialog) instead of dropping the row.
    assert f'hx-get="/admin/fields/{field.id}/remove-value?value=novel&department={desk.books.id}"' in panel
    dialog = page(hx_get(client, f"/admin/fields/{field.id}/remove-value?value=novel&department={desk.books.id}"))
    assert "2 tickets have this value." in dialog
    assert '<option value="textbook">' in dialog and '<option value="novel">' not in dialog
    response = post(client, f"/admin/fields/{field.id}/remove-value",
                    {"value": "novel", "department": str(desk.books.id), "choice": "map", "map_to": "textbook"})
    assert response.status_code == 200, page(response)
    assert "Removed “novel”; 2 tickets now hold “textbook”." in page(response)
    db.session.expire_all()
    assert [t.custom_fields["sub_category"] for t in tickets] == ["textbook", "textbook"]
    own = db.session.scalar(select(FieldDepartmentOptions).filter_by(field_id=field.id, department_id=desk.books.id))
    assert [o["value"] for o in own.options] == ["textbook", "other"]
    history = db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == tickets[0].id)).all()
    assert any("novel" in (e.reason or "") for e in history)


def test_removing_a_value_can_leave_the_tickets_as_they_are(client, desk):
    field = desk["sub_category"]
    ticket = make_ticket(department=desk.electronics, custom_fields={"sub_category": "phone"})
    db.session.commit()
    login(client, desk.admin)
    e = desk.electronics.id
    dialog = page(hx_get(client, f"/admin/fields/{field.id}/remove-value?value=phone&department={e}"))
    assert "1 ticket has this value." in dialog
    response = post(client, f"/admin/fields/{field.id}/remove-value",
                    {"value": "phone", "department": str(e), "choice": "leave"})
    assert "Tickets that hold it keep it" in page(response)
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).custom_fields["sub_category"] == "phone"


def test_removing_the_last_value_is_refused_in_the_dialog(client, desk):
    field = desk["sub_category"]
    login(client, desk.admin)
    response = post(client, f"/admin/fields/{field.id}/remove-value", {"value": "other", "choice": "leave"})
    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == "#field-dialog"
    assert "is the last value of its list" in page(response)
    db.session.expire_all()
    assert field.options == [{"value": "other", "label": "other", "label_zh": ""}]


def test_a_dependent_picklist_gets_a_group_per_parent_value(client, desk):
    login(client, desk.admin)
    base = field_form(type="dependent_picklist", key="detail", parent_key="sub_category")
    html = page(post(client, "/admin/fields/editor", base))
    # The field's own list follows sub_category's own values; Books' tab follows Books' values.
    assert "When sub_category is “other”" in html
    assert html.count('name="opt-0-parent"') == 1 and 'name="opt-1-parent"' not in html
    response = post(client, "/admin/fields/new", base + [
        ("opt-0-parent", "other"), ("opt-0-value", "misc"), ("opt-0-label", "Misc"), ("opt-0-label_zh", "杂项"),
        (f"dopt{desk.books.id}-own", "1"),
        (f"dopt{desk.books.id}-0-parent", "novel"), (f"dopt{desk.books.id}-0-value", "crime"),
        (f"dopt{desk.books.id}-0-label", "Crime"), (f"dopt{desk.books.id}-0-label_zh", "推理"),
        (f"dopt{desk.books.id}-1-parent", "nonsense"), (f"dopt{desk.books.id}-1-value", "x"),
        (f"dopt{desk.books.id}-1-label", "X"), (f"dopt{desk.books.id}-1-label_zh", "")])
    assert response.status_code == 422
    html = page(response)
    # A group under a value the parent doesn't have in Books: the message sits on that group.
    group = html[html.index("When sub_category is “nonsense”"):]
    assert group.index("'nonsense' is not a value of sub_category.") < group.index("</fieldset>")
    assert db.session.scalar(select(CustomField).filter_by(key="detail")) is None

    response = post(client, "/admin/fields/new", base + [
        ("opt-0-parent", "other"), ("opt-0-value", "misc"), ("opt-0-label", "Misc"), ("opt-0-label_zh", "杂项"),
        (f"dopt{desk.books.id}-own", "1"),
        (f"dopt{desk.books.id}-0-parent", "novel"), (f"dopt{desk.books.id}-0-value", "crime"),
        (f"dopt{desk.books.id}-0-label", "Crime"), (f"dopt{desk.books.id}-0-label_zh", "推理")])
    assert response.status_code == 200, page(response)
    field = db.session.scalar(select(CustomField).filter_by(key="detail"))
    assert field.parent_key == "sub_category"
    assert field.options == {"other": [{"value": "misc", "label": "Misc", "label_zh": "杂项"}]}
    own = db.session.scalar(select(FieldDepartmentOptions).filter_by(field_id=field.id, department_id=desk.books.id))
    assert own.options == {"novel": [{"value": "crime", "label": "Crime", "label_zh": "推理"}]}


def test_blank_option_rows_are_left_out_and_errors_keep_their_row(client, desk):
    """A row added and left empty is not sent; the rows after it still get their own messages."""
    login(client, desk.admin)
    response = post(client, "/admin/fields/new", field_form(
        type="picklist", key="size", **{"opt-0-value": ["s", "", "m", "s"], "opt-0-label": ["S", "", "M", "S again"],
                                        "opt-0-label_zh": ["", "", "", ""]}))
    assert response.status_code == 422
    html = page(response)
    assert errors_around(html, 'id="opt-0-1-value"') == []
    assert errors_around(html, 'id="opt-0-3-value"') == ["The value 's' is used twice (also option 1)."]
