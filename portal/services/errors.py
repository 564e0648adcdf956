"""Errors a service raises for a person to read; views turn them into field messages."""
from flask_babel import gettext as _


class ValidationFailed(ValueError):
    """One or more fields are invalid. `errors` maps field name -> message (already translated)."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class StaleEdit(Exception):
    """The ticket changed since the editor loaded it; `changes` says who changed what meanwhile."""

    def __init__(self, ticket, changes: list):
        super().__init__(f"ticket #{ticket.id} changed meanwhile")
        self.ticket = ticket
        self.changes = changes

    @property
    def changed_by(self) -> str:
        names = []
        for event in self.changes:
            if event.actor_name not in names:
                names.append(event.actor_name)
        return ", ".join(names) or _("someone")
