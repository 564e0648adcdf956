"""Admin screens for custom fields and per-department layouts (issue #4's builder).

    field_views.py   /admin/fields: the list and the field editor in a side panel
    editor.py        the field editor's state: a posted panel <-> what save_field takes
    layout_views.py  /admin/layouts: the drag-and-drop layout builder, revisions, export/import
    draft.py         the builder's draft: a layout document posted back on every change
    preview.py       the agent and customer forms as runtime builds them from a draft

Views are thin: portal.fields.services saves (and validates), portal.fields.runtime builds the
preview forms; these modules only read what was posted and put each error next to the input,
section or row its path names. Admins only.
"""
from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l


def _admins(user) -> bool:
    return bool(getattr(user, "is_admin", False))


def init_app(app: Flask) -> None:
    from .. import register_admin_tab
    from . import field_views, layout_views  # noqa: F401  (their routes join the admin blueprint)

    register_admin_tab(app, "admin.fields", _l("Fields"), prefix="admin.field", order=40, visible=_admins)
    register_admin_tab(app, "admin.layouts", _l("Layouts"), prefix="admin.layout", order=41, visible=_admins)
