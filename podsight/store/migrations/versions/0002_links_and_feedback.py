"""insight embeddings, links between insights, subscriber feedback

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, not batch mode: rebuilding `insights` on SQLite with foreign keys on would cascade
    # the drop of the old table into digest_items.
    op.add_column("insights", sa.Column("embedding", sa.LargeBinary(), nullable=True))
    op.add_column("insights", sa.Column("embed_model", sa.String(length=128), nullable=True))
    op.create_table(
        "insight_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("insight_id", sa.Integer(), nullable=False),
        sa.Column("other_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("similarity", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("judged_by", sa.String(length=256), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["insight_id"], ["insights.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["other_id"], ["insights.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("insight_id", "other_id"),
    )
    op.create_index("ix_insight_links_insight_id", "insight_links", ["insight_id"])
    op.create_index("ix_insight_links_other_id", "insight_links", ["other_id"])
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("insight_id", sa.Integer(), nullable=False),
        sa.Column("vote", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["subscriber_id"], ["subscribers.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["insight_id"], ["insights.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subscriber_id", "insight_id"),
    )
    op.create_index("ix_feedback_subscriber_id", "feedback", ["subscriber_id"])
    op.create_index("ix_feedback_insight_id", "feedback", ["insight_id"])


def downgrade() -> None:
    op.drop_table("feedback")
    op.drop_table("insight_links")
    op.drop_column("insights", "embed_model")  # SQLite 3.35+ drops columns in place
    op.drop_column("insights", "embedding")
