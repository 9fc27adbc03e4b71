import pytest

from app.database_gate import ANSWER_MARGIN_SECONDS, LEAST_WAIT_SECONDS, PROBE_SECONDS, DatabaseGate, DatabaseUnavailable


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks():
    return Ticks()


def test_a_request_may_wait_for_the_database_until_its_deadline_less_the_time_to_answer(ticks):
    gate = DatabaseGate(2.0, clock=ticks)
    deadline = gate.deadline()
    assert deadline == 100.0 + 2.0 - ANSWER_MARGIN_SECONDS
    ticks.now += 0.5
    assert gate.admit(deadline) == (pytest.approx(2.0 - ANSWER_MARGIN_SECONDS - 0.5), True)


def test_a_request_past_its_deadline_still_takes_a_connection_the_pool_has_but_its_timing_out_says_nothing(ticks):
    gate = DatabaseGate(2.0, clock=ticks)
    deadline = gate.deadline()
    ticks.now += 5
    assert gate.admit(deadline) == (LEAST_WAIT_SECONDS, False)


def test_once_the_database_is_found_away_requests_are_refused_at_once_but_one_probe_each_interval(ticks):
    gate = DatabaseGate(2.0, clock=ticks)
    gate.unreachable()
    assert gate.down
    with pytest.raises(DatabaseUnavailable):
        gate.admit(gate.deadline())
    ticks.now += PROBE_SECONDS
    wait, telling = gate.admit(gate.deadline())  # the probe
    assert wait > 1 and telling
    with pytest.raises(DatabaseUnavailable):  # the next one waits for the next probe's time
        gate.admit(gate.deadline())
    ticks.now += PROBE_SECONDS
    gate.admit(gate.deadline())


def test_a_probe_that_reaches_the_database_lets_every_request_through_again(ticks):
    gate = DatabaseGate(2.0, clock=ticks)
    gate.unreachable()
    ticks.now += PROBE_SECONDS
    gate.admit(gate.deadline())
    gate.reached()
    assert not gate.down
    for _ in range(3):
        gate.admit(gate.deadline())


def test_a_wait_shorter_than_the_margin_still_gives_a_request_the_least_wait(ticks):
    gate = DatabaseGate(0.1, clock=ticks)
    assert gate.deadline() == 100.0 + LEAST_WAIT_SECONDS
