"""one customer view, contact merge, phone calls (placeholder)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24

"""
from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
