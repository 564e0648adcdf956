"""custom fields: definitions, per-department picklist values, layouts, and their revisions

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26

Tables of issue #4 (portal/fields/models.py):
- custom_fields (+ field_revisions): versioned definitions; `key` is unique and never changes
  (ticket values are stored under it in tickets.custom_fields).
- field_department_options: unique (field_id, department_id): a department's own picklist values.
- layouts (+ layout_revisions): one per department (department_id unique), department_id NULL
  for the default one; is_default (true on the default, NULL elsewhere) is unique too, because
  UNIQUE lets any number of NULL department_ids through.
Indexes for filterable fields (ix_tickets_cf_<key>) are not made here: portal/fields/indexes.py
creates and drops them when an admin marks a field filterable.
"""
from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def _user_fk(table, column):
    return sa.ForeignKeyConstraint([column], ['users.id'], name=op.f(f'fk_{table}_{column}_users'),
                                   ondelete='SET NULL')


def _revision_table(table, owner, owner_table):
    op.create_table(
        table,
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column(owner, sa.Integer(), nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.Column('document', sa.JSON(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint([owner], [f'{owner_table}.id'], name=op.f(f'fk_{table}_{owner}_{owner_table}'),
                                ondelete='CASCADE'),
        _user_fk(table, 'author_id'),
        sa.PrimaryKeyConstraint('id', name=op.f(f'pk_{table}')),
        sa.UniqueConstraint(owner, 'revision', name=op.f(f'uq_{table}_{owner[:-3]}_revision')),
    )


def upgrade():
    op.create_table(
        'custom_fields',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=63), nullable=False),
        sa.Column('type', sa.String(length=30), nullable=False),
        sa.Column('label', sa.String(length=200), nullable=False),
        sa.Column('label_zh', sa.String(length=200), nullable=False),
        sa.Column('help_text', sa.Text(), nullable=False),
        sa.Column('help_text_zh', sa.Text(), nullable=False),
        sa.Column('default', sa.JSON(), nullable=True),
        sa.Column('required', sa.Boolean(), nullable=False),
        sa.Column('validation', sa.JSON(), nullable=False),
        sa.Column('visibility', sa.String(length=20), nullable=False),
        sa.Column('options', sa.JSON(), nullable=True),
        sa.Column('parent_key', sa.String(length=63), nullable=True),
        sa.Column('currency', sa.String(length=3), nullable=True),
        sa.Column('filterable', sa.Boolean(), nullable=False),
        sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        _user_fk('custom_fields', 'created_by_id'),
        _user_fk('custom_fields', 'updated_by_id'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_custom_fields')),
        sa.UniqueConstraint('key', name=op.f('uq_custom_fields_key')),
    )
    op.create_table(
        'field_department_options',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('field_id', sa.Integer(), nullable=False),
        sa.Column('department_id', sa.Integer(), nullable=False),
        sa.Column('options', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['field_id'], ['custom_fields.id'],
                                name=op.f('fk_field_department_options_field_id_custom_fields'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['department_id'], ['departments.id'],
                                name=op.f('fk_field_department_options_department_id_departments'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_field_department_options')),
        sa.UniqueConstraint('field_id', 'department_id', name=op.f('uq_field_department_options_field_department')),
    )
    with op.batch_alter_table('field_department_options', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_field_department_options_department_id'), ['department_id'],
                              unique=False)
    _revision_table('field_revisions', 'field_id', 'custom_fields')

    op.create_table(
        'layouts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('department_id', sa.Integer(), nullable=True),
        sa.Column('is_default', sa.Boolean(), nullable=True),
        sa.Column('document', sa.JSON(), nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['department_id'], ['departments.id'],
                                name=op.f('fk_layouts_department_id_departments'), ondelete='CASCADE'),
        _user_fk('layouts', 'updated_by_id'),
        sa.CheckConstraint('(department_id IS NULL) = (is_default IS NOT NULL)',
                           name=op.f('ck_layouts_default_has_no_department')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_layouts')),
        sa.UniqueConstraint('department_id', name=op.f('uq_layouts_department_id')),
        sa.UniqueConstraint('is_default', name=op.f('uq_layouts_is_default')),
    )
    _revision_table('layout_revisions', 'layout_id', 'layouts')
    # A saved view may sort by a custom field: "cf.<63-character key>:desc" is 71 characters.
    with op.batch_alter_table('saved_views', schema=None) as batch_op:
        batch_op.alter_column('sort', existing_type=sa.String(length=20), type_=sa.String(length=80),
                              existing_nullable=False)


def _custom_field_indexes():
    """The ix_tickets_cf_<key> indexes portal/fields/indexes.py made for filterable fields."""
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        query = ("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'tickets' "
                 "AND indexname LIKE 'ix\\_tickets\\_cf\\_%'")
    else:
        query = ("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tickets' "
                 "AND name LIKE 'ix\\_tickets\\_cf\\_%' ESCAPE '\\'")
    return list(bind.execute(sa.text(query)).scalars())


def downgrade():
    for name in _custom_field_indexes():  # without the fields they serve, they only slow writes down
        op.drop_index(name, table_name='tickets')
    op.execute("UPDATE saved_views SET sort = 'updated' WHERE sort LIKE 'cf.%'")
    with op.batch_alter_table('saved_views', schema=None) as batch_op:
        batch_op.alter_column('sort', existing_type=sa.String(length=80), type_=sa.String(length=20),
                              existing_nullable=False)
    op.drop_table('layout_revisions')
    op.drop_table('layouts')
    op.drop_table('field_revisions')
    with op.batch_alter_table('field_department_options', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_field_department_options_department_id'))
    op.drop_table('field_department_options')
    op.drop_table('custom_fields')
