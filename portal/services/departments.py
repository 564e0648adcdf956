"""Finding a department the way people and files name it: by id, English name or Chinese name."""
from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select

from ..extensions import db
from ..models import Department


def find_department(value: Any) -> Department | None:
    """A department by id, name or Chinese name."""
    if isinstance(value, Department):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return db.session.get(Department, value)
    if isinstance(value, str) and value.strip():
        return db.session.scalar(select(Department).where(
            or_(Department.name == value.strip(), Department.name_zh == value.strip())))
    return None
