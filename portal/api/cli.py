"""`flask --app wsgi create-token --email E`: an API token for an agent, printed once; `sweep-uploads`."""
from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ..extensions import db
from ..models import User
from ..models.tokens import DEFAULT_SCOPES, SCOPES


@click.command("create-token")
@click.option("--email", required=True, help="The agent the token acts as.")
@click.option("--name", default="", help="What the token is for (shown in lists).")
@click.option("--scope", "scopes", multiple=True, type=click.Choice(SCOPES),
              help="Repeatable; default: tickets:read, tickets:write and contacts:read.")
@with_appcontext
def create_token_command(email, name, scopes):
    """Create an API token; the secret is printed once and never stored."""
    from ..services.api_tokens import create_token
    from ..services.errors import ValidationFailed
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.BadParameter(f"no agent with the email {email}", param_hint="--email")
    try:
        token, secret = create_token(user, name, scopes or DEFAULT_SCOPES)
        db.session.commit()
    except ValidationFailed as exc:
        raise click.ClickException("; ".join(f"{k}: {v}" for k, v in exc.errors.items())) from None
    click.echo(secret)
    click.echo(f"token {token.prefix}… for {user.email}, scopes {' '.join(token.scopes)}", err=True)


@click.command("sweep-uploads")
@with_appcontext
def sweep_uploads_command():
    """Delete files uploaded through the API that no message used before the upload expired."""
    from .attachments import sweep_unclaimed_uploads
    click.echo(f"removed {sweep_unclaimed_uploads()} unused uploads")
