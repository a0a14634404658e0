"""Alembic environment: podsight runs migrations itself (`podsight.store.db.migrate`), with the
connection passed in through `config.attributes`."""

from alembic import context

from podsight.store.models import Base

config = context.config


def run_migrations_online() -> None:
    connection = config.attributes["connection"]
    # batch mode lets ALTER TABLE work on SQLite, which cannot alter most things in place
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
