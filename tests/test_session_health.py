"""The session's health judge, without an event loop: observations and times in, verdicts out.

`HealthJudge` is fed what the poller and the notification consumer saw (an answer, a 404 for a
lost worker, a failed poll, an event), each with the time it was seen; it answers with an
`Ended` verdict or ``None`` (keep waiting), and says when to poll next. Times here are plain
numbers of seconds since the start.
"""

from __future__ import annotations

from typing import Any

import pytest
from agora_recording import (
    EndReason,
    NotFoundError,
    QueryResponse,
    RateLimitError,
    RecordingStatus,
    ServerError,
    converter,
)
from agora_recording._events import EventFacts, Exit
from agora_recording._health import (
    END_POLL_DELAY,
    SAFETY_NET_INTERVAL,
    HealthJudge,
)

SID = "sid-1"


def answer(status: int | None = None, **server: Any) -> QueryResponse:
    """A query answer with ``status`` (and any other ``serverResponse`` fields)."""
    if status is not None:
        server["status"] = status
    return converter.structure(
        {"resourceId": "res", "sid": SID, "serverResponse": server}, QueryResponse
    )


def web_exit() -> QueryResponse:
    """A web recording's query answer whose recorder service reports state ``exit``."""
    state = {"serviceName": "web_recorder_service", "payload": {"state": "exit"}}
    return answer(extensionServiceState=[state])


def lost() -> NotFoundError:
    """The 404 ``query`` answers when the worker is gone (or failing over)."""
    return NotFoundError(
        endpoint="query", status_code=404, code=404, reason="failed to find worker"
    )


def outage() -> ServerError:
    """A poll that failed with a 504."""
    return ServerError(endpoint="query", status_code=504)


def judge(**options: Any) -> HealthJudge:
    """A judge of a recording started at time 0, with the session's default thresholds."""
    options.setdefault("started_at", 0.0)
    options.setdefault("sid", SID)
    return HealthJudge(**options)


def healthy_judge(**options: Any) -> HealthJudge:
    """A judge that saw the recorder healthy at 5 s."""
    j = judge(**options)
    assert j.answered(answer(RecordingStatus.IN_PROGRESS), 5.0) is None
    return j


# -- coming up -----------------------------------------------------------------------------------


def test_status_four_or_five_makes_the_recording_healthy() -> None:
    """An answer with status 4 or 5 is healthy: no verdict, and routine polling may begin."""
    for status in (RecordingStatus.ALL_COMPONENTS_READY, RecordingStatus.IN_PROGRESS):
        j = judge()
        assert j.in_health_phase
        assert j.answered(answer(status), 5.0) is None
        assert (j.healthy, j.in_health_phase, j.polls) == (True, False, 1)


def test_a_recorder_still_starting_after_start_timeout_has_timed_out() -> None:
    """Status short of 4 or 5 is waited for until start_timeout, then ends as START_TIMEOUT."""
    j = judge(start_timeout=90.0)
    assert j.answered(answer(RecordingStatus.COMPONENTS_STARTING), 5.0) is None
    assert j.answered(answer(RecordingStatus.COMPONENTS_STARTING), 89.9) is None
    ended = j.answered(answer(RecordingStatus.COMPONENTS_STARTING), 90.0)
    assert ended is not None
    assert ended.end_reason is EndReason.START_TIMEOUT
    assert "90 s" in ended.detail


def test_failed_polls_alone_never_make_a_start_timeout() -> None:
    """Polls that fail say nothing about the start: only an answer can time it out."""
    j = judge(start_timeout=90.0, max_poll_errors=100, outage_timeout=1000.0)
    for second in range(5, 200, 10):
        assert j.poll_failed(outage(), float(second)) is None
    ended = j.answered(answer(RecordingStatus.COMPONENTS_STARTING), 200.0)
    assert ended is not None
    assert ended.end_reason is EndReason.START_TIMEOUT


def test_a_healthy_recording_never_times_out_its_start() -> None:
    """Once healthy, a later answer without status 4 or 5 is no start timeout."""
    j = healthy_judge()
    assert j.answered(answer(), 500.0) is None


