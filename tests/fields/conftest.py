"""A small desk for the custom-field tests: two departments whose sub-category values differ (the
seed's 子类别 example), an admin, and a handful of fields of different types and visibilities."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from factories import make_admin, make_department, make_field
from portal.extensions import db
from portal.fields.models import CustomField
from portal.models import Department, User


@dataclass
class Desk:
    books: Department
    electronics: Department
    admin: User
    fields: dict[str, CustomField]

    def __getitem__(self, key: str) -> CustomField:
        return self.fields[key]


@pytest.fixture
def desk(app) -> Desk:
    books = make_department(name="Books", name_zh="图书")
    electronics = make_department(name="Electronics", name_zh="电子产品")
    admin = make_admin(name="Ada Admin")
    fields = {
        "order_number": make_field("order_number", "text", label="Order number", label_zh="订单号",
                                   visibility="customers_edit", validation={"regex": "SO[0-9]{8}"}),
        "category": make_field("category", "picklist", visibility="customers_edit",
                               options=[{"value": "paper", "label": "Paper", "label_zh": "纸质"}, "ebook"]),
        "sub_category": make_field("sub_category", "picklist", label="Sub-category", label_zh="子类别",
                                   visibility="customers_edit", options=["other"],
                                   department_options={books: ["novel", "textbook", "other"],
                                                       electronics: ["phone", "laptop", "other"]}),
        "internal_note": make_field("internal_note", "textarea"),
        "warranty_until": make_field("warranty_until", "date", visibility="customers_see"),
        "amount": make_field("amount", "currency", currency="CNY", validation={"min": 0}),
    }
    db.session.commit()
    return Desk(books, electronics, admin, fields)

