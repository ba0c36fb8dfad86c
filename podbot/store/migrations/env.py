"""Alembic environment: podbot runs migrations on a connection it opened itself.

``podbot.store.migrations.upgrade`` passes that connection in ``config.attributes``; no
``alembic.ini`` and no URL are needed (see ``make_revision`` there for writing a new revision).
"""

from __future__ import annotations

from alembic import context

from podbot.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("podbot migrations run through podbot.store.migrations.upgrade (podbot db upgrade)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things: batch mode rebuilds the table, keeping its rows.
    render_as_batch=True,
    compare_type=True,
    # podbot began the transaction itself (BEGIN IMMEDIATE on SQLite), so on SQLite too the DDL
    # is inside it and a failed upgrade rolls back completely.
    transactional_ddl=True,
)
with context.begin_transaction():
    context.run_migrations()
