"""condition functions: deskwright_fold(text) for case- and width-insensitive text conditions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

Conditions compare text after folding both sides: A-Z -> a-z, the full-width ASCII forms
U+FF01-U+FF5E -> their ASCII (lower-cased), U+3000 -> space, nothing else. This is the SQL side of
portal.conditions.fold (the Python side); tests/conditions check the two give the same text.
PostgreSQL only: SQLite gets the Python function on each connection (portal.conditions).
"""
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

# Written out here: a migration must not import the app.
FOLD_FROM = ("ABCDEFGHIJKLMNOPQRSTUVWXYZ" + "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000")
FOLD_TO = ("abcdefghijklmnopqrstuvwxyz" + "".join(chr(c - 0xFEE0).lower() for c in range(0xFF01, 0xFF5F)) + " ")


def _literal(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


CREATE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION deskwright_fold(t text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $fold$ SELECT translate(t, {_literal(FOLD_FROM)}, {_literal(FOLD_TO)}) $fold$
"""


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CREATE_FUNCTION)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS deskwright_fold(text)")
