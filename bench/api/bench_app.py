"""The app the API benchmark runs under gunicorn: `gunicorn 'bench_app:create_app()'` (cwd bench/api).

The production app (wsgi.py: DESKWRIGHT_ENV=production, PostgreSQL, Redis, RQ) plus one bare route,
the limit the API is measured against: POST /bench/bare reads the same JSON body and inserts one row
(no token, no validation, no ticket service, no events), in the same gunicorn, the same Flask, the same
SQLAlchemy engine and pool.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from flask import jsonify, request  # noqa: E402
from sqlalchemy import text  # noqa: E402

from portal import create_app as create_portal_app  # noqa: E402
from portal.extensions import csrf, db  # noqa: E402

BARE_TABLE = "bench_bare"


def create_app():
    app = create_portal_app()

    @app.post("/bench/bare")
    @csrf.exempt
    def bare():
        data = request.get_json()
        row_id = db.session.execute(text(f"INSERT INTO {BARE_TABLE} (subject, body, email) VALUES (:s, :b, :e) "
                                         "RETURNING id"),
                                    {"s": data["subject"], "b": data["body"], "e": data["contact_email"]}).scalar()
        db.session.commit()
        response = jsonify(id=row_id)
        response.status_code = 201
        return response

    return app
