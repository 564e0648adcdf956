"""The command-line entry points: clear messages on bad input, nothing half-created."""
from sqlalchemy import func, select

from factories import make_department
from portal.extensions import db
from portal.models import Ticket, User
from portal.services.accounts import check_password


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_create_user_with_departments(app):
    make_department(name="Returns", name_zh="退换货")
    result = run(app, "create-user", "--email", "New.Agent@Example.com", "--password", "long-enough-1",
                 "--role", "supervisor", "--department", "退换货")
    assert result.exit_code == 0, result.output
    assert "created supervisor new.agent@example.com" in result.output
    user = db.session.scalar(select(User).filter_by(email="new.agent@example.com"))
    assert user.role == "supervisor" and [d.name for d in user.departments] == ["Returns"]
    assert check_password(user, "long-enough-1")


def test_create_user_refuses_an_unknown_department_and_creates_nobody(app):
    result = run(app, "create-user", "--email", "x@example.com", "--password", "long-enough-1",
                 "--department", "Nowhere")
    assert result.exit_code != 0
    assert "no department named 'Nowhere'" in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_create_user_refuses_a_short_password(app):
    result = run(app, "create-user", "--email", "x@example.com", "--password", "short")
    assert result.exit_code != 0 and "at least 8 characters" in result.output


def test_create_user_refuses_a_duplicate_email(app):
    assert run(app, "create-user", "--email", "x@example.com", "--password", "long-enough-1").exit_code == 0
    result = run(app, "create-user", "--email", "X@example.com", "--password", "long-enough-1")
    assert result.exit_code != 0 and "could not create" in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_create_user_refuses_an_unknown_role(app):
    result = run(app, "create-user", "--email", "x@example.com", "--password", "long-enough-1", "--role", "boss")
    assert result.exit_code != 0 and "boss" in result.output


def test_seed_demo_if_empty_runs_once_and_prints_the_logins(app):
    first = run(app, "seed-demo", "--if-empty", "--tickets", "12")
    assert first.exit_code == 0, first.output
    assert "admin@demo.example.com" in first.output and "demo-pass-1" in first.output
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 12
    second = run(app, "seed-demo", "--if-empty", "--tickets", "12")
    assert second.exit_code == 0 and "already there" in second.output
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 12


def test_worker_without_redis_explains_the_embedded_queue(app):
    result = run(app, "worker", "--burst")
    assert result.exit_code != 0 and "REDIS_URL is not set" in result.output


def test_scheduler_once_sweeps_and_exits(app):
    result = run(app, "scheduler", "--once")
    assert result.exit_code == 0, result.output
