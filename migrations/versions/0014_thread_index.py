"""Outlook Thread-Index threading: the conversation of each inbound message (the header block, hex)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-24

"""
from alembic import op
import sqlalchemy as sa

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('conversation', sa.String(length=44), nullable=True))
        batch_op.create_index('ix_inbound_messages_conversation', ['conversation'], unique=False)


def downgrade():
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_messages_conversation')
        batch_op.drop_column('conversation')
