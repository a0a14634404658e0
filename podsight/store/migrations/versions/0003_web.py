"""web app: full-text search (SQLite FTS5), subscriber channels, admin users, segment kinds

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# External-content FTS5 tables: the text lives once, in insights and segments; triggers keep the index in step.
_FTS_SQLITE = [
    "CREATE VIRTUAL TABLE insights_fts USING fts5(claim, quote, why, content='insights', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER insights_fts_insert AFTER INSERT ON insights BEGIN "
    "INSERT INTO insights_fts(rowid, claim, quote, why) VALUES (new.id, new.claim, new.quote, new.why); END",
    "CREATE TRIGGER insights_fts_delete AFTER DELETE ON insights BEGIN "
    "INSERT INTO insights_fts(insights_fts, rowid, claim, quote, why) VALUES ('delete', old.id, old.claim, old.quote, old.why); END",
    "CREATE TRIGGER insights_fts_update AFTER UPDATE OF claim, quote, why ON insights BEGIN "
    "INSERT INTO insights_fts(insights_fts, rowid, claim, quote, why) VALUES ('delete', old.id, old.claim, old.quote, old.why); "
    "INSERT INTO insights_fts(rowid, claim, quote, why) VALUES (new.id, new.claim, new.quote, new.why); END",
    "CREATE VIRTUAL TABLE segments_fts USING fts5(text, content='segments', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER segments_fts_insert AFTER INSERT ON segments BEGIN "
    "INSERT INTO segments_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER segments_fts_delete AFTER DELETE ON segments BEGIN "
    "INSERT INTO segments_fts(segments_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER segments_fts_update AFTER UPDATE OF text ON segments BEGIN "
    "INSERT INTO segments_fts(segments_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO segments_fts(rowid, text) VALUES (new.id, new.text); END",
    "INSERT INTO insights_fts(insights_fts) VALUES ('rebuild')",  # index what an older database already holds
    "INSERT INTO segments_fts(segments_fts) VALUES ('rebuild')",
]


def upgrade() -> None:
    op.add_column("subscribers", sa.Column("email_enabled", sa.Boolean(), nullable=False, server_default=sa.true()))
    op.add_column("subscribers", sa.Column("webhook_url", sa.String(length=2048), nullable=True))
    op.add_column("segments", sa.Column("kind", sa.String(length=16), nullable=True))
    op.create_index("ix_digests_day", "digests", ["day"])  # the archive and "newest digest" look days up
    op.create_table(
        "admin_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=128), nullable=False),
        sa.Column("password_hash", sa.String(length=512), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    if op.get_bind().dialect.name == "sqlite":  # PostgreSQL will get tsvector columns in its own migration
        for statement in _FTS_SQLITE:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("insights_fts", "segments_fts"):
            op.execute(f"DROP TABLE IF EXISTS {name}")  # drops its triggers' target; triggers go with the tables below
        for trigger in ("insights_fts_insert", "insights_fts_delete", "insights_fts_update",
                        "segments_fts_insert", "segments_fts_delete", "segments_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.drop_table("admin_users")
    op.drop_index("ix_digests_day", table_name="digests")
    op.drop_column("segments", "kind")
    op.drop_column("subscribers", "webhook_url")
    op.drop_column("subscribers", "email_enabled")
