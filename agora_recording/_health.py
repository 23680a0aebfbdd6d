"""Judging a recording's health from what the service says: a sans-I/O object, no awaits.

`HealthJudge` is fed the session's observations, each with the time it was made: a ``query``
answer (`answered`), a ``404 failed to find worker`` (`not_found`), a failed poll
(`poll_failed`) and a notification (`event`). Each call returns an `Ended` verdict when the
recording is over, or ``None`` to keep waiting; `healthy` says whether it came up. The rules:

- status 4 or 5 (or a recorder-started event) makes the recording healthy;
- status 20, or an abnormal ``session_exit``: ended, ``EXITED_ABNORMALLY``;
- status 6, 7 or 8, web state ``exit``, or any other exit event: ended, ``SERVICE_EXIT``;
- an answer short of status 4 or 5 ``start_timeout`` seconds after the start: ``START_TIMEOUT``
  (failed polls say nothing about it);
- 404s for ``failover_grace`` seconds (high-availability failover takes up to 90 s):
  ``WORKER_LOST``; with ``assume_ended_on_404``, the first 404 is enough;
- ``max_poll_errors`` failed polls in a row, or two or more over ``outage_timeout`` seconds:
  ``UNOBSERVABLE`` (a 429 is the quota's, not the recording's: it never counts here).

The failover grace and the outage timeout measure the service, not our own queue: each poll
says how long it waited for the client's quota and a place in flight (``queued``), and those
seconds are taken off the time a run of 404s or of failed polls has lasted. Two 404s a minute
apart are evidence of one failover only as dense as the polls between them; a poll held back
behind a burst of starts samples less often, so it must not make the run look longer. The start
timeout needs no such credit: one answer short of status 4 or 5 long after the start proves it
on its own, however late the poll went.

It also says when to poll next: health polls (`in_health_phase`: not yet healthy, or inside a
run of 404s or of failed polls) every `HEALTH_POLL_INTERVAL`; while notifications flow for a
healthy recording, routine polls are only a safety net (`events_cover`); a web recording is
polled just after its ``maxRecordingHour`` runs out (`poll_delay`). Tested without an event loop.
"""

from __future__ import annotations

import logging
from typing import Final

from ._events import EventFacts, Exit
from ._hints import early_exit_causes, exit_hint, status_name
from ._outcome import Ended, EndReason
from ._retry import describe_failure
from ._status import Status
from .enums import RecordingStatus, ServiceName, ServiceState
from .errors import NotFoundError, RateLimitError
from .models import QueryResponse, StartConfig, WebRecorderPayload, WebRecorderServiceParam

__all__ = [
    "END_POLL_DELAY",
    "HEALTH_POLL_INTERVAL",
    "SAFETY_NET_INTERVAL",
    "HealthJudge",
    "max_recording_hour",
    "web_recorder_exited",
]

_log = logging.getLogger("agora_recording.session")

#: Seconds between health polls: until the recorder is healthy, through a run of 404s
#: (failover) and through a run of failed polls. In the client's quota they wait behind a burst
#: of starts until due (``RateLimiter.health_wait``), then go ahead of it.
HEALTH_POLL_INTERVAL: Final = 10.0

#: Seconds after a web recording's ``maxRecordingHour`` runs out that a poll is placed, to see
#: the exit while the service still reports it.
END_POLL_DELAY: Final = 1.0

#: Seconds between routine polls while notifications flow for a healthy recording: a safety net
#: only. With no notification for ``events_silence`` seconds, polling returns to normal.
SAFETY_NET_INTERVAL: Final = 1800.0

#: Seconds under which a wait counts as none: a float's rounding, not a real wait.
_DUE_NOW: Final = 1e-6

#: Seconds after the start within which a lost recorder most likely exited at once.
_EARLY_EXIT_WINDOW: Final = 60.0

_HEALTHY: Final = frozenset({RecordingStatus.ALL_COMPONENTS_READY, RecordingStatus.IN_PROGRESS})
_EXITING: Final = frozenset(
    {
        RecordingStatus.STOP_REQUESTED,
        RecordingStatus.ALL_COMPONENTS_STOPPED,
        RecordingStatus.EXITED,
    }
)


