"""IMAP polling: each mailbox with an IMAP host is read on its own interval, new messages go through
`ingest(raw, via="imap", mailbox=...)` like every other mail channel.

How a poll goes (`poll_mailbox`):

1. Take the mailbox's **lease** with a guarded UPDATE (`poll_lease_until` empty or past): two pollers
   (two RQ workers, a worker and `flask poll-mail`, an admin's "Poll now") never read one mailbox
   at once. Plain SQL, so it works the same on SQLite and PostgreSQL; a poller that dies leaves a
   lease that simply runs out (`LEASE`). The lease is renewed with every message taken.
2. Log in, select the folder. A changed **UIDVALIDITY** means the server renumbered the folder:
   start again from UID 0. Re-reading is safe because intake drops a Message-ID it already took
   (stored as a duplicate).
3. Fetch by **UID above the last one taken**, oldest first, at most `MAIL_POLL_BATCH` per poll
   (the rest next time, at once). Each message is one transaction: its InboundMessage, the new
   last UID and the lease renewal are **committed before** the message is marked on the server
   (seen, moved or deleted), so a crash in between reads it again rather than losing it.
   A message intake can't make sense of is stored raw and flagged by `ingest`; if intake itself
   raises, the raw bytes are still stored, flagged with the error, and the poll goes on.
4. Connection problems (DNS, refused, TLS, time-out, login) are recorded on the mailbox in words an
   admin can act on, and the next poll backs off (interval x 2^(failures-1), at most an hour).

Scheduling: the periodic task `mail_poll` (run by `flask scheduler` / the embedded worker thread,
like the other sweeps) enqueues one `poll_mailbox_job` per due mailbox; RQ workers run them.
"""
from __future__ import annotations

import ipaddress
import logging
import re
import socket
import ssl
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Optional

from flask import current_app
from imapclient import DELETED, SEEN, IMAPClient
from imapclient import exceptions as imap_errors
from sqlalchemy import or_, select, update

from ...extensions import db
from ...models import InboundMessage, Mailbox, utcnow
from .credentials import CredentialsUnreadable, unseal
from .ingest import ingest

log = logging.getLogger(__name__)

SECURITY = ("ssl", "starttls", "none")
AFTER = ("seen", "move", "delete")
DEFAULT_PORTS = {"ssl": 993, "starttls": 143, "none": 143}
LEASE = timedelta(minutes=5)          # a poller that stopped renewing for this long has died
MAX_BACKOFF_SECONDS = 3600
FETCH_CHUNK = 25                      # messages per FETCH round trip


class ImapProblem(Exception):
    """Something about the server or the settings, said so an admin can fix it."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind, self.message = kind, message  # kind: dns refused timeout tls auth folder protocol config


class LeaseLost(Exception):
    """Another poller took the mailbox over (ours ran out): stop without committing."""


@dataclass
class ImapSettings:
    host: str
    port: int
    security: str
    username: str
    password: str
    folder: str = "INBOX"
    after: str = "seen"
    move_to: Optional[str] = None


@dataclass
class PollResult:
    status: str                       # ok / busy / failed / skipped
    taken: int = 0
    error: Optional[str] = None
    more: bool = False
    statuses: dict = field(default_factory=dict)  # InboundMessage status -> count, this poll

    def __str__(self) -> str:
        text = f"{self.status}: {self.taken} message(s)"
        if self.statuses:
            text += " (" + ", ".join(f"{k} {v}" for k, v in sorted(self.statuses.items())) + ")"
        return text + (f"; {self.error}" if self.error else "")


# --------------------------------------------------------------------------------------------
# Connecting
# --------------------------------------------------------------------------------------------
def is_loopback(host: str) -> bool:
    host = (host or "").strip().lower().strip("[]")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def plaintext_allowed(host: str) -> bool:
    """Passwords in clear text only over loopback, or where the operator said so (MAIL_IMAP_ALLOW_PLAINTEXT)."""
    return is_loopback(host) or bool(current_app.config.get("MAIL_IMAP_ALLOW_PLAINTEXT"))


def settings_of(mailbox: Mailbox, password: Optional[str] = None) -> ImapSettings:
    """The mailbox's settings with its password unsealed (or `password` given in a form)."""
    if password is None:
        try:
            password = unseal(mailbox.imap_password) if mailbox.imap_password else ""
        except CredentialsUnreadable as exc:
            raise ImapProblem("config", str(exc)) from None
    security = mailbox.imap_security or "ssl"
    return ImapSettings(host=mailbox.imap_host or "", port=mailbox.imap_port or DEFAULT_PORTS[security],
                        security=security, username=mailbox.imap_username or "", password=password,
                        folder=mailbox.imap_folder or "INBOX", after=mailbox.imap_after or "seen",
                        move_to=mailbox.imap_move_to)


