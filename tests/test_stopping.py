"""The confirmed stop's loop on its own: driven by fake send, query and sleep, no network, no loop
clock (the sans-I/O seam `RecordingClient.ensure_stopped` calls)."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from agora_recording import Mode, StopConfirmation, StopOutcome
from agora_recording._stopping import (
    RECHECK_DELAYS,
    STOP_BACKOFF_MAX,
    Unconfirmed,
    Verdict,
    confirm_stop,
    stop_verdict,
)
from agora_recording.errors import (
    AgoraError,
    APIError,
    AuthenticationError,
    BadRequestError,
    NoRecordedDataError,
    NotFoundError,
    RateLimitError,
    RequestNotCompletedError,
    ServerError,
    TransportError,
    UnexpectedResponseError,
)
from agora_recording.models import StopResponse

from tests.helpers import IDS, SID, Script, handle_for, mock_client, ok


def not_found() -> NotFoundError:
    """The 404 a stop or query meets while the worker cannot be found."""
    return NotFoundError(endpoint="stop", status_code=404, code=404, reason="failed to find worker")


class Fake:
    """A scripted service on a fake clock: each send/query pops the next answer."""

    def __init__(
        self,
        stops: list[AgoraError | None],
        queries: Callable[[], AgoraError | None] = lambda: None,
        budget: float = 180.0,
        random: Callable[[], float] = lambda: 0.5,
        paced: bool = False,
    ) -> None:
        self.now = 0.0
        self.budget = budget
        self.random = random
        self.paced = paced
        self.stops = stops
        self.queries = queries
        self.sent = 0
        self.checked = 0
        self.slept: list[float] = []
        self.announced_at: float | None = None

    async def send(self) -> StopResponse:
        self.sent += 1
        answer = self.stops.pop(0) if self.stops else None
        if answer is not None:
            raise answer
        return StopResponse(resource_id="r", sid="s")

    async def query(self) -> object:
        self.checked += 1
        answer = self.queries()
        if answer is not None:
            raise answer
        return object()

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def left(self) -> float:
        return self.budget - self.now

    def gone(self) -> bool:
        return self.announced_at is not None and self.now >= self.announced_at

    def run(self) -> StopConfirmation | Unconfirmed:
        async def main() -> StopConfirmation | Unconfirmed:
            return await confirm_stop(
                send=self.send,
                query=self.query,
                sleep=self.sleep,
                left=self.left,
                gone=self.gone,
                random=self.random,
                label="stop sid s",
                paced=self.paced,
            )

        return anyio.run(main)


def test_a_404_that_holds_for_the_whole_budget_is_taken_as_ended() -> None:
    """Only 404s for the whole 180 s budget, twice the documented failover: checked until the
    budget ends, then taken as ended (a recording failing over answers again within 90 s)."""
    fake = Fake([not_found()], queries=not_found)
    result = fake.run()
    assert isinstance(result, StopConfirmation)
    assert result.outcome is StopOutcome.ALREADY_GONE
    assert fake.now == pytest.approx(180.0)
    assert fake.slept[:3] == list(RECHECK_DELAYS)


def test_a_budget_shorter_than_the_failover_window_ends_unconfirmed() -> None:
    """A 404 held through a 60 s budget proves nothing (a failover may last 90 s): unconfirmed."""
    fake = Fake([not_found()], queries=not_found, budget=60.0)
    result = fake.run()
    assert isinstance(result, Unconfirmed)
    assert isinstance(result.error, NotFoundError)
    assert "404 held for" in result.why
    assert fake.now == pytest.approx(60.0)


def test_an_exit_announced_during_the_rechecks_confirms_the_404() -> None:
    """Once the exit is announced, the next re-check ends the stop as ALREADY_GONE."""
    fake = Fake([not_found()], queries=not_found)
    fake.announced_at = 12.0
    result = fake.run()
    assert isinstance(result, StopConfirmation)
    assert result.outcome is StopOutcome.ALREADY_GONE
    assert fake.now < 20.0


def test_a_recording_that_answers_again_is_stopped_again() -> None:
    """A re-check that finds the recording sends the stop again, which then confirms."""
    fake = Fake([not_found(), None])
    result = fake.run()
    assert isinstance(result, StopConfirmation)
    assert result.outcome is StopOutcome.STOPPED
    assert fake.sent == 2
    assert fake.checked == 1


def test_server_errors_are_retried_with_capped_backoff() -> None:
    """5xx answers are retried; no wait exceeds the cap, and the stop confirms."""
    errors: list[AgoraError | None] = [
        ServerError(endpoint="stop", status_code=503) for _ in range(5)
    ]
    fake = Fake([*errors, None])
    result = fake.run()
    assert isinstance(result, StopConfirmation)
    assert result.outcome is StopOutcome.STOPPED
    assert max(fake.slept) == STOP_BACKOFF_MAX
    assert fake.sent == 6


def test_a_refused_stop_is_unconfirmed_at_once() -> None:
    """A 401 is final: no retry, no wait."""
    fake = Fake([AuthenticationError(endpoint="stop", status_code=401)])
    result = fake.run()
    assert isinstance(result, Unconfirmed)
    assert "refused" in result.why
    assert fake.slept == []


def test_the_stop_backoff_follows_its_documented_curve() -> None:
    """With the jitter at half, a stop through 5xx waits 1.5, 2.5, 4.5 and 8.5 s, then the 10 s
    cap, as ``_stopping``'s ``STOP_BACKOFF_*`` say."""
    errors: list[AgoraError | None] = [
        ServerError(endpoint="stop", status_code=503) for _ in range(6)
    ]
    fake = Fake([*errors, None], random=lambda: 0.5)
    result = fake.run()
    assert isinstance(result, StopConfirmation)
    assert fake.slept == [1.5, 2.5, 4.5, 8.5, 10.0, 10.0]


