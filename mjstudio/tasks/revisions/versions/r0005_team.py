"""Release 5: a team on one history: who made each task, sharing, leases, one rate budget.

``owner`` and ``shared`` file each task under the signed-in designer and show it to the team;
``lease_owner`` / ``lease_until`` say which server works on a task (several servers share the
database); ``rate_buckets`` holds the provider's request budget that all of them spend.

Revision ID: 0005
Revises: 0004
"""

from alembic import op
from sqlalchemy import inspect

from mjstudio.tasks import migrations
from mjstudio.tasks.schema import RATE_TABLE, TEAM_COLUMNS, TEAM_INDEXES, postgres_ddl

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        migrations.to_5(bind.connection.driver_connection)
        return
    have = {column["name"] for column in inspect(bind).get_columns("tasks")}
    added = {name: kind for name, kind in TEAM_COLUMNS.items() if name not in have}
    wanted = [f"ALTER TABLE tasks ADD COLUMN {name} {kind}" for name, kind in added.items()]
    for statement in (*wanted, *TEAM_INDEXES.values(), RATE_TABLE):
        op.execute(postgres_ddl(statement))
