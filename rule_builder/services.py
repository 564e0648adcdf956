"""Saving rules: validation, revisions, rollback, order, export and import.

A rule is a versioned JSON document (what export_rules writes for it):

    {"name": "VIP to senior", "description": "", "department": "Tech support" | null,
     "trigger": "created", "enabled": true, "condition": {...}, "actions": [...]}

`department` is the department's name (null: every department). Conditions and actions name
teams, agents and departments by id, as the builder stores them, so an export moves between
desks whose ids match (a backup, staging -> production); an id that doesn't exist is refused on
import like any other invalid row.

Every save validates everything first - nothing invalid is stored - and raises ValidationFailed
with errors keyed by row: "name", "trigger", "department", "condition", "condition.1.0",
"actions", "actions.2". A save that changes the document makes revision N+1 and a RuleRevision
(author, time, the document, a one-line summary of the difference); saving an unchanged document
changes nothing. Rollback saves an old revision's document as a new revision. Services flush;
the caller commits.
"""
from __future__ import annotations

import json
from typing import Any, Iterable

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select

from portal.extensions import db
from portal.models import Department, User, utcnow
from portal.models.revisions import record_revision
from portal.services.departments import find_department  # noqa: F401  (views and macros use it from here)
from portal.services.errors import ValidationFailed

from .actions import validate_actions
from .catalogue import current_catalogue, validate_condition
from .models import TRIGGERS, Rule, RuleFiring, RuleRevision, TimeRuleEpisode

SCHEMA = 1
NAME_MAX = 200
DESCRIPTION_MAX = 2000
DOCUMENT_KEYS = ("name", "description", "department", "trigger", "enabled", "condition", "actions")


# --------------------------------------------------------------------------------------------
# Documents
# --------------------------------------------------------------------------------------------
def rule_document(rule: Rule) -> dict:
    return {"name": rule.name, "description": rule.description or "",
            "department": rule.department.name if rule.department else None, "trigger": rule.trigger,
            "enabled": bool(rule.enabled), "condition": rule.condition, "actions": list(rule.actions or [])}


def _normalise(data: dict, *, current: Rule | None) -> tuple[dict, dict, Department | None]:
    """(document, errors, department) from form/API/import data. Errors are keyed by row."""
    errors: dict[str, str] = {}
    if not isinstance(data, dict):
        return {}, {"rule": _l("A rule must be a JSON object.")}, None
    unknown = sorted(set(data) - set(DOCUMENT_KEYS) - {"department_id"})
    if unknown:
        errors["rule"] = _l("Unknown key %(key)s.", key=repr(unknown[0]))
    name = data.get("name")
    name = " ".join(name.split()) if isinstance(name, str) else ""
    if not name:
        errors["name"] = _l("A name is required.")
    elif len(name) > NAME_MAX:
        errors["name"] = _l("A name may be at most %(num)d characters.", num=NAME_MAX)
    else:
        clash = db.session.scalar(select(Rule).where(func.lower(Rule.name) == name.lower()))
        if clash is not None and (current is None or clash.id != current.id):
            errors["name"] = _l("A rule named '%(name)s' already exists.", name=clash.name)
    description = data.get("description") or ""
    if not isinstance(description, str) or len(description) > DESCRIPTION_MAX:
        errors["description"] = _l("A description is text of at most %(num)d characters.", num=DESCRIPTION_MAX)
        description = ""
    trigger = data.get("trigger")
    if trigger not in TRIGGERS:
        errors["trigger"] = _l("Choose a trigger: %(triggers)s.", triggers=", ".join(TRIGGERS))
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        errors["enabled"] = _l("Enabled is true or false.")
    raw_dept = data["department_id"] if "department_id" in data else data.get("department")
    department = None
    if raw_dept not in (None, ""):
        department = find_department(raw_dept)
        if department is None:
            errors["department"] = _l("Unknown department %(department)s.", department=repr(raw_dept))
    condition = data.get("condition", {"all": []})
    actions = data.get("actions", [])
    catalogue = current_catalogue()
    errors.update(condition_errors(condition, catalogue, "query" if trigger == "time" else "event"))
    for error in validate_actions(actions, catalogue, department_id=department.id if department else None):
        errors[error.path] = error.message
    if trigger == "time" and isinstance(actions, list) and any(
            isinstance(a, dict) and a.get("type") == "stop" for a in actions):
        errors.setdefault("actions", _l("Time rules run on their own; stop only applies to event rules."))
    document = {"name": name, "description": description, "department": department.name if department else None,
                "trigger": trigger, "enabled": enabled, "condition": condition, "actions": actions}
    return document, errors, department


