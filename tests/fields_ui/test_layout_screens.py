"""The layout builder: the draft travels with every post, the previews are the runtime's forms,
saving makes a revision or puts each error next to the row or section it names."""
from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import select

from factories import login
from portal.extensions import db
from portal.fields import services
from portal.fields.models import CustomField

from .conftest import (errors_around, hidden_document, hx_get, layout_revision_count, page, post, preview_of,
                       stored_layout)

pytestmark = pytest.mark.integration


def doc(*sections) -> dict:
    return {"version": 1, "sections": list(sections)}


def sec(sid: str, *rows, title: str = "Order", title_zh: str = "订单") -> dict:
    return {"id": sid, "title": title, "title_zh": title_zh, "fields": list(rows)}


def draft(client, department, document: dict, op: str, **extra):
    url = f"/admin/layouts/{department.id}/draft" if department else "/admin/layouts/draft"
    return post(client, url, {"document": json.dumps(document), "_op": op, **extra})


def test_default_layout_starts_with_one_empty_section_and_every_field_in_the_palette(client, desk):
    login(client, desk.admin)
    response = client.get("/admin/layouts")
    html = page(response)
    assert hidden_document(response) == doc(sec("s1", title="Details", title_zh="详细信息"))
    for key in ("order_number", "sub_category", "internal_note"):
        assert f'class="palette-item" data-key="{key}"' in html
    assert "Not saved yet" in html and "Unsaved changes" in html
    assert "No custom fields on this form." in preview_of(html, "agent")


def test_a_department_without_its_own_layout_uses_the_default_and_can_copy_it(client, desk):
    services.save_layout(None, doc(sec("s1", {"key": "order_number", "portal": True})), desk.admin)
    db.session.commit()
    login(client, desk.admin)
    html = page(client.get(f"/admin/layouts/{desk.books.id}"))
    assert "Books uses the default layout" in html and "Create a layout for this department" in html
    assert "Order number" in preview_of(html, "customer")       # what Books' tickets show now
    response = post(client, f"/admin/layouts/{desk.books.id}/create", htmx=False)
    assert response.status_code == 302
    layout = stored_layout(desk.books)
    assert layout.document == stored_layout(None).document and layout.revision == 1
    html = page(client.get(f"/admin/layouts/{desk.books.id}"))
    assert "Books has its own layout now, copied from the default one." in html
    assert 'data-key="order_number"' in html and "Create a layout" not in html


def test_adding_a_field_updates_the_draft_and_the_agent_preview_but_saves_nothing(client, desk):
    login(client, desk.admin)
    start = doc(sec("s1"))
    response = draft(client, desk.books, start, "add", _key="sub_category", _to="s1")
    assert response.status_code == 200
    html = page(response)
    assert hidden_document(response)["sections"][0]["fields"] == [{"key": "sub_category", "portal": False}]
    agent = preview_of(html, "agent")
    assert "子类别" not in agent and "Sub-category" in agent
    assert '<option value="novel">' in agent and '<option value="phone">' not in agent   # Books' own values
    assert "Sub-category" not in preview_of(html, "customer")
    assert 'class="palette-item" data-key="sub_category"' not in html
    assert '<div id="layout-drawer" hx-swap-oob="true"></div>' in html
    assert stored_layout(desk.books) is None


def test_the_phone_add_uses_the_picked_field(client, desk):
    login(client, desk.admin)
    response = draft(client, None, doc(sec("s1"), sec("s2", title="Other")), "add", _pick="internal_note", _to="s1")
    assert [r["key"] for r in hidden_document(response)["sections"][0]["fields"]] == ["internal_note"]


