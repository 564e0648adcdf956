"""Passwords (argon2) and sign-in throttling."""
import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from factories import PASSWORD, make_agent, make_department
from portal.extensions import db
from portal.models import LoginAttempt
from portal.services import accounts

pytestmark = pytest.mark.integration

ADDRESS = "203.0.113.7"


def attempts() -> int:
    return db.session.scalar(select(func.count()).select_from(LoginAttempt))


def test_passwords_are_argon2id_hashes():
    hashed = accounts.hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert "correct horse" not in hashed
    assert accounts.hash_password("correct horse battery") != hashed  # salted


def test_check_password(app):
    user = make_agent()
    assert accounts.check_password(user, PASSWORD)
    assert not accounts.check_password(user, PASSWORD.upper())
    assert not accounts.check_password(user, "")
    user.password_hash = "not a hash"
    assert not accounts.check_password(user, PASSWORD)


def test_check_password_upgrades_an_outdated_hash(app):
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("old-password-1")
    user = make_agent(password_hash=weak)
    assert accounts.check_password(user, "old-password-1")
    assert user.password_hash != weak and user.password_hash.startswith("$argon2id$")
    assert accounts.check_password(user, "old-password-1")


def test_authenticate(app):
    user = make_agent(email="ann@example.com")
    assert accounts.authenticate("ann@example.com", PASSWORD, ADDRESS) is user
    assert accounts.authenticate("  ANN@Example.COM ", PASSWORD, ADDRESS) is user  # case and spaces
    assert attempts() == 0


def test_failures_are_recorded_and_a_success_clears_them(app):
    make_agent(email="ann@example.com")
    assert accounts.authenticate("ann@example.com", "wrong-password", ADDRESS) is None
    assert accounts.authenticate("nobody@example.com", "wrong-password", ADDRESS) is None
    assert attempts() == 2
    assert accounts.authenticate("ann@example.com", PASSWORD, ADDRESS) is not None
    assert attempts() == 1  # only the unknown account's failure is left


def test_deactivated_agents_cannot_sign_in(app):
    make_agent(email="gone@example.com", active=False)
    assert accounts.authenticate("gone@example.com", PASSWORD, ADDRESS) is None
    assert attempts() == 1


def test_throttling_after_max_failures(app):
    app.config["LOGIN_MAX_FAILURES"] = 3
    make_agent(email="ann@example.com")
    for _ in range(2):
        accounts.authenticate("ann@example.com", "guess", ADDRESS)
    assert not accounts.is_throttled("ann@example.com", ADDRESS)
    accounts.authenticate("Ann@example.com", "guess", ADDRESS)
    db.session.commit()
    assert accounts.is_throttled("ann@example.com", ADDRESS)
    assert accounts.is_throttled(" ANN@EXAMPLE.COM", ADDRESS)
    # per account and address: another address, or another account, is not throttled
    assert not accounts.is_throttled("ann@example.com", "198.51.100.1")
    assert not accounts.is_throttled("bob@example.com", ADDRESS)


def test_throttling_window(app):
    app.config["LOGIN_MAX_FAILURES"] = 2
    for _ in range(2):
        accounts.authenticate("ann@example.com", "guess", ADDRESS)
    assert accounts.is_throttled("ann@example.com", ADDRESS)
    app.config["LOGIN_WINDOW_SECONDS"] = 0  # the failures are now older than the window
    assert not accounts.is_throttled("ann@example.com", ADDRESS)


def test_default_limit_is_configured(app):
    assert app.config["LOGIN_MAX_FAILURES"] == 5
    for i in range(5):
        assert not accounts.is_throttled("ann@example.com", ADDRESS), i
        accounts.authenticate("ann@example.com", "guess", ADDRESS)
    assert accounts.is_throttled("ann@example.com", ADDRESS)


def test_create_user(app):
    dept = make_department()
    user = accounts.create_user(email=" New.Agent@Example.com ", password="long-enough", departments=[dept])
    assert (user.email, user.name, user.role, user.department_ids) == (
        "new.agent@example.com", "new.agent", "agent", [dept.id])
    assert accounts.authenticate("new.agent@example.com", "long-enough", ADDRESS) is user
    with pytest.raises(ValueError, match="at least 8"):
        accounts.create_user(email="short@example.com", password="short")
