"""email out (placeholder: filled by the email-out work)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24

"""
from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