def test_the_stop_jitter_comes_from_the_injected_random() -> None:
    """Two stops given the same seed wait the same, each wait within its documented second of
    jitter above 1, 2, 4 and 8 s."""
    waits = []
    for _ in range(2):
        fake = Fake(
            [ServerError(endpoint="stop", status_code=503) for _ in range(4)] + [None],
            random=random.Random(22).random,
        )
        fake.run()
        waits.append(fake.slept)
    assert waits[0] == waits[1]
    assert [int(wait) for wait in waits[0]] == [1, 2, 4, 8]
    assert len({wait % 1 for wait in waits[0]}) == 4


@pytest.mark.parametrize(
    ("retry_after", "paced", "wait"),
    [(3.0, False, 4.5), (30.0, False, STOP_BACKOFF_MAX), (None, False, 1.5), (3.0, True, 0.0)],
    ids=["retry-after-plus-jitter", "capped", "no-retry-after", "paced-by-the-limiter"],
)
def test_a_429_to_stop_waits_its_retry_after(
    retry_after: float | None, paced: bool, wait: float
) -> None:
    """A 429 waits its Retry-After plus jitter (capped), the curve without one, and nothing
    more when the caller's limiter already holds requests for it."""
    limited = RateLimitError(endpoint="stop", status_code=429, retry_after=retry_after)
    fake = Fake([limited, None], random=lambda: 0.5, paced=paced)
    result = fake.run()
    assert isinstance(result, StopConfirmation)
    assert fake.slept == [wait]


@pytest.mark.parametrize(
    ("error", "verdict"),
    [
        (NoRecordedDataError(endpoint="stop", status_code=206, code=435),
         StopOutcome.NO_RECORDED_DATA),
        (BadRequestError(endpoint="stop", status_code=400, code=49), StopOutcome.ALREADY_EXITING),
        (not_found(), Verdict.VERIFY),
        (TransportError("read timed out"), Verdict.RETRY),
        (ServerError(endpoint="stop", status_code=504, code=62), Verdict.RETRY),
        (RateLimitError(endpoint="stop", status_code=429), Verdict.RETRY),
        (RequestNotCompletedError(endpoint="stop", status_code=206, code=65), Verdict.RETRY),
        (UnexpectedResponseError("a 200 without resourceId or sid"), Verdict.RETRY),
        (BadRequestError(endpoint="stop", status_code=400, code=2), Verdict.FINAL),
        (NotFoundError(endpoint="stop", status_code=404, reason="no Route matched"),
         Verdict.FINAL),
        (AuthenticationError(endpoint="stop", status_code=401), Verdict.FINAL),
        (APIError(endpoint="stop", status_code=403), Verdict.FINAL),
    ],
    ids=["206/435", "400/49", "404-worker", "transport", "5xx", "429", "206/65", "unreadable",
         "400/2", "404-gateway", "401", "403"],
)  # fmt: skip
def test_each_answer_to_stop_has_its_documented_verdict(
    error: AgoraError, verdict: StopOutcome | Verdict
) -> None:
    """Every row of ``_stopping``'s answer table classifies as the module docstring says."""
    assert stop_verdict(error) is verdict


