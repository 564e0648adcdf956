"""Mailbox passwords at rest: sealed with Fernet (the `cryptography` package: AES-128-CBC + HMAC-SHA256),
under a key derived with HKDF-SHA256 from `MAIL_CREDENTIALS_KEY`, or from `SECRET_KEY` when that is
not set.

Why encrypt at all: the poller needs the password itself (IMAP LOGIN), so it can't be hashed, and a
database dump or backup is copied to more places than the app's configuration is. Sealed, a dump alone
doesn't give away the mailbox. The key lives in the configuration, never in the database.

Changing the key (or SECRET_KEY without MAIL_CREDENTIALS_KEY) makes stored passwords unreadable:
the poller then records "enter the password again" on the mailbox instead of guessing.
"""
from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

_INFO = b"deskwright mailbox credentials v1"


class CredentialsUnreadable(Exception):
    """The stored password was sealed under another key."""


def _fernet() -> Fernet:
    secret = current_app.config.get("MAIL_CREDENTIALS_KEY") or current_app.config["SECRET_KEY"]
    if isinstance(secret, str):
        secret = secret.encode()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret)
    return Fernet(base64.urlsafe_b64encode(key))


def seal(password: str) -> str:
    return _fernet().encrypt(password.encode()).decode("ascii")


def unseal(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, ValueError):
        raise CredentialsUnreadable("the stored password can't be decrypted (the credentials key changed?); "
                                    "enter the password again") from None
