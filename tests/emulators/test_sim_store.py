import pytest

from podbot.sim.objects.store import ConflictError, GoneError, NotFoundError, ObjectStore
from tests.support.builders import unscheduled_pod


@pytest.fixture
def store() -> ObjectStore:
    s = ObjectStore(history_limit=5)
    s.register("pods", lambda o: {"spec.nodeName": o["spec"].get("nodeName", "")})
    return s


def test_resource_versions_increase_and_list_is_key_ordered(store: ObjectStore) -> None:
    store.create("pods", unscheduled_pod("x", "b"))
    store.create("pods", unscheduled_pod("z", "a"))
    store.create("pods", unscheduled_pod("y", "a"))
    items, rv, cont = store.list("pods")
    assert [(i.namespace, i.name) for i in items] == [("a", "y"), ("a", "z"), ("b", "x")]
    assert rv == 3 and cont is None
    assert store.get("pods", "a", "y").load()["metadata"]["resourceVersion"] == "3"


def test_paging_and_namespace_and_predicate(store: ObjectStore) -> None:
    for i in range(7):
        store.create("pods", unscheduled_pod(f"p{i}", "a" if i % 2 else "b", tier="web" if i < 3 else "db"))
    page, _, cont = store.list("pods", limit=3)
    assert len(page) == 3 and cont == (page[-1].namespace, page[-1].name)
    rest, _, cont2 = store.list("pods", start_after=cont)
    assert cont2 is None and len(page) + len(rest) == 7
    in_a, _, _ = store.list("pods", namespace="a")
    assert {i.name for i in in_a} == {"p1", "p3", "p5"}
    web, _, _ = store.list("pods", predicate=lambda s: s.labels.get("tier") == "web")
    assert {i.name for i in web} == {"p0", "p1", "p2"}


def test_preconditions(store: ObjectStore) -> None:
    created = store.create("pods", unscheduled_pod("x", "a", uid="uid-x"))
    with pytest.raises(ConflictError):
        store.update("pods", created, expected_rv="999")
    with pytest.raises(ConflictError):
        store.delete("pods", "a", "x", expected_uid="someone-else")
    store.delete("pods", "a", "x", expected_uid="uid-x")
    with pytest.raises(NotFoundError):
        store.get("pods", "a", "x")


def test_watch_resumes_from_history_and_is_gone_after_compaction(store: ObjectStore) -> None:
    store.create("pods", unscheduled_pod("x", "a"))  # rv 1
    store.mutate("pods", "a", "x", lambda o: {**o, "status": {"phase": "Running"}})  # rv 2
    w = store.watch("pods", since_rv=1)
    event = w.next(timeout=1)
    assert event is not None and event.type == "MODIFIED" and event.rv == 2
    store.delete("pods", "a", "x")
    event = w.next(timeout=1)
    assert event is not None and event.type == "DELETED"
    w.close()
    for i in range(6):  # history_limit=5: the first events fall out
        store.create("pods", unscheduled_pod(f"n{i}", "a"))
    with pytest.raises(GoneError):
        store.watch("pods", since_rv=1)
    store.compact()
    with pytest.raises(GoneError):
        store.watch("pods", since_rv=store.resource_version - 1)


def test_slow_watcher_is_dropped_not_buffered_forever() -> None:
    s = ObjectStore(watch_backlog=2)
    s.register("pods")
    w = s.watch("pods")
    for i in range(3):
        s.create("pods", unscheduled_pod(f"p{i}", "a"))
    assert w.overflowed and w.closed
