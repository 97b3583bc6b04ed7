"""core.progress.Rate: the time left in a stage, from a clock the test drives (no wall clock)."""

from __future__ import annotations

from core.progress import Rate


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_eta_is_unknown_until_work_is_done_then_follows_the_stage_rate() -> None:
    clock = Clock()
    rate = Rate(clock=clock)
    assert rate.update("geocode", 0, 1000) is None  # nothing done yet
    clock.now += 10
    assert rate.update("geocode", 100, 1000) == 90.0  # 10 per second, 900 left
    clock.now += 10
    assert rate.update("geocode", 400, 1000) == 600 * 20 / 400
    assert rate.update("geocode", 1000, 1000) == 0.0
    assert rate.update("link", 5, None) is None  # no total: unknown


def test_a_new_stage_or_a_count_going_back_measures_afresh() -> None:
    clock = Clock()
    rate = Rate(clock=clock)
    rate.update("geocode", 0, 10)
    clock.now += 100  # a slow stage must not slow the next one's estimate
    rate.update("geocode", 10, 10)
    assert rate.update("organizations", 0, 10) is None
    clock.now += 1
    assert rate.update("organizations", 5, 10) == 1.0
    clock.now += 1
    assert rate.update("organizations", 2, 10) is None  # a second phase counting from 0
    clock.now += 1
    assert rate.update("organizations", 4, 10) == 3.0


def test_state_stays_constant_whatever_the_updates() -> None:
    clock = Clock()
    rate = Rate(clock=clock)
    before = sorted(vars(rate))
    for i in range(10_000):
        clock.now += 0.01
        rate.update(f"stage{i % 3}", i, 10_000)
    assert sorted(vars(rate)) == before and all(
        not isinstance(v, list | dict | set) for v in vars(rate).values()
    )