# -- the service ending it -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "end_reason"),
    [
        (RecordingStatus.EXITED_ABNORMALLY, EndReason.EXITED_ABNORMALLY),
        (RecordingStatus.STOP_REQUESTED, EndReason.SERVICE_EXIT),
        (RecordingStatus.ALL_COMPONENTS_STOPPED, EndReason.SERVICE_EXIT),
        (RecordingStatus.EXITED, EndReason.SERVICE_EXIT),
    ],
)
def test_an_exit_status_ends_the_recording(status: int, end_reason: EndReason) -> None:
    """Status 20 is an abnormal exit; 6, 7 and 8 an exit we did not ask for, named by status."""
    ended = healthy_judge().answered(answer(status), 30.0)
    assert ended is not None
    assert ended.end_reason is end_reason
    if end_reason is EndReason.SERVICE_EXIT:
        assert f"status {status}" in ended.detail


def test_a_web_recorder_in_state_exit_has_ended() -> None:
    """A web recorder service reporting ``exit`` ends the recording as a service exit."""
    ended = healthy_judge().answered(web_exit(), 30.0)
    assert ended is not None
    assert ended.end_reason is EndReason.SERVICE_EXIT
    assert ended.detail == "the web recorder service exited"


def test_an_exit_after_max_recording_hour_says_so() -> None:
    """An exit seen once a web recording's maxRecordingHour ran out is named after it."""
    ended = healthy_judge(max_recording_hour=1).answered(web_exit(), 3601.0)
    assert ended is not None
    assert "maxRecordingHour" in ended.detail


# -- 404: failover or the end --------------------------------------------------------------------


def test_404s_are_failover_until_the_grace_runs_out() -> None:
    """A run of 404s shorter than failover_grace is tolerated; at the grace it is WORKER_LOST."""
    j = healthy_judge(failover_grace=90.0)
    first = lost()
    assert j.not_found(first, 100.0) is None
    assert j.in_health_phase
    assert j.not_found(lost(), 189.9) is None
    last = lost()
    ended = j.not_found(last, 190.0)
    assert ended is not None
    assert ended.end_reason is EndReason.WORKER_LOST
    assert ended.cause is last
    assert "90 s failover grace" in ended.detail
    assert "exited (idle for maxIdleTime" in ended.detail


def test_an_answer_ends_a_run_of_404s() -> None:
    """A recording that answers again after 404s was failing over: the grace starts afresh."""
    j = healthy_judge(failover_grace=90.0)
    assert j.not_found(lost(), 100.0) is None
    assert j.answered(answer(RecordingStatus.IN_PROGRESS), 150.0) is None
    assert not j.in_health_phase
    assert j.not_found(lost(), 200.0) is None
    assert j.not_found(lost(), 280.0) is None  # 80 s into the new run
    assert j.not_found(lost(), 290.0) is not None


def test_a_recorder_lost_right_after_start_names_the_likely_causes() -> None:
    """404s from the first minute point at the documented causes of an early exit."""
    j = judge(failover_grace=90.0, token_source="minted")
    assert j.not_found(lost(), 5.0) is None
    ended = j.not_found(lost(), 95.0)
    assert ended is not None
    assert "within a minute of start" in ended.detail
    assert "App Certificate" in ended.detail


def test_assume_ended_on_404_ends_at_the_first_404() -> None:
    """With assume_ended_on_404 the first 404 is the end: no failover grace is waited out."""
    j = judge(assume_ended_on_404=True)
    error = lost()
    ended = j.not_found(error, 0.0)
    assert ended is not None
    assert ended.end_reason is EndReason.WORKER_LOST
    assert ended.cause is error
    assert "assume_ended_on_404" in ended.detail


# -- losing sight of it --------------------------------------------------------------------------


def test_max_poll_errors_in_a_row_make_the_recording_unobservable() -> None:
    """max_poll_errors failed polls in a row end the watch as UNOBSERVABLE, counted each time."""
    j = healthy_judge(max_poll_errors=3, outage_timeout=1000.0)
    assert j.poll_failed(outage(), 20.0) is None
    assert j.poll_failed(outage(), 30.0) is None
    ended = j.poll_failed(outage(), 40.0)
    assert ended is not None
    assert ended.end_reason is EndReason.UNOBSERVABLE
    assert j.poll_errors == 3


