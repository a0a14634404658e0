"""PostgreSQL full-text search: GIN indexes on the tsvector of insights and transcript segments

SQLite has had FTS5 tables since 0003; PostgreSQL searched with LIKE until now. The indexes are on
expressions, so the text is stored once and nothing keeps a copy in step. The 'simple' configuration (no
stemming, no stop words) because transcripts come in many languages; the last query word matches as a prefix.

Revision ID: 0007
Revises: 0006
"""
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# The same expressions as podsight/store/search.py's queries: PostgreSQL uses an expression index only for
# a query that spells the expression the same way.
INSIGHT_VECTOR = "to_tsvector('simple', coalesce(claim, '') || ' ' || coalesce(quote, '') || ' ' || coalesce(why, ''))"
SEGMENT_VECTOR = "to_tsvector('simple', coalesce(text, ''))"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"CREATE INDEX ix_insights_search ON insights USING GIN (({INSIGHT_VECTOR}))")
    op.execute(f"CREATE INDEX ix_segments_search ON segments USING GIN (({SEGMENT_VECTOR}))")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_segments_search")
    op.execute("DROP INDEX IF EXISTS ix_insights_search")
