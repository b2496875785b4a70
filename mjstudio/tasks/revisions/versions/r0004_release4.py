"""Release 4's schema: tasks, their indexes and prompt search (batches and favourites included).

On SQLite this runs the store's earlier schema steps (``PRAGMA user_version`` 2 to 4) from
wherever the file stands, so a data folder of any earlier release arrives here with nothing
lost; on PostgreSQL it creates the same table and indexes, and a trigram index for search.

Revision ID: 0004
Revises:
"""

import logging

from alembic import op

from mjstudio.tasks import migrations
from mjstudio.tasks.schema import COLUMN_TYPES, INDEXES, PG_TRGM_INDEX, postgres_ddl

revision = "0004"
down_revision = None
branch_labels = None
depends_on = None
log = logging.getLogger("mjstudio.tasks.migrations")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        migrations.run_legacy_steps(bind.connection.driver_connection)
        return
    spec = ", ".join(f"{name} {kind}" for name, kind in COLUMN_TYPES.items())
    op.execute(postgres_ddl(f"CREATE TABLE IF NOT EXISTS tasks (seq INTEGER PRIMARY KEY, {spec})"))
    for statement in INDEXES.values():
        op.execute(postgres_ddl(statement))
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(PG_TRGM_INDEX)
