"""Fixtures of the accounts suites that watch Redis: round trips and bounded waits."""

import threading
import time

import pytest
import redis

WAIT = 10.0  # bound of every wait on a condition


@pytest.fixture
def wait_for():
    """wait_for(condition): poll until `condition()` holds, failing after WAIT seconds."""

    def _wait_for(condition):
        deadline = time.monotonic() + WAIT
        while not condition():
            assert time.monotonic() < deadline, "condition not met in time"
            time.sleep(0.01)  # poll interval of a bounded wait

    return _wait_for


@pytest.fixture
def redis_round_trips(monkeypatch):
    """redis_round_trips(call): how many Redis commands `call()` sent from this thread
    (the local view's subscriber sends its heartbeats from its own)."""
    sent = []
    send = redis.connection.AbstractConnection.send_packed_command

    def counting(connection, *args, **kwargs):
        if threading.current_thread() is threading.main_thread():
            sent.append(1)
        return send(connection, *args, **kwargs)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)

    def measure(call):
        before = len(sent)
        call()
        return len(sent) - before

    return measure
