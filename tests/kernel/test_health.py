"""The health state machine and the restart policy, without processes."""

from __future__ import annotations

from mobo.kernel.health import CardHealth, RestartPolicy
from mobo.states import Health


def feed(health: CardHealth, outcomes: str, threshold: int = 3, recovery: int = 2) -> list:
    return [health.observe(o == "+", threshold, recovery) or health.state for o in outcomes]


def test_first_good_round_is_healthy_without_an_event() -> None:
    health = CardHealth()
    assert health.observe(True, 3, 2) == Health.HEALTHY
    assert health.event_for(Health.HEALTHY, Health.UNKNOWN) is None


def test_failures_walk_degraded_critical_failed() -> None:
    assert feed(CardHealth(), "+---") == [
        Health.HEALTHY,
        Health.DEGRADED,
        Health.CRITICAL,
        Health.FAILED,
    ]


def test_threshold_one_fails_at_once() -> None:
    assert feed(CardHealth(), "+-", threshold=1) == [Health.HEALTHY, Health.FAILED]


def test_recovery_needs_consecutive_good_rounds() -> None:
    health = CardHealth()
    states = feed(health, "+---++")
    assert states[-2:] == [Health.RECOVERING, Health.HEALTHY]
    assert health.event_for(Health.HEALTHY, Health.RECOVERING) == "health.recovered"


def test_a_failure_while_recovering_starts_over() -> None:
    assert feed(CardHealth(), "+--+-")[-1] == Health.DEGRADED


def test_transition_events() -> None:
    health = CardHealth()
    assert health.event_for(Health.DEGRADED, Health.HEALTHY) == "health.degraded"
    assert health.event_for(Health.CRITICAL, Health.DEGRADED) == "health.critical"
    assert health.event_for(Health.FAILED, Health.CRITICAL) == "health.failed"


def test_restart_gaps_grow_then_give_up() -> None:
    policy = RestartPolicy(base_s=5, factor=2, max_restarts=3, window_s=600)
    assert policy.decide(now=0).restart
    policy.record(now=0)
    assert not policy.decide(now=4).restart and policy.decide(now=4).wait_s == 1
    assert policy.decide(now=5).restart
    policy.record(now=5)
    assert policy.decide(now=14).wait_s == 1  # second gap: 10 s
    policy.record(now=15)
    final = policy.decide(now=100)
    assert not final.restart and "gave up after 3 restarts" in final.reason


def test_restarts_outside_the_window_are_forgotten() -> None:
    policy = RestartPolicy(base_s=1, factor=2, max_restarts=2, window_s=60)
    policy.record(now=0)
    policy.record(now=1)
    assert not policy.decide(now=30).restart
    assert policy.decide(now=62).restart
