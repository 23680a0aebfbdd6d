"""``agora-recording fleet`` verbs against a real redis-server and the standalone emulator.

Recordings are started on the emulator and leased in a `LeaseStore` the way a worker does;
an expired lease (a dead worker) is made by deleting the lease key, which is what its expiry
does. The CLI runs in-process through click's ``CliRunner``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
import pytest
from agora_recording import Mode, RecordingClient, RecordingHandle
from agora_recording._cli import cli
from agora_recording.emulator import DEFAULT_CUSTOMER_ID, DEFAULT_CUSTOMER_SECRET
from agora_recording.errors import UnconfirmedRecordingsError
from agora_recording.models import RecordingConfig, StartConfig, StorageConfig
from agora_recording.telemetry import Telemetry
from agora_recording.testing import ServedEmulator
from click.testing import CliRunner, Result

from tests.redis_worker import REDIS_SERVER, REQUIRES_REDIS

pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason=REQUIRES_REDIS)
redis = pytest.importorskip("redis", reason="the redis package is not installed")

from agora_recording.redis import LeaseStore  # noqa: E402 (needs the redis package)

APP_ID = "fleetcliappid"
T = TypeVar("T")


@pytest.fixture
def served_options(served_options: dict[str, Any]) -> dict[str, Any]:
    """An emulator (`served`) of each test's own, whose recordings take the default 4 s to come
    up, so each test counts only its own recordings and requests."""
    return {**served_options, "startup_delay": 4.0, "per_test": True}


@pytest.fixture
def namespace(request: pytest.FixtureRequest) -> str:
    """A namespace of the module's Redis for this test alone."""
    return f"fleet-cli:{request.node.name}"


def run(func: Callable[[], Awaitable[T]]) -> T:
    return anyio.run(func, backend="asyncio")


def invoke(served: ServedEmulator, url: str, namespace: str, *args: str) -> Result:
    env = {
        "AGORA_APP_ID": APP_ID,
        "AGORA_CUSTOMER_ID": DEFAULT_CUSTOMER_ID,
        "AGORA_CUSTOMER_SECRET": DEFAULT_CUSTOMER_SECRET,
        "AGORA_BASE_URL": served.url,
        "AGORA_REGION": None,
        "AGORA_REDIS_URL": url,
        "AGORA_FLEET_NAMESPACE": namespace,
    }
    return CliRunner().invoke(cli, ["fleet", *args], env=env)


def ok_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def start(served: ServedEmulator, cname: str) -> RecordingHandle:
    """Start a mix recording of ``cname`` on the emulator (someone publishing in it)."""
    served.emulator.channel(cname).publish(7)
    config = StartConfig(
        storage_config=StorageConfig(
            vendor=1, region=0, bucket="bucket", access_key="ak", secret_key="sk"
        ),
        recording_config=RecordingConfig(channel_type=0, max_idle_time=300),
    )

    async def go() -> RecordingHandle:
        async with RecordingClient(
            app_id=APP_ID,
            customer_id=DEFAULT_CUSTOMER_ID,
            customer_secret=DEFAULT_CUSTOMER_SECRET,
            base_url=served.url,
        ) as client:
            acquired = await client.acquire(cname=cname, uid="99")
            started = await client.start(
                acquired.resource_id, Mode.MIX, cname=cname, uid="99", config=config
            )
            return started.handle

    return run(go)


def lease(url: str, namespace: str, handle: RecordingHandle, *, expired: bool = False) -> None:
    """Lease ``handle`` to worker ``w-test`` (then let the lease lapse when ``expired``)."""

    async def go() -> None:
        async with redis.asyncio.Redis.from_url(url) as client:
            store = LeaseStore(client, namespace=namespace, worker_id="w-test", ttl=60)
            assert await store.acquire(handle)
            if expired:
                await client.delete(f"{namespace}:lease:{handle.sid}")

    run(go)


def running(served: ServedEmulator) -> set[str]:
    return {r.sid for r in served.emulator.running_recordings()}


