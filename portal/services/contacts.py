"""Contacts: the customers tickets are for, found by any of their identities.

An identity (an email address, a phone number, a WeChat openid) belongs to exactly one contact,
in one stored form (`normalise_identity`): emails lower-cased, phones in E.164. Services flush;
the caller commits. Every change by a person leaves a ContactEvent (who, when, what).
"""
from __future__ import annotations

import hashlib
import re
from typing import Iterable, Optional
from zoneinfo import available_timezones

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from flask import current_app, has_app_context
from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased, joinedload

from ..extensions import db
from ..models import (IDENTITY_KINDS, TIERS, Account, Contact, ContactEvent, ContactIdentity, Thread, Ticket, User,
                      utcnow)
from .errors import ValidationFailed
from .scoping import ticket_scope
from .tickets import move_contact

NAME_MAX = 200
ACCOUNT_MAX = 200
# A WeChat openid is 28 characters of base64url today; allow some room, nothing else.
OPENID_RE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


class IdentityTaken(ValidationFailed):
    """The identity already belongs to another contact (`owner`); errors["value"] names them."""

    def __init__(self, owner: Contact, kind: str, value: str):
        super().__init__({"value": _("%(value)s already belongs to %(name)s.", value=value, name=owner.name)})
        self.owner = owner
        self.kind = kind
        self.value = value


