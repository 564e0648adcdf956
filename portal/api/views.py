"""The API's blueprint and its OpenAPI document."""
from __future__ import annotations

from flask import Blueprint, jsonify

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.get("/openapi.json")
def openapi_document():
    from .openapi import document
    return jsonify(document())
