"""``Store``: podbot's durable state behind one object, one per process.

    store = Store.open(settings.database_url)
    store.migrate()                       # at start-up: schema to the newest revision
    store.approvals.decide(7, ApprovalState.APPROVED, by="U123", now=clock.now())
    ...
    store.close()

The repositories (``approvals``, ``audit``, ``channels``, ``subscriptions``, ``claims``,
``alerts``, ``leases``) take and return frozen dataclasses from ``podbot.core.records``; no
SQLAlchemy object leaks out. Every method runs in its own short transaction.
"""

from __future__ import annotations

import logging
from types import TracebackType

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from podbot.store import migrations
from podbot.store.alerts import Alerts
from podbot.store.approvals import Approvals
from podbot.store.audit import AuditLog
from podbot.store.channels import Channels
from podbot.store.claims import PostClaims, PostLedger
from podbot.store.database import Database, StoreUnavailable, create, display_url, parse_url
from podbot.store.leases import Leases
from podbot.store.subscriptions import Subscriptions

log = logging.getLogger(__name__)


class Store:
    def __init__(self, db: Database, *, url: str, schema: str | None = None) -> None:
        self._db = db
        self._schema = schema
        self.url = url
        """The database URL without its password (for logs and ``podbot db`` output)."""
        self.approvals = Approvals(db)
        self.audit = AuditLog(db)
        self.channels = Channels(db)
        self.subscriptions = Subscriptions(db)
        self.claims = PostClaims(db)
        self.posts = PostLedger(db)
        self.alerts = Alerts(db)
        self.leases = Leases(db)

    @classmethod
    def open(cls, url: str, *, schema: str | None = None, pool_size: int = 5) -> Store:
        """Connect lazily to ``url`` (SQLite file or PostgreSQL); nothing is created until ``migrate``.

        ``schema`` (PostgreSQL only) keeps every podbot table in that schema, e.g. to share a
        database with other applications; ``migrate`` creates it if needed.
        """
        parsed = parse_url(url)
        if schema and parsed.get_backend_name() != "postgresql":
            raise ValueError("a schema can only be given for PostgreSQL")
        engine = create(parsed, schema=schema, pool_size=pool_size)
        return cls(Database(engine), url=display_url(parsed), schema=schema)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``: a second replica is only safe on PostgreSQL."""
        return self._db.dialect

    @property
    def engine(self) -> Engine:
        """The process's one engine, for APScheduler's ``SQLAlchemyJobStore(engine=...)`` only."""
        return self._db.engine

    def migrate(self) -> str:
        """Upgrade the schema to the newest revision (a no-op when current); returns the revision."""
        try:
            revision = migrations.upgrade(self._db, schema=self._schema)
        except StoreUnavailable as exc:  # at start-up: say which database and why, in one line
            raise StoreUnavailable(
                f"cannot reach the database {self.url}: {exc.reason}", reason=exc.reason
            ) from exc
        self._db.report_outages = True
        log.info("database %s at schema revision %s", self.url, revision)
        return revision

    def revision(self) -> str | None:
        """The schema revision of the database (None before the first ``migrate``)."""
        return migrations.current(self._db)

    def ping(self) -> bool:
        """Can the database answer right now? For ``/readyz``; never raises."""
        try:
            with self._db.read() as connection:
                connection.execute(text("SELECT 1"))
        except (StoreUnavailable, SQLAlchemyError) as exc:
            log.warning("database ping failed: %s", type(exc).__name__)
            return False
        return True

    def close(self) -> None:
        """Close every pooled connection; the Store must not be used afterwards."""
        self._db.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _value: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.close()
