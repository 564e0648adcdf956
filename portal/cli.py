"""Command-line entry points: `flask --app wsgi <command>`."""
import time

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from .extensions import db
from .models import ROLES, Department

PERIODIC_TICK_SECONDS = 5  # how often the scheduler looks for due periodic tasks


@click.command("create-user")
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--role", type=click.Choice(ROLES), default="agent", show_default=True)
@click.option("--name", default=None)
@click.option("--department", "departments", multiple=True, help="Department name (repeatable).")
@with_appcontext
def create_user_command(email, password, role, name, departments):
    """Create a sign-in for an agent, supervisor or admin."""
    from .services.accounts import create_user
    depts = []
    for dept_name in departments:
        dept = db.session.scalar(select(Department).where(
            (Department.name == dept_name) | (Department.name_zh == dept_name)))
        if dept is None:
            raise click.BadParameter(f"no department named {dept_name!r}", param_hint="--department")
        depts.append(dept)
    try:
        user = create_user(email=email, password=password, name=name, role=role, departments=depts)
        db.session.commit()
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--password") from None
    except Exception as exc:  # duplicate email and the like: say it plainly
        db.session.rollback()
        raise click.ClickException(f"could not create {email}: {exc.__class__.__name__}") from None
    click.echo(f"created {user.role} {user.email}")


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty (tests, cron).")
@with_appcontext
def worker_command(burst):
    """Run an RQ worker for this desk (needs REDIS_URL)."""
    from .queue import get_queue
    queue = get_queue()
    if queue.mode != "rq":
        raise click.ClickException("REDIS_URL is not set: `make run` runs jobs in-process, no worker needed.")
    queue.make_worker().work(burst=burst, with_scheduler=True)


@click.command("scheduler")
@click.option("--every", default=None, type=int, help="Seconds between sweeps (default: OUTBOX_SWEEP_SECONDS).")
@click.option("--once", is_flag=True, help="One outbox sweep and every periodic task, then exit.")
@with_appcontext
def scheduler_command(every, once):
    """Run the periodic sweeps: stranded outbox events, and the periodic tasks feature packages
    register (time-based rules, outbound retries, SLA). One per desk."""
    from .events import run_due_periodic
    from .jobs import sweep_outbox
    every = every or current_app.config["OUTBOX_SWEEP_SECONDS"]
    last_sweep = None
    while True:
        if once or last_sweep is None or time.monotonic() - last_sweep >= every:
            last_sweep = time.monotonic()
            with current_app.app_context():
                count = sweep_outbox()
            if count:
                click.echo(f"re-enqueued {count} stranded events")
        # Each periodic task keeps its own interval; checking often keeps them on time.
        ran = run_due_periodic(force=once)
        if once:
            if ran:
                click.echo("ran " + ", ".join(ran))
            return
        time.sleep(min(every, PERIODIC_TICK_SECONDS))


def init_app(app: Flask) -> None:
    from .channels.mail import init_app as init_mail  # ingest-email, poll-mail, the mail_poll periodic task
    from .seed.cli import seed_demo_command
    for command in (create_user_command, worker_command, scheduler_command, seed_demo_command):
        app.cli.add_command(command)
    init_mail(app)
