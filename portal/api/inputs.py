"""Checks every API request shares: unknown query parameters, NUL characters, and the 422 answer naming each
bad input."""
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
    nul = sorted(name for name, value in request.args.items(multi=True) if "\x00" in value)
    if nul:
        raise invalid({name: NUL_MESSAGE for name in nul})


NUL_MESSAGE = "Text can't contain NUL characters (\\u0000)."


def nul_members(value, path: str = "") -> list[str]:
    """Where a JSON body holds a NUL character (PostgreSQL text can't store one): member paths."""
    if isinstance(value, str):
        return [path or "body"] if "\x00" in value else []
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in ([f"{path}.{key}" if path else str(key)]
                                                          if "\x00" in str(key) else nul_members(
                                                              item, f"{path}.{key}" if path else str(key)))]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in nul_members(item, f"{path}.{index}")]
    return []
