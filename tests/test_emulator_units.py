"""Building blocks of the emulator: clocks, App ID quota, gateway, identifiers, channels."""

from __future__ import annotations

import base64
import re
import threading

import pytest
from agora_recording.emulator import Emulator, FakeClock, SystemClock
from agora_recording.emulator._gateway import Gateway
from agora_recording.emulator._ids import IdMinter
from agora_recording.emulator._quota import AppQuota
from agora_recording.emulator._recording import Failover, Recording
from agora_recording.emulator._replies import ServiceError
from agora_recording.emulator._timeline import (
    ExitBySelf,
    FailoverBegin,
    Progress,
    StorageExpiry,
    pending,
)


def test_fake_clock_moves_only_forward_and_on_request() -> None:
    """A FakeClock stands still until advanced and refuses to go back."""
    clock = FakeClock(100.0)
    assert clock.time() == clock.time() == 100.0
    assert clock.advance(2.5) == 102.5
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)
    assert "102.5" in repr(clock)


def test_fake_clock_can_be_advanced_from_other_threads() -> None:
    """advance() is thread-safe: concurrent advances all count."""
    clock = FakeClock(0.0)
    threads = [
        threading.Thread(target=lambda: [clock.advance(1) for _ in range(100)]) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert clock.time() == 400.0


def test_system_clock_is_the_default() -> None:
    """An emulator without a clock runs on the real wall clock."""
    emulator = Emulator()
    assert isinstance(emulator.clock, SystemClock)
    assert abs(emulator.clock.time() - SystemClock().time()) < 60
    with pytest.raises(TypeError, match="FakeClock"):
        emulator.advance(1)


def test_app_quota_allows_bursts_then_refills_with_time() -> None:
    """A bucket of `rate` tokens per App ID, refilled at `rate` per second of clock time."""
    quota = AppQuota(2)
    assert quota.take("a", 0.0) is None
    assert quota.take("a", 0.0) is None
    assert quota.take("a", 0.0) == pytest.approx(0.5)
    assert quota.take("b", 0.0) is None
    assert quota.take("a", 0.5) is None
    assert AppQuota.retry_after_header(0.2) == "1"
    with pytest.raises(ValueError, match="rate_limit"):
        AppQuota(0)


def test_sids_are_32_lowercase_hex_and_reproducible_with_a_seed() -> None:
    """sid() gives 32 lowercase hex characters; equal seeds give equal sequences."""
    first, second = IdMinter(seed=7), IdMinter(seed=7)
    sids = [first.sid() for _ in range(5)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", sid) for sid in sids)
    assert sids == [second.sid() for _ in range(5)]
    assert len(set(sids)) == 5


def test_resource_ids_are_long_url_safe_opaque_and_sealed() -> None:
    """Resource IDs are 256+ URL-safe characters hiding their content; tampering breaks them."""
    minter = IdMinter()
    resource_id = minter.resource_id(
        app_id="app",
        cname="secret-room",
        uid="42",
        acquired_at=1.5,
        expired_hour=24,
        scene=0,
        start_parameter_digest=None,
    )
    assert len(resource_id) >= 256
    assert re.fullmatch(r"[A-Za-z0-9_-]+", resource_id)
    assert "secret-room" not in resource_id
    info = minter.decode_resource_id(resource_id)
    assert info is not None
    assert (info.app_id, info.cname, info.uid, info.expired_hour) == (
        "app",
        "secret-room",
        "42",
        24,
    )
    assert info.acquired_at == 1.5
    flipped = resource_id[:40] + ("A" if resource_id[40] != "A" else "B") + resource_id[41:]
    assert minter.decode_resource_id(flipped) is None
    assert minter.decode_resource_id(resource_id[:-30]) is None
    assert IdMinter().decode_resource_id(resource_id) is None


@pytest.mark.parametrize("uid", [0, "0", "-1", "abc", 2**32, "1.5"])
def test_channel_refuses_invalid_uids(uid: int | str) -> None:
    """Simulated users need a uid in 1..2^32-1, like real RTC users."""
    with pytest.raises(ValueError, match="uid"):
        Emulator().channel("room").publish(uid)


def test_channel_presence_changes() -> None:
    """join, publish, unpublish and leave change what the channel reports."""
    channel = Emulator().channel("room")
    channel.join(1)
    channel.publish("2", audio=False)
    assert {uid: (p.audio, p.video) for uid, p in channel.users.items()} == {
        "1": (False, False),
        "2": (False, True),
    }
    channel.unpublish(2)
    channel.join(2)  # already present: nothing changes
    assert not channel.users["2"].publishing
    channel.leave(1)
    channel.leave(2)
    channel.unpublish(3)  # absent: nothing happens
    assert channel.users == {}
    assert repr(channel) == "Channel('room')"


def _basic(customer_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{customer_id}:{secret}".encode()).decode()


def test_repr_never_shows_the_customer_secret() -> None:
    """Neither the emulator's nor its gateway's repr shows the customer secret it checks."""
    emulator = Emulator(customer_secret="top-secret-value")
    gateway = Gateway(
        customer_id="emulator-customer-id",
        customer_secret="top-secret-value",
        app_id=None,
        quota=None,
        clock=FakeClock(),
    )
    assert "top-secret-value" not in repr(emulator) + repr(gateway)
    gateway.admit(_basic("emulator-customer-id", "top-secret-value"), "app")
    with pytest.raises(ServiceError) as refused:
        gateway.admit(_basic("emulator-customer-id", "top-secret"), "app")
    assert refused.value.status == 401
    assert "top-secret" not in str(refused.value)


def test_negative_timer_options_are_refused() -> None:
    """startup_delay and exit_window cannot be negative."""
    with pytest.raises(ValueError, match="startup_delay"):
        Emulator(startup_delay=-1)


def test_timed_actions_due_together_happen_in_a_fixed_order() -> None:
    """Actions due at one instant come failover first, progress last, whatever was set first."""
    recording = Recording(
        sid="a" * 32,
        resource_id="r",
        app_id="app",
        cname="room",
        uid="1",
        mode="individual",
        request={},
        started_at=0.0,
        expires_at=10_000.0,
        startup_delay=0.0,
        exit_window=3.0,
        idle_rule="users",
        idle_since=0.0,
        max_idle=5.0,
        recording_until=5.0,
        sts_expires_at=5.0,
        abnormal_at=5.0,
        token_exit_at=5.0,
        die_at=5.0,
        failovers=[Failover(start=5.0, end=9.0)],
        next_progress_at=5.0,
    )
    assert pending(recording) == [
        (5.0, FailoverBegin(0)),
        (5.0, ExitBySelf("died")),
        (5.0, ExitBySelf("token")),
        (5.0, ExitBySelf("abnormal")),
        (5.0, StorageExpiry()),
        (5.0, ExitBySelf("max_hour")),
        (5.0, ExitBySelf("idle")),
        (5.0, Progress()),
    ]
    recording.failovers[0].begun = True
    recording.exit_at = 6.0
    assert pending(recording) == []
