"""Admin → Channels → webhook: create with a mapping (errors on the row), the secret shown once,
rotation, the sample test (nothing saved), the delivery log (refused first), admins only."""
from __future__ import annotations

import html
import json
import re

import pytest
from sqlalchemy import func, select

from factories import csrf_token, login, make_admin, make_agent, make_department
from portal.extensions import db
from portal.models import ChannelDelivery, Contact, Ticket, WebhookChannel

from .conftest import order

pytestmark = pytest.mark.integration


@pytest.fixture
def admin_client(client, app):
    admin = make_admin(email="ada@desk.example")
    db.session.commit()
    login(client, admin)
    return client


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def row_errors(response) -> list[str]:
    return [html.unescape(m) for m in re.findall(r'<p class="error">([^<]*)</p>', response.get_data(as_text=True))]


def form(department_id: int, rows: list[tuple[str, str, str]], **extra) -> dict:
    data = {"name": "Shop", "department": str(department_id), "active": "y", **extra,
            "map_field": [r[0] for r in rows], "map_path": [r[1] for r in rows], "map_default": [r[2] for r in rows]}
    return data


def post(client, url, data, **kw):
    return client.post(url, data={"csrf_token": csrf_token(client, "/admin/channels/webhook/new"), **data}, **kw)


GOOD_ROWS = [("subject", "order.title", ""), ("body", "message", ""), ("contact_email", "customer.email", ""),
             ("", "", "")]


def test_create_shows_the_url_and_the_secret_once(admin_client):
    department = make_department(name="Orders")
    db.session.commit()
    response = post(admin_client, "/admin/channels/webhook/new",
                    form(department.id, GOOD_ROWS, external_id_path="event.id"))
    assert response.status_code == 302
    channel = db.session.scalar(select(WebhookChannel))
    assert channel.mapping == [{"field": f, "path": p, "default": d} for f, p, d in GOOD_ROWS[:3]]
    assert channel.external_id_path == "event.id" and channel.conversation_path is None
    page = text(admin_client.get(response.location))
    assert f"/channels/webhook/{channel.public_id}" in page
    assert channel.secret in page and "shown this once" in page
    again = text(admin_client.get(response.location))
    assert channel.secret not in again and channel.secret[:10] in again


def test_mapping_errors_show_on_their_row_and_nothing_is_saved(admin_client):
    department = make_department(name="Orders")
    db.session.commit()
    rows = [("subject", "order..title", ""), ("colour", "x", ""), ("body", "", ""), ("cf.nope", "a", ""),
            ("subject", "other", "")]
    response = post(admin_client, "/admin/channels/webhook/new", form(department.id, rows, conversation_path="a b"))
    assert response.status_code == 422
    errors = row_errors(response)
    assert any("is not a path" in e for e in errors)
    assert "There is no ticket field “colour”." in errors
    assert "Enter a path, or a default value for when there is none." in errors
    assert "There is no custom field nope." in errors
    assert any("already mapped on row 1" in e for e in errors)
    assert any("“a b” is not a path" in e for e in errors)  # the conversation key path field
    page = text(response)
    # the rows keep what was typed, each message under its own row
    assert 'value="order..title"' in page and 'value="colour"' in page
    row_html = re.findall(r'<tr class="mapping-row[^"]*">(.*?)</tr>', response.get_data(as_text=True), re.S)
    assert "is not a path" in html.unescape(row_html[0]) and "no ticket field" in html.unescape(row_html[1])
    assert db.session.scalar(select(func.count(WebhookChannel.id))) == 0


def test_subject_and_body_must_be_mapped(admin_client):
    department = make_department(name="Orders")
    db.session.commit()
    response = post(admin_client, "/admin/channels/webhook/new", form(department.id, [("subject", "t", "")]))
    assert response.status_code == 422
    assert any("Map the ticket's body" in e for e in row_errors(response))
    missing_name = post(admin_client, "/admin/channels/webhook/new", {**form(department.id, GOOD_ROWS), "name": ""})
    assert missing_name.status_code == 422 and "This field is required." in row_errors(missing_name)


