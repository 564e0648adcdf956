"""one customer view: contacts merged into another, the contact audit trail, logged phone calls

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
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('merged_into_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('merged_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_contacts_merged_into_id_contacts'), 'contacts',
                                    ['merged_into_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_contacts_merged_into_id'), ['merged_into_id'], unique=False)
    op.create_table(
        'contact_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('contact_id', sa.Integer(), nullable=False),
        sa.Column('action', sa.String(length=32), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('actor_label', sa.String(length=200), nullable=True),
        sa.Column('detail', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'],
                                name=op.f('fk_contact_events_contact_id_contacts'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'],
                                name=op.f('fk_contact_events_actor_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_events')),
    )
    with op.batch_alter_table('contact_events', schema=None) as batch_op:
        batch_op.create_index('ix_contact_events_contact', ['contact_id', 'id'], unique=False)
    op.create_table(
        'phone_calls',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('thread_id', sa.Integer(), nullable=False),
        sa.Column('direction', sa.String(length=10), nullable=False),
        sa.Column('number', sa.String(length=32), nullable=False),
        sa.Column('duration_seconds', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['thread_id'], ['threads.id'],
                                name=op.f('fk_phone_calls_thread_id_threads'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_phone_calls')),
        sa.UniqueConstraint('thread_id', name=op.f('uq_phone_calls_thread_id')),
    )
    # The contact page lists the messages a contact wrote on any ticket.
    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.create_index('ix_threads_contact', ['contact_id'], unique=False)


def downgrade():
    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.drop_index('ix_threads_contact')
    op.drop_table('phone_calls')
    with op.batch_alter_table('contact_events', schema=None) as batch_op:
        batch_op.drop_index('ix_contact_events_contact')
    op.drop_table('contact_events')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contacts_merged_into_id'))
        batch_op.drop_constraint(batch_op.f('fk_contacts_merged_into_id_contacts'), type_='foreignkey')
        batch_op.drop_column('merged_at')
        batch_op.drop_column('merged_into_id')
