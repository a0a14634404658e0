"""episodes.lease_*: a worker claims an episode's next stage for a while (jobs with leases)

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("episodes", sa.Column("lease_owner", sa.String(length=128), nullable=True))
    op.add_column("episodes", sa.Column("lease_token", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("episodes", sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("episodes") as batch_op:
        batch_op.drop_column("lease_expires_at")
        batch_op.drop_column("lease_token")
        batch_op.drop_column("lease_owner")
