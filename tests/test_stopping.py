"""The confirmed stop's loop on its own: driven by fake send, query and sleep, no network, no loop
clock (the sans-I/O seam `RecordingClient.ensure_stopped` calls)."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import pytest
from agora_recording import StopConfirmation, StopOutcome
from agora_recording._stopping import (
    RECHECK_DELAYS,
    STOP_BACKOFF_MAX,
    Unconfirmed,
    confirm_stop,
)
from agora_recording.errors import (
    AgoraError,
    AuthenticationError,
    NotFoundError,
    ServerError,
)
from agora_recording.models import StopResponse


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
    ) -> None:
        self.now = 0.0
        self.budget = budget
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
                backoff=lambda retries, error: 2.0**retries,
                gone=self.gone,
                label="stop sid s",
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
