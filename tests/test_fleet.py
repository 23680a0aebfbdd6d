"""A fleet of sessions on one client against the emulator's 10 requests/second, in virtual time."""

from __future__ import annotations

import anyio
import httpx
import pytest
from agora_recording import Mode, RecordingSession, StopOutcome
from agora_recording.testing import DEFAULT_APP_ID, EmulatedService, virtual_service

from tests.helpers import emulated_config
from tests.virtual import virtual_anyio_backend  # noqa: F401 (the module's anyio_backend)

pytestmark = pytest.mark.anyio

CONFIG = emulated_config(channel_type=0, max_idle_time=3600, files=["hls"])


class Fleet:
    """Runs sessions on one client and records what a user of the fleet would watch."""

    def __init__(self, service: EmulatedService) -> None:
        self.service = service
        self.entered: dict[str, float] = {}
        self.first_poll: dict[str, float] = {}
        self.stops: dict[str, int] = {}
        self.sessions: list[RecordingSession] = []
        self.errors: list[BaseException] = []
        self.left_at: dict[str, float] = {}
        self.stopped_at: dict[str, float] = {}
        self.began = 0.0
        service.http_client.event_hooks["response"].append(self._seen)

    async def _seen(self, response: httpx.Response) -> None:
        parts = response.request.url.path.split("/")
        if "sid" not in parts:
            return
        sid = parts[parts.index("sid") + 1]
        if parts[-1] == "query" and response.status_code == 200:
            self.first_poll.setdefault(sid, anyio.current_time())
        if parts[-1] == "stop":
            self.stops[sid] = self.stops.get(sid, 0) + 1

    async def one(self, index: int, leave_at: float) -> None:
        """Record on a fresh channel until the absolute virtual time ``leave_at``."""
        cname = f"fleet{index}"
        self.service.channel(cname).publish(7)
        session = RecordingSession(
            self.service.client, cname=cname, uid="999", mode=Mode.MIX, config=CONFIG
        )
        self.sessions.append(session)
        try:
            async with session:
                assert session.handle is not None
                sid = session.handle.sid
                self.entered[sid] = anyio.current_time()
                await anyio.sleep(max(0.0, leave_at - anyio.current_time()))
                self.left_at[sid] = anyio.current_time()
            self.stopped_at[sid] = anyio.current_time()
        except Exception as exc:
            self.errors.append(exc)


async def test_a_burst_of_300_sessions_is_started_watched_and_all_stopped() -> None:
    """300 sessions entering at once and leaving at once: none fails, all stop exactly once."""
    async with virtual_service(max_concurrent_recordings=None) as service:
        fleet = Fleet(service)
        began = anyio.current_time()
        async with anyio.create_task_group() as group:
            for index in range(300):
                group.start_soon(fleet.one, index, began + 600)
        assert fleet.errors == []
        assert len(fleet.entered) == 300
        assert all(count == 1 for count in fleet.stops.values())
        assert len(fleet.stops) == 300
        assert all(s.stop_outcome is StopOutcome.STOPPED for s in fleet.sessions)
        assert service.emulator.running_recordings() == []
        assert service.client.unconfirmed() == []
        assert service.emulator.stats.rate_limited(app_id=DEFAULT_APP_ID) == 0
        # Every recording got its first health poll well within the 90 s health window.
        health = [fleet.first_poll[sid] - at for sid, at in fleet.entered.items()]
        assert max(health) < 90
        # The drain of 300 simultaneous stops takes about 300 / 10 seconds.
        drain = max(fleet.stopped_at.values()) - min(fleet.left_at.values())
        assert 25 <= drain <= 36
        # Routine polls were stretched to fit half of the quota: 300 sessions / 5 per second.
        assert fleet.sessions[0].effective_poll_interval == pytest.approx(60, abs=1)


async def test_a_competing_process_on_the_app_id_is_absorbed() -> None:
    """Another process using 4 of the 10 requests/s causes few 429s and nothing is abandoned."""
    async with virtual_service(max_concurrent_recordings=None) as service:
        service.emulator.add_competing_load(DEFAULT_APP_ID, 4.0)
        fleet = Fleet(service)
        began = anyio.current_time()
        async with anyio.create_task_group() as group:
            for index in range(200):
                group.start_soon(fleet.one, index, began + 900)
        stats = service.emulator.stats
        assert fleet.errors == []
        assert service.emulator.running_recordings() == []
        assert service.client.unconfirmed() == []
        assert len(fleet.stops) == 200
        limited = stats.rate_limited(app_id=DEFAULT_APP_ID)
        assert limited > 0
        assert limited / stats.requests(app_id=DEFAULT_APP_ID) < 0.01


async def burst(service: EmulatedService, sessions: int, leave_after: float) -> Fleet:
    """Enter ``sessions`` sessions at one instant; each leaves ``leave_after`` s after that."""
    fleet = Fleet(service)
    began = anyio.current_time()
    async with anyio.create_task_group() as group:
        for index in range(sessions):
            group.start_soon(fleet.one, index, began + leave_after)
    assert fleet.errors == []
    assert len(fleet.entered) == sessions
    assert service.emulator.running_recordings() == []
    fleet.began = began
    return fleet


async def test_a_burst_without_notifications_enters_at_the_quota() -> None:
    """200 sessions polled, not notified, all enter within 1.2x of the 2N/10 s their requests
    need: health polls wait for the burst, since no deadline of theirs falls inside it."""
    async with virtual_service(max_concurrent_recordings=None) as service:
        fleet = await burst(service, 200, leave_after=150)
    entry = max(fleet.entered.values()) - fleet.began
    assert entry <= 1.2 * (2 * 200 / 10)
    health = [fleet.first_poll[sid] - at for sid, at in fleet.entered.items()]
    assert max(health) < 90


async def test_a_burst_longer_than_the_health_wait_still_observes_every_recording() -> None:
    """A burst needing 80 s of quota (100 sessions at 2.5 requests/s, as 400 at 10) enters within
    1.2x of its limit, and every recording's first poll is answered within 70 s of its start."""
    options = {"rate_limit": 2.5}
    async with virtual_service(max_concurrent_recordings=None, client_options=options) as service:
        fleet = await burst(service, 100, leave_after=300)
    last_in = max(fleet.entered.values())
    assert last_in - fleet.began <= 1.2 * (2 * 100 / 2.5)
    health = [fleet.first_poll[sid] - at for sid, at in fleet.entered.items()]
    # 5 s to the first poll, up to 1 s of jitter, at most 60 s behind starts, a round trip.
    assert max(health) <= 67
    # The deadline did the work: the first recordings were polled while others still entered.
    assert min(fleet.first_poll.values()) < last_in