def test_settings_put_a_field_on_the_customer_preview(client, desk):
    login(client, desk.admin)
    start = doc(sec("s1", {"key": "order_number", "portal": False}))
    response = draft(client, None, start, "settings", _key="order_number", row_portal="1", row_required="1")
    html = page(response)
    row = hidden_document(response)["sections"][0]["fields"][0]
    assert row == {"key": "order_number", "required": True, "portal": True}
    customer = preview_of(html, "customer")
    assert "Order number" in customer and 'class="req"' in customer
    assert "Portal" in html and "badge-required" in html


def test_arrange_after_a_drag_moves_rows_between_sections_and_keeps_their_settings(client, desk):
    login(client, desk.admin)
    start = doc(sec("s1", {"key": "order_number", "portal": True, "required": True}, {"key": "internal_note"}),
                sec("s2", title="Other"))
    arrangement = [{"id": "s2", "keys": ["order_number", "sub_category"]}, {"id": "s1", "keys": ["internal_note"]}]
    document = hidden_document(draft(client, None, start, "arrange", arrangement=json.dumps(arrangement)))
    assert [s["id"] for s in document["sections"]] == ["s2", "s1"]
    assert document["sections"][0]["fields"] == [{"key": "order_number", "portal": True, "required": True},
                                                 {"key": "sub_category", "portal": False}]
    assert document["sections"][1]["fields"] == [{"key": "internal_note"}]


def test_keyboard_moves_sections_and_titles(client, desk):
    login(client, desk.admin)
    start = doc(sec("s1", {"key": "order_number"}), sec("s2", {"key": "internal_note"}, title="Other"))
    moved = hidden_document(draft(client, None, start, "down", _key="order_number"))
    assert [[r["key"] for r in s["fields"]] for s in moved["sections"]] == [[], ["order_number", "internal_note"]]
    back = hidden_document(draft(client, None, moved, "up", _key="order_number"))
    assert [[r["key"] for r in s["fields"]] for s in back["sections"]] == [["order_number"], ["internal_note"]]
    added = hidden_document(draft(client, None, start, "add_section", **{"title-s1": "Shipping", "title_zh-s1": "配送"}))
    assert [(s["id"], s["title"], s["title_zh"]) for s in added["sections"]] == [
        ("s1", "Shipping", "配送"), ("s2", "Other", "订单"), ("s3", "New section", "新分区")]
    swapped = hidden_document(draft(client, None, added, "section_up", _section="s3"))
    assert [s["id"] for s in swapped["sections"]] == ["s1", "s3", "s2"]
    removed = hidden_document(draft(client, None, swapped, "remove_section", _section="s1"))
    assert [s["id"] for s in removed["sections"]] == ["s3", "s2"]


def test_unreadable_draft_is_a_bad_request(client, desk):
    login(client, desk.admin)
    response = post(client, "/admin/layouts/draft", {"document": "{not json", "_op": "add"})
    assert response.status_code == 400


def test_save_makes_a_revision_and_says_so(client, desk):
    login(client, desk.admin)
    document = doc(sec("s1", {"key": "order_number", "portal": True}))
    before = layout_revision_count()
    response = post(client, f"/admin/layouts/{desk.books.id}/save", {"document": json.dumps(document)})
    assert response.status_code == 200
    html = page(response)
    assert "Layout saved as revision 1." in html and 'id="layout-editor"' in html
    assert layout_revision_count() == before + 1
    assert stored_layout(desk.books).document == document
    assert "Unsaved changes" not in html and "r1" in html


def test_save_refuses_an_archived_field_next_to_its_row_and_saves_nothing(client, desk):
    services.archive_field(desk["internal_note"], desk.admin)
    db.session.commit()
    login(client, desk.admin)
    document = doc(sec("s1", {"key": "order_number"}, {"key": "internal_note"}))
    response = post(client, "/admin/layouts/save", {"document": json.dumps(document)})
    assert response.status_code == 422
    html = page(response)
    assert "Nothing was saved. Fix what is marked in red, then save again." in html
    assert errors_around(html, 'data-key="internal_note"') == [
        "Field internal_note is archived; it can't be added to a layout."]
    assert errors_around(html, 'data-key="order_number"') == []
    assert hidden_document(response) == document          # the draft is kept to fix
    assert stored_layout(None) is None and layout_revision_count() == 0


