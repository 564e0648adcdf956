"""An admin creates a picklist field, drags it into the Returns department's layout, puts it on the
customer portal and sees it in the customer-form preview; then every fields/layouts screen at
desktop and phone width, in English and Chinese, without anything spilling sideways.

Screenshots go to $FIELDS_SHOTS_DIR (default /tmp/shots/fields): <lang>-<device>-<nn>-<screen>.png.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from screens import Shooter, device_pages
from desk import ADMIN, ADMIN_ZH, login

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("FIELDS_SHOTS_DIR", "/tmp/shots/fields"))



def ready(page: Page, selector: str):
    """An element of a fragment htmx swapped in, once htmx has wired it (layout_builder.js marks it)."""
    return page.locator(f"{selector}[data-htmx-ready], [data-htmx-ready] {selector}").first


def drag(page: Page, source, target) -> None:
    """A pointer drag (SortableJS runs in fallback mode, so mouse events are what it follows)."""
    source.scroll_into_view_if_needed()
    box = source.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 10, box["y"] + box["height"] / 2 + 5, steps=5)
    end = target.bounding_box()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 3, steps=15)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 3 + 2, steps=3)
    page.mouse.up()


def test_admin_drags_a_new_picklist_onto_the_portal_form(page: Page, live_server, admin_desk):
    login(page, live_server.url, ADMIN)
    page.get_by_role("link", name="Admin").click()
    page.locator(".admin-tabs").get_by_role("link", name="Fields").click()
    expect(page.get_by_role("heading", name="No custom fields yet")).to_be_visible()

    # The field: a picklist with two values that customers fill in.
    page.get_by_role("link", name="Create the first field").click()
    expect(page.locator("#field-panel")).to_be_visible()
    page.get_by_role("radio", name=re.compile("^Picklist")).check()
    expect(ready(page, "[data-add-option]")).to_be_visible()
    page.fill("#f-key", "product_line")
    page.fill("#f-label", "Product line")
    page.fill("#f-label_zh", "产品线")
    for i, (value, label, label_zh) in enumerate([("shoes", "Shoes", "鞋"), ("bags", "Bags", "包")]):
        page.locator('#panel-opt [data-add-option]').click()
        expect(page.locator(f"#opt-0-{i}-value")).to_be_focused()
        page.fill(f"#opt-0-{i}-value", value)
        page.fill(f"#opt-0-{i}-label", label)
        page.fill(f"#opt-0-{i}-label_zh", label_zh)
    # Drag "bags" above "shoes": the panel comes back with the rows (and their buttons) in that order.
    rows = page.locator("#panel-opt .option-row")
    drag(page, rows.nth(1).locator("[data-option-drag]"), rows.nth(0).locator("[data-option-drag]"))
    expect(page.locator("#opt-0-0-value")).to_have_value("bags")
    expect(page.locator("#opt-0-1-value")).to_have_value("shoes")
    page.get_by_role("radio", name=re.compile("Customers can edit it")).check()
    page.get_by_label("Filterable").check()  # the queue's "More filters" offers it (and it gets an index)
    page.get_by_role("button", name="Create field").click()
    expect(page.locator("#field-panel .flash-success")).to_have_text("Field “product_line” created.")
    expect(page.locator("#fields-list")).to_contain_text("product_line")

    # Returns uses the default layout until it gets its own.
    page.locator(".admin-tabs").get_by_role("link", name="Layouts").click()
    page.locator(".layout-scopes").get_by_role("link", name=re.compile("Returns")).click()
    expect(page.get_by_role("heading", name="Returns uses the default layout")).to_be_visible()
    page.get_by_role("button", name="Create a layout for this department").click()
    expect(page.locator(".flash-success")).to_contain_text("Returns has its own layout now")

    # Drag the field from the palette into the first section.
    item = page.locator('.palette-item[data-key="product_line"]')
    drag(page, item, page.locator('[data-section-fields="s1"]'))
    placed = ready(page, '.placed-field[data-key="product_line"]')
    expect(placed).to_be_visible()
    expect(page.locator(".layout-status")).to_contain_text("Unsaved changes")
    expect(page.locator('.preview-form[data-audience="agent"]')).to_contain_text("Product line")
    expect(page.locator('.preview-form[data-audience="customer"]')).not_to_contain_text("Product line")

    # Its settings: on the customer portal.
    placed.locator(".placed-main").click()
    drawer = page.locator("#layout-drawer[data-drawer]")
    expect(drawer).to_be_visible()
    drawer.get_by_label("On the customer portal").check()
    drawer.get_by_role("button", name="Apply").click()
    expect(page.locator("#layout-drawer[data-drawer]")).to_have_count(0)
    expect(ready(page, '.preview-form[data-audience="customer"]')).to_contain_text("Product line")
    expect(page.locator('.placed-field[data-key="product_line"] .badge-portal')).to_be_visible()

    page.get_by_role("button", name="Save layout").click()
    expect(page.locator("#layout-editor .flash-success")).to_have_text("Layout saved as revision 2.")
    customer = page.locator('.preview-form[data-audience="customer"]')
    expect(customer).to_contain_text("Product line")
    expect(customer.locator("select option")).to_have_text(["—", "Bags", "Shoes"])
    expect(page.locator(".layout-revisions")).to_contain_text("Added product_line.")

    # A customer sends a request from the portal with it...
    customer_page = page.context.browser.new_context().new_page()
    customer_page.goto(live_server.url + "/support/")
    customer_page.get_by_label("What is it about?").select_option(label="Returns")
    expect(customer_page.locator("#request-fields")).to_contain_text("Product line")
    customer_page.get_by_label("Your email").fill("mei@customer.example")
    customer_page.get_by_label("Subject").fill("Strap of my bag tore")
    customer_page.get_by_label("How can we help?").fill("The strap came off after two days.")
    customer_page.get_by_label("Product line").select_option(label="Bags")
    customer_page.get_by_role("button", name="Send request").click()
    expect(customer_page.get_by_role("heading", name="Thank you, we have your request")).to_be_visible()
    number = re.search(r"#(\d+)", customer_page.locator("main").inner_text()).group(1)
    customer_page.context.close()

    # ...and the agent filters the queue by it.
    page.goto(live_server.url + "/tickets?view=recent")
    page.get_by_text("More filters").click()
    with page.expect_response(lambda r: "cf.product_line=bags" in r.url):
        page.locator(".cf-filters").get_by_label("Product line").select_option(label="Bags")
    rows = page.locator("#ticket-rows .ticket-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Strap of my bag tore")
    expect(rows.first).to_contain_text(f"#{number}")


# ------------------------------------------------------------------------------------------
# Every screen, both widths, both languages
# ------------------------------------------------------------------------------------------
@pytest.fixture()
def furnished_desk(admin_desk):
    """Fields of several kinds, department values, a default layout and one of Returns' own."""
    from portal.extensions import db
    from portal.fields import services
    from portal.models import Department, User
    from portal.services.tickets import create_ticket

    with admin_desk.app_context():
        admin = db.session.scalar(db.select(User).filter_by(email=ADMIN))
        returns = db.session.scalar(db.select(Department).filter_by(name="Returns"))
        billing = db.session.scalar(db.select(Department).filter_by(name="Billing"))
        field = lambda data: services.save_field(None, data, admin)  # noqa: E731
        field({"key": "order_number", "type": "text", "label": "Order number", "label_zh": "订单号",
               "help_text": "SO followed by 8 digits", "help_text_zh": "SO 加 8 位数字",
               "visibility": "customers_edit", "validation": {"regex": "SO[0-9]{8}"}, "required": True})
        field({"key": "category", "type": "picklist", "label": "Category", "label_zh": "类别",
               "visibility": "customers_edit", "options": [
                   {"value": "damaged", "label": "Damaged", "label_zh": "损坏"},
                   {"value": "wrong_item", "label": "Wrong item", "label_zh": "发错货"},
                   {"value": "other", "label": "Other", "label_zh": "其他"}],
               "department_options": {str(billing.id): [{"value": "invoice", "label": "Invoice", "label_zh": "发票"},
                                                       {"value": "other", "label": "Other", "label_zh": "其他"}]}})
        field({"key": "sub_category", "type": "dependent_picklist", "label": "Sub-category", "label_zh": "子类别",
               "parent_key": "category", "visibility": "customers_edit", "options": {
                   "damaged": [{"value": "box", "label": "Box crushed", "label_zh": "外箱压坏"},
                               {"value": "item", "label": "Item broken", "label_zh": "商品破损"}],
                   "wrong_item": [{"value": "size", "label": "Wrong size", "label_zh": "尺码不对"}]}})
        field({"key": "refund_amount", "type": "currency", "label": "Refund amount", "label_zh": "退款金额",
               "currency": "CNY", "validation": {"min": 0, "max": 50000}, "filterable": True})
        field({"key": "courier_note", "type": "textarea", "label": "Courier note", "label_zh": "快递备注"})
        field({"key": "received_on", "type": "date", "label": "Received on", "label_zh": "收货日期",
               "visibility": "customers_see"})
        old = field({"key": "legacy_code", "type": "text", "label": "Legacy code", "label_zh": "旧编码"})
        services.archive_field(old, admin)
        rows = [{"key": "order_number", "portal": True}, {"key": "category", "portal": True, "required": True},
                {"key": "sub_category", "portal": True,
                 "show_when": {"all": [{"field": "cf.category", "op": "is_not_empty"}]}}]
        services.save_layout(None, {"version": 1, "sections": [
            {"id": "s1", "title": "Order", "title_zh": "订单", "fields": rows},
            {"id": "s2", "title": "Handling", "title_zh": "处理", "fields": [{"key": "refund_amount", "portal": False}]}]},
            admin)
        services.save_layout(returns, {"version": 1, "sections": [
            {"id": "s1", "title": "Order", "title_zh": "订单", "fields": rows + [{"key": "received_on", "portal": True}]},
            {"id": "s2", "title": "Courier", "title_zh": "快递", "fields": [{"key": "courier_note", "portal": False}]}]},
            admin)
        for _ in range(3):
            create_ticket(subject="Broken mug", body="It arrived broken.", department=returns, by="customer",
                          custom_fields={"category": "damaged", "sub_category": "item"})
        db.session.commit()
        db.engine.dispose()
    return admin_desk



