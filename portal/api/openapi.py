"""The OpenAPI 3 document of /api/v1, served at /api/v1/openapi.json.

Written as data next to the views it describes; tests/rest_api/test_schema.py runs schemathesis against
it (no 5xx, every response within this schema), so it can't drift from what the API does.
"""
from __future__ import annotations

from ..models import CHANNELS, IDENTITY_KINDS, INBOUND_STATUSES, PRIORITY_KEYS, STATUSES, TIERS
from .threads import NEW_KINDS, THREAD_KINDS
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
    "429": {**_problem("Over the token's (or, without a valid token, the address's) API_RATE_LIMIT."),
            "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}},
}
NOT_FOUND = {"404": _problem("No such ticket, or not in the agent's departments.")}


def _errors(*codes: str) -> dict:
    """The documented errors `codes`, and 429, which any request can get."""
    return {code: ERRORS[code] for code in (*codes, "429")}


def _page(item: str) -> dict:
    return {"type": "object", "required": ["items", "next_cursor"], "properties": {
        "items": {"type": "array", "items": _ref(item)}, "next_cursor": _nullable({"type": "string"})}}


LIMIT = {"name": "limit", "in": "query",
         "schema": {"type": "integer", "minimum": 1, "maximum": LIST_LIMIT_MAX, "default": 25}}
CURSOR = {"name": "cursor", "in": "query", "schema": {"type": "string", "pattern": "^[0-9]{1,10}$"},
          "description": "next_cursor of the previous page."}
NUMBER = {"name": "number", "in": "path", "required": True, "schema": {"type": "integer"}}
IDENTITY = {"type": "object", "additionalProperties": False, "required": ["kind", "value"], "properties": {
    "kind": {"type": "string", "enum": list(IDENTITY_KINDS)}, "value": {"type": "string"}}}
CONTACT_DETAILS = {
    "name": {"type": "string"}, "account": _nullable({"type": "string", "description": "A company name."}),
    "tier": _nullable({"type": "string", "enum": list(TIERS), "description": "null: the account's tier."}),
    "language": {"type": "string"}, "timezone": {"type": "string", "description": "e.g. Asia/Shanghai"}}


ATTACHMENT_ID = {"name": "attachment_id", "in": "path", "required": True, "schema": {"type": "integer"}}
CONTACT_ID = {"name": "contact_id", "in": "path", "required": True, "schema": {"type": "integer"}}
ATTACHMENT_NOT_FOUND = {"404": _problem("No such attachment, or not on a ticket in the agent's departments.")}
CONTACT_NOT_FOUND = {"404": _problem("No such contact.")}

