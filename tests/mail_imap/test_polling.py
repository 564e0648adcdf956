"""IMAP polling against a real server (Dovecot on loopback): new mail becomes tickets, replies thread,
nothing is read twice, UIDVALIDITY resets, broken mail is flagged without stopping the poll, login
failures are recorded with back-off, the after-import actions, the one-poller lease, TLS, scheduling."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from portal.channels.mail import imap
from portal.channels.mail.credentials import seal
from portal.channels.mail.imap import ImapProblem, ImapSettings, describe, enqueue_due_polls, poll_mailbox
from portal.events import run_due_periodic
from portal.extensions import db
from portal.models import InboundMessage, Mailbox, Ticket, utcnow

from .conftest import DESK_PASSWORD, mail

pytestmark = pytest.mark.integration


def inbound(**where) -> list[InboundMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(InboundMessage).filter_by(**where).order_by(InboundMessage.id)))


def fresh(mailbox_id: int) -> Mailbox:
    db.session.expire_all()
    return db.session.get(Mailbox, mailbox_id)


def server_flags(imapd, user, folder="INBOX") -> dict:
    client = imapd.client(user)
    try:
        client.select_folder(folder, readonly=True)
        return client.get_flags(client.search(["ALL"]))
    finally:
        client.logout()


def test_new_mail_becomes_tickets_and_replies_thread(make_mailbox, imapd, imap_user):
    box = make_mailbox()
    imapd.append(imap_user, mail(message_id="<first@example.com>"))
    imapd.append(imap_user, mail(subject="Invoice missing", sender="wang@example.com"))
    result = poll_mailbox(box.id)
    assert (result.status, result.taken, result.statuses) == ("ok", 2, {"ticket": 2})
    first, second = inbound()
    assert (first.via, first.mailbox_id, first.status) == ("imap", box.id, "ticket")
    ticket = db.session.get(Ticket, first.ticket_id)
    assert (ticket.subject, ticket.channel, ticket.department_id) == ("Screen cracked", "email", box.department_id)
    assert ticket.contact.email == "li.lei@example.com"

    imapd.append(imap_user, mail(subject="Re: Screen cracked", body="Any news?\n\n> It arrived broken.\n",
                                 in_reply_to="<first@example.com>"))
    assert poll_mailbox(box.id).statuses == {"reply": 1}
    reply = inbound()[-1]
    assert (reply.status, reply.ticket_id) == ("reply", ticket.id)
    db.session.expire_all()
    assert [t.body_text for t in db.session.get(Ticket, ticket.id).threads][-1] == "Any news?"
    state = fresh(box.id)
    assert (state.last_poll_ok, state.last_poll_count, state.imported_count, state.poll_failures) == (True, 1, 3, 0)
    assert state.imap_last_uid == 3 and state.imap_uidvalidity and state.poll_lease_owner is None
    assert state.next_poll_at - state.last_poll_at == timedelta(minutes=5)


def test_nothing_is_read_twice_across_polls(make_mailbox, imapd, imap_user):
    box = make_mailbox()
    for n in range(3):
        imapd.append(imap_user, mail(subject=f"Question {n}"))
    assert poll_mailbox(box.id).taken == 3
    # Someone marks them unread again on the server: the desk goes by UID, not by \Seen.
    client = imapd.client(imap_user)
    client.select_folder("INBOX")
    client.remove_flags(client.search(["ALL"]), [b"\\Seen"])
    client.logout()
    again = poll_mailbox(box.id)
    assert (again.status, again.taken) == ("ok", 0)
    imapd.append(imap_user, mail(subject="Question 3"))
    assert poll_mailbox(box.id).taken == 1
    assert len(inbound()) == 4 and {m.status for m in inbound()} == {"ticket"}
    assert db.session.scalar(select(func.count(Ticket.id))) == 4


def test_a_changed_uidvalidity_reads_the_folder_again_and_dedupes_by_message_id(make_mailbox, imapd, imap_user):
    box = make_mailbox(imap_folder="Support")
    old = [mail(subject=f"Old {n}", message_id=f"<old{n}@example.com>") for n in range(2)]
    for raw in old:
        imapd.append(imap_user, raw, folder="Support")
    assert poll_mailbox(box.id).taken == 2
    before = fresh(box.id).imap_uidvalidity
    # The server renumbers the folder (here: it is deleted and made again, as a restore would).
    client = imapd.client(imap_user)
    client.delete_folder("Support")
    client.logout()
    for raw in [*old, mail(subject="New one")]:
        imapd.append(imap_user, raw, folder="Support")
    result = poll_mailbox(box.id)
    assert fresh(box.id).imap_uidvalidity != before
    assert result.statuses == {"duplicate": 2, "ticket": 1}
    assert db.session.scalar(select(func.count(Ticket.id))) == 3


def test_a_broken_message_is_flagged_and_the_poll_goes_on(make_mailbox, imapd, imap_user, monkeypatch):
    box = make_mailbox()
    imapd.append(imap_user, b"Subject: no sender at all\r\n\r\nwho wrote this?\r\n")
    imapd.append(imap_user, mail(subject="Makes intake crash", message_id="<boom@example.com>"))
    imapd.append(imap_user, mail(subject="Fine"))
    real_ingest = imap.ingest

    def crashing_ingest(raw, **kw):
        if b"<boom@example.com>" in raw:
            raise RuntimeError("a bug in intake")
        return real_ingest(raw, **kw)

    monkeypatch.setattr(imap, "ingest", crashing_ingest)
    result = poll_mailbox(box.id)
    assert (result.status, result.taken, result.statuses) == ("ok", 3, {"flagged": 2, "ticket": 1})
    no_sender, crashed, fine = inbound()
    assert no_sender.status == "flagged" and "sender" in no_sender.problem.lower()
    assert crashed.status == "flagged" and "RuntimeError: a bug in intake" in crashed.problem
    assert b"<boom@example.com>" in crashed.raw and crashed.mailbox_id == box.id  # kept as it came
    assert fine.status == "ticket"
    assert fresh(box.id).imap_last_uid == 3  # and not read again
    assert poll_mailbox(box.id).taken == 0


def test_a_login_failure_is_recorded_on_the_mailbox_with_back_off(make_mailbox, imapd, imap_user):
    box = make_mailbox(imap_password="wrong-password")
    imapd.append(imap_user, mail())
    result = poll_mailbox(box.id)
    assert result.status == "failed" and "Login failed" in result.error
    state = fresh(box.id)
    assert (state.last_poll_ok, state.poll_failures) == (False, 1)
    assert state.last_poll_error.startswith(f"Login failed for {imap_user}")
    assert state.next_poll_at - state.last_poll_at == timedelta(minutes=5)
    poll_mailbox(box.id)
    state = fresh(box.id)
    assert state.poll_failures == 2 and state.next_poll_at - state.last_poll_at == timedelta(minutes=10)
    assert inbound() == [] and state.poll_lease_owner is None
    # Fixed: the next poll takes the mail and the failures are forgotten.
    state.imap_password = seal(DESK_PASSWORD)
    db.session.commit()
    assert poll_mailbox(box.id).taken == 1
    state = fresh(box.id)
    assert (state.last_poll_ok, state.poll_failures, state.last_poll_error) == (True, 0, None)


def test_the_backoff_doubles_and_stops_at_an_hour(app):
    box = Mailbox(poll_minutes=5, poll_failures=1)
    assert [imap.backoff_seconds(Mailbox(poll_minutes=5, poll_failures=n)) for n in (1, 2, 3, 4, 5, 9)] == [
        300, 600, 1200, 2400, 3600, 3600]
    assert imap.backoff_seconds(Mailbox(poll_minutes=120, poll_failures=3)) == 7200  # never below the interval
    assert box.polls is False


def test_refused_and_unreachable_servers_say_so(make_mailbox, app):
    box = make_mailbox(imap_port=imap_free_port())
    result = poll_mailbox(box.id)
    assert result.status == "failed" and result.error.startswith("Connection refused by 127.0.0.1:")
    settings = ImapSettings("mail.invalid", 993, "ssl", "u", "p")
    import socket
    assert describe(socket.gaierror(-2, "Name or service not known"), settings).kind == "dns"
    assert describe(TimeoutError(), settings).message.startswith("Timed out talking to mail.invalid:993")


def imap_free_port() -> int:
    from .dovecot import free_port
    return free_port()


@pytest.mark.parametrize("after", ["seen", "move", "delete"])
def test_after_import_the_message_is_marked_moved_or_deleted_on_the_server(make_mailbox, imapd, imap_user, after):
    client = imapd.client(imap_user)
    client.create_folder("Imported")
    client.logout()
    box = make_mailbox(imap_after=after, imap_move_to="Imported" if after == "move" else "")
    imapd.append(imap_user, mail())
    imapd.append(imap_user, mail(subject="Second"))
    assert poll_mailbox(box.id).taken == 2
    assert fresh(box.id).last_poll_error is None
    inbox, moved = server_flags(imapd, imap_user), server_flags(imapd, imap_user, "Imported")
    if after == "seen":
        assert len(inbox) == 2 and all(b"\\Seen" in flags for flags in inbox.values())
        assert moved == {}
    elif after == "move":
        assert inbox == {} and len(moved) == 2
    else:
        assert inbox == {} and moved == {}
    assert len(inbound(status="ticket")) == 2


def test_a_failing_after_import_action_is_reported_and_the_mail_still_taken(make_mailbox, imapd, imap_user):
    box = make_mailbox(imap_after="move", imap_move_to="Nowhere")  # no such folder on the server
    imapd.append(imap_user, mail())
    result = poll_mailbox(box.id)
    assert (result.status, result.taken) == ("ok", 1)
    assert "could not move to 'Nowhere'" in fresh(box.id).last_poll_error
    assert poll_mailbox(box.id).taken == 0  # still not read twice


def test_a_leased_mailbox_is_not_polled_by_a_second_poller(make_mailbox, imapd, imap_user):
    box = make_mailbox()
    imapd.append(imap_user, mail())
    db.session.execute(update(Mailbox).where(Mailbox.id == box.id).values(
        poll_lease_owner="other-worker", poll_lease_until=utcnow() + timedelta(minutes=3)))
    db.session.commit()
    assert poll_mailbox(box.id).status == "busy"
    assert inbound() == [] and fresh(box.id).poll_lease_owner == "other-worker"  # theirs, untouched
    # A lease that ran out belongs to a poller that died: it is taken over.
    db.session.execute(update(Mailbox).where(Mailbox.id == box.id).values(
        poll_lease_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert poll_mailbox(box.id).taken == 1


def test_two_pollers_at_once_read_each_message_once(app, make_mailbox, imapd, imap_user, monkeypatch):
    box = make_mailbox()
    for n in range(4):
        imapd.append(imap_user, mail(subject=f"Parallel {n}"))
    inside, go_on = threading.Event(), threading.Event()
    real_take = imap._take

    def slow_take(*args, **kwargs):
        inside.set()
        go_on.wait(10)  # hold the lease until the second poller has tried
        return real_take(*args, **kwargs)

    monkeypatch.setattr(imap, "_take", slow_take)
    results = {}

    def first():
        with app.app_context():
            results["first"] = poll_mailbox(box.id)
            db.session.remove()

    thread = threading.Thread(target=first)
    thread.start()
    assert inside.wait(10)
    with app.app_context():
        results["second"] = poll_mailbox(box.id)
        db.session.remove()
    go_on.set()
    thread.join(20)
    assert results["second"].status == "busy"
    assert (results["first"].status, results["first"].taken) == ("ok", 4)
    assert [m.status for m in inbound()] == ["ticket"] * 4


def test_tls_is_verified_and_a_private_ca_can_be_trusted(app, make_mailbox, imapd):
    box = make_mailbox(imap_security="ssl", imap_port=imapd.ssl_port)
    result = poll_mailbox(box.id)
    assert result.status == "failed" and result.error.startswith(f"TLS failed with 127.0.0.1:{imapd.ssl_port}")
    assert "CERTIFICATE_VERIFY_FAILED" in result.error
    app.config["MAIL_IMAP_CA_FILE"] = str(imapd.cert)
    assert poll_mailbox(box.id).status == "ok"
    starttls = make_mailbox(address="starttls@desk.example", imap_security="starttls")
    assert poll_mailbox(starttls.id).status == "ok"


def test_clear_text_is_refused_off_loopback_even_if_saved_before(app, make_mailbox):
    box = make_mailbox()
    db.session.execute(update(Mailbox).where(Mailbox.id == box.id).values(imap_host="imap.example.com"))
    db.session.commit()
    result = poll_mailbox(box.id)
    assert result.status == "failed" and "clear text" in result.error


def test_the_periodic_task_polls_due_mailboxes_only(app, make_mailbox, imapd, imap_user):
    due = make_mailbox()
    later = make_mailbox(address="later@desk.example", imap_folder="Later")
    pipe_only = Mailbox(address="pipe@desk.example", department_id=due.department_id)
    db.session.add(pipe_only)
    db.session.execute(update(Mailbox).where(Mailbox.id == later.id).values(
        next_poll_at=utcnow() + timedelta(minutes=3)))
    db.session.commit()
    imapd.append(imap_user, mail())
    assert "mail_poll" in run_due_periodic(force=True)  # the sync queue runs the poll job inline
    assert [m.mailbox_id for m in inbound()] == [due.id]
    assert fresh(later.id).last_poll_at is None and fresh(pipe_only.id).last_poll_at is None
    assert fresh(due.id).next_poll_at > utcnow() + timedelta(minutes=4)
    assert enqueue_due_polls() == 0  # nothing due until the interval has passed


def test_an_inactive_mailbox_is_not_polled(make_mailbox, imapd, imap_user):
    box = make_mailbox()
    box.active = False
    db.session.commit()
    imapd.append(imap_user, mail())
    assert enqueue_due_polls() == 0
    assert poll_mailbox(box.id).status == "skipped" and inbound() == []


def test_poll_mail_command(app, make_mailbox, imapd, imap_user):
    box = make_mailbox()
    imapd.append(imap_user, mail())
    db.session.commit()
    out = app.test_cli_runner().invoke(args=["poll-mail", "--mailbox", str(box.id)])
    assert out.exit_code == 0, out.output
    assert out.output.strip() == "support@desk.example: ok: 1 message(s) (ticket 1)"
    bad = app.test_cli_runner().invoke(args=["poll-mail", "--mailbox", "999"])
    assert bad.exit_code == 2 and "no IMAP mailbox with id 999" in bad.output
    db.session.execute(update(Mailbox).where(Mailbox.id == box.id).values(imap_password="not-a-token"))
    db.session.commit()
    failed = app.test_cli_runner().invoke(args=["poll-mail"])
    assert failed.exit_code == 1 and "enter the password again" in failed.output


def test_the_imap_problem_kinds(app):
    settings = ImapSettings("h", 1, "ssl", "u", "p")
    assert isinstance(describe(ConnectionRefusedError(), settings), ImapProblem)
    assert describe(ConnectionRefusedError(), settings).kind == "refused"
    assert describe(OSError("Network is unreachable"), settings).kind == "network"