def summarize(old: dict | None, new: dict) -> str:
    """One line for the revision list: what changed from `old` to `new`."""
    if old is None:
        return "Created."
    return sentence(diff_parts(old, new))


def sentence(parts: list[str]) -> str:
    text = "; ".join(parts) or "no changes"
    return text[0].upper() + text[1:] + "."


def diff_parts(old: dict, new: dict) -> list[str]:
    """The differences between two documents, in words (keys missing from either are ignored)."""
    def changed(key):
        return key in old and key in new and old[key] != new[key]

    parts = []
    if changed("name"):
        parts.append(f"renamed '{old['name']}' → '{new['name']}'")
    if changed("description"):
        parts.append("description changed")
    if changed("department"):
        parts.append(f"department {old['department'] or 'all'} → {new['department'] or 'all'}")
    if changed("trigger"):
        parts.append(f"trigger {old['trigger']} → {new['trigger']}")
    if changed("enabled"):
        parts.append("enabled" if new["enabled"] else "disabled")
    if changed("shared"):
        parts.append("shared" if new["shared"] else "made personal")
    if changed("condition"):
        before, after = _leaf_count(old["condition"]), _leaf_count(new["condition"])
        parts.append("condition changed" + (f" ({before} → {after} conditions)" if before != after else ""))
    if changed("actions"):
        before, after = old["actions"] or [], new["actions"] or []
        if len(before) != len(after):
            parts.append(f"actions {len(before)} → {len(after)}")
        else:
            rows = [str(i) for i, (a, b) in enumerate(zip(before, after)) if a != b]
            parts.append(f"action{'s' if len(rows) > 1 else ''} {', '.join(rows)} changed")
    return parts


def _leaf_count(condition: Any) -> int:
    if isinstance(condition, dict):
        if "field" in condition:
            return 1
        children = condition.get("all", condition.get("any", []))
        if "not" in condition:
            children = [condition["not"]]
        return sum(_leaf_count(c) for c in children) if isinstance(children, list) else 0
    return 0


# --------------------------------------------------------------------------------------------
# Saving
# --------------------------------------------------------------------------------------------
def condition_errors(condition: Any, catalogue, context: str) -> dict:
    """A config's condition problems keyed by row ("condition", "condition.1.0"), as the builder shows them."""
    if not isinstance(condition, dict):
        return {"condition": _l("A condition must be a JSON object.")}
    return {"condition" + (f".{error.path}" if error.path else ""): error.message
            for error in validate_condition(condition, catalogue, context)}


def validate_rule(data: dict, rule: Rule | None = None) -> dict:
    """The errors `save_rule` would raise, keyed by row ({} when valid)."""
    return _normalise(data, current=rule)[1]


def save_rule(rule: Rule | None, data: dict, by: User | None, *, summary: str | None = None) -> Rule:
    """Create (rule=None) or change a rule. Raises ValidationFailed; nothing invalid is stored."""
    document, errors, department = _normalise(data, current=rule)
    if errors:
        raise ValidationFailed(errors)
    now = utcnow()
    old = rule_document(rule) if rule is not None else None
    if old == document:
        return rule
    if rule is None:
        last = db.session.scalar(select(func.max(Rule.position)))
        rule = Rule(revision=0, position=(last + 1) if last is not None else 0, created_at=now,
                    created_by_id=by.id if by else None)
        db.session.add(rule)
    rule.name, rule.description, rule.trigger = document["name"], document["description"], document["trigger"]
    rule.department, rule.department_id = department, department.id if department else None
    rule.enabled, rule.condition, rule.actions = document["enabled"], document["condition"], document["actions"]
    record_revision(rule, RuleRevision, "rule_id", document, by, now, summary or summarize(old, document))
    return rule


def set_enabled(rule: Rule, enabled: bool, by: User | None) -> Rule:
    return save_rule(rule, {**rule_document(rule), "enabled": bool(enabled)}, by)


def rollback(rule: Rule, revision: int, by: User | None) -> Rule:
    """Make `revision`'s document current again, as a new revision (validated like any save)."""
    old = db.session.scalar(select(RuleRevision).filter_by(rule_id=rule.id, revision=revision))
    if old is None:
        raise ValidationFailed({"revision": _l("Rule '%(name)s' has no revision %(revision)d.", name=rule.name,
                                                revision=revision)})
    before = rule_document(rule)
    if before == old.document:
        return rule
    change = summarize(before, old.document)
    return save_rule(rule, old.document, by, summary=f"Rolled back to r{revision}: {change[0].lower()}{change[1:]}")


