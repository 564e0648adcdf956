"""The OpenAPI 3 document of /api/v1, served at /api/v1/openapi.json.

Written as data next to the views it describes; tests/api/test_schema.py runs schemathesis against
it (no 5xx, every response within this schema), so it can't drift from what the API does.
"""
from __future__ import annotations

from ..models import CHANNELS, INBOUND_STATUSES, PRIORITY_KEYS, STATUSES
from .tickets import LIST_LIMIT_MAX


def _nullable(schema: dict) -> dict:
    return {**schema, "nullable": True}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _problem(description: str) -> dict:
    return {"description": description, "content": {"application/problem+json": {"schema": _ref("Problem")}}}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


NAMED = {"type": "object", "required": ["id", "name"],
         "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}
PERSON = {"type": "object", "required": ["id", "name", "email"],
          "properties": {"id": {"type": "integer"}, "name": {"type": "string"},
                         "email": _nullable({"type": "string"})}}
TIME = _nullable({"type": "string", "format": "date-time"})
CUSTOM = {"type": "object", "additionalProperties": True,
          "description": "Custom field values by key, as the department's layout accepts them (see docs/api.md)."}
DEPARTMENT = {"oneOf": [{"type": "integer"}, {"type": "string", "minLength": 1}],
              "description": "The department's id, or its name in English or Chinese."}

ERRORS = {
    "400": _problem("The body is not a JSON object."),
    "401": _problem("No token, or an unknown or revoked one."),
    "403": _problem("The token lacks the scope."),
    "415": _problem("The body is not application/json."),
    "422": _problem("Values were not accepted; `errors` names each one."),
}


def document() -> dict:
    return {
        "openapi": "3.0.3",
        "info": {"title": "Deskwright API", "version": "1.0.0",
                 "description": "Tickets for integrations. Authenticate with an agent's API token "
                                "(`flask --app wsgi create-token --email E`) as `Authorization: Bearer <token>`. "
                                "Errors are RFC 9457 problem documents."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/tickets": {
                "post": {
                    "operationId": "createTicket", "summary": "Open a ticket",
                    "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("NewTicket")}}},
                    "responses": {"201": _json(_ref("Ticket"), "The new ticket (Location: its URL)."), **ERRORS},
                },
                "get": {
                    "operationId": "listTickets", "summary": "List tickets, newest first",
                    "parameters": [
                        {"name": "filter", "in": "query", "schema": {"type": "string"},
                         "description": "A condition in the condition language, as JSON (docs/rules.md)."},
                        {"name": "limit", "in": "query",
                         "schema": {"type": "integer", "minimum": 1, "maximum": LIST_LIMIT_MAX, "default": 25}},
                        {"name": "cursor", "in": "query", "schema": {"type": "string", "pattern": "^[0-9]+$"},
                         "description": "next_cursor of the previous page."},
                    ],
                    "responses": {"200": _json(_ref("TicketPage"), "One page."),
                                  **{k: v for k, v in ERRORS.items() if k in ("401", "403", "422")}},
                },
            },
            "/mail/inbound": {
                "post": {
                    "operationId": "ingestMail", "summary": "Hand over a raw email (needs the mail:ingest scope)",
                    "parameters": [{"name": "mailbox", "in": "query", "schema": {"type": "string"},
                                    "description": "The desk address it was delivered to (default: from To/Cc)."}],
                    "requestBody": {"required": True, "content": {"message/rfc822": {
                        "schema": {"type": "string", "format": "binary"}}}},
                    "responses": {
                        "201": _json(_ref("Inbound"), "It became a ticket or a reply."),
                        "200": _json(_ref("Inbound"), "Kept, but not a message (duplicate, ignored, held, flagged)."),
                        "413": _problem("Over MAX_INBOUND_MAIL_BYTES."),
                        **{k: v for k, v in ERRORS.items() if k in ("400", "401", "403", "422")}},
                },
            },
            "/tickets/{number}": {
                "parameters": [{"name": "number", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "get": {
                    "operationId": "getTicket", "summary": "Read a ticket",
                    "responses": {"200": _json(_ref("Ticket"), "The ticket."),
                                  "404": _problem("No such ticket, or not in the agent's departments."),
                                  **{k: v for k, v in ERRORS.items() if k in ("401", "403")}},
                },
                "patch": {
                    "operationId": "updateTicket", "summary": "Change a ticket",
                    "requestBody": {"required": True,
                                    "content": {"application/json": {"schema": _ref("TicketChange")}}},
                    "responses": {"200": _json(_ref("Ticket"), "The ticket after the change."),
                                  "404": _problem("No such ticket, or not in the agent's departments."),
                                  "409": _problem("The ticket changed since `version`."), **ERRORS},
                },
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Ticket": {"type": "object", "required": [
                    "number", "url", "subject", "status", "priority", "channel", "department", "team", "assignee",
                    "contact", "tags", "custom_fields", "thread_count", "created_at", "updated_at", "version"],
                    "properties": {
                        "number": {"type": "integer"}, "url": {"type": "string"}, "subject": {"type": "string"},
                        "status": {"type": "string", "enum": list(STATUSES)},
                        "priority": {"type": "string", "enum": list(PRIORITY_KEYS)},
                        "channel": {"type": "string", "enum": list(CHANNELS)},
                        "department": NAMED, "team": _nullable(NAMED), "assignee": _nullable(PERSON),
                        "contact": _nullable(PERSON), "tags": {"type": "array", "items": {"type": "string"}},
                        "custom_fields": CUSTOM, "thread_count": {"type": "integer"},
                        "created_at": {"type": "string", "format": "date-time"},
                        "updated_at": {"type": "string", "format": "date-time"},
                        "first_response_due_at": TIME, "resolution_due_at": TIME,
                        "version": {"type": "integer"}}},
                "TicketPage": {"type": "object", "required": ["items", "next_cursor"], "properties": {
                    "items": {"type": "array", "items": _ref("Ticket")},
                    "next_cursor": _nullable({"type": "string"})}},
                "NewTicket": {"type": "object", "additionalProperties": False,
                              "required": ["subject", "body", "contact_email", "department"], "properties": {
                                  "subject": {"type": "string"}, "body": {"type": "string"},
                                  "contact_email": {"type": "string", "format": "email"},
                                  "contact_name": {"type": "string"}, "department": DEPARTMENT,
                                  "priority": {"type": "string", "enum": list(PRIORITY_KEYS)},
                                  "channel": {"type": "string", "enum": list(CHANNELS), "default": "api"},
                                  "tags": {"type": "array", "items": {"type": "string"}},
                                  "custom_fields": CUSTOM}},
                "TicketChange": {"type": "object", "additionalProperties": False, "properties": {
                    "subject": {"type": "string"}, "status": {"type": "string", "enum": list(STATUSES)},
                    "priority": {"type": "string", "enum": list(PRIORITY_KEYS)}, "department": DEPARTMENT,
                    "team": _nullable({"type": "integer"}),
                    "assignee": _nullable({"oneOf": [{"type": "integer"}, {"type": "string"}]}),
                    "tags": {"type": "array", "items": {"type": "string"}}, "custom_fields": CUSTOM,
                    "version": {"type": "integer", "description": "The version you read: refused (409) if "
                                                                     "the ticket changed since."}}},
                "Inbound": {"type": "object", "required": ["inbound_message", "status", "ticket", "problem"],
                            "properties": {
                                "inbound_message": {"type": "integer"},
                                "status": {"type": "string", "enum": list(INBOUND_STATUSES)},
                                "ticket": _nullable({"type": "integer"}), "problem": _nullable({"type": "string"})}},
                "Problem": {"type": "object", "required": ["type", "title", "status"], "properties": {
                    "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                    "detail": {"type": "string"},
                    "errors": {"type": "object", "additionalProperties": {"type": "string"}}}},
            },
        },
    }
