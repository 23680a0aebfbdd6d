"""``agora-recording fleet``: what a worker fleet records, read from its `LeaseStore` in Redis.

The REST API has no list endpoint, so the lease store is the one place that knows which
recordings run and which worker holds each. ``ls`` lists them; ``stop`` stops one through its
lease (the worker that held it sees the lease taken at its next renewal and gives the recording
up); ``janitor --once`` runs one janitor round; ``dead-letters`` lists what the janitor set
aside. Redis comes from ``--redis`` (``AGORA_REDIS_URL``) and the store's keys from
``--namespace`` (``AGORA_FLEET_NAMESPACE``), the ``namespace`` the workers give `LeaseStore`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
import click

from agora_recording._converter import converter
from agora_recording._stopping import StopOutcome

from ._common import EXIT_FAILURE, EXIT_USAGE, CliError, Output, run_async
from ._config import make_client
from ._options import connection_options

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from agora_recording import RecordingClient
    from agora_recording.redis import Lease, LeaseStore

__all__ = ["fleet"]

T = TypeVar("T")

# How long `fleet stop` keeps the lease it took: the owner sees it at its next renewal, even
# after a long stall (a lease it could take again would put the stopped recording back).
_STOP_HOLD = 3600.0
_OWNER_PREFIX = "fleet-cli"


@attrs.frozen
class _Target:
    redis_url: str
    namespace: str


@attrs.frozen
class _Fleet:
    """The workers' `LeaseStore` and the Redis client under it."""

    store: LeaseStore
    redis: Redis

    def key(self, kind: str, sid: str | None = None) -> str:
        """A key of the store (its layout: see `agora_recording.redis`)."""
        base = f"{self.store.namespace}:{kind}"
        return base if sid is None else f"{base}:{sid}"

    async def now(self) -> float:
        """Redis's clock, in Unix seconds (the one the lease times are written with)."""
        seconds, micros = await self.redis.time()
        return float(seconds) + float(micros) / 1e6


def _store_call(target: _Target, work: Callable[[_Fleet], Awaitable[T]]) -> T:
    """Run ``work`` with a `LeaseStore` on ``target`` (asyncio: redis's client needs it)."""
    try:
        import redis.asyncio
    except ImportError:
        raise CliError(
            "the fleet commands need the redis extra: pip install 'agora-recording[redis]'",
            EXIT_USAGE,
        ) from None
    from agora_recording.redis import LeaseStore, default_worker_id

    async def go() -> T:
        client = redis.asyncio.Redis.from_url(target.redis_url)
        try:
            store = LeaseStore(
                client,
                namespace=target.namespace,
                worker_id=f"{_OWNER_PREFIX}:{default_worker_id()}",
            )
            return await work(_Fleet(store, client))
        finally:
            await client.aclose()

    return run_async(go)


def lease_json(lease: Lease, now: float) -> dict[str, Any]:
    """One row of ``fleet ls --json``: the handle's fields, owner, age, last renewal, state."""
    handle = lease.handle
    return {
        "cname": handle.cname,
        "uid": handle.uid,
        "sid": handle.sid,
        "mode": handle.mode.value,
        "resource_id": handle.resource_id,
        "owner": lease.owner or None,
        "leased_at": lease.leased_at,
        "renewed_at": lease.renewed_at,
        "age": None if lease.leased_at is None else max(0.0, now - lease.leased_at),
        "since_renewal": None if lease.renewed_at is None else max(0.0, now - lease.renewed_at),
        "state": _state(lease),
        "metadata": dict(lease.metadata),
    }


def _state(lease: Lease) -> str:
    if not lease.owner:
        return "expired"  # its worker is gone: a janitor adopts it
    if lease.owner.startswith(_OWNER_PREFIX + ":"):
        return "stopping"
    return "leased"


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    value = int(value)
    return f"{value // 60}m{value % 60:02d}s" if value >= 60 else f"{value}s"


