"""Message templates of actions (email subject/body, notification text, internal notes).

A template is a string, or {"en": ..., "zh": ...} from which the recipient's language picks
(falling back to the other one). It is rendered in Jinja's ImmutableSandboxedEnvironment with
StrictUndefined, against plain dicts:

    ticket.number  ticket.ref ("#1042")  ticket.subject  ticket.status  ticket.priority
    ticket.channel  ticket.tags (list)  ticket.url
    contact.name  contact.email  assignee.name  team.name  department.name

On top of the sandbox, a template may only use placeholders, `if`, `for` over a list, `~`/`+`,
comparisons and a short list of filters (SAFE_FILTERS): no `set`, macros, includes, method
calls or multiplication, so a template can neither reach Python internals
(`{{ ''.__class__ }}` -> SecurityError) nor build huge strings. Every template is rendered
against a sample ticket when a rule is saved; at run time any error raises TemplateProblem,
which fails the rule (its changes are rolled back, the firing is logged as failed).
"""
from __future__ import annotations

import functools
from typing import Any, Mapping

from flask import current_app
from flask_babel import lazy_gettext as _l
from jinja2 import StrictUndefined, TemplateError, nodes
from jinja2.filters import FILTERS
from jinja2.runtime import LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

LANGUAGES = ("en", "zh")
TEMPLATE_MAX = 10_000      # characters of template source
RENDERED_MAX = 100_000     # characters of output kept
SAFE_FILTERS = ("default", "d", "upper", "lower", "title", "capitalize", "trim", "truncate", "join", "length",
                "count", "first", "last", "replace", "string", "int", "round", "sort", "unique", "e", "escape")
SAFE_NODES = (nodes.Template, nodes.Output, nodes.TemplateData, nodes.Name, nodes.Getattr, nodes.Getitem,
              nodes.Const, nodes.Filter, nodes.Test, nodes.If, nodes.For, nodes.Compare, nodes.Operand, nodes.And,
              nodes.Or, nodes.Not, nodes.CondExpr, nodes.Concat, nodes.Add, nodes.Sub, nodes.Neg, nodes.Pos,
              nodes.List, nodes.Tuple, nodes.Keyword)
LOOP_ATTRIBUTES = {"index", "index0", "revindex", "revindex0", "first", "last", "length"}


class TemplateProblem(Exception):
    """A template could not be rendered (syntax, unknown placeholder, sandbox refusal...)."""


class _Environment(ImmutableSandboxedEnvironment):
    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        # Only the loop's counters are attributes; everything else is a key of a context dict.
        return isinstance(obj, LoopContext) and attr in LOOP_ATTRIBUTES


@functools.cache
def _environment() -> _Environment:
    env = _Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    env.filters = {name: FILTERS[name] for name in SAFE_FILTERS}
    env.globals = {}
    return env


def language_of(code: str | None) -> str:
    return "zh" if (code or "").lower().startswith("zh") else "en"


def pick(template: str | Mapping[str, str], language: str | None) -> str:
    """The variant of `template` for `language` ("en"/"zh"/"zh_Hans"...), else the other one."""
    if isinstance(template, str):
        return template
    lang = language_of(language)
    return template.get(lang) or next((template[k] for k in LANGUAGES if template.get(k)), "")


@functools.lru_cache(maxsize=512)
def _compile(source: str):
    if len(source) > TEMPLATE_MAX:
        raise TemplateProblem(_l("A template may be at most %(num)d characters.", num=TEMPLATE_MAX))
    env = _environment()
    try:
        tree = env.parse(source)
    except TemplateError as exc:
        raise TemplateProblem(_describe(exc)) from None
    for node in tree.find_all(nodes.Node):
        if not isinstance(node, SAFE_NODES):
            raise TemplateProblem(_l("Templates cannot use %(what)s; only placeholders, if, for and simple filters.",
                                     what=_node_name(node)))
        if isinstance(node, nodes.Filter) and node.name not in env.filters:
            raise TemplateProblem(_l("Unknown filter '%(name)s'.", name=node.name))
        if isinstance(node, nodes.Name) and node.name.startswith("_"):
            raise SecurityError(f"access to '{node.name}' is unsafe.")
    try:
        return env.from_string(tree)
    except TemplateError as exc:
        raise TemplateProblem(_describe(exc)) from None


