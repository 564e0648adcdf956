"""The action vocabulary: what rules, macros and blueprints do to a ticket.

    validate_actions(actions, catalogue) -> [ActionError(path="actions.<i>", message)]
    apply_actions(ticket, actions, actor=Actor(...), context=ActionContext(...)) -> ActionResult
    register_assignment_strategy(name, fn)

See vocabulary.py (the types and their settings), execute.py (order, dry run, errors),
templates.py (sandboxed message templates); webhook address checks are portal.channels.netguard.
"""
from .execute import (ACTION_ERRORS, ActionContext, ActionFailed, ActionResult, apply_actions, dry_run_scope,
                      needs_savepoint, ticket_payload)
from .templates import TemplateProblem
from .vocabulary import (ACTION_TYPES, EMAIL_TO, NOTIFY_TO, SETTABLE, ActionError, assignment_strategies,
                         register_assignment_strategy, unregister_assignment_strategy, validate_actions)

__all__ = [
    "ACTION_ERRORS", "ACTION_TYPES", "EMAIL_TO", "NOTIFY_TO", "SETTABLE", "ActionContext", "ActionError",
    "ActionFailed", "ActionResult", "TemplateProblem", "apply_actions", "assignment_strategies", "dry_run_scope", "needs_savepoint",
    "register_assignment_strategy", "ticket_payload", "unregister_assignment_strategy", "validate_actions",
]