@click.group()
@click.option(
    "--redis",
    "redis_url",
    envvar="AGORA_REDIS_URL",
    show_envvar=True,
    required=True,
    help="The Redis the workers keep their leases in (redis://host:port/db).",
)
@click.option(
    "--namespace",
    envvar="AGORA_FLEET_NAMESPACE",
    show_envvar=True,
    default="agora-recording",
    show_default=True,
    help="The LeaseStore namespace the workers use.",
)
@click.pass_context
def fleet(ctx: click.Context, redis_url: str, namespace: str) -> None:
    """See and steer a worker fleet through its leases in Redis.

    `ls` lists every leased recording; `stop` stops one through its lease; `janitor --once`
    adopts and stops recordings whose worker is gone; `dead-letters` lists what the janitor set
    aside. `stop` and `janitor` need the service's credentials (AGORA_APP_ID,
    AGORA_CUSTOMER_ID, AGORA_CUSTOMER_SECRET), as the other verbs do.
    """
    ctx.obj = _Target(redis_url=redis_url, namespace=namespace)


@fleet.command("ls")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_obj
def ls(target: _Target, as_json: bool) -> None:
    """List every leased recording: cname, uid, sid, mode, owner, age, last renewal, state."""

    async def read(fleet: _Fleet) -> tuple[list[Lease], float]:
        return await fleet.store.leases(), await fleet.now()

    leases, now = _store_call(target, read)
    rows = sorted((lease_json(lease, now) for lease in leases), key=lambda r: r["cname"])
    out = Output(as_json=as_json)
    if as_json:
        out.json(rows)
        return
    if not rows:
        Output.note("no leased recordings")
        return
    out.line("CNAME\tUID\tSID\tMODE\tOWNER\tAGE\tRENEWED\tSTATE")
    for row in rows:
        renewed = _seconds(row["since_renewal"])
        out.line(
            "\t".join(
                [
                    row["cname"],
                    row["uid"],
                    row["sid"],
                    row["mode"],
                    row["owner"] or "-",
                    _seconds(row["age"]),
                    renewed if renewed == "-" else renewed + " ago",
                    row["state"],
                ]
            )
        )


@fleet.command("stop")
@click.argument("sid", required=False)
@click.option("--cname", help="Stop the recordings of this channel instead of one sid.")
@click.option("--uid", help="With --cname: only the recording of this recorder uid.")
@connection_options
@click.pass_obj
def stop(
    target: _Target,
    sid: str | None,
    cname: str | None,
    uid: str | None,
    app_id: str | None,
    base_url: str | None,
    region: str | None,
    as_json: bool,
) -> None:
    """Stop a leased recording (by SID, or all of --cname) and wait for the service to confirm.

    The lease is taken from its worker first, so the worker sees at its next renewal that the
    recording is no longer its own and gives it up (its session ends with LeaseLostError); once
    the stop is confirmed the recording leaves the store. A stop never confirmed exits 1 and
    leaves the recording listed.
    """
    if (sid is None) == (cname is None):
        raise CliError("give a SID or --cname (not both)", EXIT_USAGE)
    if uid is not None and cname is None:
        raise CliError("--uid goes with --cname", EXIT_USAGE)
    client = make_client(app_id, base_url, region)

    async def go(fleet: _Fleet) -> list[dict[str, Any]]:
        leases = [
            lease
            for lease in await fleet.store.leases()
            if (sid is not None and lease.handle.sid == sid)
            or (
                cname is not None
                and lease.handle.cname == cname
                and uid in (None, lease.handle.uid)
            )
        ]
        if not leases:
            raise CliError(f"no leased recording matches {sid or cname!r}", EXIT_FAILURE)
        done = []
        async with client:
            for lease in leases:
                done.append(await _stop_one(fleet, client, lease))
        return done

    results = _store_call(target, go)
    out = Output(as_json=as_json)
    if as_json:
        out.json(results)
    else:
        for row in results:
            out.line(f"{row['sid']}\t{row['cname']}\t{row['outcome']}\t(was {row['owner'] or '-'})")
    if any(row["outcome"] == StopOutcome.FAILED.value for row in results):
        raise click.exceptions.Exit(EXIT_FAILURE)


