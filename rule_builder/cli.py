"""`flask --app wsgi rules export [FILE]` and `flask --app wsgi rules import FILE`."""
from __future__ import annotations

import json

import click
from flask.cli import AppGroup
from sqlalchemy import select

from portal.extensions import db
from portal.models import User
from portal.services.errors import ValidationFailed

rules_cli = AppGroup("rules", help="Workflow rules: export and import (JSON).")


@rules_cli.command("export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, allow_dash=True), default="-")
def export_command(file):
    """Write every rule, in order, as JSON to FILE (default: standard output)."""
    from .services import export_rules
    text = json.dumps(export_rules(), ensure_ascii=False, indent=2) + "\n"
    if file == "-":
        click.echo(text, nl=False)
    else:
        with open(file, "w", encoding="utf-8") as out:
            out.write(text)
        click.echo(f"exported {len(json.loads(text)['rules'])} rules to {file}", err=True)


@rules_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--by", "by_email", default=None, help="Email of the admin the revisions are recorded for.")
def import_command(file, by_email):
    """Create or update (by name) the rules in FILE. All or nothing: any error imports none."""
    from .services import import_rules
    by = None
    if by_email:
        by = db.session.scalar(select(User).where(User.email == by_email.strip().lower()))
        if by is None:
            raise click.BadParameter(f"no user with email {by_email!r}", param_hint="--by")
    try:
        with click.open_file(file, "rb") as source:
            data = source.read()
        outcome = import_rules(data, by)
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        lines = "\n".join(f"  {message}" for message in exc.errors.values())
        raise click.ClickException(f"nothing imported from {file}:\n{lines}") from None
    click.echo(f"imported {file}: {len(outcome['created'])} created, {len(outcome['updated'])} updated, "
               f"{len(outcome['unchanged'])} unchanged")
