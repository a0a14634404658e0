"""insights.linked_model: the links stage's own marker, now that extraction stores the embedding

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("insights", sa.Column("linked_model", sa.String(length=128), nullable=True))
    # Until now an insight got its embedding and its links in one transaction: those with one are linked.
    op.execute("UPDATE insights SET linked_model = embed_model WHERE embedding IS NOT NULL")


def downgrade() -> None:
    op.drop_column("insights", "linked_model")