def test_save_refuses_a_circular_condition_on_both_rows(client, desk):
    login(client, desk.admin)
    a = {"key": "order_number", "show_when": {"all": [{"field": "cf.sub_category", "op": "eq", "value": "other"}]}}
    b = {"key": "sub_category", "show_when": {"all": [{"field": "cf.order_number", "op": "is_not_empty"}]}}
    response = post(client, "/admin/layouts/save", {"document": json.dumps(doc(sec("s1", a, b)))})
    assert response.status_code == 422
    html = page(response)
    assert errors_around(html, 'data-key="order_number"') == [
        "Show when: Circular condition: order_number → sub_category → order_number."]
    assert errors_around(html, 'data-key="sub_category"') == [
        "Show when: Circular condition: sub_category → order_number → sub_category."]
    assert stored_layout(None) is None


def test_save_puts_a_section_error_at_its_title(client, desk):
    login(client, desk.admin)
    response = post(client, "/admin/layouts/save", {"document": json.dumps(doc(sec("s1", title="")))})
    assert response.status_code == 422
    html = page(response)
    assert errors_around(html, 'data-section="s1"', tag="section") == ["A section needs a title."]
    assert 'id="title-s1" name="title-s1" value="" aria-label="Section title"' in html


def test_the_drawer_shows_condition_errors_on_their_condition_row(client, desk):
    login(client, desk.admin)
    row = {"key": "order_number", "show_when": {"all": [{"field": "cf.sub_category", "op": "eq", "value": "x"},
                                                        {"field": "cf.nope", "op": "eq", "value": "y"}]}}
    document = doc(sec("s1", row, {"key": "sub_category"}))
    response = post(client, "/admin/layouts/row", {"document": json.dumps(document), "_key": "order_number"})
    assert response.status_code == 200
    html = page(response)
    assert '<aside id="layout-drawer"' in html and 'name="row_required"' in html
    assert 'name="show_when[r.0][field]"' in html and 'name="require_when[meta][context]" value="query"' in html
    rows = html.split('class="cond-row has-error" data-node="')
    assert rows[1].startswith("r.0") and "'x' is not one of the choices of Sub-category." in rows[1]
    assert rows[2].startswith("r.1") and "Field nope is not on this layout" in rows[2]
    assert "Saving the layout would refuse this field:" in html


def test_applying_bad_settings_keeps_the_drawer_open_with_the_reason(client, desk):
    login(client, desk.admin)
    document = doc(sec("s1", {"key": "internal_note"}))
    response = draft(client, None, document, "settings", _key="internal_note", row_portal="1")
    html = page(response)
    assert '<aside id="layout-drawer" class="drawer" role="dialog" aria-labelledby="drawer-title" data-drawer hx-swap-oob="true">' in html
    assert "is for agents only" in html
    assert hidden_document(response)["sections"][0]["fields"][0]["portal"] is True


def test_rollback_restores_a_layout_revision(client, desk):
    first = doc(sec("s1", {"key": "order_number"}))
    services.save_layout(None, first, desk.admin)
    services.save_layout(None, doc(sec("s1", {"key": "order_number"}, {"key": "internal_note"})), desk.admin)
    db.session.commit()
    login(client, desk.admin)
    html = page(client.get("/admin/layouts"))
    assert 'name="revision" value="1"' in html and "Added internal_note." in html
    response = post(client, "/admin/layouts/rollback", {"revision": "1"})
    assert response.status_code == 200
    assert "Restored revision 1 as revision 3." in page(response)
    layout = stored_layout(None)
    assert layout.revision == 3 and [r["key"] for r in layout.document["sections"][0]["fields"]] == ["order_number"]


