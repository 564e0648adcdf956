"""Threads and attachments through the API: replies and notes go through the ticket service's
add_thread (status rules, events), uploads become attachments of a message, and attachments are
served only to tokens whose agent may see the ticket."""
from __future__ import annotations

import io
import os
import time

import pytest
from sqlalchemy import select

from factories import make_ticket
from portal.extensions import db
from portal.models import Attachment, OutboxEvent, Thread, Ticket
from portal.services.attachments import storage_root

pytestmark = pytest.mark.integration

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def problem(response) -> dict:
    assert response.content_type == "application/problem+json", response.get_data(as_text=True)
    return response.get_json()


@pytest.fixture
def ticket(desk):
    ticket = make_ticket(department=desk.phones, subject="Screen cracked", body="It arrived broken.")
    db.session.commit()
    return ticket


def upload(api, name="photo.png", data=PNG, who="agent"):
    return api("POST", "/attachments", who=who, data={"file": (io.BytesIO(data), name)},
               content_type="multipart/form-data")


def test_a_reply_goes_through_the_ticket_service(api, desk, ticket):
    response = api("POST", f"/tickets/{ticket.id}/threads", json={"kind": "reply", "body": "We'll send a new one.",
                                                                  "status": "pending"})
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert response.headers["Location"] == f"/api/v1/tickets/{ticket.id}/threads/{body['id']}" == body["url"]
    assert (body["kind"], body["body_text"], body["author"]["email"]) == ("reply", "We'll send a new one.",
                                                                          "ann@example.com")
    assert "<p>" in body["body_html"] and body["attachments"] == []
    db.session.expire_all()
    saved = db.session.get(Ticket, ticket.id)
    assert saved.status == "pending" and saved.first_response_at is not None and saved.thread_count == 2
    kinds = set(db.session.scalars(select(OutboxEvent.kind).where(OutboxEvent.ticket_id == ticket.id)))
    assert "ticket.agent_replied" in kinds  # what outbound mail and the rules react to
    assert api("GET", body["url"][len("/api/v1"):]).get_json() == body


def test_a_note_keeps_sanitised_html_and_leaves_the_status(api, desk, ticket):
    response = api("POST", f"/tickets/{ticket.id}/threads", json={
        "kind": "note", "body_html": '<p onclick="x()">Check the <b>serial</b><script>alert(1)</script></p>'})
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert "script" not in body["body_html"] and "onclick" not in body["body_html"] and "<b>serial</b>" in body[
        "body_html"]
    assert body["body_text"].startswith("Check the serial")
    assert db.session.get(Ticket, ticket.id).status == "new"


def test_bad_messages_name_each_member(api, desk, ticket):
    path = f"/tickets/{ticket.id}/threads"
    errors = problem(api("POST", path, json={"kind": "customer", "body": "x", "body_html": "<p>x</p>",
                                             "status": "gone", "attachments": "a"}))["errors"]
    assert set(errors) == {"kind", "body_html", "status", "attachments"}
    empty = api("POST", path, json={"kind": "reply", "body": "   "})
    assert empty.status_code == 422 and "body" in problem(empty)["errors"]  # the service's rule
    assert set(problem(api("POST", path, json={"kind": "note", "text": "x"}))["errors"]) == {"text"}
    assert api("POST", path, who="reader", json={"kind": "note", "body": "x"}).status_code == 403
    assert api("POST", path, who="other", json={"kind": "note", "body": "x"}).status_code == 404
    assert api("GET", path, who="other").status_code == 404
    assert db.session.scalar(select(Thread.id).where(Thread.ticket_id == ticket.id, Thread.kind != "customer")) is None


def test_the_conversation_pages_oldest_first_and_includes_notes(api, desk, ticket):
    path = f"/tickets/{ticket.id}/threads"
    for kind, text in (("note", "n1"), ("reply", "r1"), ("note", "n2")):
        assert api("POST", path, json={"kind": kind, "body": text}).status_code == 201
    first = api("GET", path, query_string={"limit": 2}).get_json()
    assert [t["body_text"] for t in first["items"]] == ["It arrived broken.", "n1"] and first["next_cursor"]
    rest = api("GET", path, who="reader", query_string={"limit": 2, "cursor": first["next_cursor"]}).get_json()
    assert [t["body_text"] for t in rest["items"]] == ["r1", "n2"] and rest["next_cursor"] is None
    notes = api("GET", path, query_string={"kind": "note"}).get_json()["items"]
    assert [t["body_text"] for t in notes] == ["n1", "n2"]
    assert set(problem(api("GET", path, query_string={"kind": "x", "limit": 500, "cursor": "a"}))["errors"]) == {
        "kind", "limit", "cursor"}
    assert api("GET", f"{path}/{2**40}").status_code == 404