def test_polls_refused_by_the_rate_limit_never_end_a_recording() -> None:
    """A crowded App ID answers polls 429 for long: counted, but the recording is not given up."""
    j = healthy_judge(max_poll_errors=3, outage_timeout=120.0)
    limited = RateLimitError(endpoint="query", status_code=429)
    assert all(j.poll_failed(limited, 20.0 + 10 * n) is None for n in range(20))
    assert j.poll_errors == 20
    assert j.poll_failed(outage(), 300.0) is None  # a real outage still counts from one


def test_failed_polls_over_outage_timeout_make_the_recording_unobservable() -> None:
    """Two or more failed polls spanning outage_timeout are an outage, however few they are."""
    j = healthy_judge(max_poll_errors=8, outage_timeout=120.0)
    assert j.poll_failed(outage(), 20.0) is None
    assert j.poll_failed(outage(), 139.0) is None
    ended = j.poll_failed(outage(), 140.0)
    assert ended is not None
    assert ended.end_reason is EndReason.UNOBSERVABLE
    assert "3 times in a row over 120 s" in ended.detail


def test_time_failed_polls_waited_in_our_queue_is_not_outage_time() -> None:
    """Failed polls 130 s apart, each of which waited 60 s for the client's quota, have lasted
    70 s of service time: not an outage until outage_timeout of service time has passed."""
    j = healthy_judge(max_poll_errors=8, outage_timeout=120.0)
    assert j.poll_failed(outage(), 20.0, queued=60.0) is None  # only queueing inside the run counts
    assert j.poll_failed(outage(), 150.0, queued=60.0) is None
    ended = j.poll_failed(outage(), 200.0, queued=0.0)
    assert ended is not None
    assert "3 times in a row over 120 s" in ended.detail


def test_time_404_polls_waited_in_our_queue_is_not_failover_time() -> None:
    """404s 100 s apart from polls that waited 40 s each for the quota are 20 s of failover:
    the grace runs on service time, and ends once 90 s of it have passed."""
    j = healthy_judge(failover_grace=90.0)
    assert j.not_found(lost(), 100.0, queued=40.0) is None
    assert j.not_found(lost(), 150.0, queued=40.0) is None
    assert j.not_found(lost(), 200.0, queued=40.0) is None  # 100 s of wall time, 20 s of service
    assert j.not_found(lost(), 269.9) is None
    ended = j.not_found(lost(), 270.0)
    assert ended is not None
    assert ended.end_reason is EndReason.WORKER_LOST
    assert "404 for 90 s" in ended.detail


def test_an_answer_short_of_status_4_is_late_however_long_the_poll_queued() -> None:
    """The start timeout takes no credit for queueing: an answer short of status 4 or 5 at 95 s
    proves on its own that the recorder did not come up within 90 s."""
    j = judge()
    ended = j.answered(answer(RecordingStatus.COMPONENTS_STARTING), 95.0, queued=80.0)
    assert ended is not None
    assert ended.end_reason is EndReason.START_TIMEOUT


def test_an_answer_or_a_404_ends_a_run_of_failed_polls() -> None:
    """Failed polls count in a row only: an answer (or a 404) in between starts the count over."""
    j = healthy_judge(max_poll_errors=2, outage_timeout=1000.0)
    assert j.poll_failed(outage(), 20.0) is None
    assert j.answered(answer(RecordingStatus.IN_PROGRESS), 30.0) is None
    assert j.poll_failed(outage(), 40.0) is None
    assert j.not_found(lost(), 50.0) is None
    assert j.poll_failed(outage(), 60.0) is None
    assert j.poll_errors == 3


# -- notifications -------------------------------------------------------------------------------


def test_a_recorder_started_event_makes_the_recording_healthy() -> None:
    """Event 40 (or a status 5 event) says the recorder came up, as a poll would."""
    for facts in (EventFacts(healthy=True), EventFacts(status=5)):
        j = judge()
        assert j.event(facts, 3.0) is None
        assert j.healthy


def test_an_abnormal_exit_event_names_the_fatal_error_before_it() -> None:
    """A fatal error event is remembered and named by the abnormal exit that follows."""
    j = healthy_judge()
    assert j.event(EventFacts(fatal="error 50: boom"), 30.0) is None
    ended = j.event(EventFacts(exit=Exit.ABNORMAL), 31.0)
    assert ended is not None
    assert ended.end_reason is EndReason.EXITED_ABNORMALLY
    assert "after a fatal error 50: boom" in ended.detail


