"""The per-process view (accounts.revocation.process_view): no Redis round trip on a
warm check, every revocation applied before the revoking call returns, and the one-GET
path whenever the subscription is not proven alive.
Across two processes: tests/api/test_multi_instance.py."""

import logging
import os
import select
import signal
import time

import pytest
import redis
from django.conf import settings

from accounts.apikeys import keys as api_keys
from accounts.devices import sessions
from accounts.models import DeviceSession
from accounts.revocation import process_view
from accounts.revocation import state as session_state

pytestmark = [pytest.mark.redis, pytest.mark.django_db]

ME_URL = "/api/v1/me/"
PING_URL = "/api/v1/service/ping/"
WAIT = 10.0  # bound of every wait on a condition


@pytest.fixture(autouse=True)
def _local_view_on(settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "LOCAL_VIEW": True}
    yield
    process_view.stop()


@pytest.fixture
def signed_in(sign_in, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        access = sign_in().json()["access"]
    return DeviceSession.objects.get(), access


def test_a_warm_check_makes_no_redis_round_trip(
    api_client, bearer, signed_in, wait_for, redis_round_trips
):
    _, access = signed_in
    assert api_client.get(ME_URL, **bearer(access)).status_code == 200
    wait_for(process_view.trusted)
    assert api_client.get(ME_URL, **bearer(access)).status_code == 200  # fills the view

    for _ in range(5):
        response = None

        def _get():
            nonlocal response
            response = api_client.get(ME_URL, **bearer(access))

        assert redis_round_trips(_get) == 0
        assert response.status_code == 200


def test_a_revocation_is_applied_before_the_revoking_call_returns(
    api_client, bearer, signed_in, django_capture_on_commit_callbacks, wait_for
):
    session, access = signed_in
    wait_for(process_view.trusted)
    assert api_client.get(ME_URL, **bearer(access)).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        sessions.revoke_session(session, reason="test")

    response = api_client.get(ME_URL, **bearer(access))
    assert (response.status_code, response.json()["code"]) == (401, "session_revoked")


def test_a_revoked_api_key_is_refused_at_once(
    api_client, make_api_key, django_capture_on_commit_callbacks, wait_for, redis_round_trips
):
    api_key, raw_key = make_api_key()
    headers = {"HTTP_AUTHORIZATION": f"Api-Key {raw_key}"}
    wait_for(process_view.trusted)
    assert api_client.get(PING_URL, **headers).status_code == 200
    assert redis_round_trips(lambda: api_client.get(PING_URL, **headers)) == 0
    with django_capture_on_commit_callbacks(execute=True):
        api_keys.revoke_api_key(api_key)

    assert api_client.get(PING_URL, **headers).status_code == 401


def test_with_the_subscriber_down_a_check_reads_redis_again(
    api_client, bearer, signed_in, wait_for, redis_round_trips
):
    _, access = signed_in
    wait_for(process_view.trusted)
    api_client.get(ME_URL, **bearer(access))
    assert redis_round_trips(lambda: api_client.get(ME_URL, **bearer(access))) == 0

    process_view.stop()

    assert not process_view.trusted()  # also restarts the subscriber, not yet proven alive
    assert redis_round_trips(lambda: api_client.get(ME_URL, **bearer(access))) >= 1


def test_a_killed_subscription_empties_the_view_before_it_is_trusted_again(
    api_client, bearer, signed_in, wait_for
):
    session, access = signed_in
    wait_for(process_view.trusted)
    api_client.get(ME_URL, **bearer(access))
    process = process_view._current()
    assert process.entries
    resubscriptions = process.messages
    client = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    mine = [c for c in client.client_list() if c["name"] == f"localview-{process.member}"]
    assert mine, "the subscriber names its connections"
    for connection in mine:
        client.client_kill_filter(_id=connection["id"])

    # Re-subscribed and trusted again only after the view was emptied.
    wait_for(lambda: process.messages > resubscriptions and process_view.trusted())
    assert f"devsess:{session.pk}" not in process.entries
    client.close()


def test_a_fill_older_than_a_revocation_is_not_stored(signed_in, wait_for):
    session, _ = signed_in
    wait_for(process_view.trusted)
    key = f"devsess:{session.pk}"
    seen = process_view.messages_seen()
    process_view.invalidate([key])  # arrives while the (stale) read is in flight
    process_view.store(key, (True, 0, session.user_id), seen)

    assert process_view.get(key) is process_view.MISS


def test_a_revoker_waits_for_a_live_member_that_does_not_acknowledge(wait_for, caplog):
    """Bounded by the silent member's lease (by Redis time), not by the revoker's own
    deadline: no wall-clock bound, which a busy machine could break."""
    wait_for(process_view.trusted)
    members = process_view._names()["members"]
    publisher = process_view._publisher()
    seconds, micros = publisher.time()
    lease_end_ms = seconds * 1000 + micros // 1000 + 300
    publisher.zadd(members, {"silent-member": lease_end_ms})
    try:
        with caplog.at_level(logging.ERROR, logger="accounts.revocation.process_view"):
            process_view.invalidate(["devsess:nobody"])
    finally:
        publisher.zrem(members, "silent-member")
    # It returned only once the silent member's lease had ended (by Redis time) ...
    seconds, micros = publisher.time()
    assert seconds * 1000 + micros // 1000 >= lease_end_ms
    # ... because it ended: the revoker's own deadline (LEASE + margin) never ran out.
    assert "never acknowledged" not in caplog.text


def test_a_forked_process_starts_its_own_subscriber(wait_for):
    parent = process_view._current()
    wait_for(process_view.trusted)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, then leave without running pytest's teardown
        try:
            untrusted_at_first = not process_view.trusted()
            deadline = time.monotonic() + WAIT
            while not process_view.trusted() and time.monotonic() < deadline:
                time.sleep(0.01)
            child = process_view._current()
            ok = (
                untrusted_at_first
                and process_view.trusted()
                and child.member != parent.member
                and child.thread.is_alive()
            )
            os.write(write_end, b"ok" if ok else b"no")
            process_view.stop()
        finally:
            os._exit(0)
    os.close(write_end)
    # Bounded: a child that hangs is killed and the test fails (a bare waitpid would stall
    # the run).
    child_exit = os.pidfd_open(pid)
    try:
        exited = select.select([child_exit], [], [], WAIT + 10)[0]
        if not exited:
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    finally:
        os.close(child_exit)
    assert exited, "the forked child did not exit in time"
    assert os.read(read_end, 2) == b"ok"
    os.close(read_end)
    assert process_view._current() is parent
    assert process_view.trusted()


def _redis_ms(client):
    seconds, micros = client.time()
    return seconds * 1000 + micros // 1000


def test_a_frozen_member_delays_one_revocation_at_most_its_lease_then_none(
    subscriber, wait_for, redis_round_trips, caplog
):
    """Issue 21: a stopped process (SIGSTOP: a GC pause, a stuck request) is waited for
    until its lease lapses, once; the next revocation waits for nobody, and nothing is
    reported, since every live member acknowledged."""
    wait_for(process_view.trusted)
    child = subscriber()
    members = process_view._names()["members"]
    publisher = process_view._publisher()
    child.freeze()
    lease_end_ms = int(publisher.zscore(members, child.member))
    with caplog.at_level(logging.WARNING, logger="accounts.revocation.process_view"):
        process_view.invalidate(["devsess:first"])
        # Returned once the frozen member's lease had lapsed (by Redis time) ...
        assert _redis_ms(publisher) >= lease_end_ms
        # ... and the next revocation waits for nobody: its one round trip publishes.
        assert redis_round_trips(lambda: process_view.invalidate(["devsess:second"])) == 1
    assert caplog.records == []


def test_a_woken_member_distrusts_its_view_until_it_has_caught_up(subscriber, wait_for):
    wait_for(process_view.trusted)
    child = subscriber()
    key = "devsess:frozen-while-revoked"
    assert child.ask(f"store {key}") == "ok"
    assert child.ask(f"get {key}") == "active"
    child.freeze()
    process_view.invalidate([key])  # returns once the frozen member's lease lapsed
    child.thaw()

    # Never the value revoked while it slept: first its lease has ended (it reads Redis),
    # then its heartbeat comes back behind the revocation it missed, which it applied.
    assert child.ask(f"get {key}") == "miss"
    wait_for(lambda: child.ask("trusted") == "True")
    assert child.ask(f"get {key}") == "miss"


def test_every_live_member_acknowledges_and_nothing_is_reported(subscriber, wait_for, caplog):
    wait_for(process_view.trusted)
    children = [subscriber() for _ in range(3)]
    key = "devsess:everywhere"
    for child in children:
        child.ask(f"store {key}")
    with caplog.at_level(logging.WARNING, logger="accounts.revocation.process_view"):
        process_view.invalidate([key])
    assert [child.ask(f"get {key}") for child in children] == ["miss"] * 3
    assert caplog.records == []


def test_past_the_cap_a_process_reads_redis_and_no_revocation_waits_for_it(
    settings, subscriber, wait_for, redis_round_trips
):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "LOCAL_VIEW_MAX_PROCESSES": 1}
    wait_for(process_view.trusted)  # this process holds the one place
    child = subscriber(wait_trusted=False)
    client = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    wait_for(lambda: any(c["name"] == f"localview-{child.member}" for c in client.client_list()))
    client.close()

    assert redis_round_trips(lambda: process_view.invalidate(["devsess:any"])) == 1
    assert child.ask("store devsess:any") == "ok"
    assert child.ask("get devsess:any") == "miss"
    assert child.ask("trusted") == "False"


def test_a_sign_in_and_a_new_process_publish_nothing(
    sign_in, api_client, bearer, django_capture_on_commit_callbacks, wait_for, monkeypatch
):
    """Issue 21: neither a sign-in (its last_login save leaves the profile as it was) nor a
    new process's first read (its repair finds Redis holding every recent revocation)
    makes every process acknowledge a message."""
    published = []
    monkeypatch.setattr(process_view, "invalidate", lambda keys=None: published.append(keys))
    with django_capture_on_commit_callbacks(execute=True):
        access = sign_in().json()["access"]
        revoked = sign_in(device_id="revoked").json()["access"]
        sessions.revoke_session(DeviceSession.objects.get(device_id="revoked"), reason="test")
    assert len(published) == 1  # the revocation alone
    monkeypatch.setattr(session_state, "_epoch", None)  # as in a process never repaired

    assert api_client.get(ME_URL, **bearer(access)).status_code == 200
    assert api_client.get(ME_URL, **bearer(revoked)).status_code == 401
    assert len(published) == 1
