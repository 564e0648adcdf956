"""webhook and WeChat intake (placeholder)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24

"""
from alembic import op
import sqlalchemy as sa

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