def revisions(rule: Rule) -> list[RuleRevision]:
    return list(db.session.scalars(select(RuleRevision).filter_by(rule_id=rule.id)
                                   .order_by(RuleRevision.revision.desc())))


def reorder(ids: Iterable[int]) -> None:
    """Put the rules `ids` first, in that order; the others keep their order after them."""
    ids = [int(i) for i in ids]
    rules = list(db.session.scalars(select(Rule).order_by(Rule.position, Rule.id)))
    by_id = {r.id: r for r in rules}
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        raise ValidationFailed({"order": _l("Unknown rule %(rule)s.", rule=unknown[0])})
    ordered = [by_id[i] for i in dict.fromkeys(ids)] + [r for r in rules if r.id not in set(ids)]
    for position, rule in enumerate(ordered):
        rule.position = position
    db.session.flush()


def delete_rule(rule: Rule) -> None:
    """Delete a rule with its revisions, firings and episodes (explicitly: SQLite doesn't enforce
    the foreign keys' ON DELETE CASCADE here)."""
    for model in (RuleFiring, TimeRuleEpisode, RuleRevision):
        db.session.execute(delete(model).where(model.rule_id == rule.id))
    db.session.delete(rule)
    db.session.flush()


def all_rules() -> list[Rule]:
    return list(db.session.scalars(select(Rule).order_by(Rule.position, Rule.id)))


# --------------------------------------------------------------------------------------------
# Export and import
# --------------------------------------------------------------------------------------------
def export_rules() -> dict:
    """{"schema": 1, "rules": [document, ...]} in the admin's order."""
    return {"schema": SCHEMA, "rules": [rule_document(r) for r in all_rules()]}


def import_rules(doc: dict | str | bytes, by: User | None) -> dict[str, list[str]]:
    """Create or update (by name) every rule of an export; all or nothing.

    Errors name the rule and the row: "Rule 'VIP to senior', condition row 1.0: Unknown field
    'cf.size'." The imported rules take the document's order, ahead of the desk's other rules.
    Returns {"created": [names], "updated": [names], "unchanged": [names]}.
    """
    if isinstance(doc, (str, bytes, bytearray)):
        try:
            doc = json.loads(doc)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValidationFailed({"file": _l("Not valid JSON: %(reason)s.", reason=str(exc))}) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("rules"), list):
        raise ValidationFailed({"file": _l("Expected %(shape)s.", shape='{"schema": 1, "rules": [...]}')})
    if doc.get("schema") != SCHEMA:
        raise ValidationFailed({"schema": _l("Unsupported schema %(schema)s; this desk reads schema %(supported)d.",
                                              schema=repr(doc.get("schema")), supported=SCHEMA)})
    errors: dict[str, str] = {}
    seen: dict[str, int] = {}
    plan = []
    for i, data in enumerate(doc["rules"]):
        name = data.get("name") if isinstance(data, dict) else None
        label = _l("Rule '%(name)s'", name=name) if isinstance(name, str) and name.strip() else \
            _l("Rule %(num)d", num=i + 1)
        if not isinstance(data, dict):
            errors[f"rules.{i}"] = _l("%(rule)s: a rule must be a JSON object.", rule=label)
            continue
        key = " ".join(name.split()).lower() if isinstance(name, str) else ""
        if key and key in seen:
            errors[f"rules.{i}.name"] = _l("%(rule)s: the name is used twice in the file.", rule=label)
            continue
        seen[key] = i
        existing = db.session.scalar(select(Rule).where(func.lower(Rule.name) == key)) if key else None
        _document, row_errors, _department = _normalise(data, current=existing)
        for path, message in row_errors.items():
            errors[f"rules.{i}.{path}"] = _l("%(rule)s, %(row)s: %(message)s", rule=label, row=_row_name(path),
                                               message=message)
        plan.append((existing, data))
    if errors:
        raise ValidationFailed(errors)
    outcome: dict[str, list[str]] = {"created": [], "updated": [], "unchanged": []}
    with db.session.begin_nested():
        saved = []
        for existing, data in plan:
            before = existing.revision if existing else None
            rule = save_rule(existing, data, by, summary=None)
            if existing is None:
                outcome["created"].append(rule.name)
            elif rule.revision != before:
                outcome["updated"].append(rule.name)
            else:
                outcome["unchanged"].append(rule.name)
            saved.append(rule.id)
        reorder(saved)
    return outcome


def _row_name(path: str) -> str:
    if path.startswith("condition."):
        return _l("condition row %(row)s", row=path[len("condition."):])
    if path.startswith("actions."):
        return _l("action row %(row)s", row=path[len("actions."):])
    return path
