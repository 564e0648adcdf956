"""Passwords (argon2) and sign-in throttling."""
from __future__ import annotations

from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import delete, func, select

from ..extensions import db
from ..models import LoginAttempt, User, utcnow

_hasher = PasswordHasher()
MIN_PASSWORD = 8


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(user: User, password: str) -> bool:
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return True


def _throttle_key(email: str, address: str | None) -> str:
    return f"{email.strip().lower()}|{address or '-'}"


def is_throttled(email: str, address: str | None) -> bool:
    window = utcnow() - timedelta(seconds=current_app.config["LOGIN_WINDOW_SECONDS"])
    failures = db.session.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.key == _throttle_key(email, address), LoginAttempt.created_at > window))
    return failures >= current_app.config["LOGIN_MAX_FAILURES"]


def authenticate(email: str, password: str, address: str | None) -> User | None:
    """The user if the password is right and the account is active; records failures."""
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is not None and user.active and check_password(user, password):
        db.session.execute(delete(LoginAttempt).where(LoginAttempt.key == _throttle_key(email, address)))
        return user
    if user is None:
        _hasher.hash(password)  # spend the same time either way: no account enumeration by timing
    db.session.add(LoginAttempt(key=_throttle_key(email, address)))
    return None


def create_user(*, email: str, password: str, name: str | None = None, role: str = "agent",
                departments=(), **attrs) -> User:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"the password must have at least {MIN_PASSWORD} characters")
    email = email.strip().lower()
    user = User(email=email, name=name or email.split("@")[0], role=role,
                password_hash=hash_password(password), **attrs)
    user.departments = list(departments)
    db.session.add(user)
    db.session.flush()
    return user
