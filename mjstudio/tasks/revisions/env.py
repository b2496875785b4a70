"""Alembic's environment for the task store: migrations run on the connection the store hands in.

The store opens the transaction (and, on PostgreSQL, takes the migration lock) before Alembic
starts, so a whole upgrade commits or rolls back as one; see ``mjstudio.tasks.migrations``.
"""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():  # the store's transaction is open: this adds none
    context.run_migrations()
