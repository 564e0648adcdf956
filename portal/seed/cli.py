import click
from flask.cli import with_appcontext


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing if the desk already has users (make run).")
@click.option("--tickets", default=300, show_default=True)
@click.option("--seed", default=42, show_default=True)
@with_appcontext
def seed_demo_command(if_empty, tickets, seed):
    """Create the demo desk (departments, teams, agents, customers, tickets)."""
    from .demo import DEMO_LOGINS, desk_is_empty, seed_demo
    if if_empty and not desk_is_empty():
        click.echo("Demo desk already there.")
    else:
        seed_demo(tickets=tickets, seed=seed)
        click.echo(f"Seeded the demo desk with {tickets} tickets.")
    click.echo("Sign in with (password for all: demo-pass-1):")
    for email, role in DEMO_LOGINS:
        click.echo(f"  {role:<11} {email}")
