"""Schema migrations (Alembic), run programmatically: no alembic.ini at run time.

``upgrade(db)`` brings the database to the newest revision shipped with this podbot. It runs in
one transaction (PostgreSQL and SQLite both have transactional DDL), so a failed upgrade leaves
the previous schema and every row intact. Several replicas starting at once are serialised: by
an advisory lock on PostgreSQL, by ``BEGIN IMMEDIATE`` on SQLite; the later ones find the schema
current and do nothing.

To add a revision during development: change ``podbot/store/schema.py``, then call
``make_revision("sqlite:///dev.sqlite3", "what changed")`` (from ``podbot.store.migrations``)
against a database at the current head, and review the generated file (add data migrations by
hand; SQLite needs ``op.batch_alter_table``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text

from podbot.core.errors import PodbotError
from podbot.store.database import Database, create, parse_url, quote_identifier

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)
# Alembic narrates its plugin set-up (at import) and every context at INFO; podbot logs the one
# line that matters itself. Alembic is imported inside the functions that use it, after this
# line, which also spares ``podbot audit export`` the import.
logging.getLogger("alembic").setLevel(logging.WARNING)

LOCATION = Path(__file__).resolve().parent
# The newest revision in versions/, known without Alembic: a replica that finds the database
# already there (every start but the first of a new podbot) never imports Alembic and Mako, which
# would stay resident for the life of the process (~9 MiB). A test checks it equals Alembic's head.
HEAD = "0004"
# Any constant will do; it only has to be the same for every podbot replica.
_ADVISORY_LOCK_KEY = 0x706F64626F74  # "podbot"


class SchemaTooNew(PodbotError):
    """The database was migrated by a newer podbot than this one."""


def _config(connection: Connection | None = None) -> Config:
    from alembic.config import Config  # noqa: PLC0415

    config = Config()
    config.set_main_option("script_location", str(LOCATION))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest revision this podbot ships."""
    from alembic.script import ScriptDirectory  # noqa: PLC0415

    revision = ScriptDirectory.from_config(_config()).get_current_head()
    assert revision is not None, "no migrations shipped"
    return revision


def current(db: Database) -> str | None:
    """The database's revision; None for an empty database."""
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415

    with db.read() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(db: Database, revision: str = "head", *, schema: str | None = None) -> str:
    """Upgrade to ``revision`` (default: the newest); returns the revision the database is at."""
    with db.write() as connection:
        if db.dialect == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})
            if schema:
                connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(schema)}"))
        if revision == "head" and _recorded_revision(connection) == HEAD:
            return HEAD
        from alembic import command  # noqa: PLC0415
        from alembic.runtime.migration import MigrationContext  # noqa: PLC0415
        from alembic.script import ScriptDirectory  # noqa: PLC0415

        found = MigrationContext.configure(connection).get_current_revision()
        script = ScriptDirectory.from_config(_config())
        known = {shipped.revision for shipped in script.walk_revisions()}
        if found is not None and found not in known:
            raise SchemaTooNew(
                f"the database schema is at revision {found}, which this podbot does not know "
                f"(its newest is {script.get_current_head()}): run a podbot at least as new as the one "
                "that migrated it"
            )
        command.upgrade(_config(connection), revision)
        reached = MigrationContext.configure(connection).get_current_revision()
    assert reached is not None
    if reached != found:
        log.info("database schema upgraded from %s to %s", found or "nothing", reached)
    return reached


def _recorded_revision(connection: Connection) -> str | None:
    """The revision in Alembic's version table, read with plain SQL; None if there is none yet."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    rows = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return str(rows[0]) if len(rows) == 1 else None  # several heads: let Alembic decide


def downgrade(db: Database, revision: str) -> None:
    """Downgrade to ``revision`` ("base" drops everything). For tests and emergencies only."""
    from alembic import command  # noqa: PLC0415

    with db.write() as connection:
        command.downgrade(_config(connection), revision)


def make_revision(url: str, message: str) -> None:
    """Generate a new revision file by comparing ``schema.py`` with a database at the head (dev only)."""
    from alembic import command  # noqa: PLC0415

    engine = create(parse_url(url))
    try:
        with engine.begin() as connection:
            command.revision(_config(connection), message=message, autogenerate=True)
    finally:
        engine.dispose()
