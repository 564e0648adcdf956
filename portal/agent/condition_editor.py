"""The condition editor on portal screens (a saved view's conditions), supplied by a feature package.

`portal` may not import `rule_builder` (see the import-linter contract), yet the condition editor
widget lives there. So the rule builder registers its editor with `register_condition_editor`
when the app starts, and portal screens render and read it through `condition_editor()`:

    editor.render(condition, errors, name=..., context="query") -> Markup   # the widget, with row errors
    editor.parse(form, name=...) -> condition JSON                           # ValueError: unreadable input

Until one is registered (a desk without the rule builder), a JSON text area stands in.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

from flask import Flask, current_app, render_template
from markupsafe import Markup

EXTENSION_KEY = "deskwright_condition_editor"


@dataclass(frozen=True)
class ConditionEditor:
    render: Callable[..., Markup]
    parse: Callable[..., Any]
    name: str = "json"


def register_condition_editor(app: Flask, editor: ConditionEditor) -> None:
    app.extensions[EXTENSION_KEY] = editor


def _render_json(condition: Any, errors: list, *, name: str = "condition", context: str = "query") -> Markup:
    text = condition if isinstance(condition, str) else json.dumps(condition, ensure_ascii=False, indent=2)
    return Markup(render_template("portal/agent/_condition_json.html", name=name, text=text, errors=errors))


def _parse_json(form, *, name: str = "condition") -> Any:
    raw = (form.get(name) or "").strip()
    if not raw:
        return {"all": []}
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(str(exc)) from None


JSON_EDITOR = ConditionEditor(render=_render_json, parse=_parse_json, name="json")


def condition_editor() -> ConditionEditor:
    return current_app.extensions.get(EXTENSION_KEY, JSON_EDITOR)