def test_export_then_import_round_trip(client, desk):
    services.save_layout(desk.electronics, doc(sec("s1", {"key": "sub_category", "portal": True})), desk.admin)
    db.session.commit()
    login(client, desk.admin)
    response = client.get("/admin/layouts/export")
    assert response.headers["Content-Disposition"].startswith('attachment; filename="deskwright-fields-')
    exported = response.get_json()
    assert {f["key"] for f in exported["fields"]} == {"order_number", "sub_category", "internal_note"}
    exported["fields"][0]["label"] = "Order no."
    exported["layouts"][0]["document"]["sections"][0]["title"] = "Devices"
    body = json.dumps(exported, ensure_ascii=False).encode()
    response = post(client, "/admin/layouts/import", {"file": (io.BytesIO(body), "fields.json")}, htmx=False,
                    content_type="multipart/form-data")
    assert response.status_code == 302
    assert "Imported: fields 0 new, 1 updated; layouts 0 new, 1 updated." in page(client.get("/admin/layouts"))
    db.session.expire_all()
    assert desk["order_number"].label == "Order no."
    assert stored_layout(desk.electronics).document["sections"][0]["title"] == "Devices"


def test_import_is_all_or_nothing_and_names_the_row(client, desk):
    login(client, desk.admin)
    exported = client.get("/admin/layouts/export").get_json()
    exported["fields"].append({"key": "new_one", "type": "text", "label": "New one"})
    exported["layouts"] = [{"department": "Books", "document": doc(sec("s1", {"key": "ghost"}))}]
    body = json.dumps(exported).encode()
    response = post(client, "/admin/layouts/import", {"file": (io.BytesIO(body), "fields.json")}, htmx=False,
                    content_type="multipart/form-data")
    assert response.status_code == 422
    html = page(response)
    assert "Nothing was imported." in html
    assert "Layout 'Books', section 1, row 1, key: There is no field 'ghost'." in html
    db.session.expire_all()
    assert stored_layout(desk.books) is None
    assert db.session.scalar(select(CustomField).filter_by(key="new_one")) is None


def test_import_refuses_unreadable_files(client, desk):
    login(client, desk.admin)
    for body, message in ((b"{oops", "Not valid JSON"), (b"", "Choose a JSON file")):
        response = post(client, "/admin/layouts/import", {"file": (io.BytesIO(body), "x.json")}, htmx=False,
                        content_type="multipart/form-data")
        assert response.status_code == 422 and message in page(response)


def test_fragments_are_fragments(client, desk):
    login(client, desk.admin)
    body = page(draft(client, None, doc(sec("s1")), "titles"))
    assert "<html" not in body and body.lstrip().startswith('<div id="layout-body"')
    saved = page(post(client, "/admin/layouts/save", {"document": json.dumps(doc(sec("s1")))}))
    assert "<html" not in saved and '<div id="layout-editor"' in saved
    full = page(post(client, "/admin/layouts/save", {"document": json.dumps(doc(sec("s1", title="x")))}, htmx=False))
    assert "<html" in full
    assert hx_get(client, "/admin/layouts").status_code == 200


def test_a_draft_change_to_a_saved_layout_is_unsaved_until_save(client, desk):
    saved = doc(sec("s1", {"key": "order_number", "portal": True}))
    services.save_layout(desk.books, saved, desk.admin)
    db.session.commit()
    login(client, desk.admin)
    html = page(client.get(f"/admin/layouts/{desk.books.id}"))
    assert "Unsaved changes" not in html and "Discard changes" not in html
    response = draft(client, desk.books, saved, "add", _key="internal_note", _to="s1")
    html = page(response)
    assert "Unsaved changes" in html and "Discard changes" in html
    assert "Internal note" in preview_of(html, "agent")            # the preview follows the draft...
    assert stored_layout(desk.books).document == saved              # ...the database doesn't
    assert "Internal note" not in preview_of(page(client.get(f"/admin/layouts/{desk.books.id}")), "agent")
