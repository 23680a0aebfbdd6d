"""Ambiguous starts, the start journal and the documented start recovery, against the emulator
in virtual time (issue #26, #20 items 2b and 3, #21 item 9)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import attrs
import httpx
import pytest
import stamina
from agora_recording import CredentialOptions, Mode, RecordingClient, RecordingSession
from agora_recording._hints import status_name
from agora_recording._journal import StartIntent
from agora_recording._starting import AttemptVerdict, attempt_verdict
from agora_recording.emulator import DEFAULT_NOTIFICATION_SECRET
from agora_recording.enums import RecordingStatus
from agora_recording.errors import (
    AgoraError,
    AuthenticationError,
    BadRequestError,
    OrphanedStartError,
    RateLimitError,
    RequestNotCompletedError,
    ServerError,
    StartNotJournaledError,
    TransportError,
    UnconfirmedRecordingsError,
    ValidationError,
)
from agora_recording.models import (
    RecordingConfig,
    RecordingFileConfig,
    RecordingHandle,
    StartConfig,
    StorageConfig,
)
from agora_recording.testing import EmulatedService, virtual_service
from agora_recording.tokens import build_rtc_token, parse_token
from agora_recording.webhooks import Notification, NotificationHub, NotificationReceiver, parse

from tests.virtual import virtual_anyio_backend  # noqa: F401 (the module's anyio_backend)

pytestmark = pytest.mark.anyio

CERTIFICATE = "5cfd2fd1755d40ecb72977518be15d3b"
APP_ID = "970ca35de60c44645bbae8a215061b33"


@pytest.fixture(autouse=True)
def _instant_retries() -> None:
    """Real backoff here (time is virtual): an ambiguous start is asked again past the
    attempts that stamina's testing mode would allow (conftest's fixture turns it back on)."""
    stamina.set_testing(False)


def config() -> StartConfig:
    """A one-hour-idle mix configuration."""
    return StartConfig(
        storage_config=StorageConfig(
            vendor=1, region=0, bucket="b-bucket", access_key="a", secret_key="s"
        ),
        recording_config=RecordingConfig(channel_type=0, max_idle_time=3600),
        recording_file_config=RecordingFileConfig(av_file_type=["hls"]),
    )


class Calls:
    """Counts the requests to each endpoint (by the last path segment)."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    async def __call__(self, request: httpx.Request) -> None:
        self.paths.append(request.url.path.rsplit("/", 1)[-1])

    def count(self, endpoint: str) -> int:
        return self.paths.count(endpoint)


@asynccontextmanager
async def service(*, events: bool, **options: Any) -> AsyncIterator[tuple[EmulatedService, Calls]]:
    """The emulator with no client-side rate limit (429s reach the code under test), its
    notifications followed by the client's sessions when ``events``; ``options`` go to
    `virtual_service`."""
    hub = NotificationHub()
    receiver = NotificationReceiver(hub, DEFAULT_NOTIFICATION_SECRET)
    client_options: dict[str, Any] = {"rate_limit": None}
    if events:
        client_options["notifications"] = hub
    async with virtual_service(
        max_concurrent_recordings=None,
        notification_app=receiver,
        client_options=client_options,
        **options,
    ) as emulated:
        calls = Calls()
        emulated.http_client.event_hooks["request"].append(calls)
        emulated.channel("room").publish(7)
        yield emulated, calls


def session(emulated: EmulatedService) -> RecordingSession:
    """A session on channel ``room`` with recorder uid 9."""
    return RecordingSession(emulated.client, cname="room", uid="9", mode=Mode.MIX, config=config())


def lose_the_first_answer(emulated: EmulatedService, then: str) -> None:
    """The first start is processed but its answer lost; the retries meet ``then``."""
    faults = emulated.emulator.faults
    faults.drop_connection("start", after_processing=True)
    if then == "429":
        faults.fail_next("start", 429, times=10)
    elif then == "transport":
        faults.drop_connection("start", times=10)
    else:
        faults.fail_next("start", 504, times=2)


