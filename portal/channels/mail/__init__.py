"""Email intake: parse raw messages (parse.py, pure Python) and turn them into tickets (ingest.py);
mailboxes (mailboxes.py) and IMAP polling (imap.py) feed it, as do the MTA pipe and the HTTP endpoint."""
from __future__ import annotations

import os

from .parse import ParsedAttachment, ParsedMessage, parse_message

__all__ = ["ParsedAttachment", "ParsedMessage", "parse_message", "init_app"]

DEFAULTS = {
    "MAIL_POLL_TICK_SECONDS": int(os.environ.get("MAIL_POLL_TICK_SECONDS", 60)),  # how often due mailboxes are looked for
    "MAIL_POLL_BATCH": int(os.environ.get("MAIL_POLL_BATCH", 200)),               # messages per poll; the rest at once after
    "MAIL_POLL_JOB_TIMEOUT_SECONDS": 900,
    "MAIL_IMAP_TIMEOUT_SECONDS": int(os.environ.get("MAIL_IMAP_TIMEOUT_SECONDS", 30)),
    "MAIL_IMAP_ALLOW_PLAINTEXT": os.environ.get("MAIL_IMAP_ALLOW_PLAINTEXT", "").lower() in ("1", "true", "yes", "on"),
    "MAIL_IMAP_CA_FILE": os.environ.get("MAIL_IMAP_CA_FILE") or None,           # a private CA's certificate(s)
    "MAIL_CREDENTIALS_KEY": os.environ.get("MAIL_CREDENTIALS_KEY") or None,     # default: derived from SECRET_KEY
}


def init_app(app) -> None:
    from ...events import periodic
    from .cli import ingest_email_command, poll_mail_command
    from .imap import enqueue_due_polls

    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    periodic("mail_poll", "MAIL_POLL_TICK_SECONDS")(enqueue_due_polls)
    for command in (ingest_email_command, poll_mail_command):
        app.cli.add_command(command)