def _tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=current_app.config.get("MAIL_IMAP_CA_FILE") or None)
    return context


def describe(exc: BaseException, settings: ImapSettings, during: str = "") -> ImapProblem:
    """An exception from the socket, TLS or IMAP layers as a problem an admin can act on."""
    where = f"{settings.host}:{settings.port}"
    detail = _server_text(str(exc)) or exc.__class__.__name__
    if isinstance(exc, ImapProblem):
        return exc
    if isinstance(exc, socket.gaierror):
        return ImapProblem("dns", f"DNS: the host name {settings.host} could not be resolved ({detail}).")
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return ImapProblem("timeout", f"Timed out talking to {where} after "
                                      f"{current_app.config['MAIL_IMAP_TIMEOUT_SECONDS']} s{during}.")
    if isinstance(exc, ssl.SSLError) or during == " (STARTTLS)":
        return ImapProblem("tls", f"TLS failed with {where}{during}: {detail}")
    if isinstance(exc, ConnectionRefusedError):
        return ImapProblem("refused", f"Connection refused by {where} (nothing listens there?).")
    if isinstance(exc, imap_errors.LoginError):
        return ImapProblem("auth", f"Login failed for {settings.username}: {detail}")
    if isinstance(exc, OSError):
        return ImapProblem("network", f"Network error with {where}: {detail}")
    if isinstance(exc, (imap_errors.IMAPClientError, imap_errors.imaplib.IMAP4.error)):
        return ImapProblem("protocol", f"The IMAP server said{during}: {detail}")
    return ImapProblem("protocol", f"{exc.__class__.__name__}{during}: {detail}")


def _server_text(text: str) -> str:
    """imaplib hands the server's words over as the repr of bytes: b'[AUTHENTICATIONFAILED] ...'."""
    match = re.fullmatch(r"""b(['"])(.*)\1""", text.strip(), re.S)
    return match.group(2) if match else text