def test_an_htmx_save_with_errors_swaps_only_the_form(admin_client):
    department = make_department(name="Orders")
    db.session.commit()
    response = post(admin_client, "/admin/channels/webhook/new", form(department.id, [("subject", "t", "")]),
                    headers={"HX-Request": "true"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith("<form") and "<html" not in body


def test_rotating_the_secret_shows_the_new_one_once_and_the_old_stops_working(admin_client, shop, sender):
    channel, old = shop
    response = post(admin_client, f"/admin/channels/webhook/{channel.id}/secret", {})
    db.session.refresh(channel)
    assert channel.secret != old
    assert channel.secret in text(admin_client.get(response.location))
    assert sender.post(order()).status_code == 401
    sender.secret = channel.secret
    assert sender.post(order()).status_code == 201


def test_the_sample_test_previews_without_saving(admin_client, shop):
    channel, _ = shop
    url = f"/admin/channels/webhook/{channel.id}/sample"
    good = post(admin_client, url, {"sample": json.dumps(order(urgency="high"))}, headers={"HX-Request": "true"})
    page = text(good)
    assert good.status_code == 200 and "A new ticket in Orders" in page
    assert "Order A-100: wrong size" in page and "wang.fang@example.com" in page and "high" in page
    bad = text(post(admin_client, url, {"sample": json.dumps({"order": {"title": "x"}})}))
    assert "would be refused" in bad and "message" in bad
    not_json = text(post(admin_client, url, {"sample": "{nope"}))
    assert "This is not JSON" in not_json
    unknown_priority = text(post(admin_client, url, {"sample": json.dumps(order(urgency="asap"))}))
    assert "urgency" in unknown_priority and "Unknown priority." in unknown_priority
    assert db.session.scalar(select(func.count(Ticket.id))) == 0
    assert db.session.scalar(select(func.count(Contact.id))) == 0
    assert db.session.scalar(select(func.count(ChannelDelivery.id))) == 0


def test_the_sample_test_uses_the_mapping_on_the_form_before_it_is_saved(admin_client, shop):
    channel, _ = shop
    url = f"/admin/channels/webhook/{channel.id}/sample"
    sample = {"sample": json.dumps(order(headline="Shoes: wrong size"))}
    # The admin remapped the subject to "headline" on the form, and tests before saving.
    edited = [("subject", "headline", ""), ("body", "message", ""), ("contact_email", "customer.email", ""),
              ("", "", "")]
    draft = text(post(admin_client, url, {**sample, **form(channel.department_id, edited)},
                      headers={"HX-Request": "true"}))
    assert "Shoes: wrong size" in draft and "not saved yet" in draft
    saved = text(post(admin_client, url, sample))  # without the form's fields: the saved mapping
    assert "Order A-100: wrong size" in saved and "not saved yet" not in saved
    broken = text(post(admin_client, url, {**sample, **form(channel.department_id, [("subject", "a..b", ""),
                                                                                  ("body", "message", "")])}))
    assert "Fix the mapping above first" in broken and "A new ticket" not in broken
    db.session.expire_all()
    assert db.session.get(WebhookChannel, channel.id).mapping[0]["path"] == "order.title"  # nothing saved
    assert db.session.scalar(select(func.count(Ticket.id))) == 0


def test_the_sample_test_says_when_it_would_thread_or_duplicate(admin_client, shop, sender):
    channel, _ = shop
    number = sender.post(order()).get_json()["ticket"]
    url = f"/admin/channels/webhook/{channel.id}/sample"
    assert f"ticket #{number}" in text(post(admin_client, url, {"sample": json.dumps(order())}))  # same id
    follow = text(post(admin_client, url, {"sample": json.dumps(order(event_id="ev-2"))}))
    assert f"A new message on ticket #{number}" in follow


def test_the_delivery_log_lists_refused_ones_first(admin_client, shop, sender):
    channel, _ = shop
    sender.post(order())
    sender.post(raw=b"{broken")
    sender.post(order(event_id="ev-2", number="B"))
    page = text(admin_client.get(f"/admin/channels/webhook/{channel.id}"))
    rows = re.findall(r'badge delivery-(\w+)', page)
    assert rows == ["rejected", "ticket", "ticket"]
    assert "{broken" in page and "The body is not JSON" in page
    listing = text(admin_client.get("/admin/channels/"))
    assert "Shop" in listing and 'delivery-rejected">1<' in listing


def test_the_log_says_why_in_each_readers_language_whatever_the_sender_asked_for(app, shop):
    channel, secret = shop
    body = json.dumps(order()).encode()
    sender = app.test_client()  # its own client: the sender asks for Chinese, as WeChat's servers do
    refused = sender.post(f"/channels/webhook/{channel.public_id}", data=body, headers={
        "Content-Type": "application/json", "Accept-Language": "zh-CN",
        "X-Deskwright-Signature": "sha256=" + "0" * 64})
    assert refused.status_code == 401 and "签名与此渠道的密钥不匹配" in refused.get_json()["detail"]
    stored = db.session.scalar(select(ChannelDelivery.problem))
    assert "签名" not in stored  # kept as the message itself, not one language's rendering of it
    unmapped = json.dumps({k: v for k, v in order().items() if k != "message"}).encode()
    import hashlib
    import hmac
    missing = sender.post(f"/channels/webhook/{channel.public_id}", data=unmapped, headers={
        "Content-Type": "application/json", "Accept-Language": "zh-CN",
        "X-Deskwright-Signature": "sha256=" + hmac.new(secret.encode(), unmapped, hashlib.sha256).hexdigest()})
    assert missing.status_code == 422
    english, chinese = make_admin(email="en@desk.example"), make_admin(email="zh@desk.example", language="zh_Hans")
    db.session.commit()
    pages = {}
    for who in (english, chinese):
        reader = app.test_client()
        login(reader, who)
        pages[who.email] = text(reader.get(f"/admin/channels/webhook/{channel.id}"))
    assert "The signature does not match this channel's secret" in pages["en@desk.example"]
    assert "The payload has no value at message (it fills the ticket's body)." in pages["en@desk.example"]
    assert "推送数据在 message 处没有值（该值用于填写工单的 body）。" in pages["zh@desk.example"]
    assert "签名与此渠道的密钥不匹配（密钥是否已更换？）。" in pages["zh@desk.example"]
    assert "The signature does not match" not in pages["zh@desk.example"]


def test_only_admins_see_channels(client, app, shop):
    department = make_department(name="Support")
    supervisor = make_agent(role="supervisor", departments=[department], email="sue@desk.example")
    db.session.commit()
    channel, _ = shop
    login(client, supervisor)
    assert client.get("/admin/channels/").status_code == 403
    assert client.get(f"/admin/channels/webhook/{channel.id}").status_code == 403
    assert "/admin/channels/" not in text(client.get("/admin/"))
    client.get("/logout")


def test_the_admin_tab_is_there_for_admins(admin_client):
    assert 'href="/admin/channels/"' in text(admin_client.get("/admin/"))
