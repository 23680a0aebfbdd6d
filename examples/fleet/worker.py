"""A fleet of recording workers on saq (an asyncio job queue on Redis); see README.md here.

Run as many of these as you like, on as many machines, against one Redis::

    saq examples.fleet.worker.settings

Jobs (enqueue them with ``python -m examples.fleet.enqueue`` or saq's ``Queue.enqueue``):

- ``record(cname, uid="999", duration=None)``: record ``cname`` for ``duration`` seconds, or
  until a ``stop`` job for it (``duration=None``);
- ``stop(cname)``: tell the worker recording ``cname`` to stop it, wherever it runs;
- ``resume(sid)``: continue a recording whose worker died (enqueued by the janitor when
  ``FLEET_ADOPTION=continue``);
- ``janitor`` (a cron job every 5 s, run by one worker of the fleet per tick): find recordings
  whose lease expired because their worker died, and stop them (``FLEET_ADOPTION=stop``, the
  default) or hand each to a ``resume`` job (``FLEET_ADOPTION=continue``).

Every worker shares the App ID's 10 requests per second through one `RedisRateLimiter`, and
holds a lease (``FLEET_LEASE_TTL`` seconds, default 30) on each recording it runs. On SIGTERM,
saq cancels the jobs in progress, which stop their recordings before the worker exits.

Configuration comes from the environment: ``AGORA_APP_ID``, ``AGORA_CUSTOMER_ID``,
``AGORA_CUSTOMER_SECRET`` (and ``AGORA_BASE_URL`` for the emulator), ``REDIS_URL``
(default ``redis://127.0.0.1:6379/0``), ``FLEET_WORKERS`` (the fleet's size, for the quota
fallback while Redis is down), and the start configuration's storage in ``FLEET_BUCKET``,
``FLEET_ACCESS_KEY``, ``FLEET_SECRET_KEY`` (placeholders work against the emulator).
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import redis.asyncio
from agora_recording import Mode, RecordingClient, RecordingSession
from agora_recording.models import RecordingConfig, StartConfig, StorageConfig
from agora_recording.redis import Lease, LeaseStore, RedisRateLimiter
from saq import CronJob
from saq.queue.redis import RedisQueue

logger = logging.getLogger("fleet")

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
ADOPTION = os.environ.get("FLEET_ADOPTION", "stop")  # or "continue"
LEASE_TTL = float(os.environ.get("FLEET_LEASE_TTL", "30"))

# Each running recording holds one job slot (and a Redis connection of saq's, blocked in its
# dequeue, plus a pub/sub connection of ours): size the pools above the concurrency.
CONCURRENCY = int(os.environ.get("FLEET_CONCURRENCY", "50"))
queue = RedisQueue(
    redis.asyncio.Redis.from_url(REDIS_URL, max_connections=2 * CONCURRENCY + 20),
    name="recordings",
)

Context = dict[str, Any]


def _namespace(app_id: str) -> str:
    return f"fleet:{app_id}"


def _start_config() -> StartConfig:
    return StartConfig(
        storage_config=StorageConfig(
            vendor=1,
            region=0,
            bucket=os.environ.get("FLEET_BUCKET", "example-bucket"),
            access_key=os.environ.get("FLEET_ACCESS_KEY", "example-access-key"),
            secret_key=os.environ.get("FLEET_SECRET_KEY", "example-secret-key"),
        ),
        recording_config=RecordingConfig(channel_type=0, max_idle_time=300),
    )


async def startup(ctx: Context) -> None:
    """One Redis client, one shared limiter, one client and one lease store per worker."""
    redis_client = redis.asyncio.Redis.from_url(REDIS_URL, max_connections=2 * CONCURRENCY + 20)
    app_id = os.environ["AGORA_APP_ID"]
    limiter = RedisRateLimiter(
        redis_client,
        key=f"agora-recording:quota:{app_id}",
        rate=10.0,
        expected_workers=int(os.environ.get("FLEET_WORKERS", "1")),
    )
    client = RecordingClient.from_env(rate_limit=limiter)
    await client.__aenter__()
    ctx["redis"] = redis_client
    ctx["client"] = client
    ctx["store"] = LeaseStore(
        redis_client, namespace=_namespace(app_id), worker_id=ctx["worker"].id, ttl=LEASE_TTL
    )


async def shutdown(ctx: Context) -> None:
    """Close the client and the Redis connection."""
    await ctx["client"].aclose()
    await ctx["redis"].aclose()


def _stop_channel(ctx: Context, cname: str) -> str:
    return f"{ctx['store'].namespace}:stop:{cname}"


async def _until_stopped(ctx: Context, cname: str, until: float | None) -> str:
    """Wait for a ``stop`` job for ``cname`` (a flag and a message), or for ``until``."""
    redis_client: redis.asyncio.Redis = ctx["redis"]
    channel = _stop_channel(ctx, cname)
    async with redis_client.pubsub() as pubsub:
        await pubsub.subscribe(channel)
        while True:
            if await redis_client.exists(channel):  # sent before we subscribed
                return "stop job"
            left = None if until is None else until - time.time()
            if left is not None and left <= 0:
                return "duration"
            wait = 5.0 if left is None else min(left, 5.0)
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=wait)
            if message is not None:
                return "stop job"


async def record(
    ctx: Context, *, cname: str, uid: str = "999", duration: float | None = None
) -> dict[str, Any]:
    """Record ``cname`` for ``duration`` seconds or until a ``stop`` job; return the files."""
    await ctx["redis"].delete(_stop_channel(ctx, cname))  # a stale stop of an earlier run
    until = None if duration is None else time.time() + duration
    session = ctx["client"].session(cname=cname, uid=uid, mode=Mode.MIX, config=_start_config())
    metadata = {"cname": cname, "until": "" if until is None else repr(until)}
    async with ctx["store"].record(session, metadata) as running:
        logger.info("recording %s (sid %s)", cname, running.handle.sid)
        why = await _until_stopped(ctx, cname, until)
        logger.info("stopping %s: %s", cname, why)
    files = [f.file_name for f in running.files]
    return {"sid": running.handle.sid, "files": files, "ended_by": why}


async def stop(ctx: Context, *, cname: str) -> None:
    """Ask whichever worker records ``cname`` to stop it."""
    channel = _stop_channel(ctx, cname)
    await ctx["redis"].set(channel, "1", ex=3600)
    await ctx["redis"].publish(channel, "stop")


async def resume(ctx: Context, *, sid: str) -> dict[str, Any] | None:
    """Continue a recording whose worker died, until its planned end or a ``stop`` job."""
    store: LeaseStore = ctx["store"]
    lease = next((lease for lease in await store.expired() if lease.handle.sid == sid), None)
    if lease is None or not await store.claim(lease.handle):
        return None  # someone else resumed it, or it is gone
    cname = lease.metadata.get("cname", lease.handle.cname)
    until = float(lease.metadata["until"]) if lease.metadata.get("until") else None
    session = RecordingSession.adopt(ctx["client"], lease.handle)
    async with store.record(session, lease.metadata):
        logger.info("resumed %s (sid %s)", cname, sid)
        why = await _until_stopped(ctx, cname, until)
    return {"sid": sid, "ended_by": why}


async def janitor(ctx: Context) -> list[str]:
    """Stop (or hand to ``resume`` jobs) the recordings whose worker died."""
    store: LeaseStore = ctx["store"]
    if ADOPTION == "continue":
        expired: list[Lease] = await store.expired()
        for lease in expired:
            # One resume job per recording (the key dedupes); its claim makes it exactly once.
            await queue.enqueue(
                "resume", key=f"resume:{lease.handle.sid}", timeout=0, sid=lease.handle.sid
            )
        return [lease.handle.sid for lease in expired]
    adopted = await store.adopt_expired(ctx["client"])
    return [lease.handle.sid for lease in adopted]


settings = {
    "queue": queue,
    "functions": [record, stop, resume],
    "cron_jobs": [CronJob(janitor, cron="* * * * * */5", timeout=60)],  # type: ignore[type-var]
    "concurrency": CONCURRENCY,
    "startup": startup,
    "shutdown": shutdown,
    # On SIGTERM: give running jobs time to stop their recordings (a stop can take ~20 s).
    "cancellation_hard_deadline_s": 30.0,
}