def test_an_upload_becomes_an_attachment_of_one_message(api, desk, ticket):
    response = upload(api, "照片.png")
    assert response.status_code == 201, response.get_data(as_text=True)
    uploaded = response.get_json()
    assert (uploaded["filename"], uploaded["content_type"], uploaded["size"]) == ("照片.png", "image/png", len(PNG))
    path = f"/tickets/{ticket.id}/threads"
    reply = api("POST", path, json={"kind": "reply", "body": "See the photo.", "attachments": [uploaded["upload"]]})
    assert reply.status_code == 201, reply.get_data(as_text=True)
    [attachment] = reply.get_json()["attachments"]
    assert (attachment["filename"], attachment["ticket"], attachment["sha256"]) == (
        "照片.png", ticket.id, uploaded["sha256"])
    assert api("GET", f"/attachments/{attachment['id']}").get_json() == attachment
    content = api("GET", f"/attachments/{attachment['id']}/content", who="reader")
    assert content.status_code == 200 and content.data == PNG and content.mimetype == "image/png"
    assert content.headers["Content-Disposition"].startswith("attachment")
    assert content.headers["X-Content-Type-Options"] == "nosniff"
    content.close()
    # Bob works in Books: the attachment of an Electronics ticket is not his to see
    assert problem(api("GET", f"/attachments/{attachment['id']}", who="other"))["status"] == 404
    assert api("GET", f"/attachments/{attachment['id']}/content", who="other").status_code == 404
    as_admin = api("GET", f"/attachments/{attachment['id']}/content", who="admin")
    assert as_admin.status_code == 200
    as_admin.close()
    # an upload is used once; another agent's upload can't be used
    again = api("POST", path, json={"kind": "note", "body": "x", "attachments": [uploaded["upload"]]})
    assert "attachments.0" in problem(again)["errors"]
    bobs = upload(api, who="other").get_json()["upload"]
    theirs = api("POST", path, who="admin", json={"kind": "note", "body": "x", "attachments": [bobs, "forged"]})
    assert set(problem(theirs)["errors"]) == {"attachments.0", "attachments.1"}
    assert db.session.scalar(select(Attachment.id).where(Attachment.id != attachment["id"])) is None


def test_uploads_are_checked_like_the_agents_form(api, desk, app):
    app.config["MAX_ATTACHMENT_BYTES"] = 100
    assert "larger than" in problem(upload(api, data=b"x" * 101))["errors"]["file"]
    assert "not accepted" in problem(upload(api, "run.exe", b"MZ..."))["errors"]["file"]
    assert "empty" in problem(upload(api, data=b""))["errors"]["file"]
    assert set(problem(api("POST", "/attachments", data={"other": "x", "file": (io.BytesIO(PNG), "a.png")},
                           content_type="multipart/form-data"))["errors"]) == {"other"}
    assert "file" in problem(api("POST", "/attachments", data={}, content_type="multipart/form-data"))["errors"]
    # Parts without a name and with an empty one (schemathesis sent them: a 500) are unknown parts too.
    boundary = "b0undary"
    nameless = (f"--{boundary}\r\nContent-Disposition: form-data\r\n\r\nnull\r\n"
                f'--{boundary}\r\nContent-Disposition: form-data; name=""\r\n\r\nnull\r\n--{boundary}--\r\n').encode()
    assert "" in problem(api("POST", "/attachments", data=nameless,
                             content_type=f"multipart/form-data; boundary={boundary}"))["errors"]
    assert api("POST", "/attachments", json={"file": "x"}).status_code == 415
    assert api("POST", "/attachments", who="reader", data={"file": (io.BytesIO(PNG), "a.png")},
               content_type="multipart/form-data").status_code == 403
    assert not (storage_root() / "api-uploads").exists() or not any((storage_root() / "api-uploads").rglob("*.*"))


def test_expired_and_unclaimed_uploads(api, desk, app, ticket):
    stale = upload(api).get_json()["upload"]
    app.config["API_UPLOAD_MAX_AGE"] = -1  # every upload is older than that
    expired = api("POST", f"/tickets/{ticket.id}/threads", json={"kind": "note", "body": "x", "attachments": [stale]})
    assert "expired" in problem(expired)["errors"]["attachments.0"]
    app.config["API_UPLOAD_MAX_AGE"] = 3600
    used = upload(api).get_json()["upload"]
    assert api("POST", f"/tickets/{ticket.id}/threads", json={"kind": "note", "body": "x",
                                                              "attachments": [used]}).status_code == 201
    files = sorted((storage_root() / "api-uploads").glob("*/*"))
    assert len(files) == 2
    long_ago = time.time() - 3 * 3600
    for path in files:
        os.utime(path, (long_ago, long_ago))
    result = app.test_cli_runner().invoke(args=["sweep-uploads"])
    assert result.exit_code == 0 and "removed 1" in result.output, result.output
    [kept] = (storage_root() / "api-uploads").glob("*/*")
    assert db.session.scalar(select(Attachment.storage_key)) == kept.relative_to(storage_root()).as_posix()


def test_an_api_reply_is_emailed_like_the_agents_with_its_attachment(api, desk):
    from portal.models.outbound import OutboundMessage
    from portal.services.contacts import find_or_create_contact
    ticket = make_ticket(department=desk.phones, contact=find_or_create_contact("li@example.com", "Li"))
    db.session.commit()
    uploaded = upload(api).get_json()["upload"]
    reply = api("POST", f"/tickets/{ticket.id}/threads", json={"kind": "reply", "body": "Photo attached.",
                                                               "attachments": [uploaded]}).get_json()
    [email] = db.session.scalars(select(OutboundMessage).where(OutboundMessage.thread_id == reply["id"]))
    assert (email.kind, email.recipient, email.body) == ("email", "li@example.com", "Photo attached.")
    assert email.payload["attachments"] == [reply["attachments"][0]["id"]]
    assert api("POST", f"/tickets/{ticket.id}/threads", json={"kind": "note", "body": "internal"}).status_code == 201
    assert db.session.query(OutboundMessage).count() == 1  # a note is never emailed
    db.session.expire_all()
    assert api("GET", reply["url"][len("/api/v1"):]).get_json()["delivery_state"] is not None
