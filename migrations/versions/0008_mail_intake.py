"""mail intake: mailboxes, every inbound message kept raw, inline images' content ids

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24

"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'mailboxes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('address', sa.String(length=320), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('department_id', sa.Integer(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['department_id'], ['departments.id'],
                                name=op.f('fk_mailboxes_department_id_departments'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_mailboxes')),
        sa.UniqueConstraint('address', name=op.f('uq_mailboxes_address')),
    )
    op.create_table(
        'inbound_messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.String(length=998), nullable=True),
        sa.Column('mailbox_id', sa.Integer(), nullable=True),
        sa.Column('sender', sa.String(length=320), nullable=True),
        sa.Column('subject', sa.String(length=500), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('via', sa.String(length=20), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=True),
        sa.Column('thread_id', sa.Integer(), nullable=True),
        sa.Column('loop_reason', sa.String(length=200), nullable=True),
        sa.Column('problem', sa.Text(), nullable=True),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('raw', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['mailbox_id'], ['mailboxes.id'],
                                name=op.f('fk_inbound_messages_mailbox_id_mailboxes'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'],
                                name=op.f('fk_inbound_messages_ticket_id_tickets'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['thread_id'], ['threads.id'],
                                name=op.f('fk_inbound_messages_thread_id_threads'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_messages')),
    )
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.create_index('ix_inbound_messages_message_id', ['message_id'], unique=False)
        batch_op.create_index('ix_inbound_messages_sender_received', ['sender', 'received_at'], unique=False)
        batch_op.create_index('ix_inbound_messages_status_received', ['status', 'received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbound_messages_ticket_id'), ['ticket_id'], unique=False)
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('content_id', sa.String(length=255), nullable=True))


def downgrade():
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_column('content_id')
    op.drop_table('inbound_messages')
    op.drop_table('mailboxes')
