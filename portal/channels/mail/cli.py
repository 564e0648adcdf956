"""Mail commands:

- `flask --app wsgi ingest-email [--mailbox ADDRESS] < message.eml`: the entry point for an MTA pipe
  (Postfix `mailbox_command`, an alias `|command`, procmail, fetchmail's `--mda`);
  `--maildir DIR` takes a whole maildir in one process (an import, or a backlog), one commit per message.
- `flask --app wsgi poll-mail [--mailbox ID] [--loop]`: poll IMAP mailboxes now, or keep polling the due
  ones (for a desk that wants a dedicated poller; `flask scheduler` and the workers do it otherwise).
"""
from __future__ import annotations

import os
import sys
import time
from collections import Counter

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

EX_TEMPFAIL = 75  # sysexits.h: the MTA keeps the message and tries again later


def _mailbox_by_address(address):
    from ...extensions import db
    from ...models import Mailbox
    box = db.session.scalar(select(Mailbox).where(Mailbox.address == address.strip().lower()))
    if box is None:
        raise click.BadParameter(f"no mailbox {address}", param_hint="--mailbox")
    return box


def maildir_files(path: str) -> list[str]:
    """A maildir's messages, cur/ then new/, each in name order (delivery order for names that start
    with the delivery time, as maildir names do)."""
    found = []
    for sub in ("cur", "new"):
        folder = os.path.join(path, sub)
        if os.path.isdir(folder):
            found += [os.path.join(folder, n) for n in sorted(os.listdir(folder)) if not n.startswith(".")]
    if not found and not any(os.path.isdir(os.path.join(path, s)) for s in ("cur", "new")):
        raise click.BadParameter(f"{path} is not a maildir (no cur/ or new/)", param_hint="--maildir")
    return found


@click.command("ingest-email")
@click.option("--mailbox", default=None, help="The desk address it was delivered to (default: from its To/Cc).")
@click.option("--maildir", "maildir", default=None, type=click.Path(exists=True, file_okay=False),
              help="Take every message of this maildir (cur/ and new/; the files are left in place).")
@with_appcontext
def ingest_email_command(mailbox, maildir):
    """Read one raw message from standard input (or a maildir) and make it a ticket or a reply."""
    from ...extensions import db
    from .ingest import ingest
    box = _mailbox_by_address(mailbox) if mailbox else None
    if maildir:
        _ingest_maildir(maildir, box)
        return
    raw = sys.stdin.buffer.read()
    if not raw:
        raise click.ClickException("no message on standard input")
    try:
        record = ingest(raw, via="pipe", mailbox=box)
        db.session.commit()
    except Exception as exc:  # noqa: BLE001 - the database is down or the like: the MTA must retry
        db.session.rollback()
        click.echo(f"could not store the message ({exc.__class__.__name__}: {exc}); try again later", err=True)
        sys.exit(EX_TEMPFAIL)
    where = f" #{record.ticket_id}" if record.ticket_id else ""
    click.echo(f"{record.status}{where} (inbound message {record.id})"
               + (f": {record.problem.splitlines()[0]}" if record.problem else ""))


def _ingest_maildir(path: str, box) -> None:
    from ...extensions import db
    from .ingest import ingest
    files = maildir_files(path)
    statuses: Counter = Counter()
    started = time.perf_counter()
    for name in files:
        with open(name, "rb") as handle:
            raw = handle.read()
        try:
            statuses[ingest(raw, via="pipe", mailbox=box).status] += 1
            db.session.commit()  # one message, one transaction: as the pipe does
        except Exception as exc:  # noqa: BLE001 - say which file, go on with the rest
            db.session.rollback()
            statuses["error"] += 1
            click.echo(f"{name}: could not store ({exc.__class__.__name__}: {exc})", err=True)
    seconds = time.perf_counter() - started
    summary = ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())) or "nothing"
    rate = len(files) / seconds if seconds else 0.0
    click.echo(f"{len(files)} messages in {seconds:.1f} s ({rate:.1f}/s): {summary}")
    if statuses["error"]:
        sys.exit(EX_TEMPFAIL)


@click.command("poll-mail")
@click.option("--mailbox", "mailbox_id", type=int, default=None, help="Only this mailbox (its id).")
@click.option("--loop", is_flag=True, help="Keep going: poll each mailbox when it is due.")
@with_appcontext
def poll_mail_command(mailbox_id, loop):
    """Poll the IMAP mailboxes: each active one now (or --mailbox ID), or with --loop, each when due."""
    from ...extensions import db
    from ...models import Mailbox, utcnow
    from .imap import due_mailboxes, poll_mailbox

    def ids(due_only: bool) -> list[int]:
        if due_only:
            found = due_mailboxes(utcnow())
        else:
            found = list(db.session.scalars(select(Mailbox.id).where(
                Mailbox.active.is_(True), Mailbox.imap_host.is_not(None), Mailbox.imap_host != "")
                .order_by(Mailbox.id)))
        db.session.rollback()
        return [i for i in found if mailbox_id is None or i == mailbox_id]

    if mailbox_id is not None:
        box = db.session.get(Mailbox, mailbox_id)
        if box is None or not box.polls:
            raise click.BadParameter(f"no IMAP mailbox with id {mailbox_id}", param_hint="--mailbox")
    failed = False
    while True:
        for box_id in ids(due_only=loop):
            address = db.session.get(Mailbox, box_id).address
            result = poll_mailbox(box_id)
            failed = failed or result.status == "failed"
            click.echo(f"{address}: {result}")
        if not loop:
            break
        time.sleep(min(current_app.config["MAIL_POLL_TICK_SECONDS"], 10))
    if failed:
        sys.exit(1)
