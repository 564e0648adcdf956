"""`flask --app wsgi ingest-email [--mailbox ADDRESS] < message.eml`: the entry point for an MTA pipe
(Postfix `mailbox_command`, an alias `|command`, procmail, fetchmail's `--mda`)."""
from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import select

EX_TEMPFAIL = 75  # sysexits.h: the MTA keeps the message and tries again later


@click.command("ingest-email")
@click.option("--mailbox", default=None, help="The desk address it was delivered to (default: from its To/Cc).")
@with_appcontext
def ingest_email_command(mailbox):
    """Read one raw message from standard input and make it a ticket or a reply."""
    from ...extensions import db
    from ...models import Mailbox
    from .ingest import ingest
    raw = sys.stdin.buffer.read()
    if not raw:
        raise click.ClickException("no message on standard input")
    box = None
    if mailbox:
        box = db.session.scalar(select(Mailbox).where(Mailbox.address == mailbox.strip().lower()))
        if box is None:
            raise click.BadParameter(f"no mailbox {mailbox}", param_hint="--mailbox")
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