async def _stop_one(fleet: _Fleet, client: RecordingClient, lease: Lease) -> dict[str, Any]:
    """Take the lease (whoever holds it), stop the recording, drop it once confirmed."""
    handle = lease.handle
    key = fleet.key("lease", handle.sid)
    await fleet.redis.set(key, fleet.store.worker_id, px=int(_STOP_HOLD * 1000))
    row = {"sid": handle.sid, "cname": handle.cname, "uid": handle.uid, "owner": lease.owner}
    try:
        confirmed = await client.ensure_stopped(handle)
    except Exception as exc:
        await fleet.redis.delete(key)  # the lease lapses: a janitor tries again
        return {**row, "outcome": StopOutcome.FAILED.value, "error": str(exc)}
    # Forget the recording but keep our lease until it expires, so the old owner cannot renew
    # it back into the store.
    await fleet.redis.hdel(fleet.key("handles"), handle.sid)
    await fleet.redis.hdel(fleet.key("times"), handle.sid)
    return {**row, "outcome": confirmed.outcome.value}


@fleet.command("janitor")
@click.option("--once", is_flag=True, required=True, help="Run one round and exit.")
@connection_options
@click.pass_obj
def janitor(
    target: _Target,
    once: bool,
    app_id: str | None,
    base_url: str | None,
    region: str | None,
    as_json: bool,
) -> None:
    """Claim every expired lease and stop its recording (confirmed), once."""
    client = make_client(app_id, base_url, region)

    async def go(fleet: _Fleet) -> list[Lease]:
        async with client:
            return await fleet.store.adopt_expired(client)

    won = _store_call(target, go)
    out = Output(as_json=as_json)
    now = time.time()
    if as_json:
        out.json([lease_json(lease, now) for lease in won])
        return
    if not won:
        Output.note("no expired lease")
    for lease in won:
        out.line(f"{lease.handle.sid}\t{lease.handle.cname}\tadopted and stopped")


@fleet.command("dead-letters")
@click.option(
    "--clear",
    "clear",
    metavar="SID",
    multiple=True,
    help="Forget this dead letter once you have stopped its recording yourself (repeatable).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_obj
def dead_letters(target: _Target, clear: tuple[str, ...], as_json: bool) -> None:
    """List the recordings the janitor set aside (the service refused their stop for good)."""

    async def read(fleet: _Fleet) -> tuple[list[Any], list[str]]:
        cleared = [sid for sid in clear if await fleet.store.clear_dead_letter(sid)]
        return list(await fleet.store.dead_letters()), cleared

    letters, cleared = _store_call(target, read)
    unknown = [sid for sid in clear if sid not in cleared]
    out = Output(as_json=as_json)
    if as_json:
        out.json(
            [
                {
                    "key": letter.key,
                    "handle": converter.unstructure(letter.handle),
                    "metadata": dict(letter.metadata),
                    "error": letter.error,
                    "refusals": letter.refusals,
                    "at": letter.at,
                }
                for letter in letters
            ]
        )
    else:
        for sid in cleared:
            Output.note(f"cleared {sid}")
        if not letters:
            Output.note("no dead letters")
        for letter in letters:
            handle = letter.handle
            out.line(
                f"{handle.sid}\t{handle.cname}\t{handle.uid}\t"
                f"refused {letter.refusals} times\t{letter.error}"
            )
    if unknown:
        raise CliError(f"no dead letter for {', '.join(unknown)}", EXIT_FAILURE)


def _jsonable(value: Any) -> Any:
    if attrs.has(type(value)):
        return converter.unstructure(value)
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value
