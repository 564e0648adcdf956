"""The condition language: one JSON condition, a field catalogue, validation, and two compilers
(Python predicates for events, SQL clauses for queries). See docs/rules.md and design.md
"One condition language, two backends".

    errors = validate(cond, catalogue, context="event")            # [ConditionError(path, message)]
    predicate = compile_to_python(cond, catalogue)                  # predicate(snapshot, changes) -> bool
    clause = compile_to_sql(cond, catalogue, now=now, me=user.id)   # select(Ticket).where(clause)
    matcher = RuleSetMatcher([(key, cond), ...], catalogue)         # many rules against one ticket
"""
from flask import Flask

from ..extensions import db
from . import fields, regexes, sqlite_functions
from .fields import (Catalogue, CustomFieldSpec, FieldSpec, app_catalogue, register_business_hours,
                     register_custom_field_provider, standard_catalogue)
from .fold import fold
from .matcher import Evaluation, RuleSetMatcher
from .python import Predicate, compile_to_python
from .regexes import ConditionTimeout
from .snapshot import changes_from_payload, snapshot
from .sql import compile_to_sql
from .validate import ConditionError, InvalidCondition, validate

__all__ = [
    "Catalogue", "CustomFieldSpec", "FieldSpec", "app_catalogue", "register_business_hours",
    "register_custom_field_provider", "standard_catalogue", "fold", "Evaluation", "RuleSetMatcher", "Predicate",
    "compile_to_python", "ConditionTimeout", "changes_from_payload", "snapshot", "compile_to_sql",
    "ConditionError", "InvalidCondition", "validate", "init_app",
]


def init_app(app: Flask) -> None:
    """SQLite functions on the app's engines; REGEX_TIMEOUT_SECONDS and BUSINESS_TIMEZONE from config."""
    with app.app_context():
        for engine in db.engines.values():
            sqlite_functions.install(engine)
    regexes.settings["timeout"] = float(app.config.get("REGEX_TIMEOUT_SECONDS", regexes.settings["timeout"]))
    fields.business_settings["timezone"] = app.config.get("BUSINESS_TIMEZONE", fields.business_settings["timezone"])
