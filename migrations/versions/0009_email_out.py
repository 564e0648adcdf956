"""email out: an outbound email's HTML part, and the conversation message (thread) it carries,
so an agent's emailed reply shows its delivery state

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
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('html', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('thread_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_outbound_messages_thread_id'), ['thread_id'])
        batch_op.create_foreign_key(batch_op.f('fk_outbound_messages_thread_id_threads'), 'threads',
                                    ['thread_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_outbound_messages_thread_id_threads'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_outbound_messages_thread_id'), type_='unique')
        batch_op.drop_column('thread_id')
        batch_op.drop_column('html')