def max_recording_hour(config: StartConfig | None) -> int | None:
    """The web recorder's ``maxRecordingHour``, when the start configuration sets one."""
    extensions = config.extension_service_config if config is not None else None
    for service in (extensions.extension_services if extensions is not None else None) or ():
        param = service.service_param
        if isinstance(param, WebRecorderServiceParam):
            return param.max_recording_hour
    return None


def max_idle_time(config: StartConfig | None) -> int | None:
    """The recorder's ``maxIdleTime``, when the start configuration sets one."""
    recording = config.recording_config if config is not None else None
    return recording.max_idle_time if recording is not None else None


def web_recorder_exited(response: QueryResponse) -> bool:
    """Whether a ``query`` answer reports the web recorder service in state ``exit``."""
    server = response.server_response
    for state in (server.extension_service_state if server is not None else None) or ():
        payload = state.payload
        if (
            state.service_name == ServiceName.WEB_RECORDER_SERVICE
            and isinstance(payload, WebRecorderPayload)
            and payload.state == ServiceState.EXIT
        ):
            return True
    return False


class HealthJudge:
    """The health of one recording, from the observations fed to it; see the module docstring.

    ``started_at`` is when the recording started (or was adopted), on the clock of the times
    passed to the methods; ``adopted`` says the recording was started elsewhere, so a 404 may
    mean it ended before we looked. ``max_recording_hour`` is a web recording's limit, if any;
    ``token_source`` where the recorder's token came from (it names the likeliest cause of an
    early exit); ``sid`` only names the recording in log lines.
    """

    __slots__ = (
        "_adopted",
        "_assume_ended_on_404",
        "_consecutive_errors",
        "_early_exit_causes",
        "_errors_since",
        "_events_silence",
        "_failover_grace",
        "_fatal",
        "_healthy",
        "_idle_leave",
        "_last_event_at",
        "_last_poll_at",
        "_max_idle_time",
        "_max_poll_errors",
        "_max_recording_hour",
        "_not_found_at",
        "_not_found_since",
        "_outage_timeout",
        "_queued",
        "_sid",
        "_start_timeout",
        "poll_errors",
        "polls",
        "started_at",
    )

    def __init__(
        self,
        *,
        started_at: float,
        start_timeout: float = 90.0,
        failover_grace: float = 90.0,
        max_poll_errors: int = 8,
        outage_timeout: float = 120.0,
        events_silence: float = 180.0,
        assume_ended_on_404: bool = False,
        adopted: bool = False,
        max_recording_hour: int | None = None,
        max_idle_time: int | None = None,
        token_source: str | None = None,
        sid: str | None = None,
    ) -> None:
        self.started_at = started_at
        self._start_timeout = start_timeout
        self._failover_grace = failover_grace
        self._max_poll_errors = max_poll_errors
        self._outage_timeout = outage_timeout
        self._events_silence = events_silence
        self._assume_ended_on_404 = assume_ended_on_404
        self._adopted = adopted
        self._max_recording_hour = max_recording_hour
        self._max_idle_time = max_idle_time
        self._early_exit_causes = early_exit_causes(token_source)
        self._sid = sid
        #: How many polls got an answer, and how many failed (404s not counted).
        self.polls = 0
        self.poll_errors = 0
        self._healthy = False
        self._not_found_since: float | None = None  # on the service's clock (_service_time)
        self._not_found_at = 0.0  # the first 404 of the run, on the clock of ``now``
        self._consecutive_errors = 0
        self._errors_since: float | None = None
        self._last_event_at: float | None = None
        self._last_poll_at: float | None = None
        self._queued = 0.0  # the seconds polls waited in our own queues, in all
        self._idle_leave = False
        self._fatal: str | None = None

    @property
    def healthy(self) -> bool:
        """Whether the recorder came up (status 4 or 5, or a recorder-started event)."""
        return self._healthy

    @property
    def in_health_phase(self) -> bool:
        """Polls that decide whether the recording came up or died: before it is healthy,
        during a run of 404s (failover) and during a run of failed polls."""
        return (
            not self._healthy or self._not_found_since is not None or self._errors_since is not None
        )

    # -- observations ------------------------------------------------------------------------------

    def _service_time(self, now: float, queued: float) -> float:
        """``now`` less every second polls waited in our own queues (``queued``: this poll's):
        the clock the failover grace and the outage timeout run on."""
        self._queued += queued
        return now - self._queued

    def answered(self, response: QueryResponse, now: float, queued: float = 0.0) -> Ended | None:
        """A poll got ``response`` at ``now``, after waiting ``queued`` s in our own queues."""
        self._service_time(now, queued)
        self.polls += 1
        self._consecutive_errors = 0
        self._errors_since = None
        if self._not_found_since is not None:
            _log.info("recording sid=%s found again after failover", self._sid)
            self._not_found_since = None
        status = response.status
        if status == RecordingStatus.EXITED_ABNORMALLY:
            return Ended(
                EndReason.EXITED_ABNORMALLY,
                f"the service reported status {status_name(status)}: the recorder failed",
            )
        if status in _EXITING:
            return Ended(EndReason.SERVICE_EXIT, self._exit_detail(status, now))
        if web_recorder_exited(response):
            return Ended(EndReason.SERVICE_EXIT, self._exit_detail(None, now))
        if status in _HEALTHY:
            self._healthy = True
        # Judged only on the service's answers: a status short of 4 or 5, seen too late.
        if self._healthy or now - self.started_at < self._start_timeout:
            return None
        return Ended(
            EndReason.START_TIMEOUT,
            f"the recorder did not reach status 4 or 5 within {self._start_timeout:g} s",
        )

    def not_found(self, error: NotFoundError, now: float, queued: float = 0.0) -> Ended | None:
        """A poll got ``404 failed to find worker`` at ``now``, after waiting ``queued`` s in
        our own queues: failover, or the end."""
        service_now = self._service_time(now, queued)
        self._consecutive_errors = 0
        self._errors_since = None
        if self._assume_ended_on_404:
            return Ended(
                EndReason.WORKER_LOST,
                "query answered 404 and assume_ended_on_404 is set: the recording has ended "
                "(or is failing over, which was not waited for)",
                error,
            )
        since = self._not_found_since
        if since is None:
            _log.warning(
                "recording sid=%s not found; tolerating %g s for failover",
                self._sid,
                self._failover_grace,
            )
            self._not_found_since = service_now
            self._not_found_at = now
            return None
        lasted = service_now - since
        if lasted < self._failover_grace:
            return None
        after_start = self._not_found_at - self.started_at
        if self._adopted:
            what = (
                "the adopted recording ended (stopped elsewhere, idle for maxIdleTime, or ended "
                "by the service) or its worker was lost; adopt with assume_ended_on_404=True to "
                "be told at the first 404"
            )
        elif self._healthy and after_start >= _EARLY_EXIT_WINDOW:
            what = (
                "the recorder exited (idle for maxIdleTime, or ended by the service) "
                "or its worker was lost"
            )
        elif after_start < _EARLY_EXIT_WINDOW:
            what = "the recorder exited within a minute of start: " + self._early_exit_causes
        else:
            what = "the recorder never reported status 4 or 5: " + self._early_exit_causes
        return Ended(
            EndReason.WORKER_LOST,
            f"query answered 404 for {lasted:g} s, longer than the "
            f"{self._failover_grace:g} s failover grace: {what}",
            error,
        )

    def poll_failed(self, error: Exception, now: float, queued: float = 0.0) -> Ended | None:
        """A poll failed at ``now``, after waiting ``queued`` s in our own queues, with anything
        but a 404 for a lost worker.

        A 429 that outlasted the poll's own waits says the App ID's quota is spent, not that the
        service is out of reach: it is counted but never ends a healthy recording."""
        service_now = self._service_time(now, queued)
        self.poll_errors += 1
        if isinstance(error, RateLimitError):
            _log.info("query of sid=%s met the App ID's rate limit; polling goes on", self._sid)
            return None
        self._consecutive_errors += 1
        if self._errors_since is None:  # on the service's clock (_service_time)
            self._errors_since = service_now
        _log.warning(
            "query of sid=%s failed (%d in a row): %s",
            self._sid,
            self._consecutive_errors,
            describe_failure(error),
        )
        lasted = service_now - self._errors_since
        if self._consecutive_errors >= self._max_poll_errors or (
            self._consecutive_errors > 1 and lasted >= self._outage_timeout
        ):
            return Ended(
                EndReason.UNOBSERVABLE,
                f"query failed {self._consecutive_errors} times in a row over {lasted:g} s: "
                "the service cannot be reached, so the recording's state is unknown",
                error,
            )
        return None

    def event(self, facts: EventFacts, now: float) -> Ended | None:
        """A notification with ``facts`` arrived at ``now``: the same judgement as a poll's."""
        self._last_event_at = now
        if facts.healthy or facts.status in _HEALTHY:
            self._healthy = True
        if facts.failover:
            _log.info("recording sid=%s is failing over (notification)", self._sid)
        if facts.idle_leave:
            self._idle_leave = True
        if facts.fatal is not None:
            _log.warning("recording sid=%s reported a fatal error: %s", self._sid, facts.fatal)
            self._fatal = facts.fatal  # named by the abnormal exit that follows
        if facts.exit is None:
            return None
        if facts.exit is Exit.ABNORMAL:
            fatal = f" after a fatal {self._fatal}" if self._fatal else ""
            return Ended(
                EndReason.EXITED_ABNORMALLY,
                f"the service reported an abnormal exit (session_exit){fatal}",
            )
        detail = {
            Exit.MAX_RECORDING_HOUR: "the web recording reached maxRecordingHour",
            Exit.WEB_FAILED: "the web recorder stopped on an error",
        }.get(facts.exit)
        if detail is None:
            detail = (
                "the recorder exited after nobody published for maxIdleTime"
                if self._idle_leave
                else "the service ended the recording (session_exit)"
            )
        return Ended(EndReason.SERVICE_EXIT, detail)

    def _exit_detail(self, status: Status | None, now: float) -> str:
        """Name an exit a poll saw, as precisely as the evidence allows."""
        seen = f" (status {status_name(status)})" if status is not None else ""
        hours = self._max_recording_hour
        if hours is not None and now - self.started_at >= hours * 3600:
            return f"the web recording reached maxRecordingHour{seen}"
        if self._idle_leave:
            return f"the recorder exited after nobody published for maxIdleTime{seen}"
        if status is None:
            return "the web recorder service exited"
        return f"the service ended the recording{seen}; {exit_hint(self._max_idle_time)}"

    # -- when to poll ------------------------------------------------------------------------------

    def poll_started(self, now: float) -> None:
        """A poll goes out at ``now`` (the safety net counts from it)."""
        self._last_poll_at = now

    def events_cover(self, now: float) -> float | None:
        """While notifications flow for a healthy recording, routine polls are only a safety
        net: the seconds until the next one is due, or ``None`` to poll as usual.

        Until one poll has been answered they do not cover: that poll gives the session its
        first status, which notifications do not carry."""
        if self._last_event_at is None or self.in_health_phase or self.polls == 0:
            return None
        silent_at = self._last_event_at + self._events_silence
        if now >= silent_at:
            return None
        last_poll = self._last_poll_at if self._last_poll_at is not None else self.started_at
        due = max(last_poll + SAFETY_NET_INTERVAL, now)
        wait = min(due, silent_at) - now
        # A wait of a rounding error is due now: a virtual clock may wake such a sleep without
        # moving, and asking again would give the same sliver forever.
        return wait if wait > _DUE_NOW else None

    def poll_delay(self, interval: float, now: float) -> float:
        """Seconds until the next poll, ``interval`` unless a web recording's
        ``maxRecordingHour`` runs out sooner: it reports its exit only for a few seconds before
        ``query`` answers 404, so poll just after that moment to see it."""
        hours = self._max_recording_hour
        if hours is not None:
            until_end = self.started_at + hours * 3600 - now
            if 0 < until_end < interval:
                return until_end + END_POLL_DELAY
        return interval