def open_client(settings: ImapSettings) -> IMAPClient:
    """A logged-in client, or ImapProblem. Clear-text passwords only where `plaintext_allowed`."""
    if settings.security not in SECURITY:
        raise ImapProblem("config", f"Unknown security setting {settings.security!r}.")
    if settings.security == "none" and not plaintext_allowed(settings.host):
        raise ImapProblem("config", "Without TLS the password would cross the network in clear text; "
                                    "choose SSL/TLS or STARTTLS (or set MAIL_IMAP_ALLOW_PLAINTEXT).")
    timeout = current_app.config["MAIL_IMAP_TIMEOUT_SECONDS"]
    try:
        client = IMAPClient(settings.host, port=settings.port, ssl=settings.security == "ssl",
                            ssl_context=_tls_context() if settings.security == "ssl" else None, timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - every way of failing becomes a sentence for the admin
        raise describe(exc, settings) from exc
    try:
        if settings.security == "starttls":
            try:
                client.starttls(_tls_context())
            except Exception as exc:  # noqa: BLE001
                raise describe(exc, settings, " (STARTTLS)") from exc
        try:
            client.login(settings.username, settings.password)
        except imap_errors.LoginError as exc:
            raise describe(exc, settings) from exc
        except Exception as exc:  # noqa: BLE001
            raise describe(exc, settings, " (login)") from exc
    except ImapProblem:
        _close(client)
        raise
    return client


def _close(client: IMAPClient) -> None:
    try:
        client.logout()
    except Exception:  # noqa: BLE001 - the connection may be gone already; nothing to keep
        try:
            client.shutdown()
        except Exception:  # noqa: BLE001
            pass


def test_connection(settings: ImapSettings) -> int:
    """Log in and count the folder's messages (read-only); ImapProblem says what went wrong."""
    client = open_client(settings)
    try:
        try:
            info = client.select_folder(settings.folder, readonly=True)
        except Exception as exc:  # noqa: BLE001
            raise _folder_problem(exc, settings, settings.folder) from exc
        if settings.after == "move" and settings.move_to:
            try:
                exists = client.folder_exists(settings.move_to)
            except Exception as exc:  # noqa: BLE001
                raise describe(exc, settings) from exc
            if not exists:
                raise ImapProblem("folder", f"The folder {settings.move_to!r} to move imported mail to "
                                            f"does not exist.")
        return int(info.get(b"EXISTS", 0))
    finally:
        _close(client)


def _folder_problem(exc, settings, folder) -> ImapProblem:
    if isinstance(exc, (imap_errors.IMAPClientError, imap_errors.imaplib.IMAP4.error)) \
            and not isinstance(exc, imap_errors.IMAPClientAbortError):
        return ImapProblem("folder", f"The folder {folder!r} can't be opened: {exc}")
    return describe(exc, settings)


# --------------------------------------------------------------------------------------------
# The lease
# --------------------------------------------------------------------------------------------
def _claim(mailbox_id: int, owner: str, now: datetime) -> bool:
    taken = db.session.execute(
        update(Mailbox).where(Mailbox.id == mailbox_id,
                              or_(Mailbox.poll_lease_until.is_(None), Mailbox.poll_lease_until < now))
        .values(poll_lease_until=now + LEASE, poll_lease_owner=owner)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return taken == 1


def _renew(mailbox_id: int, owner: str) -> None:
    """In the message's transaction: no renewal, no commit (another poller owns the mailbox now)."""
    renewed = db.session.execute(
        update(Mailbox).where(Mailbox.id == mailbox_id, Mailbox.poll_lease_owner == owner)
        .values(poll_lease_until=utcnow() + LEASE).execution_options(synchronize_session=False)).rowcount
    if renewed != 1:
        raise LeaseLost()


def _release(mailbox_id: int, owner: str) -> None:
    db.session.rollback()
    db.session.execute(update(Mailbox).where(Mailbox.id == mailbox_id, Mailbox.poll_lease_owner == owner)
                       .values(poll_lease_until=None, poll_lease_owner=None)
                       .execution_options(synchronize_session=False))
    db.session.commit()


# --------------------------------------------------------------------------------------------
# Polling
# --------------------------------------------------------------------------------------------
def poll_mailbox(mailbox_id: int) -> PollResult:
    """Read the mailbox's new messages now (whether or not it is due). Commits."""
    owner = uuid.uuid4().hex
    if not _claim(mailbox_id, owner, utcnow()):
        return PollResult("busy", error="Another poller is reading this mailbox right now.")
    try:
        mailbox = db.session.get(Mailbox, mailbox_id)
        if mailbox is None or not mailbox.active or not mailbox.polls:
            return PollResult("skipped", error="The mailbox is inactive or has no IMAP server.")
        return _poll(mailbox, owner)
    finally:
        _release(mailbox_id, owner)


def _poll(mailbox: Mailbox, owner: str) -> PollResult:
    mailbox_id = mailbox.id
    result = PollResult("ok")
    try:
        settings = settings_of(mailbox)
        client = open_client(settings)
    except ImapProblem as problem:
        return _failed(mailbox_id, problem, result)
    try:
        try:
            info = client.select_folder(settings.folder)
        except Exception as exc:  # noqa: BLE001
            raise _folder_problem(exc, settings, settings.folder) from exc
        uidvalidity = int(info[b"UIDVALIDITY"])
        if mailbox.imap_uidvalidity != uidvalidity:
            if mailbox.imap_uidvalidity is not None:
                log.warning("mailbox %s: UIDVALIDITY %s -> %s, reading the folder again",
                            mailbox.address, mailbox.imap_uidvalidity, uidvalidity)
            mailbox.imap_uidvalidity, mailbox.imap_last_uid = uidvalidity, 0
            db.session.commit()
        last = mailbox.imap_last_uid or 0
        # "UID n:*" always answers the highest UID, even when it is below n: filter again.
        uids = sorted(uid for uid in client.search(["UID", f"{last + 1}:*"]) if uid > last)
        batch = current_app.config["MAIL_POLL_BATCH"]
        result.more = len(uids) > batch
        uids = uids[:batch]
        for start in range(0, len(uids), FETCH_CHUNK):
            chunk = uids[start:start + FETCH_CHUNK]
            fetched = client.fetch(chunk, ["BODY.PEEK[]"])  # PEEK: the server's \Seen is ours to set
            for uid in chunk:
                raw = (fetched.get(uid) or {}).get(b"BODY[]")
                status = _take(mailbox_id, owner, uid, raw)
                result.taken += 1
                result.statuses[status] = result.statuses.get(status, 0) + 1
                if raw is not None and result.error is None:
                    result.error = _after_import(client, settings, uid)
    except LeaseLost:
        db.session.rollback()
        result.status, result.error = "busy", "Another poller took this mailbox over."
        return result
    except Exception as exc:  # noqa: BLE001 - the connection broke mid-way: keep what was taken
        db.session.rollback()
        return _failed(mailbox_id, describe(exc, settings), result)
    finally:
        _close(client)
    return _succeeded(mailbox_id, result)


def _take(mailbox_id: int, owner: str, uid: int, raw: Optional[bytes]) -> str:
    """Ingest one message and move the mark past it, in one committed transaction."""
    mailbox = db.session.get(Mailbox, mailbox_id)
    if raw is None:  # expunged by someone else between SEARCH and FETCH: nothing to keep
        status = "gone"
    else:
        try:
            status = ingest(raw, via="imap", mailbox=mailbox).status
        except Exception as exc:  # noqa: BLE001 - a bug in intake must not lose the message or stop the poll
            db.session.rollback()
            log.exception("mailbox %s: intake failed on UID %s", mailbox_id, uid)
            mailbox = db.session.get(Mailbox, mailbox_id)
            db.session.add(InboundMessage(
                raw=raw, size=len(raw), via="imap", mailbox=mailbox, subject="", status="flagged",
                problem=f"Intake failed ({exc.__class__.__name__}: {exc}); the message is kept as it came."))
            status = "flagged"
    mailbox.imap_last_uid = uid
    mailbox.imported_count = (mailbox.imported_count or 0) + (raw is not None)
    _renew(mailbox_id, owner)
    db.session.commit()
    return status


def _after_import(client: IMAPClient, settings: ImapSettings, uid: int) -> Optional[str]:
    """Mark the (committed) message on the server; a failure is reported, the message stays taken."""
    try:
        if settings.after == "delete":
            client.add_flags([uid], [DELETED])
            if client.has_capability("UIDPLUS"):
                client.expunge([uid])
            else:
                client.expunge()
        elif settings.after == "move" and settings.move_to:
            if client.has_capability("MOVE"):
                client.move([uid], settings.move_to)
            else:
                client.copy([uid], settings.move_to)
                client.add_flags([uid], [DELETED])
                client.expunge([uid]) if client.has_capability("UIDPLUS") else client.expunge()
        else:
            client.add_flags([uid], [SEEN])
    except (imap_errors.IMAPClientError, imap_errors.imaplib.IMAP4.error) as exc:
        if isinstance(exc, imap_errors.IMAPClientAbortError):
            raise
        action = {"delete": "delete", "move": f"move to {settings.move_to!r}"}.get(settings.after, "mark as seen")
        return f"Imported, but could not {action} on the server: {exc}"
    return None


def _failed(mailbox_id: int, problem: ImapProblem, result: PollResult) -> PollResult:
    now = utcnow()
    mailbox = db.session.get(Mailbox, mailbox_id)
    mailbox.poll_failures = (mailbox.poll_failures or 0) + 1
    mailbox.last_poll_at, mailbox.last_poll_ok, mailbox.last_poll_error = now, False, problem.message
    mailbox.last_poll_count = result.taken
    mailbox.next_poll_at = now + timedelta(seconds=backoff_seconds(mailbox))
    db.session.commit()
    log.warning("mailbox %s: poll failed (%s): %s", mailbox.address, problem.kind, problem.message)
    result.status, result.error = "failed", problem.message
    return result


def _succeeded(mailbox_id: int, result: PollResult) -> PollResult:
    now = utcnow()
    mailbox = db.session.get(Mailbox, mailbox_id)
    mailbox.poll_failures = 0
    mailbox.last_poll_at, mailbox.last_poll_ok, mailbox.last_poll_error = now, True, result.error
    mailbox.last_poll_count = result.taken
    mailbox.next_poll_at = now if result.more else now + timedelta(minutes=mailbox.poll_minutes or 5)
    db.session.commit()
    return result


def backoff_seconds(mailbox: Mailbox) -> int:
    """The interval after a success; doubling with each failure in a row, at most an hour (or the
    interval, when that is longer)."""
    base = (mailbox.poll_minutes or 5) * 60
    failures = max(mailbox.poll_failures or 0, 1)
    return int(min(base * 2 ** min(failures - 1, 16), max(base, MAX_BACKOFF_SECONDS)))


# --------------------------------------------------------------------------------------------
# Scheduling
# --------------------------------------------------------------------------------------------
def due_mailboxes(now: datetime) -> list[int]:
    return list(db.session.scalars(
        select(Mailbox.id).where(Mailbox.active.is_(True), Mailbox.imap_host.is_not(None), Mailbox.imap_host != "",
                                 or_(Mailbox.next_poll_at.is_(None), Mailbox.next_poll_at <= now),
                                 or_(Mailbox.poll_lease_until.is_(None), Mailbox.poll_lease_until < now))
        .order_by(Mailbox.next_poll_at, Mailbox.id)))


def enqueue_due_polls(now: Optional[datetime] = None) -> int:
    """The periodic task: one poll job per due mailbox. Its next time is pushed forward first, so a
    backlogged queue doesn't collect the same mailbox every tick; the job sets it properly after."""
    from ...queue import get_queue

    now = now or utcnow()
    ids = due_mailboxes(now)
    for mailbox_id in ids:
        mailbox = db.session.get(Mailbox, mailbox_id)
        mailbox.next_poll_at = now + timedelta(minutes=mailbox.poll_minutes or 5)
    db.session.commit()
    for mailbox_id in ids:
        try:
            get_queue().enqueue("portal.channels.mail.imap.poll_mailbox_job", mailbox_id,
                                job_timeout=current_app.config["MAIL_POLL_JOB_TIMEOUT_SECONDS"],
                                description=f"poll mailbox {mailbox_id}")
        except Exception:  # noqa: BLE001 - Redis down: the mailbox comes due again after its interval
            log.warning("could not enqueue the poll of mailbox %s", mailbox_id, exc_info=True)
    return len(ids)


def poll_mailbox_job(mailbox_id: int) -> str:
    """RQ entry point (takes an id, safe to run twice: the lease and the UID mark)."""
    return str(poll_mailbox(mailbox_id))
