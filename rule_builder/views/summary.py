"""A rule in plain words, under the builder and on the rule page:

    When a ticket is created, if contact tier is VIP and (subject contains any of 退款, refund or
    body contains any of 退款, refund), then set priority to High and assign to team Senior.

Every phrase goes through gettext, so the Chinese UI reads in Chinese. Labels come from the
editor's field descriptions (FieldUI) and the desk's names (teams, agents, departments).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from ..builder_state import DURATION_OPS, FieldUI, iso_to_local, template_inputs

TRIGGER_LABELS = {
    "created": _l("Ticket created"), "updated": _l("Ticket updated"), "customer_replied": _l("Customer replied"),
    "agent_replied": _l("Agent replied"), "csat_received": _l("Satisfaction rating received"),
    "time": _l("Time-based (checked every few minutes)"),
}
TRIGGER_HINTS = {
    "created": _l("Runs once, right after a ticket is created (by a customer, an agent, email or the API)."),
    "updated": _l("Runs after any change to a ticket's fields: status, priority, team, tags…"),
    "customer_replied": _l("Runs when the customer writes to an existing ticket."),
    "agent_replied": _l("Runs when an agent sends a reply (not an internal note)."),
    "csat_received": _l("Runs when the customer rates the service."),
    "time": _l("Checked every few minutes over open tickets; fires once per ticket until its conditions "
               "stop being true. Change conditions (“changed to”…) can't be used here."),
}
_WHEN = {
    "created": _l("When a ticket is created"), "updated": _l("When a ticket is updated"),
    "customer_replied": _l("When the customer replies"), "agent_replied": _l("When an agent replies"),
    "csat_received": _l("When a satisfaction rating arrives"),
    "time": _l("Every few minutes, for each open ticket"),
}


def _field_label(spec: FieldUI | None, name: str) -> str:
    label = str(spec.label) if spec and spec.label else name
    # "Contact tier" reads "contact tier" mid-sentence; leave "VIP", "SLA", Chinese as they are.
    if len(label) > 1 and label[0].isupper() and label[1].islower():
        label = label[0].lower() + label[1:]
    return label


def _value(spec: FieldUI | None, value: Any, tz: str | None) -> str:
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if spec is not None and spec.choices:
        return spec.label_of(value)
    if spec is not None and spec.type == "datetime" and isinstance(value, str):
        return iso_to_local(value, tz).replace("T", " ")
    return "" if value is None else str(value)


def _values(spec: FieldUI | None, value: Any, tz: str | None) -> str:
    items = value if isinstance(value, list) else [value]
    return _(", ").join(_value(spec, v, tz) for v in items) if items else "…"


def leaf_text(leaf: Mapping[str, Any], fields: Mapping[str, FieldUI], tz: str | None = None) -> str:
    name = str(leaf.get("field") or "")
    op = str(leaf.get("op") or "")
    spec = fields.get(name)
    if not name:
        return _("(a condition still to fill in)")
    f = _field_label(spec, name)
    value = leaf.get("value")
    v = _values(spec, value, tz) if op in ("in", "not_in", "contains_any") else _value(spec, value, tz)
    dated = spec is not None and spec.type in ("date", "datetime")
    ranked = spec is not None and spec.type == "priority"
    if op in DURATION_OPS:
        unit = _("hours") if leaf.get("unit", "hours") == "hours" else _("minutes")
        if op == "older_than":
            return _("%(field)s is more than %(n)s %(unit)s ago", field=f, n=value, unit=unit)
        return _("%(field)s is within the last %(n)s %(unit)s", field=f, n=value, unit=unit)
    if op == "between":
        pair = (list(value) + [None, None])[:2] if isinstance(value, list) else [value, None]
        return _("%(field)s is between %(low)s and %(high)s", field=f, low=_value(spec, pair[0], tz),
                 high=_value(spec, pair[1], tz))
    phrases = {
        "eq": _("%(field)s is %(value)s"), "neq": _("%(field)s is not %(value)s"),
        "in": _("%(field)s is any of %(value)s"), "not_in": _("%(field)s is none of %(value)s"),
        "contains": (_("%(field)s include %(value)s") if spec is not None and spec.type == "list"
                     else _("%(field)s contains %(value)s")),
        "not_contains": (_("%(field)s don't include %(value)s") if spec is not None and spec.type == "list"
                         else _("%(field)s does not contain %(value)s")),
        "contains_any": _("%(field)s contains any of %(value)s"),
        "starts_with": _("%(field)s starts with %(value)s"),
        "regex": _("%(field)s matches the pattern %(value)s"),
        "gt": (_("%(field)s is after %(value)s") if dated else _("%(field)s is higher than %(value)s") if ranked
               else _("%(field)s is more than %(value)s")),
        "gte": (_("%(field)s is on or after %(value)s") if dated else _("%(field)s is at least %(value)s")),
        "lt": (_("%(field)s is before %(value)s") if dated else _("%(field)s is lower than %(value)s") if ranked
               else _("%(field)s is less than %(value)s")),
        "lte": (_("%(field)s is on or before %(value)s") if dated else _("%(field)s is at most %(value)s")),
        "is_empty": _("%(field)s is empty"), "is_not_empty": _("%(field)s is not empty"),
        "changed": _("%(field)s changed"), "changed_to": _("%(field)s changed to %(value)s"),
        "changed_from": _("%(field)s changed from %(value)s"),
    }
    phrase = phrases.get(op)
    if phrase is None:
        return _("%(field)s %(op)s %(value)s", field=f, op=op or "?", value=v)
    return phrase % {"field": f, "value": v}


def condition_text(cond: Any, fields: Mapping[str, FieldUI], tz: str | None = None, *, top: bool = True) -> str:
    """The condition as one sentence fragment; nested groups in parentheses."""
    if isinstance(cond, Mapping) and len(cond) == 1 and next(iter(cond)) in ("all", "any", "not"):
        kind, inner = next(iter(cond.items()))
        if kind == "not":
            if isinstance(inner, Mapping) and list(inner) == ["any"] and isinstance(inner["any"], list):
                parts = [condition_text(c, fields, tz, top=False) for c in inner["any"]]
                return _("none of (%(items)s)", items=_("; ").join(parts)) if parts else _("always")
            return _("not (%(item)s)", item=condition_text(inner, fields, tz, top=True))
        items = inner if isinstance(inner, list) else []
        if not items:
            return _("always") if kind == "all" else _("never")
        parts = [condition_text(c, fields, tz, top=False) for c in items]
        joined = (_(" and ") if kind == "all" else _(" or ")).join(parts)
        return joined if top or len(parts) == 1 else _("(%(items)s)", items=joined)
    if isinstance(cond, Mapping):
        return leaf_text(cond, fields, tz)
    return "?"


def _name(lookup: Mapping, value: Any, fallback: str) -> str:
    found = lookup.get(value) if value is not None else None
    if found is None and isinstance(value, str) and value.isdigit():
        found = lookup.get(int(value))
    return str(found) if found is not None else fallback


def action_text(action: Mapping[str, Any], fields: Mapping[str, FieldUI], names: Mapping[str, Mapping],
                tz: str | None = None) -> str:
    """One action in words. `names`: {"team": {id: label}, "agent": ..., "department": ..., "strategy": ...}."""
    kind = action.get("type")
    teams, agents = names.get("team", {}), names.get("agent", {})
    if kind == "set_field":
        field = str(action.get("field") or "")
        spec = fields.get(field)
        value = action.get("value")
        if field == "team":
            shown = _name(teams, value, _("no team")) if value not in (None, "") else _("no team")
        elif field == "assignee":
            shown = _name(agents, value, _("nobody")) if value not in (None, "") else _("nobody")
        elif isinstance(value, list):
            shown = _values(spec, value, tz)
        else:
            shown = _value(spec, value, tz) or "…"
        if not field:
            return _("set a field")
        return _("set %(field)s to %(value)s", field=_field_label(spec, field), value=shown)
    if kind == "assign":
        if action.get("agent") is not None:
            return _("assign to %(agent)s", agent=_name(agents, action["agent"], "?"))
        if action.get("strategy") is not None:
            return _("assign by %(strategy)s", strategy=_name(names.get("strategy", {}), action["strategy"],
                                                                str(action["strategy"])))
        return _("assign to team %(team)s", team=_name(teams, action.get("team"), "…"))
    if kind in ("add_tags", "remove_tags"):
        tags = _(", ").join(str(t) for t in action.get("tags") or []) or "…"
        return _("add tags %(tags)s", tags=tags) if kind == "add_tags" else _("remove tags %(tags)s", tags=tags)
    if kind == "add_note":
        return _("add an internal note")
    if kind == "send_email":
        to = action.get("to")
        if to == "address":
            return _("email %(address)s", address=action.get("address") or "…")
        return {"customer": _("email the customer"), "assignee": _("email the assignee"),
                "team": _("email the team"), "supervisor": _("email the supervisor")}.get(to, _("send an email"))
    if kind == "notify":
        to = action.get("to")
        if to == "agent":
            return _("notify %(agent)s", agent=_name(agents, action.get("agent"), "…"))
        return {"assignee": _("notify the assignee"), "team": _("notify the team"),
                "supervisor": _("notify the supervisor")}.get(to, _("send a notification"))
    if kind == "webhook":
        return _("call the webhook %(url)s", url=action.get("url") or "…")
    if kind == "move_department":
        text = _("move to %(department)s", department=_name(names.get("department", {}),
                                                            action.get("department"), "…"))
        if action.get("team") is not None:
            text = _("%(move)s (team %(team)s)", move=text, team=_name(teams, action.get("team"), "…"))
        return text
    if kind == "stop":
        return _("stop processing further rules")
    return _("(an action still to choose)")


def _join_actions(parts: list[str]) -> str:
    if not parts:
        return _("do nothing")
    if len(parts) == 1:
        return parts[0]
    return _("%(first)s and %(last)s", first=_(", ").join(parts[:-1]), last=parts[-1])


def rule_text(trigger: str, condition: Any, actions: list, fields: Mapping[str, FieldUI],
              names: Mapping[str, Mapping], tz: str | None = None) -> str:
    when = str(_WHEN.get(trigger, _("When something happens")))
    cond = condition_text(condition if condition is not None else {"all": []}, fields, tz)
    what = _join_actions([action_text(a, fields, names, tz) for a in actions or [] if isinstance(a, Mapping)])
    if cond == _("always"):
        return _("%(when)s, %(then)s.", when=when, then=what)
    return _("%(when)s, if %(condition)s, then %(then)s.", when=when, condition=cond, then=what)


def template_preview(template: Any) -> str:
    en, zh = template_inputs(template)
    return en or zh


def as_html(text: str) -> Markup:
    return Markup("<p class=\"rule-summary-text\">{}</p>").format(escape(text))
