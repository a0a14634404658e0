"""Alembic environment: podsight runs migrations itself (`podsight.store.db.migrate`), with the
connection passed in through `config.attributes`."""

from alembic import context

from podsight.store.models import Base

config = context.config


def run_migrations_online() -> None:
    connection = config.attributes["connection"]
    # batch mode lets ALTER TABLE work on SQLite, which cannot alter most things in place
    # transactional_ddl: podsight.store.db.migrate runs every pending migration in one transaction, SQLite
    # included (it emits BEGIN itself, see _transactional_ddl), so alembic must not commit between them
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True,
                      transactional_ddl=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