PATHS = {
    "/tickets/{number}/threads": {
        "parameters": [NUMBER],
        "get": {
            "operationId": "listThreads", "summary": "A ticket's messages (customer's, replies, notes), oldest first",
            "parameters": [LIMIT, CURSOR, {"name": "kind", "in": "query",
                                           "schema": {"type": "string", "enum": list(THREAD_KINDS)}}],
            "responses": {"200": _json(_ref("ThreadPage"), "One page."), **NOT_FOUND,
                          **_errors("401", "403", "422")},
        },
        "post": {
            "operationId": "addThread", "summary": "Reply to the customer (mailed like the agent's reply) or add a note",
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("NewThread")}}},
            "responses": {"201": _json(_ref("Thread"), "The new message (Location: its URL)."), **NOT_FOUND,
                          "409": _problem("The ticket changed at the same moment; send it again."),
                          **_errors("400", "401", "403", "415", "422")},
        },
    },
    "/tickets/{number}/threads/{thread_id}": {
        "parameters": [NUMBER, {"name": "thread_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "get": {
            "operationId": "getThread", "summary": "One message",
            "responses": {"200": _json(_ref("Thread"), "The message."),
                          "404": _problem("No such ticket or message, or not in the agent's departments."),
                          **_errors("401", "403")},
        },
    },
    "/attachments": {
        "post": {
            "operationId": "uploadAttachment", "summary": "Upload a file, to name in a message within API_UPLOAD_MAX_AGE",
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["file"], "additionalProperties": False,
                "properties": {"file": {"type": "string", "format": "binary"}}}}}},
            "responses": {"201": _json(_ref("Upload"), "Stored; `upload` goes in a message's `attachments`."),
                          "413": _problem("Over the request size limit (MAX_CONTENT_LENGTH)."),
                          **_errors("401", "403", "415", "422")},
        },
    },
    "/attachments/{attachment_id}": {
        "parameters": [ATTACHMENT_ID],
        "get": {
            "operationId": "getAttachment", "summary": "An attachment's metadata",
            "responses": {"200": _json(_ref("Attachment"), "The attachment."), **ATTACHMENT_NOT_FOUND,
                          **_errors("401", "403")},
        },
    },
    "/attachments/{attachment_id}/content": {
        "parameters": [ATTACHMENT_ID],
        "get": {
            "operationId": "getAttachmentContent", "summary": "Download an attachment",
            "responses": {"200": {"description": "The file, as a download, with its content type.",
                                  "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}},
                          **ATTACHMENT_NOT_FOUND, **_errors("401", "403")},
        },
    },
    "/contacts": {
        "get": {
            "operationId": "listContacts", "summary": "Find contacts (not merged ones), by id",
            "parameters": [
                {"name": "q", "in": "query", "schema": {"type": "string"},
                 "description": "Part of a name or of any identity."},
                *({"name": kind, "in": "query", "schema": {"type": "string"},
                   "description": f"The contact who owns this {kind} identity."} for kind in IDENTITY_KINDS),
                LIMIT, CURSOR],
            "responses": {"200": _json(_ref("ContactPage"), "One page."), **_errors("401", "403", "422")},
        },
        "post": {
            "operationId": "createContact", "summary": "Create a contact (needs contacts:write)",
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("NewContact")}}},
            "responses": {"201": _json(_ref("Contact"), "The new contact (Location: its URL)."),
                          **_errors("400", "401", "403", "415", "422")},
        },
    },
    "/contacts/{contact_id}": {
        "parameters": [CONTACT_ID],
        "get": {
            "operationId": "getContact", "summary": "A contact, with the agent's recent tickets of theirs",
            "responses": {"200": _json(_ref("Contact"), "The contact."), **CONTACT_NOT_FOUND,
                          **_errors("401", "403")},
        },
        "patch": {
            "operationId": "updateContact", "summary": "Change a contact's details and identities (contacts:write)",
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("ContactChange")}}},
            "responses": {"200": _json(_ref("Contact"), "The contact after the change."), **CONTACT_NOT_FOUND,
                          "409": _problem("The contact was merged into another."),
                          **_errors("400", "401", "403", "415", "422")},
        },
    },
}

ATTACHMENT = {"type": "object", "required": ["id", "url", "content_url", "ticket", "thread", "filename",
                                             "content_type", "size", "sha256", "created_at"], "properties": {
    "id": {"type": "integer"}, "url": {"type": "string"}, "content_url": {"type": "string"},
    "ticket": {"type": "integer"}, "thread": _nullable({"type": "integer"}), "filename": {"type": "string"},
    "content_type": {"type": "string"}, "size": {"type": "integer"}, "sha256": {"type": "string"},
    "created_at": {"type": "string", "format": "date-time"}}}
