"""WeChat safe mode: each account's message encryption mode (plaintext / compatible / safe) and its
EncodingAESKey, sealed with Fernet like a mailbox password

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-24

"""
from alembic import op
import sqlalchemy as sa

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('wechat_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mode', sa.String(length=12), nullable=False, server_default='plaintext'))
        batch_op.add_column(sa.Column('encoding_aes_key', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('wechat_accounts', schema=None) as batch_op:
        batch_op.drop_column('encoding_aes_key')
        batch_op.drop_column('mode')
