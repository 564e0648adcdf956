"""Errors as RFC 9457 problem details (`application/problem+json`), for every /api/ response.

`errors` (a member RFC 9457 allows as an extension) maps each bad input to its message, with the
request body's own names: `subject`, `custom_fields.order_number`.
"""
from __future__ import annotations

from typing import Any, Optional

from flask import Response, current_app, json, request
from werkzeug.exceptions import HTTPException

PROBLEM = "application/problem+json"


class ApiProblem(Exception):
    """Raised by API code; answered as a problem document."""

    def __init__(self, status: int, title: str, detail: Optional[str] = None, errors: Optional[dict] = None,
                 headers: Optional[dict] = None):
        super().__init__(detail or title)
        self.status, self.title, self.detail, self.errors, self.headers = status, title, detail, errors, headers


def problem(status: int, title: str, detail: Optional[str] = None, errors: Optional[dict] = None,
            headers: Optional[dict] = None) -> Response:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = {key: str(message) for key, message in errors.items()}
    response = current_app.response_class(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def from_http_exception(exc: HTTPException) -> Response:
    headers = {"Allow": ", ".join(exc.valid_methods)} if getattr(exc, "valid_methods", None) else None
    return problem(exc.code or 500, exc.name, exc.description if exc.code != 500 else None, headers=headers)


def from_api_problem(exc: ApiProblem) -> Response:
    return problem(exc.status, exc.title, exc.detail, exc.errors, exc.headers)
