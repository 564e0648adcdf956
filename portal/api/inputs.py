"""Checks every API request shares: unknown query parameters, and the 422 answer naming each bad input."""
from __future__ import annotations

from flask import request

from .problems import ApiProblem


def invalid(errors: dict) -> ApiProblem:
    return ApiProblem(422, "Unprocessable Content", "Some values were not accepted; see errors.", errors)


def no_other_parameters(allowed: frozenset[str] = frozenset()) -> None:
    """A misspelt parameter (`?limt=5`) is refused, not silently ignored."""
    unknown = sorted(set(request.args) - allowed)
    if unknown:
        raise invalid({name: "Unknown parameter." for name in unknown})
