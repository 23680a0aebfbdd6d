"""The deadline of one attempt (`_deadline.attempt_timer`): it times the block out, and never
takes somebody else's cancellation for its own, on a virtual clock under Trio and asyncio."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from agora_recording._deadline import RECHECK, AttemptTimer, attempt_timer

from tests.virtual import virtual_anyio_backend

__all__ = ["virtual_anyio_backend"]

pytestmark = pytest.mark.anyio


def _cancelling(backend: tuple[str, dict[str, Any]]) -> int | None:
    """The current asyncio task's pending cancellations (``None`` under Trio, and before
    Python 3.11, which cannot count them)."""
    if sys.version_info >= (3, 11) and backend[0] == "asyncio":
        task = asyncio.current_task()
        assert task is not None
        return task.cancelling()
    return None


async def test_a_block_still_running_at_its_deadline_raises_timeout_error(
    anyio_backend: tuple[str, dict[str, Any]],
) -> None:
    """The block is cut off at exactly its deadline, as a TimeoutError."""
    timer = attempt_timer()
    began = timer.now()
    assert began == anyio.current_time()  # the timer's clock is the event loop's
    with pytest.raises(TimeoutError), timer.until(began + 5.0):
        await anyio.sleep_forever()
    assert anyio.current_time() - began == pytest.approx(5.0)
    assert _cancelling(anyio_backend) in (None, 0)  # the timer took its cancellation back


async def test_a_block_that_ends_in_time_leaves_no_timer_behind(
    anyio_backend: tuple[str, dict[str, Any]],
) -> None:
    """After a block that finished early, sleeping past its deadline is not interrupted."""
    timer = attempt_timer()
    with timer.until(timer.now() + 5.0):
        await anyio.sleep(1.0)
    began = anyio.current_time()
    await anyio.sleep(10.0)
    assert anyio.current_time() - began == pytest.approx(10.0)
    assert _cancelling(anyio_backend) in (None, 0)


@pytest.mark.parametrize("outer_first", [True, False], ids=["outer-first", "timer-first"])
async def test_a_cancellation_due_at_the_same_moment_stays_the_callers(
    anyio_backend: tuple[str, dict[str, Any]], outer_first: bool
) -> None:
    """When the caller's cancel scope and the deadline fire together, whichever timer runs
    first, the caller's scope catches its own cancellation and no TimeoutError escapes."""
    at = anyio.current_time() + 5.0
    with anyio.CancelScope(deadline=at if outer_first else float("inf")) as outer:
        timer = attempt_timer()
        with timer.until(at):
            outer.deadline = at
            await anyio.sleep_forever()
    assert outer.cancelled_caught
    assert _cancelling(anyio_backend) in (None, 0)


async def test_after_a_timeout_the_callers_scopes_still_cancel(
    anyio_backend: tuple[str, dict[str, Any]],
) -> None:
    """A timed-out attempt leaves the task's cancellation count as it was, so an enclosing
    scope that expires later still catches its own cancellation."""
    began = anyio.current_time()
    with anyio.move_on_after(20.0) as outer:
        timer = attempt_timer()
        with pytest.raises(TimeoutError), timer.until(timer.now() + 5.0):
            await anyio.sleep_forever()
        await anyio.sleep_forever()
    assert outer.cancelled_caught
    assert anyio.current_time() - began == pytest.approx(20.0)
    assert _cancelling(anyio_backend) in (None, 0)


async def test_a_shielded_block_still_times_out(
    anyio_backend: tuple[str, dict[str, Any]],
) -> None:
    """Inside a shielded scope (where the confirmed stop runs) the attempt's deadline still
    applies, while the caller's cancellation waits outside the shield."""
    with anyio.CancelScope() as outer:
        outer.cancel()
        with anyio.CancelScope(shield=True):
            timer = attempt_timer()
            with pytest.raises(TimeoutError), timer.until(timer.now() + 5.0):
                await anyio.sleep_forever()
        await anyio.lowlevel.checkpoint()  # the caller's cancellation lands here
        pytest.fail("the outer cancellation was lost")
    assert outer.cancelled_caught
    assert _cancelling(anyio_backend) in (None, 0)


async def test_the_deadline_waits_for_a_shielded_section_inside_the_attempt(
    anyio_backend: tuple[str, dict[str, Any]],
) -> None:
    """A deadline that falls inside a shielded section (httpcore closes every response in
    one) cuts the attempt off once the section is done, as anyio's own scopes do."""
    timer = attempt_timer()
    began = timer.now()
    closed = False

    async def attempt() -> None:
        nonlocal closed
        with timer.until(began + 5.0):
            with anyio.CancelScope(shield=True):
                await anyio.sleep(10.0)
                closed = True
            await anyio.sleep_forever()

    with pytest.raises(TimeoutError):
        await attempt()
    assert closed
    assert 10.0 <= anyio.current_time() - began <= 10.0 + RECHECK + 1e-6
    assert _cancelling(anyio_backend) in (None, 0)


async def test_asyncio_attempts_use_the_task_timer(
    anyio_backend: tuple[str, dict[str, Any]],
) -> None:
    """On asyncio (3.11+) the installed anyio is read as the timer expects, so attempts use the
    cheap task timer; elsewhere they use anyio's cancel scope."""
    fast = anyio_backend[0] == "asyncio" and sys.version_info >= (3, 11)
    assert (type(attempt_timer()) is not AttemptTimer) is fast


async def test_a_cancellation_an_inner_scope_absorbs_does_not_cancel_the_deadline(
    anyio_backend: tuple[str, dict[str, Any]],
) -> None:
    """An inner scope expiring at the deadline's moment catches its own cancellation and the
    block goes on: the deadline still cuts it off, right after."""
    timer = attempt_timer()
    began = timer.now()

    async def attempt() -> None:
        with timer.until(began + 5.0):
            with anyio.move_on_after(5.0):
                await anyio.sleep_forever()
            await anyio.sleep_forever()

    with pytest.raises(TimeoutError):
        await attempt()
    assert 5.0 <= anyio.current_time() - began <= 5.0 + RECHECK + 1e-6
    assert _cancelling(anyio_backend) in (None, 0)