CASES = ["429", "transport", "201/7"]


@pytest.mark.parametrize("then", CASES)
async def test_an_ambiguous_start_is_found_and_stopped_with_notifications(then: str) -> None:
    """A lost start answer followed by 429s, transport errors or 201/7 ends with nothing
    running: the recording is found from its notifications and stopped."""
    async with service(events=True) as (emulated, _calls):
        lose_the_first_answer(emulated, then)
        with pytest.raises(OrphanedStartError) as info:
            async with session(emulated):
                pytest.fail("the session must not start")
        assert info.value.stopped
        assert emulated.emulator.running_recordings() == []
        assert emulated.client.unconfirmed() == []


@pytest.mark.parametrize("then", CASES)
async def test_an_ambiguous_start_without_notifications_is_listed_and_raised_at_close(
    then: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Without notifications the recording left by a lost start answer is listed without a
    sid, logged at ERROR, and closing the client raises; the error says one may be running."""
    async with service(events=False) as (emulated, _calls):
        lose_the_first_answer(emulated, then)
        with pytest.raises(OrphanedStartError) as info:
            async with session(emulated):
                pytest.fail("the session must not start")
        assert "runs" in str(info.value)
        assert len(emulated.emulator.running_recordings()) == 1
        [left] = emulated.client.unconfirmed()
        assert (left.sid, left.cname, left.uid) == (None, "room", "9")
        assert left.resource_id
        assert left.began_at is not None
        assert any(
            r.levelno == logging.ERROR and "may be running" in r.getMessage()
            for r in caplog.records
        )
        with pytest.raises(UnconfirmedRecordingsError) as closed:
            await emulated.client.aclose()
        assert closed.value.recordings == (left,)


async def test_a_start_that_stays_ambiguous_says_a_recording_may_be_running() -> None:
    """A start whose every attempt may have been processed, with no answer ever, ends within
    the resource's life with an error saying a recording may be running, and is listed."""
    async with service(events=False) as (emulated, calls):
        emulated.emulator.faults.fail_next("start", 504, times=1000)
        began = anyio.current_time()
        with pytest.raises(OrphanedStartError, match="may be running"):
            async with session(emulated):
                pytest.fail("the session must not start")
        assert anyio.current_time() - began <= 300
        assert calls.count("start") > 5  # asked again past the client's attempts
        assert [entry.sid for entry in emulated.client.unconfirmed()] == [None]
        with pytest.raises(UnconfirmedRecordingsError):
            await emulated.client.aclose()


async def test_a_previous_recordings_late_events_are_not_taken_for_a_lost_start() -> None:
    """A lost start on the cname and uid of a recording this client just stopped binds to the
    new recording, not to the late notifications of the old one, and stops the new one."""
    async with service(events=True) as (emulated, _calls):
        async with session(emulated) as first:
            old = first.handle.sid
        emulated.emulator.faults.delay_notifications(20, times=None, sid=old)
        lose_the_first_answer(emulated, "201/7")
        with pytest.raises(OrphanedStartError) as info:
            async with session(emulated):
                pytest.fail("the session must not start")
        assert info.value.stopped
        assert info.value.handle is not None
        assert info.value.handle.sid != old
        assert emulated.emulator.running_recordings() == []


@pytest.mark.parametrize(
    ("error", "verdict"),
    [
        (RateLimitError(endpoint="start", status_code=429), AttemptVerdict.UNSENT),
        (ServerError(endpoint="start", status_code=500, code=502), AttemptVerdict.NONE_RUNS),
        (ServerError(endpoint="start", status_code=500, code=62), AttemptVerdict.AMBIGUOUS),
        (
            RequestNotCompletedError(endpoint="start", status_code=206, code=65),
            AttemptVerdict.AMBIGUOUS,
        ),
        (BadRequestError(endpoint="start", status_code=400, code=53), AttemptVerdict.NONE_RUNS),
        (BadRequestError(endpoint="start", status_code=400, code=433), AttemptVerdict.FINAL),
        (TransportError("read timed out"), AttemptVerdict.AMBIGUOUS),
    ],
)
def test_start_attempts_are_classified_by_what_they_prove(
    error: AgoraError, verdict: AttemptVerdict
) -> None:
    """Each failed start attempt says whether the service may have acted on it."""
    assert attempt_verdict(error) is verdict


def test_a_refused_connection_is_not_ambiguous() -> None:
    """A connection that was never made cannot have started anything."""
    error = TransportError("connect failed")
    error.__cause__ = httpx.ConnectError("refused")
    assert attempt_verdict(error) is AttemptVerdict.UNSENT


# -- the documented recovery ---------------------------------------------------------------


@pytest.mark.parametrize(
    "refusal",
    [(500, {"code": 502, "reason": "Failed to allocate worker"}), (400, {"code": 433})],
)
async def test_a_documented_start_refusal_acquires_a_new_resource(
    refusal: tuple[int, dict[str, Any]],
) -> None:
    """500 code 502 and 400 code 433 make the session acquire again and start on a new
    resource, as Agora's status-code page says."""
    async with service(events=False) as (emulated, calls):
        status, body = refusal
        emulated.emulator.faults.fail_next("start", status, body)
        async with session(emulated) as running:
            assert running.handle.sid
        assert calls.count("acquire") == 2
        assert emulated.emulator.running_recordings() == []


async def test_the_start_recovery_is_bounded_and_can_be_turned_off() -> None:
    """With ``start_recoveries = 0`` the refusal is raised after one acquire."""
    async with service(events=False) as (emulated, calls):
        emulated.client.start_recoveries = 0
        emulated.emulator.faults.fail_next("start", 500, {"code": 502})
        with pytest.raises(ServerError):
            async with session(emulated):
                pytest.fail("the session must not start")
        assert calls.count("acquire") == 1
        assert emulated.client.unconfirmed() == []


def spare_session(
    emulated: EmulatedService, seen: list[RecordingStatus], *spares: str
) -> RecordingSession:
    """A session on channel ``room`` with recorder uid 9, ``spares`` as its spare uids, its
    statuses collected in ``seen``."""
    return RecordingSession(
        emulated.client,
        cname="room",
        uid="9",
        mode=Mode.MIX,
        config=config(),
        on_status=seen.append,
        credentials=CredentialOptions(spare_uids=spares),
    )


async def test_a_documented_refusal_shows_as_reacquiring_in_the_status_stream() -> None:
    """After 500 code 502 the session's status stream says REACQUIRING before the new start's
    statuses (NOT_STARTED first), so a user can tell a re-acquire from a first start and the
    session's status never stays REACQUIRING once the new start answered."""
    async with service(events=False) as (emulated, _calls):
        emulated.emulator.faults.fail_next("start", 500, {"code": 502})
        seen: list[RecordingStatus] = []
        async with spare_session(emulated, seen) as running:
            await anyio.sleep(20)  # a poll or two
            assert running.handle.uid == "9"
        assert seen[:2] == [RecordingStatus.REACQUIRING, RecordingStatus.NOT_STARTED]
        assert RecordingStatus.IN_PROGRESS in seen[2:]
        assert running.status is not RecordingStatus.REACQUIRING
        assert status_name(RecordingStatus.REACQUIRING) == "-1, start refused, acquiring again"


async def test_three_50x_retries_move_to_a_spare_uid_once_the_old_start_is_journalled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A start whose first attempt and three retries are answered 50x is journalled as
    unresolved (the janitor's), then the session acquires again with its spare uid, logged at
    WARNING and shown as REACQUIRING."""
    async with service(events=False) as (emulated, calls):
        journal = MemoryJournal(calls)
        emulated.emulator.faults.fail_next("start", 504, times=4)
        seen: list[RecordingStatus] = []
        recording = spare_session(emulated, seen, "10", "11")
        recording.journal_to(journal)
        async with recording as running:
            assert running.handle.uid == "10"
            assert [r.uid for r in emulated.emulator.running_recordings()] == ["10"]
        assert (calls.count("acquire"), calls.count("start")) == (2, 5)
        assert [(what, intent.uid) for what, intent, _ in journal.log] == [
            ("begin", "9"),
            ("unresolved", "9"),
            ("begin", "10"),
            ("started", "10"),
        ]
        assert seen[0] is RecordingStatus.REACQUIRING
        assert any(
            r.levelno == logging.WARNING and "new uid 10" in r.getMessage() for r in caplog.records
        )
        [left] = emulated.client.unconfirmed()  # the 50x start may run: listed, journalled
        assert (left.sid, left.uid) == (None, "9")
        with pytest.raises(UnconfirmedRecordingsError):
            await emulated.client.aclose()


async def test_a_50x_start_that_did_start_is_stopped_before_the_new_uid() -> None:
    """With notifications, the recording a 50x-answered start did create is found by its
    events and stopped (confirmed) before the session starts again as its spare uid: nothing
    is left running or listed."""
    async with service(events=True) as (emulated, calls):
        faults = emulated.emulator.faults
        faults.fail_next("start", 504, after_processing=True)
        faults.fail_next("start", 504, times=3)
        seen: list[RecordingStatus] = []
        async with spare_session(emulated, seen, "10") as running:
            assert running.handle.uid == "10"
            assert [r.uid for r in emulated.emulator.running_recordings()] == ["10"]
        assert calls.count("stop") == 2  # the orphan of uid 9, then the session's own
        assert emulated.emulator.running_recordings() == []
        assert emulated.client.unconfirmed() == []
        assert RecordingStatus.REACQUIRING in seen


async def test_without_a_journal_or_notifications_a_50x_start_keeps_its_uid() -> None:
    """A spare uid is not taken while the old start could only be remembered in memory: the
    session asks the same resource until the service answers, as without spares."""
    async with service(events=False) as (emulated, calls):
        emulated.emulator.faults.fail_next("start", 504, times=5)
        seen: list[RecordingStatus] = []
        async with spare_session(emulated, seen, "10") as running:
            assert running.handle.uid == "9"
        assert (calls.count("acquire"), calls.count("start")) == (1, 6)
        assert RecordingStatus.REACQUIRING not in seen
        assert emulated.client.unconfirmed() == []


async def test_a_50x_start_no_notification_names_keeps_its_uid_without_a_journal() -> None:
    """With notifications but no journal, a 50x start whose recording no event names within
    orphan_wait cannot be settled: the session asks the same resource again, keeps its uid, and
    nothing is left running or listed."""
    async with service(events=True) as (emulated, calls):
        emulated.emulator.faults.fail_next("start", 504, times=5)
        seen: list[RecordingStatus] = []
        began = anyio.current_time()
        async with spare_session(emulated, seen, "10") as running:
            assert running.handle.uid == "9"
            assert anyio.current_time() - began >= 30  # it waited orphan_wait for an event
        assert (calls.count("acquire"), calls.count("start")) == (1, 6)
        assert RecordingStatus.REACQUIRING not in seen
        assert emulated.emulator.running_recordings() == []
        assert emulated.client.unconfirmed() == []


async def test_without_spare_uids_a_50x_start_asks_the_same_resource() -> None:
    """No spare uid (the default): the same resource is asked past three 50x retries."""
    async with service(events=True) as (emulated, calls):
        emulated.emulator.faults.fail_next("start", 504, times=5)
        async with session(emulated) as running:
            assert running.handle.uid == "9"
        assert (calls.count("acquire"), calls.count("start")) == (1, 6)


def test_spare_uids_are_checked_where_they_are_written() -> None:
    """A spare uid that is not a uid, a repeated one, or the session's own uid is refused
    naming spare_uids, before any request."""
    for bad in (["0"], ["10", "10"], "10"):
        with pytest.raises(ValidationError, match="spare_uids"):
            CredentialOptions(spare_uids=bad)
    assert CredentialOptions(spare_uids=[10, "11"]).spare_uids == ("10", "11")
    client = RecordingClient(app_id="a" * 32, customer_id="c", customer_secret="s")
    with pytest.raises(ValidationError, match="spare_uids"):
        RecordingSession(
            client,
            cname="room",
            uid="9",
            mode=Mode.MIX,
            config=config(),
            credentials=CredentialOptions(spare_uids=["9"]),
        )


async def test_a_given_token_that_does_not_fit_a_spare_uid_is_refused_before_acquire() -> None:
    """A token the user made for uid 9 cannot serve spare uid 10: the session refuses it,
    naming clientRequest.token, before acquire is sent."""
    async with service(events=False, app_id=APP_ID, app_certificate=CERTIFICATE) as (
        emulated,
        calls,
    ):
        token = build_rtc_token(APP_ID, CERTIFICATE, "room", 9, token_expire=3600)
        recording = RecordingSession(
            emulated.client,
            cname="room",
            uid="9",
            mode=Mode.MIX,
            config=attrs.evolve(config(), token=token),
            app_certificate=CERTIFICATE,
            credentials=CredentialOptions(spare_uids=["10"]),
        )
        with pytest.raises(ValidationError, match="token"):
            async with recording:
                pytest.fail("the session must not start")
        assert calls.count("acquire") == 0


async def test_a_minted_token_is_minted_again_for_the_spare_uid() -> None:
    """With an App Certificate the session mints the spare uid's own token: the start as uid
    10 carries a token for uid 10."""
    async with service(events=False, app_id=APP_ID, app_certificate=CERTIFICATE) as (
        emulated,
        calls,
    ):
        journal = MemoryJournal(calls)
        emulated.emulator.faults.fail_next("start", 504, times=4)
        bodies: list[dict[str, Any]] = []

        async def keep(request: httpx.Request) -> None:
            if request.url.path.endswith("/start"):
                bodies.append(json.loads(request.content))

        emulated.http_client.event_hooks["request"].append(keep)
        recording = RecordingSession(
            emulated.client,
            cname="room",
            uid="9",
            mode=Mode.MIX,
            config=config(),
            app_certificate=CERTIFICATE,
            credentials=CredentialOptions(spare_uids=["10"]),
        )
        recording.journal_to(journal)
        async with recording as running:
            assert running.handle.uid == "10"
        tokens = {body["uid"]: body["clientRequest"]["token"] for body in bodies}
        assert set(tokens) == {"9", "10"}
        assert parse_token(tokens["10"]).grants_join("room", 10)
        assert not parse_token(tokens["10"]).grants_join("room", 9)
        with pytest.raises(UnconfirmedRecordingsError):
            await emulated.client.aclose()


# -- the start journal -----------------------------------------------------------------------


class MemoryJournal:
    """A `StartJournal` in memory; ``begin_fails``/``stall`` make it misbehave."""

    def __init__(self, calls: Calls, *, begin_fails: bool = False, stall: str = "") -> None:
        self.calls = calls
        self.begin_fails = begin_fails
        self.stall = stall
        self.log: list[tuple[str, StartIntent, str | None]] = []
        self.starts_at_begin: int | None = None

    async def _maybe_stall(self, what: str) -> None:
        if self.stall == what:
            await anyio.sleep(3600)

    async def begin(self, intent: StartIntent) -> None:
        self.starts_at_begin = self.calls.count("start")
        await self._maybe_stall("begin")
        if self.begin_fails:
            raise AgoraError("redis is down")
        self.log.append(("begin", intent, None))

    async def started(self, intent: StartIntent, handle: RecordingHandle) -> None:
        await self._maybe_stall("started")
        self.log.append(("started", intent, handle.sid))

    async def refused(self, intent: StartIntent) -> None:
        self.log.append(("refused", intent, None))

    async def unresolved(self, intent: StartIntent) -> None:
        self.log.append(("unresolved", intent, None))


async def test_the_intent_is_journalled_before_start_and_the_sid_after() -> None:
    """The journal gets the intent before start is sent, then the sid it answered."""
    async with service(events=False) as (emulated, calls):
        journal = MemoryJournal(calls)
        recording = session(emulated)
        recording.journal_to(journal)
        async with recording as running:
            sid = running.handle.sid
        assert journal.starts_at_begin == 0
        assert [(what, sid_) for what, _, sid_ in journal.log] == [
            ("begin", None),
            ("started", sid),
        ]
        intent = journal.log[0][1]
        assert (intent.cname, intent.uid, intent.resource_id) == (
            "room",
            "9",
            running.handle.resource_id,
        )


async def test_a_refused_start_and_an_unresolved_one_are_journalled() -> None:
    """A start the service refused is journalled as refused; one left ambiguous as
    unresolved, for a janitor to resolve."""
    async with service(events=False) as (emulated, calls):
        journal = MemoryJournal(calls)
        emulated.client.start_recoveries = 0
        emulated.emulator.faults.fail_next("start", 400, {"code": 2, "reason": "bad"})
        refused = session(emulated)
        refused.journal_to(journal)
        with pytest.raises(BadRequestError):
            async with refused:
                pass
        lose_the_first_answer(emulated, "201/7")
        ambiguous = session(emulated)
        ambiguous.journal_to(journal)
        with pytest.raises(OrphanedStartError):
            async with ambiguous:
                pass
        assert [what for what, _, _ in journal.log] == [
            "begin",
            "refused",
            "begin",
            "unresolved",
        ]
        with pytest.raises(UnconfirmedRecordingsError):
            await emulated.client.aclose()


@pytest.mark.parametrize("how", ["fails", "stalls"])
async def test_nothing_starts_when_the_intent_cannot_be_journalled(how: str) -> None:
    """A journal that refuses or stalls past its bound stops the start before it is sent."""
    async with service(events=False) as (emulated, calls):
        journal = MemoryJournal(calls, begin_fails=how == "fails", stall="begin")
        if how == "fails":
            journal.stall = ""
        recording = session(emulated)
        recording.journal_to(journal)
        with pytest.raises(StartNotJournaledError, match="nothing runs"):
            async with recording:
                pytest.fail("the session must not start")
        assert calls.count("start") == 0
        assert emulated.emulator.running_recordings() == []
        assert emulated.client.unconfirmed() == []


async def test_a_stalled_sid_write_warns_and_the_recording_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """When writing the sid stalls past the bound, a WARNING is logged and the session
    records and stops as usual (its intent is already journalled)."""
    async with service(events=False) as (emulated, calls):
        journal = MemoryJournal(calls, stall="started")
        recording = session(emulated)
        recording.journal_to(journal)
        async with recording as running:
            assert running.handle.sid
        assert [what for what, _, _ in journal.log] == ["begin"]
        assert any(
            r.levelno == logging.WARNING and "not recorded" in r.getMessage()
            for r in caplog.records
        )
        assert emulated.emulator.running_recordings() == []


def test_a_401_is_final() -> None:
    """A refusal given before the resource is looked at proves nothing either way."""
    error = AuthenticationError(endpoint="start", status_code=401)
    assert attempt_verdict(error) is AttemptVerdict.FINAL


# -- event 13, high-availability registration ----------------------------------------------


async def test_the_emulator_sends_event_13_and_a_task_without_it_is_replaced(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Once the client has seen event 13, a task whose event 13 does not come within 10 s is
    stopped (confirmed) and a new one started, in the status stream and the log; the session
    records on the new one."""
    async with service(events=True) as (emulated, calls):
        async with session(emulated):
            await anyio.sleep(1)
        assert emulated.client._ha_registers_seen  # the emulator sent event 13
        emulated.emulator.faults.withhold_ha_register()
        seen: list[int] = []
        replacing = RecordingSession(
            emulated.client,
            cname="room",
            uid="9",
            mode=Mode.MIX,
            config=config(),
            on_status=seen.append,
        )
        async with replacing as running:
            assert [r.sid for r in emulated.emulator.running_recordings()] == [running.handle.sid]
            assert seen[:2] == [8, 0]  # the replaced task exited, the new one begins
        assert calls.count("acquire") == 3
        assert emulated.emulator.running_recordings() == []
        assert emulated.client.unconfirmed() == []
        assert any("event 13" in r.getMessage() for r in caplog.records)


async def test_a_task_replaced_for_want_of_event_13_takes_the_spare_uid() -> None:
    """The best practice's new task after a missing event 13 is "with a different UID": with a
    spare uid the replacement records as it, and the replaced task is stopped."""
    async with service(events=True) as (emulated, calls):
        emulated.client._ha_registers_seen = True
        emulated.emulator.faults.withhold_ha_register()
        seen: list[RecordingStatus] = []
        async with spare_session(emulated, seen, "10") as running:
            assert running.handle.uid == "10"
            assert [r.uid for r in emulated.emulator.running_recordings()] == ["10"]
        assert calls.count("acquire") == 2
        assert emulated.emulator.running_recordings() == []
        assert emulated.client.unconfirmed() == []


@pytest.mark.parametrize("why", ["turned off", "never seen"])
async def test_no_task_is_replaced_when_event_13_is_not_expected(why: str) -> None:
    """With ``ha_register_timeout = None``, or before this client ever saw an event 13 (a
    project that does not subscribe to it), a missing event 13 replaces nothing."""
    async with service(events=True) as (emulated, calls):
        if why == "turned off":
            emulated.client._ha_registers_seen = True
            emulated.client.ha_register_timeout = None
        emulated.emulator.faults.withhold_ha_register()
        async with session(emulated) as running:
            assert running.handle.sid
        assert calls.count("acquire") == 1


async def test_a_session_cancelled_while_waiting_for_event_13_stops_its_recording() -> None:
    """Cancellation during the wait for event 13 still stops the recording just started."""
    async with service(events=True) as (emulated, _calls):
        emulated.client._ha_registers_seen = True
        emulated.emulator.faults.withhold_ha_register()
        with anyio.move_on_after(5) as scope:
            async with session(emulated):
                pytest.fail("cancelled before the body")
        assert scope.cancelled_caught
        assert emulated.emulator.running_recordings() == []
        assert emulated.client.unconfirmed() == []


def _note(sid: str, event_type: int, sequence: int) -> Notification:
    """A verified-looking notification of ``sid`` on channel ``room``, recorder uid 9."""
    return parse(
        {
            "noticeId": f"{sid}-{sequence}",
            "productId": 3,
            "eventType": event_type,
            "notifyMs": 1,
            "payload": {
                "cname": "room",
                "uid": "9",
                "sid": sid,
                "sequence": sequence,
                "sendts": 1,
                "details": {},
            },
        }
    )


async def test_a_new_start_subscription_skips_the_previous_recordings_events() -> None:
    """A (cname, uid) subscription for a new start takes neither a known sid nor the late exit
    events of an earlier recording; the first event of a beginning recording binds it."""
    hub = NotificationHub(reorder_timeout=0)
    subscription = hub.subscribe(cname="room", uid="9", new_recording=True, exclude={"known"})
    hub.publish(_note("known", 40, 0))  # a recording this client knows, even beginning
    hub.publish(_note("other", 11, 7))  # the late session_exit of an earlier recording
    assert (subscription.sid, subscription.pending) == (None, 0)
    hub.publish(_note("new", 40, 0))
    assert (subscription.sid, subscription.pending) == ("new", 1)
    first = subscription.receive_nowait()
    assert first is not None
    assert first.sid == "new"
