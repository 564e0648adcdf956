"""The demo desk: a seeded, repeatable generator (no external corpus).

Feature packages add their own demo configuration (rules, macros, blueprints...) with
`register_seed_step`; portal cannot import them (see docs/architecture.md), so they call in.
"""
from collections.abc import Callable

_SEED_STEPS: dict[str, Callable[[], None]] = {}


def register_seed_step(name: str, step: Callable[[], None]) -> None:
    """Run `step()` after the demo desk's people and tickets exist, before the final commit."""
    _SEED_STEPS[name] = step


def seed_steps() -> list[Callable[[], None]]:
    return list(_SEED_STEPS.values())
