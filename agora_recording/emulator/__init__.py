"""A faithful in-memory emulator of the Agora Cloud Recording REST service.

Use it in-process (see :mod:`agora_recording.testing`, which wires a ``RecordingClient`` to it
through ``httpx.ASGITransport``) or as a real HTTP server::

    from agora_recording.emulator import serve
    serve("127.0.0.1", 8080)            # customer ID / secret: emulator-customer-id / -secret

What it does, following Agora's Cloud Recording RESTful API reference (where the reference is
silent, the choices are ours and said so below):

* **Routes and gateway.** The six endpoints plus ``GET /v1/ncs/ip`` and ``/v2/ncs/ip``. Wrong
  method, path or mode: 404 ``{"message": "no Route matched with those values"}``. Basic auth
  (scheme case-insensitive): 401 ``Unauthorized`` without the header, ``Invalid authentication
  credentials`` when wrong. ``app_id`` restricts the App ID (400 ``appid is invalid``).
  ``rate_limit`` per App ID: 429 ``API rate limit exceeded`` with ``Retry-After``. A POST
  whose ``Content-Type`` is not ``application/json`` or whose body is not a JSON object: 400
  code 8. Every response has an ``X-Request-ID`` header.
* **Validation.** Bodies go through :mod:`agora_recording.validation` (the client's own rules,
  with the older ``captureInterval`` >= 1): 400 code 2 whose ``reason`` names the field path.
  Unknown keys are ignored; both ``unSubscribe...`` spellings are accepted. A bad ``cname`` at
  acquire is 400 code 401 ``invalid_channel_name``. ``updateLayout`` outside mix is 400 code 2.
* **Resources.** Opaque, self-describing resource IDs (about 280 characters) valid for 300 s:
  1001 when garbled, 432 when App ID/cname/uid differ, 433 when expired, 201 code 7 for a
  repeated start while the recording exists, 400 code 432 once it is gone, 53 for another live
  task with the same App ID, cname and uid. ``max_concurrent_recordings`` (default 50): acquire
  answers 400 code 406 ``vendor_over_load``. ``start`` in web mode needs acquire ``scene`` 1
  (and scene 1 needs web), else 400 code 2.
* **Recordings.** 32-hex ``sid``; status 0 -> 5 over ``startup_delay`` seconds (default 4); on
  exit 6, 7, 8 over ``exit_window`` seconds (default 3), then the task is gone (404 code 404
  ``failed to find worker``). ``stop`` while exiting: 400 code 49; ``stop`` of a recording that
  recorded nothing: 206 code 435 (the task still stops). ``query``/``update``/
  ``updateLayout``/``stop`` after ``resourceExpiredHour``: 404, while the recording itself goes
  on (it still counts for the quota and for task conflicts). A ``sid`` of another resource or an
  App ID other than the resource's: 400 code 1003; a path mode other than the recording's: 400
  code 2. ``update``/``updateLayout`` of an exiting task: 404.
* **Channels.** ``emulator.channel(cname)`` simulates users: ``join``, ``publish(uid,
  audio=, video=)``, ``unpublish``, ``leave``. Individual mode records one M3U8 per publishing
  subscribed user and track, mix one composite file. Idle rule (Agora's ``maxIdleTime``): with
  ``channelType`` 0 (communication) the recording is idle while nobody is in the channel; with 1
  (live) while nobody publishes. After ``maxIdleTime`` (default 30 s) idle it exits by itself (NCS
  41 with ``leaveCode`` 4, 31, 11): a ``stop`` during the exit window gets 49, after it 404. Web
  recordings have no channel; they stop at ``maxRecordingHour`` (NCS 71 code 1).
* **Responses.** Per-mode ``serverResponse`` shapes and file names (Agora's query and stop
  references, "Manage recorded files"), including the storage ``fileNamePrefix`` path, ``bak<n>_``
  after failovers, mix ``fileListMode`` "string" for ``["hls"]`` and "json" (M3U8 + MP4 entries) for
  ``["hls","mp4"]``, screenshots' ``{status, sliceStartTime}``, web ``extensionServiceState``;
  ``uploadingStatus`` is ``uploaded``, ``backuped`` (fault) or ``unknown`` (``async_stop``).
* **Time.** Everything time-driven is computed lazily from the injectable ``clock`` whenever
  something looks, so a :class:`FakeClock` can jump past 5 minutes, ``maxIdleTime`` or
  ``resourceExpiredHour`` without sleeping. A :class:`LoopClock` follows the running event
  loop's clock instead: under Trio's ``MockClock`` or asyncio with ``looptime`` the emulator
  lives in the virtual time of the code under test, quota included. ``run_timers()`` (or
  ``deliver_notifications()``) sleeps until the next timer so that exits, failovers and
  progress events are emitted at the instant they happen even when nobody asks.
* **Faults.** ``emulator.faults``: ``fail_next`` (a status with a JSON body, or ``raw`` bytes
  of any ``content_type``, extra ``headers``, ``retry_after``), ``fail_for`` (every call for
  a span of the clock: bursts of 503), ``add_latency``, ``drop_connection``, ``die_after``,
  ``failover`` (a stop sent meanwhile gets 404 ``failed to find worker`` and is lost: the
  recording goes on), ``abnormal_exit`` (status 20), ``backup_upload``, ``slow_page_load``
  (the next web page misses ``readyTimeout``: a reload, NCS 73, then 71 code 4),
  ``web_capability_limit`` (NCS 72); and for NCS
  deliveries ``drop_notifications``, ``duplicate_notifications``, ``delay_notifications``,
  ``reorder_notifications``, ``sign_notifications_with``.
* **Quota and load.** ``emulator.stats`` counts calls per App ID, endpoint and status, and
  the 429s of the quota; ``emulator.add_competing_load(app_id, rate)`` makes another
  (simulated) process use ``rate`` requests per second of the App ID's quota.
  ``emulator.running_recordings()`` lists what is still running (and billing).
* **Notifications.** NCS envelopes signed with both headers (``notification_secret``), their
  details built from the models of :mod:`agora_recording.events`, in the order 40, 30 at
  start, 43/44 when a stream starts (state 0) or stops (state 1) being received, 42 per
  recorded track and 4 at the first file (web: 70, and 100 per CDN output: connecting,
  publishing, onhold, disconnected), 45 per screenshot (``snapshotConfig``: ``.jpg`` files,
  no index file when only screenshots are taken), 33 every 60 s (coalesced when the clock
  jumps), 12 after a failover, and 41, 31 (or 32), 11 at exit (web: 71, 31, 11; abnormal: 1,
  11); postponed transcoding or audio mixing (``appsCollection``) sends 80, 81, 1001 with the
  MP4s or the mixed audio file when the task is gone. Each carries the recording's ``sid`` in
  the envelope and the payload.
* **Recorder uid.** A recorder uid that a user of the channel already has cannot join: start
  answers 200, then the task exits (41 with leave code 0, 11 abnormal) and ``query`` answers
  404, as Agora's status-code FAQ says; a user who joins later with the recorder's uid ends
  the recording the same way.

Notifications are logged in ``emulator.notifications`` and POSTed to ``notification_url`` with
3 resends by :meth:`Emulator.deliver_notifications`, which the server's lifespan runs.

Control routes (JSON, no auth), for tests that drive a separate server process:

===========================================  =================================================
``GET  /_emulator/state``                    time, recordings (redacted), channels
``POST /_emulator/channels/join``            ``{"cname", "uid"}``; also ``publish`` (with
                                             ``audio``/``video``), ``unpublish``, ``leave``
``POST /_emulator/faults/fail``              ``{"endpoint", "status", "body"?, "times"?,
                                             "after_processing"?, "raw"?, "content_type"?,
                                             "headers"?, "retry_after"?}``
``POST /_emulator/faults/fail-for``          ``{"seconds", "endpoint"?, "status"?, ...}``
``POST /_emulator/faults/notifications``     ``{"kind": "drop"|"duplicate"|"delay"|
                                             "reorder"|"secret", "times"?, "event_type"?,
                                             "sid"?, "seconds"?, "secret"?}``
``POST /_emulator/faults/latency``           ``{"seconds", "endpoint"?, "times"?}``
``POST /_emulator/faults/drop``              ``{"endpoint"?, "times"?, "after_processing"?}``
``POST /_emulator/faults/die``               ``{"seconds", "sid"?}``
``POST /_emulator/faults/failover``          ``{"sid"?, "after"?, "duration"?}``
``POST /_emulator/faults/abnormal-exit``     ``{"sid"?, "after"?}``
``POST /_emulator/faults/backup-upload``     ``{"sid"?}``
``POST /_emulator/faults/capability-limit``  ``{"limit_type"?, "sid"?, "after"?}``: NCS 72
``POST /_emulator/faults/slow-page``         ``{"loads"?}``: the next web page misses
                                             ``readyTimeout`` 1 or 2 times
``DELETE /_emulator/faults``                 forget pending faults
``POST /_emulator/clock/advance``            ``{"seconds"}``; 409 unless the clock is fake
``GET|DELETE /_emulator/notifications``      signed notifications as sent (body text, headers)
``GET|DELETE /_emulator/stats``              request counts per App ID and endpoint,
                                             notification delivery counts
``GET /_emulator/metrics``                   the same and running recordings, in Prometheus's
                                             text format (for a dashboard; see telemetry docs)
``POST|DELETE /_emulator/competing-load``    ``{"app_id", "rate"}``: add (or clear) load
===========================================  =================================================

A dropped connection (fault) sends the status line and headers, then closes the connection:
in-process ``httpx`` raises ``RemoteProtocolError`` directly; over uvicorn it reports the
broken connection as an ``httpx.TransportError`` too (``RemoteProtocolError`` or
``ReadError``). Either way a ``RecordingClient`` sees a ``TransportError``.
"""

from __future__ import annotations

from ._channels import Channel, Presence
from ._clock import DEFAULT_FAKE_EPOCH, Clock, FakeClock, LoopClock, SystemClock
from ._emulator import DEFAULT_CUSTOMER_ID, DEFAULT_CUSTOMER_SECRET, Emulator, RecordingInfo
from ._faults import Faults
from ._notifications import DEFAULT_NOTIFICATION_SECRET, SignedNotification
from ._server import EmulatorServer, serve
from ._stats import Stats

__all__ = [
    "DEFAULT_CUSTOMER_ID",
    "DEFAULT_CUSTOMER_SECRET",
    "DEFAULT_FAKE_EPOCH",
    "DEFAULT_NOTIFICATION_SECRET",
    "Channel",
    "Clock",
    "Emulator",
    "EmulatorServer",
    "FakeClock",
    "Faults",
    "LoopClock",
    "Presence",
    "RecordingInfo",
    "SignedNotification",
    "Stats",
    "SystemClock",
    "serve",
]
