"""The demo desk: a seeded, repeatable generator (no external corpus)."""
