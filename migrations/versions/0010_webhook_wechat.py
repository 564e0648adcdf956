"""webhook and WeChat intake: webhook channels, WeChat accounts, every delivery kept

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
    op.create_table(
        'webhook_channels',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('public_id', sa.String(length=40), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('department_id', sa.Integer(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('secret', sa.String(length=100), nullable=False),
        sa.Column('secret_rotated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('mapping', sa.JSON(), nullable=False),
        sa.Column('external_id_path', sa.String(length=300), nullable=True),
        sa.Column('conversation_path', sa.String(length=300), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['department_id'], ['departments.id'],
                                name=op.f('fk_webhook_channels_department_id_departments'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_channels')),
        sa.UniqueConstraint('public_id', name=op.f('uq_webhook_channels_public_id')),
    )
    op.create_table(
        'wechat_accounts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('public_id', sa.String(length=40), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('department_id', sa.Integer(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('app_id', sa.String(length=40), nullable=False),
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('reply_zh', sa.Text(), nullable=False),
        sa.Column('reply_en', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['department_id'], ['departments.id'],
                                name=op.f('fk_wechat_accounts_department_id_departments'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_wechat_accounts')),
        sa.UniqueConstraint('public_id', name=op.f('uq_wechat_accounts_public_id')),
    )
    op.create_table(
        'channel_deliveries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('webhook_id', sa.Integer(), nullable=True),
        sa.Column('wechat_id', sa.Integer(), nullable=True),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('http_status', sa.Integer(), nullable=False),
        sa.Column('problem', sa.Text(), nullable=True),
        sa.Column('external_id', sa.String(length=255), nullable=True),
        sa.Column('conversation', sa.String(length=255), nullable=True),
        sa.Column('ticket_id', sa.Integer(), nullable=True),
        sa.Column('thread_id', sa.Integer(), nullable=True),
        sa.Column('payload', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['webhook_id'], ['webhook_channels.id'],
                                name=op.f('fk_channel_deliveries_webhook_id_webhook_channels'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['wechat_id'], ['wechat_accounts.id'],
                                name=op.f('fk_channel_deliveries_wechat_id_wechat_accounts'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'],
                                name=op.f('fk_channel_deliveries_ticket_id_tickets'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['thread_id'], ['threads.id'],
                                name=op.f('fk_channel_deliveries_thread_id_threads'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_deliveries')),
    )
    with op.batch_alter_table('channel_deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_channel_deliveries_ticket_id'), ['ticket_id'], unique=False)
        batch_op.create_index('ix_channel_deliveries_webhook', ['webhook_id', 'status', 'received_at'], unique=False)
        batch_op.create_index('ix_channel_deliveries_wechat', ['wechat_id', 'status', 'received_at'], unique=False)
        batch_op.create_index('ix_channel_deliveries_webhook_conversation', ['webhook_id', 'conversation'],
                              unique=False)
        batch_op.create_index('ix_channel_deliveries_webhook_external', ['webhook_id', 'external_id'], unique=False)
        batch_op.create_index('ix_channel_deliveries_wechat_external', ['wechat_id', 'external_id'], unique=False)


def downgrade():
    op.drop_table('channel_deliveries')
    op.drop_table('wechat_accounts')
    op.drop_table('webhook_channels')