@pytest.mark.anyio
async def test_ensure_stopped_waits_the_stop_backoff_with_the_client_random() -> None:
    """A client's stop through two 503s waits ``_stopping``'s curve with the client's own
    random: 1.5 then 2.5 s with a random of one half."""
    script = Script(
        *[ok({"code": 62, "reason": "request timeout"}, status=503)] * 2,
        ok({**IDS, "sid": SID, "serverResponse": {"uploadingStatus": "uploaded"}}),
    )
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async with mock_client(script, random=lambda: 0.5) as client:
        confirmation = await client.ensure_stopped(
            handle_for(Mode.MIX), sleep=sleep, clock=lambda: 0.0
        )
    assert confirmation.outcome is StopOutcome.STOPPED
    assert slept == [1.5, 2.5]
    assert len(script.requests) == 3


class Queued(Fake):
    """`Fake` behind a busy client quota: every request first waits ``queued`` s there, which the
    stop budget does not count (the client credits it back, as for every call), on a clock whose
    sleeps end ``early`` s short (floating-point rounding). Over 100 requests is a runaway."""

    def __init__(
        self, stops: list[AgoraError | None], *, queued: float, early: float = 0.0, **options: Any
    ) -> None:
        super().__init__(stops, **options)
        self.queued = queued
        self.early = early

    def _wait_in_quota(self) -> None:
        if self.sent + self.checked >= 100:
            raise AssertionError("the stop is still requesting after 100 requests")
        self.now += self.queued
        self.budget += self.queued

    async def send(self) -> StopResponse:
        self._wait_in_quota()
        return await super().send()

    async def query(self) -> object:
        self._wait_in_quota()
        return await super().query()

    async def sleep(self, seconds: float) -> None:
        await super().sleep(seconds)
        self.now -= min(self.early, seconds)


def test_rechecks_end_with_the_budget_when_the_clock_wakes_a_hair_early() -> None:
    """The re-checks (5, 10, then every 15 s) fill the 180 s budget on a clock whose sleeps end a
    hair early (asyncio runs a timer due within its clock's resolution at once), and every query
    waits in the quota: ALREADY_GONE after one check at the budget's end, never a query every
    quota slot for ever."""
    fake = Queued([not_found()], queries=not_found, queued=0.125, early=2**-20)
    result = fake.run()
    assert isinstance(result, StopConfirmation)
    assert result.outcome is StopOutcome.ALREADY_GONE
    assert fake.checked == 14  # 2 + 11 on the schedule to 180 s, 1 at the budget's end
    assert sum(fake.slept) == pytest.approx(180.0)


def test_retries_end_with_the_budget_when_the_last_wait_ends_a_hair_early() -> None:
    """A stop through 5xx whose last backoff was cut to the budget's remainder, on a clock that
    wakes a hair early, with every attempt waiting in the quota: unconfirmed after it, not an
    attempt every quota slot for ever."""
    errors: list[AgoraError | None] = [
        ServerError(endpoint="stop", status_code=503) for _ in range(200)
    ]
    fake = Queued(errors, budget=20.0, random=lambda: 0.5, queued=0.125, early=2**-20)
    result = fake.run()
    assert isinstance(result, Unconfirmed)
    assert "budget ran out" in result.why
    assert fake.sent == 5  # after 1.5, 2.5, 4.5 and 8.5 s; the 3 s left end the budget
