"""queue indexes: priority sort, "mine" counts, 2-character Chinese/Japanese search

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

Found with bench/queue_latency.py on 1,000,000 tickets (figures in bench/README.md):

1. ix_tickets_priority_id (priority, id): the queue's "priority" sort orders by (priority DESC,
   id DESC); without an index every open ticket was sorted (~240 ms). Both dialects. (Used once
   ticket_list stops writing NULLS LAST for NOT NULL sort columns, see bench/README.md.)
2. ix_tickets_assignee_status_updated gets INCLUDE (department_id) (PostgreSQL only): an agent's
   "mine" count (department_id IN (...) AND assignee_id = me AND status IN (...)) becomes an
   index-only scan, 62 ms -> 0.4 ms, and that count runs on every queue page.
3. deskwright_cjk_key(text) + ix_tickets_search_cjk (PostgreSQL only): pg_trgm can't index a
   2-character Chinese word such as 退款 or a 2-character name (LIKE '%郭华%' yields no trigram),
   so such a search read the whole table (1.4 s when the word is rare). The key keeps only the
   CJK runs of the text and writes every CJK character twice (退款 -> 退退款款), which gives a
   2-character word two trigrams. The queue looks a 2-character CJK term up as
       deskwright_cjk_key(search_text) LIKE '%退退款款%'
   which is exact (a text contains the term exactly when its key contains the term's key).
   Other searches keep using ix_tickets_search_trgm.

On a large existing desk this migration blocks writes to tickets while it builds the indexes:
about 55 s at a million tickets (mostly the GIN index). Plan the deploy for it.
"""
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

# Kana, CJK extension A, CJK unified ideographs, CJK compatibility ideographs. The Python side
# (the search term's key in ticket_list.text_clause) must use the same class.
CJK_CLASS = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"

CREATE_FUNCTION = rf"""
CREATE OR REPLACE FUNCTION deskwright_cjk_key(t text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
  SELECT regexp_replace(regexp_replace(t, '[^{CJK_CLASS}]+', ' ', 'g'), '[{CJK_CLASS}]', '\&\&', 'g')
$$
"""


def upgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_priority_id', ['priority', 'id'], unique=False)
    if not postgresql:
        return
    op.drop_index('ix_tickets_assignee_status_updated', table_name='tickets')
    op.create_index('ix_tickets_assignee_status_updated', 'tickets', ['assignee_id', 'status', 'updated_at', 'id'],
                    unique=False, postgresql_include=['department_id'])
    op.execute(CREATE_FUNCTION)
    op.execute("CREATE INDEX ix_tickets_search_cjk ON tickets USING gin (deskwright_cjk_key(search_text) gin_trgm_ops)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_tickets_search_cjk")
        op.execute("DROP FUNCTION IF EXISTS deskwright_cjk_key(text)")
        op.drop_index('ix_tickets_assignee_status_updated', table_name='tickets')
        op.create_index('ix_tickets_assignee_status_updated', 'tickets',
                        ['assignee_id', 'status', 'updated_at', 'id'], unique=False)
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_priority_id')