SCHEMAS = {
    "Thread": {"type": "object", "required": [
        "id", "url", "ticket", "kind", "channel", "author", "contact", "sender", "body_text", "body_html",
        "delivery_state", "attachments", "created_at"], "properties": {
            "id": {"type": "integer"}, "url": {"type": "string"}, "ticket": {"type": "integer"},
            "kind": {"type": "string", "enum": list(THREAD_KINDS)},
            "channel": {"type": "string", "enum": list(CHANNELS)},
            "author": _nullable(PERSON), "contact": _nullable(PERSON), "sender": _nullable({"type": "string"}),
            "body_text": {"type": "string"},
            "body_html": {"type": "string", "description": "Sanitised HTML, as the agent's page shows it."},
            "delivery_state": _nullable({"type": "string"}),
            "attachments": {"type": "array", "items": _ref("Attachment")},
            "created_at": {"type": "string", "format": "date-time"}}},
    "NewThread": {"type": "object", "additionalProperties": False, "required": ["kind"], "properties": {
        "kind": {"type": "string", "enum": list(NEW_KINDS)},
        "body": {"type": "string", "description": "Plain text. Give this or body_html."},
        "body_html": {"type": "string", "description": "HTML; sanitised (nh3) before it is kept."},
        "status": {"type": "string", "enum": list(STATUSES)},
        "attachments": {"type": "array", "items": {"type": "string"},
                        "description": "`upload` ids from POST /attachments."}}},
    "Attachment": ATTACHMENT,
    "Upload": {"type": "object", "required": ["upload", "filename", "content_type", "size", "sha256", "expires_at"],
               "properties": {"upload": {"type": "string"}, "filename": {"type": "string"},
                              "content_type": {"type": "string"}, "size": {"type": "integer"},
                              "sha256": {"type": "string"}, "expires_at": {"type": "string", "format": "date-time"}}},
    "Contact": {"type": "object", "required": [
        "id", "url", "name", "email", "identities", "account", "tier", "effective_tier", "language", "timezone",
        "created_at", "merged_into", "recent_tickets"], "properties": {
            "id": {"type": "integer"}, "url": {"type": "string"}, "name": {"type": "string"},
            "email": _nullable({"type": "string"}),
            "identities": {"type": "array", "items": {"type": "object", "required": ["kind", "value"], "properties": {
                "kind": {"type": "string", "enum": list(IDENTITY_KINDS)}, "value": {"type": "string"}}}},
            "account": _nullable({"type": "string"}), "tier": _nullable({"type": "string", "enum": list(TIERS)}),
            "effective_tier": {"type": "string", "enum": list(TIERS)},
            "language": {"type": "string"}, "timezone": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"},
            "merged_into": _nullable({"type": "integer"}),
            "recent_tickets": {"type": "array", "items": {"type": "integer"},
                               "description": "Numbers of their latest tickets the agent may see (at most 10)."}}},
    "NewContact": {"type": "object", "additionalProperties": False, "required": ["name", "identities"],
                   "properties": {**CONTACT_DETAILS,
                                  "identities": {"type": "array", "minItems": 1, "items": IDENTITY}}},
    "ContactChange": {"type": "object", "additionalProperties": False, "properties": {
        **CONTACT_DETAILS, "add_identities": {"type": "array", "items": IDENTITY},
        "remove_identities": {"type": "array", "items": IDENTITY}}},
}


def document() -> dict:
    return {
        "openapi": "3.0.3",
        "info": {"title": "Deskwright API", "version": "1.0.0",
                 "description": "Tickets, their messages and attachments, and contacts, for integrations. Authenticate with an agent's API token "
                                "(`flask --app wsgi create-token --email E`) as `Authorization: Bearer <token>`. "
                                "Errors are RFC 9457 problem documents."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/tickets": {
                "post": {
                    "operationId": "createTicket", "summary": "Open a ticket",
                    "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("NewTicket")}}},
                    "responses": {"201": _json(_ref("Ticket"), "The new ticket (Location: its URL)."),
                                  **_errors("400", "401", "403", "415", "422")},
                },
                "get": {
                    "operationId": "listTickets", "summary": "List tickets, newest first",
                    "parameters": [
                        {"name": "filter", "in": "query", "schema": {"type": "string"},
                         "description": "A condition in the condition language, as JSON (docs/rules.md)."},
                        LIMIT, {"name": "cursor", "in": "query", "schema": {"type": "string", "pattern": "^[0-9]+$"},
                                "description": "next_cursor of the previous page."},
                    ],
                    "responses": {"200": _json(_ref("TicketPage"), "One page."), **_errors("401", "403", "422")},
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
                        **_errors("400", "401", "403", "422")},
                },
            },
            "/tickets/{number}": {
                "parameters": [NUMBER],
                "get": {
                    "operationId": "getTicket", "summary": "Read a ticket",
                    "responses": {"200": _json(_ref("Ticket"), "The ticket."), **NOT_FOUND, **_errors("401", "403")},
                },
                "patch": {
                    "operationId": "updateTicket", "summary": "Change a ticket",
                    "requestBody": {"required": True,
                                    "content": {"application/json": {"schema": _ref("TicketChange")}}},
                    "responses": {"200": _json(_ref("Ticket"), "The ticket after the change."), **NOT_FOUND,
                                  "409": _problem("The ticket changed since `version`."),
                                  **_errors("400", "401", "403", "415", "422")},
                },
            },
            **PATHS,
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
                "TicketPage": _page("Ticket"), "ThreadPage": _page("Thread"), "ContactPage": _page("Contact"),
                **SCHEMAS,
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
