"""IMAP polling: each mailbox's IMAP settings (password sealed with Fernet), where its poller is
(UIDVALIDITY, last UID), the last poll's result, the back-off and the one-poller lease

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24

"""
from alembic import op
import sqlalchemy as sa

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

COLUMNS = [
    ('imap_host', lambda: sa.Column('imap_host', sa.String(length=255), nullable=True)),
    ('imap_port', lambda: sa.Column('imap_port', sa.Integer(), nullable=True)),
    ('imap_security', lambda: sa.Column('imap_security', sa.String(length=10), nullable=False, server_default='ssl')),
    ('imap_username', lambda: sa.Column('imap_username', sa.String(length=320), nullable=True)),
    ('imap_password', lambda: sa.Column('imap_password', sa.Text(), nullable=True)),
    ('imap_folder', lambda: sa.Column('imap_folder', sa.String(length=200), nullable=False, server_default='INBOX')),
    ('imap_after', lambda: sa.Column('imap_after', sa.String(length=10), nullable=False, server_default='seen')),
    ('imap_move_to', lambda: sa.Column('imap_move_to', sa.String(length=200), nullable=True)),
    ('poll_minutes', lambda: sa.Column('poll_minutes', sa.Integer(), nullable=False, server_default='5')),
    ('imap_uidvalidity', lambda: sa.Column('imap_uidvalidity', sa.BigInteger(), nullable=True)),
    ('imap_last_uid', lambda: sa.Column('imap_last_uid', sa.BigInteger(), nullable=False, server_default='0')),
    ('last_poll_at', lambda: sa.Column('last_poll_at', sa.DateTime(timezone=True), nullable=True)),
    ('last_poll_ok', lambda: sa.Column('last_poll_ok', sa.Boolean(), nullable=True)),
    ('last_poll_error', lambda: sa.Column('last_poll_error', sa.Text(), nullable=True)),
    ('last_poll_count', lambda: sa.Column('last_poll_count', sa.Integer(), nullable=False, server_default='0')),
    ('imported_count', lambda: sa.Column('imported_count', sa.Integer(), nullable=False, server_default='0')),
    ('poll_failures', lambda: sa.Column('poll_failures', sa.Integer(), nullable=False, server_default='0')),
    ('next_poll_at', lambda: sa.Column('next_poll_at', sa.DateTime(timezone=True), nullable=True)),
    ('poll_lease_until', lambda: sa.Column('poll_lease_until', sa.DateTime(timezone=True), nullable=True)),
    ('poll_lease_owner', lambda: sa.Column('poll_lease_owner', sa.String(length=64), nullable=True)),
]


def upgrade():
    with op.batch_alter_table('mailboxes', schema=None) as batch_op:
        for _name, column in COLUMNS:
            batch_op.add_column(column())


def downgrade():
    with op.batch_alter_table('mailboxes', schema=None) as batch_op:
        for name, _column in reversed(COLUMNS):
            batch_op.drop_column(name)
