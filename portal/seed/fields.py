"""The demo desk's custom fields and layouts (seeded with the history: see demo.py).

The seed documents' example: a 子类别 / sub-category field whose values differ per department
(here Returns, Tech support and Billing), an order number customers type on the portal, a product,
a refund amount agents fill in only when it applies (show when), and a warranty checkbox. Each
ticket gets values the way a customer's request would carry them.
"""
from __future__ import annotations

import random

from ..fields.services import save_field, save_layout
from ..models import Department, Ticket
from ..services.tickets import Actor, update_ticket


def _options(*pairs):
    return [{"value": value, "label": en, "label_zh": zh} for value, en, zh in pairs]


PRODUCTS = {
    "returns": _options(("phone", "Phone", "手机"), ("tablet", "Tablet", "平板"), ("earbuds", "Earbuds", "耳机"),
                        ("charger", "Charger", "充电器")),
    "tech": _options(("phone", "Phone", "手机"), ("tablet", "Tablet", "平板"), ("laptop", "Laptop", "笔记本电脑"),
                     ("app", "App", "应用")),
}
SUBCATEGORIES = {
    "returns": _options(("damaged", "Arrived damaged", "到货损坏"), ("wrong_item", "Wrong item", "发错货"),
                        ("not_as_described", "Not as described", "与描述不符"), ("changed_mind", "Changed my mind", "不想要了")),
    "tech": _options(("hardware", "Hardware", "硬件"), ("software", "Software", "软件"), ("account", "Account", "账户"),
                     ("network", "Network", "网络")),
    "billing": _options(("invoice", "Invoice", "发票"), ("refund", "Refund", "退款"),
                        ("payment_failed", "Payment failed", "支付失败")),
}


def _every(lists: dict) -> list[dict]:
    seen: dict[str, dict] = {}
    for options in lists.values():
        for option in options:
            seen.setdefault(option["value"], option)
    return list(seen.values())


def seed_fields(depts: dict[str, Department], rng: random.Random, tickets: list[Ticket]) -> None:
    by_id = {key: str(d.id) for key, d in depts.items()}
    save_field(None, {"key": "order_number", "type": "text", "label": "Order number", "label_zh": "订单号",
                      "help_text": "8 digits, on your receipt", "help_text_zh": "8 位数字，见购物小票",
                      "visibility": "customers_edit", "validation": {"regex": r"^\d{8}$"}}, None)
    save_field(None, {"key": "product", "type": "picklist", "label": "Product", "label_zh": "产品",
                      "visibility": "customers_edit", "filterable": True, "options": _every(PRODUCTS),
                      "department_options": {by_id[k]: v for k, v in PRODUCTS.items()}}, None)
    save_field(None, {"key": "subcategory", "type": "picklist", "label": "Sub-category", "label_zh": "子类别",
                      "visibility": "customers_edit", "filterable": True, "options": _every(SUBCATEGORIES),
                      "department_options": {by_id[k]: v for k, v in SUBCATEGORIES.items()}}, None)
    save_field(None, {"key": "purchase_date", "type": "date", "label": "Purchase date", "label_zh": "购买日期",
                      "visibility": "customers_edit"}, None)
    save_field(None, {"key": "refund_amount", "type": "currency", "currency": "CNY", "label": "Refund amount",
                      "label_zh": "退款金额", "visibility": "agents", "filterable": True,
                      "validation": {"min": 0, "max": 100000}}, None)
    save_field(None, {"key": "warranty", "type": "checkbox", "label": "Under warranty", "label_zh": "在保修期内",
                      "visibility": "agents"}, None)

    def refund_when(*values):
        return {"all": [{"field": "cf.subcategory", "op": "in", "value": list(values)}]}

    save_layout(None, {"version": 1, "sections": [
        {"id": "request", "title": "Request", "title_zh": "请求",
         "fields": [{"key": "order_number", "portal": True}, {"key": "subcategory", "portal": True}]}]}, None)
    save_layout(depts["returns"], {"version": 1, "sections": [
        {"id": "order", "title": "Order", "title_zh": "订单", "fields": [
            {"key": "order_number", "required": True, "portal": True}, {"key": "product", "portal": True},
            {"key": "purchase_date", "portal": True}, {"key": "subcategory", "required": True, "portal": True}]},
        {"id": "resolution", "title": "Resolution", "title_zh": "处理", "fields": [
            {"key": "warranty"},
            {"key": "refund_amount", "show_when": refund_when("damaged", "not_as_described"),
             "require_when": refund_when("damaged")}]}]}, None)
    save_layout(depts["tech"], {"version": 1, "sections": [
        {"id": "device", "title": "Device", "title_zh": "设备", "fields": [
            {"key": "product", "required": True, "portal": True}, {"key": "subcategory", "portal": True},
            {"key": "order_number", "portal": True}, {"key": "warranty"}]}]}, None)
    save_layout(depts["billing"], {"version": 1, "sections": [
        {"id": "billing", "title": "Billing", "title_zh": "账单", "fields": [
            {"key": "order_number", "required": True, "portal": True}, {"key": "subcategory", "portal": True},
            {"key": "refund_amount", "show_when": refund_when("refund")}]}]}, None)

    # Values on the existing tickets, as their requests would have carried them.
    key_of = {d.id: key for key, d in depts.items()}
    customer = Actor(label="customer")
    for ticket in tickets:
        dept = key_of.get(ticket.department_id)
        values = {}
        if rng.random() < 0.8:
            values["order_number"] = f"{rng.randint(10_000_000, 99_999_999)}"
        if dept in PRODUCTS and rng.random() < 0.85:
            values["product"] = rng.choice(PRODUCTS[dept])["value"]
        if dept in SUBCATEGORIES and rng.random() < 0.85:
            values["subcategory"] = rng.choice(SUBCATEGORIES[dept])["value"]
        if values.get("subcategory") in ("damaged", "not_as_described", "refund") and rng.random() < 0.7:
            values["refund_amount"] = round(rng.lognormvariate(5.2, 0.8), 2)
        if values:
            update_ticket(ticket, {"custom_fields": values}, by=customer, now=ticket.created_at)