def test_fleet_ls_lists_owner_age_renewal_and_state(
    served: ServedEmulator, redis_url: str, namespace: str
) -> None:
    """A held and a lapsed lease: owner, times and state of each, as JSON and as a table."""
    held, lapsed = start(served, "held"), start(served, "lapsed")
    lease(redis_url, namespace, held)
    lease(redis_url, namespace, lapsed, expired=True)
    rows = {
        row["sid"]: row for row in ok_json(invoke(served, redis_url, namespace, "ls", "--json"))
    }
    assert set(rows) == {held.sid, lapsed.sid}
    assert rows[held.sid]["owner"] == "w-test"
    assert rows[held.sid]["state"] == "leased"
    assert rows[held.sid]["cname"] == "held"
    assert rows[held.sid]["uid"] == "99"
    assert rows[held.sid]["mode"] == "mix"
    assert rows[held.sid]["leased_at"] == rows[held.sid]["renewed_at"]
    assert 0 <= rows[held.sid]["age"] < 60
    assert rows[lapsed.sid]["owner"] is None
    assert rows[lapsed.sid]["state"] == "expired"
    table = invoke(served, redis_url, namespace, "ls")
    assert table.exit_code == 0
    assert "OWNER" in table.stdout
    assert held.sid in table.stdout
    assert "expired" in table.stdout


def test_fleet_stop_by_cname_takes_the_lease_and_confirms_the_stop(
    served: ServedEmulator, redis_url: str, namespace: str
) -> None:
    """``fleet stop --cname``: the recording stops, leaves the store, and its owner loses it."""
    handle, other = start(served, "room-a"), start(served, "room-b")
    lease(redis_url, namespace, handle)
    lease(redis_url, namespace, other)
    (row,) = ok_json(invoke(served, redis_url, namespace, "stop", "--cname", "room-a", "--json"))
    assert row["sid"] == handle.sid
    assert row["outcome"] == "stopped"
    assert row["owner"] == "w-test"
    assert running(served) == {other.sid}
    listed = ok_json(invoke(served, redis_url, namespace, "ls", "--json"))
    assert [r["sid"] for r in listed] == [other.sid]

    async def owner_renews() -> bool:
        async with redis.asyncio.Redis.from_url(redis_url) as client:
            store = LeaseStore(client, namespace=namespace, worker_id="w-test", ttl=60)
            return await store.renew(handle)

    assert run(owner_renews) is False  # the owner sees the lease taken at its next renewal
    assert [r["sid"] for r in ok_json(invoke(served, redis_url, namespace, "ls", "--json"))] == [
        other.sid
    ]


def test_fleet_stop_of_an_unknown_sid_fails_naming_it(
    served: ServedEmulator, redis_url: str, namespace: str
) -> None:
    """A sid the store does not hold: exit 1 and a message naming it; nothing is sent."""
    result = invoke(served, redis_url, namespace, "stop", "nosuchsid")
    assert result.exit_code == 1
    assert "nosuchsid" in result.output
    assert served.emulator.stats.requests() == 0


def test_fleet_stop_needs_a_sid_or_a_cname(
    served: ServedEmulator, redis_url: str, namespace: str
) -> None:
    """Neither (or both) of SID and --cname is a usage error."""
    assert invoke(served, redis_url, namespace, "stop").exit_code == 2
    assert invoke(served, redis_url, namespace, "stop", "x", "--cname", "y").exit_code == 2


def test_fleet_janitor_once_stops_the_recordings_of_expired_leases(
    served: ServedEmulator, redis_url: str, namespace: str
) -> None:
    """One janitor round adopts the lapsed lease, stops its recording and leaves the held one."""
    held, lapsed = start(served, "alive"), start(served, "orphan")
    lease(redis_url, namespace, held)
    lease(redis_url, namespace, lapsed, expired=True)
    won = ok_json(invoke(served, redis_url, namespace, "janitor", "--once", "--json"))
    assert [row["sid"] for row in won] == [lapsed.sid]
    assert running(served) == {held.sid}
    listed = ok_json(invoke(served, redis_url, namespace, "ls", "--json"))
    assert [r["sid"] for r in listed] == [held.sid]