class MergeRefused(Exception):
    """A merge that can't be done as asked (into itself, an already merged contact, a preview that
    no longer holds, no right to). `message` is translated, for a person to read."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --------------------------------------------------------------------------------------------
# Identities
# --------------------------------------------------------------------------------------------
def default_region() -> Optional[str]:
    region = current_app.config.get("PHONE_DEFAULT_REGION") if has_app_context() else None
    return (region or "").upper() or None


def _parse_phone(value: str) -> Optional[phonenumbers.PhoneNumber]:
    try:
        number = phonenumbers.parse(value, default_region())
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_possible_number(number) else None


def normalise_identity(kind: str, value: str) -> str:
    """The stored form of an identity: emails lower-cased, phone numbers in E.164 (a number
    without a country code is read in PHONE_DEFAULT_REGION), the rest trimmed. Never raises: a
    phone number that can't be read is kept as given (trimmed), so a channel never loses a
    message over it; `validate_identity` is the strict check for what people type."""
    value = (value or "").strip()
    if kind == "email":
        return value.lower()
    if kind == "phone" and value:
        number = _parse_phone(value)
        if number is not None:
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return value


def validate_identity(kind: str, value: str) -> str:
    """The stored form of a typed identity, or ValidationFailed ({"kind"} or {"value"}) saying
    what is wrong with it."""
    if kind not in IDENTITY_KINDS:
        raise ValidationFailed({"kind": _("Unknown kind of identity.")})
    value = (value or "").strip()
    if not value:
        raise ValidationFailed({"value": _("Please enter a value.")})
    if kind == "email":
        try:
            validate_email(value, check_deliverability=False)
        except EmailNotValidError:
            raise ValidationFailed({"value": _("%(value)s is not an email address.", value=value)}) from None
        if len(value) > 320:
            raise ValidationFailed({"value": _("An email address may be at most 320 characters.")})
    elif kind == "phone":
        number = _parse_phone(value)
        if number is None or not phonenumbers.is_valid_number(number):
            if value.startswith("+") or default_region() is None:
                message = _("%(value)s is not a phone number.", value=value)
            else:
                message = _("%(value)s is not a phone number (without a country code it is read as a "
                            "number in %(region)s; start with + for another country).",
                            value=value, region=default_region())
            raise ValidationFailed({"value": message})
    elif kind == "wechat" and not OPENID_RE.match(value):
        raise ValidationFailed({"value": _("A WeChat openid has only letters, digits, - and _ (up to 128).")})
    return normalise_identity(kind, value)


def display_identity(kind: str, value: str) -> str:
    """How people read an identity: phones in international format (+86 138 0013 8000)."""
    if kind == "phone":
        try:
            number = phonenumbers.parse(value, None)
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        except phonenumbers.NumberParseException:
            return value
    return value


def find_contact_by_identity(kind: str, value: str) -> Contact | None:
    """The contact owning this identity, with all their identities loaded: one query (every
    channel calls this for every message, and the answer usually shows the contact's email)."""
    owned = aliased(ContactIdentity)
    return db.session.scalars(
        select(Contact).join(owned, owned.contact_id == Contact.id)
        .where(owned.kind == kind, owned.value == normalise_identity(kind, value))
        .options(joinedload(Contact.identities))).unique().first()


def find_or_create_by_identity(kind: str, value: str, name: str | None = None) -> Contact:
    """The contact who owns this identity (email, phone, wechat openid), or a new one with it
    (flushed, not committed). A new contact without a name is called by the identity."""
    value = normalise_identity(kind, value)
    contact = find_contact_by_identity(kind, value)
    if contact is not None:
        return contact
    fallback = value.split("@")[0] if kind == "email" else display_identity(kind, value)
    contact = Contact(name=(name or "").strip()[:NAME_MAX] or fallback[:NAME_MAX])
    contact.identities.append(ContactIdentity(kind=kind, value=value))
    db.session.add(contact)
    db.session.flush()
    return contact


def find_or_create_contact(email: str, name: str | None) -> Contact:
    """The contact who owns this email address, or a new one with it (flushed, not committed)."""
    return find_or_create_by_identity("email", email, name)


def _audit(contact: Contact, action: str, by: User | str | None, detail: dict) -> ContactEvent:
    event = ContactEvent(contact_id=contact.id, action=action, detail=detail, created_at=utcnow(),
                         actor_id=by.id if isinstance(by, User) else None,
                         actor_label=None if isinstance(by, User) else (by or "system"))
    db.session.add(event)
    return event


def add_identity(contact: Contact, kind: str, value: str, by: User | str | None = None) -> ContactIdentity:
    """Give `contact` one more identity, in its stored form (flushed). Adding one it already has
    changes nothing. Raises ValidationFailed for a bad kind or value, and IdentityTaken (a
    ValidationFailed naming the owner) when another contact owns it."""
    value = validate_identity(kind, value)
    existing = db.session.scalar(select(ContactIdentity).filter_by(kind=kind, value=value))
    if existing is not None:
        if existing.contact_id == contact.id:
            return existing
        raise IdentityTaken(existing.contact, kind, display_identity(kind, value))
    identity = ContactIdentity(kind=kind, value=value)
    contact.identities.append(identity)
    try:
        with db.session.begin_nested():  # another request may have taken it meanwhile
            db.session.flush()
    except Exception:
        owner = find_contact_by_identity(kind, value)
        if owner is None:
            raise
        if identity in contact.identities:
            contact.identities.remove(identity)
        raise IdentityTaken(owner, kind, display_identity(kind, value)) from None
    _audit(contact, "identity_added", by, {"kind": kind, "value": value})
    db.session.flush()
    return identity


def remove_identity(contact: Contact, kind: str, value: str, by: User | str | None = None) -> None:
    """Take an identity away from `contact` (flushed). Raises ValidationFailed ({"value"}) when
    the contact doesn't have it, or when it is their last one (a contact nobody can reach or
    recognise would pile up as a duplicate)."""
    stored = normalise_identity(kind, value)
    identity = next((i for i in contact.identities if i.kind == kind and i.value == stored), None)
    if identity is None:
        raise ValidationFailed({"value": _("%(value)s is not one of %(name)s's identities.",
                                           value=value, name=contact.name)})
    if len(contact.identities) == 1:
        raise ValidationFailed({"value": _("A contact keeps at least one identity; add another first.")})
    contact.identities.remove(identity)
    _audit(contact, "identity_removed", by, {"kind": kind, "value": stored})
    db.session.flush()


# --------------------------------------------------------------------------------------------
# Details
# --------------------------------------------------------------------------------------------
CONTACT_FIELDS = ("name", "account", "tier", "language", "timezone")


def update_contact(contact: Contact, changes: dict, by: User | str | None = None) -> dict:
    """Change a contact's details (flushed). `changes` may hold: name; account (a company name,
    found or created; "" or None for none); tier ("standard", "vip", or ""/None to follow the
    account); language (one of the app's LANGUAGES); timezone (an IANA name such as
    "Asia/Shanghai"). Returns {field: (old, new)} of what changed. Raises ValidationFailed with
    a message per bad field (unknown fields included); nothing is changed then."""
    errors: dict[str, str] = {}
    values: dict = {}
    for field in sorted(set(changes) - set(CONTACT_FIELDS)):
        errors[field] = _("This field cannot be changed here.")
    if "name" in changes:
        name = " ".join(str(changes["name"] or "").split())
        if not name:
            errors["name"] = _("A name is required.")
        elif len(name) > NAME_MAX:
            errors["name"] = _("A name may be at most %(n)d characters.", n=NAME_MAX)
        values["name"] = name
    if "account" in changes:
        account = changes["account"]
        if isinstance(account, Account) or account is None:
            values["account"] = account
        else:
            account_name = " ".join(str(account).split())
            if len(account_name) > ACCOUNT_MAX:
                errors["account"] = _("An account name may be at most %(n)d characters.", n=ACCOUNT_MAX)
            values["account"] = account_name or None
    if "tier" in changes:
        tier = changes["tier"] or None
        if tier is not None and tier not in TIERS:
            errors["tier"] = _("Unknown tier.")
        values["tier"] = tier
    if "language" in changes:
        languages = current_app.config.get("LANGUAGES", {"en": "English"})
        if changes["language"] not in languages:
            errors["language"] = _("Unknown language.")
        values["language"] = changes["language"]
    if "timezone" in changes:
        tz = str(changes["timezone"] or "").strip()
        if tz not in _timezones():
            errors["timezone"] = _("Unknown time zone; use a name such as Asia/Shanghai.")
        values["timezone"] = tz
    if errors:
        raise ValidationFailed(errors)
    if isinstance(values.get("account"), str):
        name = values["account"]
        values["account"] = (db.session.scalar(select(Account).where(func.lower(Account.name) == name.lower()))
                             or Account(name=name))
    diff = {}
    for field, new in values.items():
        old = getattr(contact, field)
        if old != new:
            diff[field] = (old, new)
            setattr(contact, field, new)
    if diff:
        _audit(contact, "updated", by, {f: [_plain(o), _plain(n)] for f, (o, n) in diff.items()})
        db.session.flush()
    return diff


def _plain(value):
    return value.name if isinstance(value, Account) else value


_TZ_CACHE: set[str] = set()


def _timezones() -> set[str]:
    if not _TZ_CACHE:
        _TZ_CACHE.update(available_timezones())
    return _TZ_CACHE


# --------------------------------------------------------------------------------------------
# Finding contacts, their tickets and messages
# --------------------------------------------------------------------------------------------
def live_contact(contact_id: int) -> tuple[Optional[Contact], Optional[Contact]]:
    """(contact, survivor): a merged contact's survivor, so its old links can redirect."""
    contact = db.session.get(Contact, contact_id)
    if contact is None or contact.merged_into_id is None:
        return contact, None
    survivor, seen = contact, set()
    while survivor.merged_into_id is not None and survivor.id not in seen:
        seen.add(survivor.id)
        survivor = survivor.merged_into
    return contact, survivor


def search_contacts(query: str = "", *, exclude: Iterable[int] = ()):
    """A SELECT of live (not merged) contacts whose name or any identity contains `query`
    (a phone query also matches its E.164 form), by name."""
    stmt = select(Contact).where(Contact.merged_into_id.is_(None))
    exclude = list(exclude)
    if exclude:
        stmt = stmt.where(Contact.id.not_in(exclude))
    query = " ".join((query or "").split())
    if query:
        needles = {query.lower()}
        phone = normalise_identity("phone", query)
        if phone.startswith("+"):
            needles.add(phone.lower())
        conditions = []
        for needle in needles:
            pattern = "%" + needle.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"
            conditions.append(func.lower(Contact.name).like(pattern, escape="\\"))
            conditions.append(Contact.id.in_(select(ContactIdentity.contact_id).where(
                func.lower(ContactIdentity.value).like(pattern, escape="\\"))))
        stmt = stmt.where(or_(*conditions))
    return stmt.order_by(func.lower(Contact.name), Contact.id)


def contact_tickets(contact: Contact, user: User):
    """A SELECT of the contact's tickets that `user` may see (the queue's scope), newest first."""
    return (select(Ticket).where(ticket_scope(user), Ticket.contact_id == contact.id)
            .order_by(Ticket.updated_at.desc(), Ticket.id.desc()))


def contact_timeline(contact: Contact, user: User):
    """A SELECT of the messages on the contact's tickets and the ones they wrote on others'
    (copied in), across channels, newest first, on tickets `user` may see. Internal notes are
    included: only agents read this page."""
    return (select(Thread).join(Ticket, Thread.ticket_id == Ticket.id)
            .where(ticket_scope(user), or_(Ticket.contact_id == contact.id, Thread.contact_id == contact.id))
            .order_by(Thread.created_at.desc(), Thread.id.desc()))


# --------------------------------------------------------------------------------------------
# Merging
# --------------------------------------------------------------------------------------------
def can_merge(user: User, source: Contact) -> bool:
    """Who may merge `source` away: admins, and agents who can see every one of its tickets
    (a merge moves them all; nobody moves tickets they can't see)."""
    if user.is_admin:
        return True
    ids = user.department_ids
    hidden = select(Ticket.id).where(Ticket.contact_id == source.id)
    if ids:
        hidden = hidden.where(Ticket.department_id.not_in(ids))
    return db.session.scalar(hidden.limit(1)) is None


def merge_preview(source: Contact, into: Contact) -> dict:
    """What a merge of `source` into `into` would move: tickets, identities, account, and a
    fingerprint to hand back to merge_contacts so it refuses if any of this changed meanwhile."""
    ticket_ids = list(db.session.scalars(select(Ticket.id).where(Ticket.contact_id == source.id)
                                         .order_by(Ticket.id)))
    identities = [(i.kind, i.value) for i in source.identities]
    account = source.account if into.account is None else None
    raw = f"{source.id}>{into.id}|{ticket_ids}|{identities}|{source.account_id}|{into.account_id}"
    return {"tickets": ticket_ids, "identities": identities, "account": account,
            "tier": source.tier if into.tier is None else None,
            "fingerprint": hashlib.sha256(raw.encode()).hexdigest()[:16]}


def merge_contacts(source: Contact, into: Contact, by: User | str | None, *,
                   fingerprint: str | None = None) -> ContactEvent:
    """Merge `source` into `into`: its tickets change contact through the ticket service (each
    ticket's History records it), the messages it wrote are re-attributed, its identities move,
    `into` takes its account and tier when it has none, and `source` is marked merged into
    `into` (its page redirects there). One ContactEvent ("merged") on `into` records who, when
    and what. Flushed, in the caller's transaction: the caller commits, or rolls back on any
    error so nothing is half-merged (a StaleEdit has already rolled the session back).

    Raises MergeRefused: merging a contact into itself, either contact already merged, `by` (a
    User) may not (see can_merge), or `fingerprint` (from merge_preview) no longer matching.
    Raises StaleEdit when one of the tickets changed at the same moment.
    """
    if source.id == into.id:
        raise MergeRefused(_("A contact can't be merged into itself."))
    # Lock both rows (PostgreSQL) so two merges of the same contacts can't cross; then judge
    # their state as it is now, not as the caller loaded it.
    for contact in sorted((source, into), key=lambda c: c.id):
        db.session.execute(select(Contact).where(Contact.id == contact.id)
                           .with_for_update().execution_options(populate_existing=True)).scalar_one()
    if source.merged_into_id is not None:
        raise MergeRefused(_("%(name)s was already merged into %(into)s.",
                             name=source.name, into=source.merged_into.name))
    if into.merged_into_id is not None:
        raise MergeRefused(_("%(name)s was merged into %(into)s; merge into that contact instead.",
                             name=into.name, into=into.merged_into.name))
    if isinstance(by, User) and not can_merge(by, source):
        raise MergeRefused(_("You can't merge %(name)s: some of their tickets are in departments you "
                             "don't work in. Ask an admin.", name=source.name))
    preview = merge_preview(source, into)
    if fingerprint is not None and fingerprint != preview["fingerprint"]:
        raise MergeRefused(_("%(name)s or %(into)s changed since you looked; please review the merge again.",
                             name=source.name, into=into.name))
    reason = _("Contact %(source)s merged into %(into)s", source=source.name, into=into.name)
    moved = move_contact(source, into, by=by, reason=reason)
    for identity in list(source.identities):
        identity.contact = into  # the same row changes owner (no delete-and-insert on the unique key)
    if preview["account"] is not None:
        into.account = preview["account"]
    if preview["tier"] is not None:
        into.tier = preview["tier"]
    now = utcnow()
    # Earlier merges into `source` now lead straight to the survivor.
    for earlier in db.session.scalars(select(Contact).where(Contact.merged_into_id == source.id)):
        earlier.merged_into = into
    source.merged_into = into
    source.merged_at = now
    event = _audit(into, "merged", by, {
        "source_id": source.id, "source_name": source.name, "tickets": [t.id for t in moved],
        "identities": [list(i) for i in preview["identities"]],
        "account": preview["account"].name if preview["account"] is not None else None})
    db.session.flush()
    return event
