"""rules: workflow rules, their revisions and firings, time-rule episodes, macros, notifications,
outbound messages

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24

Tables of issue #3 (rule_builder/models.py, portal/models/notifications.py, outbound.py):
- rules (+ rule_revisions): versioned JSON documents; ix_rules_trigger_enabled_position is the
  engine's one query per event.
- rule_firings: unique (rule_id, event_id) makes each rule fire at most once per event (time
  rules: event_id NULL); ix_rule_firings_rule_created serves the rule page's 24 h / 7 d counts.
- time_rule_episodes: unique (rule_id, ticket_id): a time rule fires once per episode.
- macros (+ macro_revisions), notifications.
- outbound_messages: emails and webhooks sent after commit; dedupe_key unique. rule_firing_id has
  no foreign key on purpose (portal's table, rule_builder's id).
"""
from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def _created_updated():
    return [
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
    ]


def _by_fks(table):
    return [
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f(f'fk_{table}_created_by_id_users'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f(f'fk_{table}_updated_by_id_users'),
                                ondelete='SET NULL'),
    ]


def upgrade():
    op.create_table(
        'rules',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('department_id', sa.Integer(), nullable=True),
        sa.Column('trigger', sa.String(length=20), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.Column('condition', sa.JSON(), nullable=False),
        sa.Column('actions', sa.JSON(), nullable=False),
        *_created_updated(),
        sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_rules_department_id_departments')),
        *_by_fks('rules'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_rules')),
        sa.UniqueConstraint('name', name=op.f('uq_rules_name')),
    )
    op.create_index('ix_rules_trigger_enabled_position', 'rules', ['trigger', 'enabled', 'position'], unique=False)

    op.create_table(
        'rule_revisions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('rule_id', sa.Integer(), nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.Column('document', sa.JSON(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_rule_revisions_author_id_users'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['rule_id'], ['rules.id'], name=op.f('fk_rule_revisions_rule_id_rules'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_rule_revisions')),
        sa.UniqueConstraint('rule_id', 'revision', name='uq_rule_revisions_rule_revision'),
    )

    op.create_table(
        'rule_firings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('rule_id', sa.Integer(), nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('changes', sa.JSON(), nullable=False),
        sa.Column('outputs', sa.JSON(), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['outbox_events.id'], name=op.f('fk_rule_firings_event_id_outbox_events'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['rule_id'], ['rules.id'], name=op.f('fk_rule_firings_rule_id_rules'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_rule_firings_ticket_id_tickets'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_rule_firings')),
        sa.UniqueConstraint('rule_id', 'event_id', name='uq_rule_firings_rule_event'),
    )
    op.create_index('ix_rule_firings_rule_created', 'rule_firings', ['rule_id', 'created_at'], unique=False)
    op.create_index('ix_rule_firings_ticket', 'rule_firings', ['ticket_id', 'id'], unique=False)

    op.create_table(
        'time_rule_episodes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('rule_id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['rule_id'], ['rules.id'], name=op.f('fk_time_rule_episodes_rule_id_rules'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_time_rule_episodes_ticket_id_tickets'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_time_rule_episodes')),
        sa.UniqueConstraint('rule_id', 'ticket_id', name='uq_time_rule_episodes_rule_ticket'),
    )
    op.create_index(op.f('ix_time_rule_episodes_ticket_id'), 'time_rule_episodes', ['ticket_id'], unique=False)

    op.create_table(
        'macros',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=True),
        sa.Column('department_id', sa.Integer(), nullable=True),
        sa.Column('condition', sa.JSON(), nullable=False),
        sa.Column('actions', sa.JSON(), nullable=False),
        sa.Column('usage_count', sa.Integer(), nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        *_created_updated(),
        sa.ForeignKeyConstraint(['department_id'], ['departments.id'],
                                name=op.f('fk_macros_department_id_departments')),
        sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_macros_owner_id_users'), ondelete='CASCADE'),
        *_by_fks('macros'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_macros')),
    )
    op.create_index(op.f('ix_macros_owner_id'), 'macros', ['owner_id'], unique=False)

    op.create_table(
        'macro_revisions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('macro_id', sa.Integer(), nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.Column('document', sa.JSON(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_macro_revisions_author_id_users'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['macro_id'], ['macros.id'], name=op.f('fk_macro_revisions_macro_id_macros'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_macro_revisions')),
        sa.UniqueConstraint('macro_id', 'revision', name='uq_macro_revisions_macro_revision'),
    )

    op.create_table(
        'notifications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=True),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_notifications_ticket_id_tickets'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    )
    op.create_index(op.f('ix_notifications_ticket_id'), 'notifications', ['ticket_id'], unique=False)
    op.create_index('ix_notifications_user_read', 'notifications', ['user_id', 'read_at', 'id'], unique=False)

    op.create_table(
        'outbound_messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=True),
        sa.Column('dedupe_key', sa.String(length=255), nullable=False),
        sa.Column('recipient', sa.String(length=320), nullable=True),
        sa.Column('url', sa.String(length=2000), nullable=True),
        sa.Column('sender', sa.String(length=320), nullable=True),
        sa.Column('subject', sa.String(length=500), nullable=True),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=True),
        sa.Column('headers', sa.JSON(), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('enqueued_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('rule_firing_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_outbound_messages_ticket_id_tickets'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outbound_messages')),
        sa.UniqueConstraint('dedupe_key', name=op.f('uq_outbound_messages_dedupe_key')),
    )
    op.create_index(op.f('ix_outbound_messages_rule_firing_id'), 'outbound_messages', ['rule_firing_id'], unique=False)
    op.create_index('ix_outbound_messages_status_created', 'outbound_messages', ['status', 'created_at'], unique=False)
    op.create_index(op.f('ix_outbound_messages_ticket_id'), 'outbound_messages', ['ticket_id'], unique=False)


def downgrade():
    for table in ('outbound_messages', 'notifications', 'macro_revisions', 'macros', 'time_rule_episodes',
                  'rule_firings', 'rule_revisions', 'rules'):
        op.drop_table(table)  # their indexes go with them
