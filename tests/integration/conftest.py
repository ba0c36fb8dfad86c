"""Fixtures of the store tests: one migrated database per module and kind (SQLite, PostgreSQL),
emptied before each test, so that no test pays for a new schema and its migrations. (A module
that tests migrations themselves defines its own ``target``.)"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from podbot.store import Store
from tests.support.stores import DB_KINDS, Target, empty, make_target, open_store


@pytest.fixture(scope="module", params=DB_KINDS)
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    with make_target(request.param, tmp_path_factory.mktemp("db")) as made, open_store(made):
        yield made


@pytest.fixture
def target(database: Target) -> Target:
    """The module's database, with every table empty."""
    empty(database)
    return database


@pytest.fixture
def store(target: Target) -> Iterator[Store]:
    with open_store(target, migrate=False) as opened:
        yield opened