@pytest.mark.parametrize(
    ("facts", "detail"),
    [
        (EventFacts(exit=Exit.NORMAL), "the service ended the recording (session_exit)"),
        (EventFacts(exit=Exit.MAX_RECORDING_HOUR), "the web recording reached maxRecordingHour"),
        (EventFacts(exit=Exit.WEB_FAILED), "the web recorder stopped on an error"),
    ],
)
def test_an_exit_event_ends_the_recording(facts: EventFacts, detail: str) -> None:
    """Any other exit event is a service exit, named as precisely as the event allows."""
    ended = healthy_judge().event(facts, 30.0)
    assert ended is not None
    assert (ended.end_reason, ended.detail) == (EndReason.SERVICE_EXIT, detail)


def test_an_exit_after_an_idle_leave_is_an_idle_exit() -> None:
    """The recorder leaving for lack of publishers makes the exit that follows an idle exit."""
    j = healthy_judge()
    assert j.event(EventFacts(idle_leave=True), 30.0) is None
    ended = j.event(EventFacts(exit=Exit.NORMAL), 31.0)
    assert ended is not None
    assert "nobody published for maxIdleTime" in ended.detail


# -- when to poll --------------------------------------------------------------------------------


def test_flowing_events_make_routine_polls_a_safety_net() -> None:
    """While events flow for a healthy recording, the next poll waits for the safety net."""
    j = healthy_judge(events_silence=180.0)
    assert j.events_cover(6.0) is None  # no event yet: poll as usual
    j.poll_started(5.0)
    j.event(EventFacts(status=5), 100.0)
    assert j.events_cover(150.0) == pytest.approx(130.0)  # until 180 s after the event
    j.event(EventFacts(status=5), 1700.0)
    assert j.events_cover(1750.0) == pytest.approx(5.0 + SAFETY_NET_INTERVAL - 1750.0)
    assert j.events_cover(1880.0) is None  # 180 s of silence: back to polling


def test_a_safety_net_poll_due_within_a_rounding_error_is_due_now() -> None:
    """A wait of a float's rounding error is no wait: the poller polls instead of sleeping a
    sliver that a virtual clock wakes without moving, which would spin forever."""
    j = healthy_judge(events_silence=180.0)
    j.poll_started(5.0)
    j.event(EventFacts(status=5), 100.0)
    j.event(EventFacts(status=5), 1700.0)
    due = 5.0 + SAFETY_NET_INTERVAL
    assert j.events_cover(due - 1e-9) is None
    assert j.events_cover(due - 1.0) == pytest.approx(1.0)


def test_events_do_not_cover_the_health_phase() -> None:
    """Events never replace the polls that decide whether the recording came up or died."""
    j = judge()
    j.event(EventFacts(failover=True), 1.0)
    assert j.events_cover(2.0) is None
    healthy = healthy_judge()
    healthy.event(EventFacts(status=5), 10.0)
    assert healthy.not_found(lost(), 20.0) is None
    assert healthy.events_cover(21.0) is None


def test_a_web_recording_is_polled_just_after_its_max_recording_hour() -> None:
    """The poll due after maxRecordingHour runs out is moved to just after that moment."""
    j = healthy_judge(max_recording_hour=1)
    assert j.poll_delay(15.0, 3000.0) == 15.0
    assert j.poll_delay(15.0, 3590.0) == pytest.approx(10.0 + END_POLL_DELAY)
    assert judge().poll_delay(15.0, 3590.0) == 15.0


def test_an_adopted_recording_lost_for_the_grace_points_at_assume_ended_on_404() -> None:
    """For an adopted recording, 404s past the grace say it may have ended before adoption."""
    j = judge(adopted=True, failover_grace=90.0)
    assert j.not_found(lost(), 0.0) is None
    ended = j.not_found(lost(), 90.0)
    assert ended is not None
    assert "adopted recording ended" in ended.detail
    assert "assume_ended_on_404" in ended.detail
    assert "within a minute of start" not in ended.detail