def render(template: str | Mapping[str, str], context: Mapping[str, Any], language: str | None = None) -> str:
    """Render `template` (picking `language`); raises TemplateProblem on any error."""
    source = pick(template, language)
    try:
        text = _compile(source).render(**context)
    except TemplateProblem:
        raise
    except SecurityError as exc:
        raise TemplateProblem(_l("Refused by the template sandbox: %(reason)s", reason=str(exc))) from None
    except Exception as exc:  # noqa: BLE001 - whatever a template did, it is the template's fault
        raise TemplateProblem(_describe(exc)) from None
    return text[:RENDERED_MAX]


def check(template: Any, what: str) -> str | None:
    """Validate a template value at save time by rendering every variant against a sample.

    Returns an error message naming `what` (e.g. "Body (zh)"), or None.
    """
    if isinstance(template, str):
        variants = {"": template}
    elif isinstance(template, Mapping) and template and set(template) <= set(LANGUAGES) \
            and all(isinstance(v, str) for v in template.values()):
        variants = {k: v for k, v in template.items()}
    else:
        return _l("%(what)s must be text, or texts by language (%(languages)s).", what=what,
                  languages=", ".join(LANGUAGES))
    if not any(v.strip() for v in variants.values()):
        return _l("%(what)s is required.", what=what)
    for lang, source in variants.items():
        label = f"{what} ({lang})" if lang else what
        try:
            _compile(source).render(**sample_context())
        except SecurityError as exc:
            return _l("%(what)s: refused by the template sandbox: %(reason)s", what=label, reason=str(exc))
        except TemplateProblem as exc:
            return f"{label}: {exc}"
        except Exception as exc:  # noqa: BLE001
            return f"{label}: {_describe(exc)}"
    return None


def ticket_url(ticket_id: int) -> str:
    base = (current_app.config.get("PUBLIC_URL") or "http://localhost:5000").rstrip("/")
    return f"{base}/tickets/{ticket_id}"


def context_for(ticket, language: str | None = None) -> dict[str, Any]:
    """The placeholders for `ticket`, names in `language` where the desk has them."""
    zh = language_of(language) == "zh"

    def name(obj) -> str:
        if obj is None:
            return ""
        return (getattr(obj, "name_zh", None) if zh else None) or obj.name

    contact = ticket.contact
    from portal.models import Priority
    return {
        "ticket": {"number": ticket.id, "ref": f"#{ticket.id}", "subject": ticket.subject, "status": ticket.status,
                   "priority": Priority(ticket.priority).key, "channel": ticket.channel, "tags": list(ticket.tags),
                   "url": ticket_url(ticket.id)},
        "contact": {"name": contact.name if contact else "", "email": (contact.email if contact else None) or ""},
        "assignee": {"name": name(ticket.assignee)},
        "team": {"name": name(ticket.team)},
        "department": {"name": name(ticket.department)},
    }


def sample_context() -> dict[str, Any]:
    return {
        "ticket": {"number": 1042, "ref": "#1042", "subject": "Phone overheating", "status": "open",
                   "priority": "high", "channel": "email", "tags": ["vip", "hardware"],
                   "url": "http://localhost:5000/tickets/1042"},
        "contact": {"name": "Li Hua", "email": "li.hua@example.com"},
        "assignee": {"name": "Zhang Wei"},
        "team": {"name": "Replacements"},
        "department": {"name": "Returns"},
    }


def _node_name(node: nodes.Node) -> str:
    return {"Assign": "set", "AssignBlock": "set", "Macro": "macros", "CallBlock": "call blocks",
            "Call": "function calls", "Include": "include", "Import": "import", "FromImport": "import",
            "Extends": "extends", "Block": "blocks", "Mul": "*", "Pow": "**", "Mod": "%", "Div": "/",
            "FloorDiv": "//", "FilterBlock": "filter blocks", "With": "with"}.get(type(node).__name__,
                                                                                   type(node).__name__)


def _describe(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc)
    line = getattr(exc, "lineno", None)
    return f"{message} (line {line})" if line and line > 1 else message
