"""pgvector, where the PostgreSQL server has it: a `claim_vector` column the links stage fills and searches

Only on PostgreSQL, and only when the server offers the `vector` extension (`pg_available_extensions`) and
this user may create it; otherwise nothing changes and the links stage searches vectors exactly in numpy,
reading them in pages (podsight/pipeline/links.py). The column has no fixed dimension, since the embedding
model may change: `store/vectors.py` makes an HNSW index per dimension, on the cast to that dimension.

Revision ID: 0008
Revises: 0007
"""
import logging

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

log = logging.getLogger("podsight.store")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    if not bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")).scalar():
        return
    try:
        with bind.begin_nested():  # a user who may not create extensions keeps the exact search
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS vector"))
    except sa.exc.DBAPIError as exc:
        log.warning("pgvector is available but could not be enabled (%s); links use the exact search", exc.orig)
        return
    bind.execute(sa.text("ALTER TABLE insights ADD COLUMN IF NOT EXISTS claim_vector vector"))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE insights DROP COLUMN IF EXISTS claim_vector")
