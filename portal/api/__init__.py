"""The REST API (`/api/v1`): tickets for integrations, authenticated by per-agent Bearer tokens.

Every error, including 404 and 405 from routing, is a problem document (problems.py). The API is
exempt from CSRF: it takes no cookies, only `Authorization: Bearer`.
"""
from __future__ import annotations

from flask import Flask
from werkzeug.exceptions import HTTPException, InternalServerError

from . import problems


def init_app(app: Flask) -> None:
    from ..extensions import csrf
    from . import attachments, contacts, limits, mail, threads, tickets  # noqa: F401  (their routes join bp)
    from .cli import create_token_command, sweep_uploads_command
    from .views import bp

    csrf.exempt(bp)
    limits.init_app(app, bp)
    app.register_blueprint(bp)
    app.cli.add_command(create_token_command)
    app.cli.add_command(sweep_uploads_command)
    app.register_error_handler(problems.ApiProblem, problems.from_api_problem)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if problems.is_api_request():
            return problems.from_http_exception(exc)
        return exc  # the app's own pages (404, 403, ... handlers are more specific and run first)

    @app.errorhandler(InternalServerError)
    def server_error(exc: InternalServerError):
        if problems.is_api_request():
            return problems.problem(500, "Internal Server Error", "Something went wrong on our side; it was logged.")
        return exc
