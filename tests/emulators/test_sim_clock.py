from podbot.sim.clock import SimClock


def test_advance_runs_timers_at_their_due_time_in_order() -> None:
    clock = SimClock(speed=0)
    start = clock.time()
    seen: list[tuple[str, float]] = []
    clock.call_later(10, lambda: seen.append(("b", clock.time() - start)))
    clock.call_later(
        5,
        lambda: (
            seen.append(("a", clock.time() - start)),
            clock.call_later(1, lambda: seen.append(("c", clock.time() - start))),
        ),
    )
    clock.advance(7)
    assert seen == [("a", 5.0), ("c", 6.0)]
    assert clock.time() - start == 7.0
    clock.advance(3)
    assert seen[-1] == ("b", 10.0)


def test_cancelled_timer_does_not_run_and_speed_zero_stands_still() -> None:
    clock = SimClock(speed=0)
    start = clock.time()
    ran: list[int] = []
    timer = clock.call_later(1, lambda: ran.append(1))
    timer.cancel()
    clock.advance(5)
    assert ran == []
    assert clock.time() == start + 5
    assert clock.run_due() == 0


def test_next_due_skips_cancelled_timers() -> None:
    clock = SimClock(speed=0)
    start = clock.time()
    first = clock.call_later(1, lambda: None)
    clock.call_later(5, lambda: None)
    first.cancel()
    assert clock.next_due() == start + 5  # not None: a live timer is still waiting
    clock.advance(6)
    assert clock.next_due() is None


def test_set_speed_changes_the_pace_without_a_jump() -> None:
    import time

    clock = SimClock(speed=100.0)
    time.sleep(0.05)
    clock.set_speed(0.0)
    frozen = clock.time()
    time.sleep(0.05)
    assert clock.time() == frozen  # stands still, from where it was
    clock.advance(30)
    assert clock.time() == frozen + 30
    clock.set_speed(1.0)
    assert frozen + 30 <= clock.time() < frozen + 31  # flows again from there