def test_fleet_dead_letters_lists_and_clears_what_the_janitor_set_aside(
    served: ServedEmulator, redis_url: str, namespace: str
) -> None:
    """A recording whose stop the service refuses for good is listed, then cleared by its sid."""
    handle = start(served, "locked-out")
    lease(redis_url, namespace, handle, expired=True)

    async def janitor_with_a_wrong_secret() -> None:
        async with redis.asyncio.Redis.from_url(redis_url) as client:
            store = LeaseStore(client, namespace=namespace, worker_id="janitor", max_refusals=1)
            # The refused stop stays unconfirmed, so the janitor's client raises as it closes.
            with pytest.raises(UnconfirmedRecordingsError):
                async with RecordingClient(
                    app_id=APP_ID,
                    customer_id=DEFAULT_CUSTOMER_ID,
                    customer_secret="a-rotated-secret",
                    base_url=served.url,
                    rate_limit=None,
                ) as refused:
                    assert len(await store.adopt_expired(refused)) == 1

    run(janitor_with_a_wrong_secret)
    assert ok_json(invoke(served, redis_url, namespace, "dead-letters", "--json"))[0]["key"] == (
        handle.sid
    )
    table = invoke(served, redis_url, namespace, "dead-letters")
    assert table.exit_code == 0
    assert f"{handle.sid}\tlocked-out\t99\trefused 1 times" in table.stdout
    assert "401" in table.stdout
    assert "a-rotated-secret" not in table.output
    cleared = invoke(served, redis_url, namespace, "dead-letters", "--clear", handle.sid, "--json")
    assert ok_json(cleared) == []
    again = invoke(served, redis_url, namespace, "dead-letters", "--clear", handle.sid)
    assert again.exit_code == 1
    assert f"no dead letter for {handle.sid}" in again.output
    assert running(served) == {handle.sid}  # still running: the operator stops it


def test_fleet_needs_a_redis_url(served: ServedEmulator) -> None:
    """Without --redis or AGORA_REDIS_URL the fleet verbs are a usage error naming it."""
    result = CliRunner().invoke(cli, ["fleet", "ls"], env={"AGORA_REDIS_URL": None})
    assert result.exit_code == 2
    assert "AGORA_REDIS_URL" in result.output or "--redis" in result.output


def test_lease_renewals_and_janitor_adoptions_are_counted(
    served: ServedEmulator, redis_url: str, namespace: str
) -> None:
    """A held lease counts its renewals; a janitor round counts the recording it adopted."""
    pytest.importorskip("opentelemetry.sdk", reason="the OpenTelemetry SDK is not installed")
    from tests.telemetry_sdk import Otel

    otel = Otel()
    held, lapsed = start(served, "renewed"), start(served, "adopted")
    lease(redis_url, namespace, lapsed, expired=True)

    async def go() -> None:
        async with (
            redis.asyncio.Redis.from_url(redis_url) as client,
            RecordingClient(
                app_id=APP_ID,
                customer_id=DEFAULT_CUSTOMER_ID,
                customer_secret=DEFAULT_CUSTOMER_SECRET,
                base_url=served.url,
            ) as recording_client,
        ):
            store = LeaseStore(
                client, namespace=namespace, worker_id="w-otel", ttl=1.0, renew_interval=0.05
            )
            renewed_twice = anyio.Event()

            class Watched(Telemetry):
                """The test's telemetry, telling it when two renewals were counted."""

                def lease_renewal(self, result: str) -> None:
                    super().lease_renewal(result)
                    if otel.total("agora.recording.lease.renewals") >= 2:
                        renewed_twice.set()

            store.telemetry = Watched(
                tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider
            )
            async with store.hold(held):
                await renewed_twice.wait()
            await store.adopt_expired(recording_client)

    run(go)
    renewed = {"agora.recording.result": "renewed"}
    assert otel.total("agora.recording.lease.renewals", **renewed) >= 2
    assert otel.total("agora.recording.janitor.adoptions") == 1
    assert running(served) == {held.sid}
    otel.shutdown()