@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_screen_at_desktop_and_phone(browser, live_server, furnished_desk, lang):
    from portal.extensions import db
    from portal.fields.models import CustomField
    from portal.models import Department

    with furnished_desk.app_context():
        returns_id = db.session.scalar(db.select(Department.id).filter_by(name="Returns"))
        billing_id = db.session.scalar(db.select(Department.id).filter_by(name="Billing"))
        category_id = db.session.scalar(db.select(CustomField.id).filter_by(key="category"))
    for device, page in device_pages(browser, lang, phone_scale=2):
        login(page, live_server.url, ADMIN_ZH if lang == "zh" else ADMIN)
        # The side panel scrolls inside itself; let the full-page picture show all of it.
        shot = Shooter(page, SHOTS, lang, device, style=".side-panel { position: static !important; max-height: none !important; }")

        page.goto(live_server.url + "/admin/fields")
        expect(page.locator(".fields-table")).to_contain_text("order_number")
        shot("fields-list")
        page.goto(live_server.url + "/admin/fields?show=archived")
        expect(page.locator(".fields-table")).to_contain_text("legacy_code")
        shot("fields-archived")
        page.goto(live_server.url + "/admin/fields/new")
        expect(page.locator(".type-grid")).to_be_visible()
        shot("field-new")
        page.goto(live_server.url + f"/admin/fields/{category_id}")
        expect(page.locator("#panel-opt .option-row")).to_have_count(3)
        shot("field-picklist")
        page.locator(f"#tab-dopt{billing_id}").click()
        expect(page.locator(f"#panel-dopt{billing_id} .option-row")).to_have_count(2)
        page.locator(f"#panel-dopt{billing_id}").scroll_into_view_if_needed()
        shot("field-department-values")
        page.locator("#tab-opt").click()
        page.locator('#panel-opt .option-row:first-child [data-remove-value]').click()
        dialog = page.locator("dialog[data-modal]")
        expect(dialog.locator(".usage-count")).to_contain_text("3")
        shot("remove-value-dialog")
        dialog.locator("[data-modal-close]").click()
        page.locator("#field-form button[type=submit]").click()
        expect(page.locator("#field-panel .flash-success")).to_be_visible()
        shot("field-saved")

        page.goto(live_server.url + "/admin/layouts")
        expect(page.locator(".layout-section")).to_have_count(2)
        shot("layout-default")
        page.goto(live_server.url + f"/admin/layouts/{billing_id}")
        expect(page.locator(".uses-default")).to_be_visible()
        shot("layout-uses-default")
        page.goto(live_server.url + f"/admin/layouts/{returns_id}")
        expect(page.locator('.placed-field[data-key="sub_category"]')).to_be_visible()
        shot("layout-returns")
        page.locator('.placed-field[data-key="sub_category"] .placed-main').click()
        expect(page.locator("#layout-drawer[data-drawer]")).to_be_visible()
        shot("layout-drawer")
        page.locator("#layout-drawer [data-drawer-close]").first.click()
        if device == "phone":
            page.locator("#layout-pick").select_option("refund_amount")
            page.locator(".palette-compact button").click()
            expect(ready(page, '.placed-field[data-key="refund_amount"]')).to_be_visible()
            shot("layout-added-on-phone")
        page.goto(live_server.url + "/admin/layouts/import")
        shot("layout-import")
