"""Real HTTP: full recording lifecycles over loopback against the standalone emulator.

The emulator runs in its own process (``python -m benchmarks._serve``, uvicorn on 127.0.0.1 and
a free port), so its CPU is not counted as the client's. A *lifecycle* is acquire, start (a
minimal mix configuration), three queries and stop: six requests. Workers run lifecycles back to
back, each on its own channel (with a publisher, so stop answers 200 with files), with 1 and with
50 workers at once, in interleaved rounds of:

- ours: ``RecordingClient`` (``rate_limit=None``) borrowing the shared ``httpx.AsyncClient``;
- raw: the same six requests written by hand on that ``httpx.AsyncClient`` (``json.dumps`` the
  same wire dicts, ``json.loads`` the answers).

A last variant gives each of the 50 workers its own ``httpx.AsyncClient`` (and ours its own
``RecordingClient`` on it), so no connection pool is shared: the transport-level alternative to
tuning one shared pool.

Figures: lifecycles per second (wall; bounded by the single-process server) and client CPU per
lifecycle (``time.process_time`` of this process), ours / raw per round. Each is measured
under several ``httpx`` settings: the defaults (``max_connections=100``,
``max_keepalive_connections=20``), ``max_keepalive_connections=100`` (every connection of 50
workers stays open), and no keep-alive at all (a new connection per request) as the bound on
what connection handling costs. A profile of each side at 1 and 50 workers splits client CPU
between our code, httpx, httpcore (the connection pool), h11, anyio and asyncio.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import AsyncExitStack, contextmanager
from typing import Any, Final
from urllib.parse import quote

import anyio
import httpx
from agora_recording import Mode, RecordingClient, converter

from . import _payloads as p
from ._harness import BenchResult, Row, percentile
from ._profile import Profile, profiled_async

__all__ = ["NAME", "run"]

NAME: Final = "real_http"
#: Client CPU per lifecycle, ours / raw: at most raw httpx's.
AIM: Final = 1.0
#: Queries per lifecycle: a recording of about 45 s at the session's default 15 s poll interval,
#: so the one-off requests (acquire, start, stop) weigh as much as they ever do.
QUERIES: Final = 3
#: And a 10-minute recording at that interval: what most of a real recording's requests are.
LONG_QUERIES: Final = 40
#: The session's default ``poll_interval``, in seconds.
POLL_INTERVAL: Final = 15.0

# Every variant lets idle connections go after 3 s, before uvicorn's 5 s keep-alive timeout
# closes them: with httpx's default 5 s the two race and a reused connection can fail.
_EXPIRY: Final = 3.0
SETTINGS: Final[dict[str, httpx.Limits]] = {
    "httpx defaults": httpx.Limits(
        max_connections=100, max_keepalive_connections=20, keepalive_expiry=_EXPIRY
    ),
    "keep-alive 100": httpx.Limits(
        max_connections=100, max_keepalive_connections=100, keepalive_expiry=_EXPIRY
    ),
    "no keep-alive": httpx.Limits(
        max_connections=100, max_keepalive_connections=0, keepalive_expiry=_EXPIRY
    ),
}
# Not a limit: each worker gets its own httpx.AsyncClient (with the default limits), so no
# connection pool is shared between workers.
PER_WORKER: Final = "client per worker"
# Moved between rounds: past the 300 s resource lifetime, so the emulator forgets old resources.
_CLOCK_STEP: Final = 600.0

Lifecycle = Callable[[str], Awaitable[None]]


class Server:
    """The standalone emulator in a child process; ``cpu()`` reads its CPU seconds (Linux)."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks._serve"],
            stdout=subprocess.PIPE,
            text=True,
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if not line.startswith("listening "):
            self.process.kill()
            raise RuntimeError(f"the emulator did not start: {line!r}")
        self.url = line.split(" ", 1)[1]

    def cpu(self) -> float:
        """User + system CPU seconds of the server process so far (NaN where unknown)."""
        try:
            with open(f"/proc/{self.process.pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return float("nan")

    def close(self) -> None:
        """Terminate the server and wait for it."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextmanager
def _server() -> Iterator[Server]:
    server = Server()
    try:
        yield server
    finally:
        server.close()


def _cname(worker: int) -> str:
    return f"rt-{worker}"


def _ours(http: httpx.AsyncClient, url: str, queries: int = QUERIES) -> Lifecycle:
    client = RecordingClient(
        app_id=p.APP_ID,
        customer_id=p.CUSTOMER_ID,
        customer_secret=p.CUSTOMER_SECRET,
        base_url=url,
        http_client=http,
        rate_limit=None,
    )
    config = p.small_mix_start_config()

    async def lifecycle(cname: str) -> None:
        acquired = await client.acquire(cname=cname, uid=p.UID)
        assert acquired.resource_id is not None
        started = await client.start(
            acquired.resource_id, Mode.MIX, cname=cname, uid=p.UID, config=config
        )
        handle = started.handle
        for _ in range(queries):
            await client.query(handle)
        await client.stop(handle)

    return lifecycle


def _raw(http: httpx.AsyncClient, url: str, queries: int = QUERIES) -> Lifecycle:
    auth = httpx.BasicAuth(p.CUSTOMER_ID, p.CUSTOMER_SECRET)
    get_headers = {"Accept": "application/json", "User-Agent": "raw-httpx-benchmark"}
    post_headers = {**get_headers, "Content-Type": "application/json;charset=utf-8"}
    start_request = converter.unstructure(p.small_mix_start_config())
    apps = f"{url}/v1/apps/{p.APP_ID}/cloud_recording"
    uid = p.UID

    def encode(body: object) -> bytes:
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    def decode(response: httpx.Response) -> dict[str, Any]:
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")
        body: dict[str, Any] = json.loads(response.content)
        return body

    async def lifecycle(cname: str) -> None:
        acquire = {"cname": cname, "uid": uid, "clientRequest": {}}
        answer = decode(
            await http.post(
                f"{apps}/acquire", content=encode(acquire), headers=post_headers, auth=auth
            )
        )
        rid = quote(answer["resourceId"], safe="")
        start = {"cname": cname, "uid": uid, "clientRequest": start_request}
        answer = decode(
            await http.post(
                f"{apps}/resourceid/{rid}/mode/mix/start",
                content=encode(start),
                headers=post_headers,
                auth=auth,
            )
        )
        base = f"{apps}/resourceid/{rid}/sid/{quote(answer['sid'], safe='')}/mode/mix"
        for _ in range(queries):
            decode(await http.get(f"{base}/query", headers=get_headers, auth=auth))
        stop = {"cname": cname, "uid": uid, "clientRequest": {"async_stop": False}}
        decode(
            await http.post(f"{base}/stop", content=encode(stop), headers=post_headers, auth=auth)
        )

    return lifecycle


async def _batch(lifecycles: Sequence[Lifecycle], per_worker: int) -> None:
    """Worker ``i`` runs ``per_worker`` lifecycles back to back with ``lifecycles[i]``."""

    async def worker(index: int) -> None:
        cname = _cname(index)
        lifecycle = lifecycles[index]
        for _ in range(per_worker):
            await lifecycle(cname)

    async with anyio.create_task_group() as group:
        for index in range(len(lifecycles)):
            group.start_soon(worker, index)


async def _forget_old_resources(url: str) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{url}/_emulator/clock/advance", json={"seconds": _CLOCK_STEP})
        response.raise_for_status()


async def _publishers(url: str, workers: int) -> None:
    async with httpx.AsyncClient() as http:
        for index in range(workers):
            response = await http.post(
                f"{url}/_emulator/channels/publish", json={"cname": _cname(index), "uid": "7"}
            )
            response.raise_for_status()


def _configs(quick: bool) -> list[tuple[int, str, int]]:
    """(workers, httpx setting, queries per lifecycle) of each measured configuration."""
    if quick:
        return [(1, "httpx defaults", QUERIES), (50, "httpx defaults", QUERIES)]
    return [
        (1, "httpx defaults", QUERIES),
        (1, "httpx defaults", LONG_QUERIES),
        (1, "no keep-alive", QUERIES),
        (50, "httpx defaults", QUERIES),
        (50, "keep-alive 100", QUERIES),
        (50, "no keep-alive", QUERIES),
        (50, PER_WORKER, QUERIES),
    ]


async def _measure(server: Server, quick: bool) -> dict[str, Any]:
    # Per-round ratios spread by +-10% on a shared 2-core machine (a garbage collection lands
    # in one side's round): enough rounds, and lifecycles per round, for a steady median.
    rounds = 2 if quick else 12
    await _publishers(server.url, 50)
    runs: dict[str, Any] = {}
    profiles: dict[str, Profile] = {}
    for workers, setting, queries in _configs(quick):
        per_worker = (4 if quick else 60) if workers == 1 else (1 if quick else 3)
        if queries != QUERIES:
            per_worker = max(1, per_worker * (QUERIES + 3) // (queries + 3))  # same requests
        lifecycles = workers * per_worker
        key = f"{workers} x {setting}" + ("" if queries == QUERIES else f", {queries} queries")
        samples: dict[str, dict[str, list[float]]] = {
            side: {"cpu": [], "wall": [], "server_cpu": []} for side in ("ours", "raw")
        }
        async with AsyncExitStack() as stack:
            limits = SETTINGS.get(setting, SETTINGS["httpx defaults"])
            pools = 1 if setting != PER_WORKER else workers
            clients = [
                await stack.enter_async_context(httpx.AsyncClient(timeout=30.0, limits=limits))
                for _ in range(pools)
            ]
            https = clients * workers if pools == 1 else clients
            sides: dict[str, list[Lifecycle]] = {
                "ours": [_ours(http, server.url, queries) for http in https],
                "raw": [_raw(http, server.url, queries) for http in https],
            }
            # Warm up connections, code paths and the server before the measured rounds.
            for _ in range(1 if quick else 2):
                for lifecycles_of_side in sides.values():
                    await _forget_old_resources(server.url)
                    await _batch(lifecycles_of_side, per_worker)
            for round_ in range(rounds):
                order = ["ours", "raw"] if round_ % 2 == 0 else ["raw", "ours"]
                for side in order:
                    await _forget_old_resources(server.url)
                    # Each side's round pays for all the garbage it makes, and for no other:
                    # the heap is collected before the round (not counted) and at its end
                    # (counted). A full collection landing in a round otherwise moves that
                    # round's figure by 10%, whichever side made the garbage.
                    gc.collect()
                    cpu0, wall0, server0 = time.process_time(), time.perf_counter(), server.cpu()
                    await _batch(sides[side], per_worker)
                    gc.collect()
                    samples[side]["cpu"].append((time.process_time() - cpu0) / lifecycles)
                    samples[side]["wall"].append(lifecycles / (time.perf_counter() - wall0))
                    samples[side]["server_cpu"].append((server.cpu() - server0) / lifecycles)
            if not quick and setting != "no keep-alive":
                for side, lifecycles_of_side in sides.items():

                    async def work(
                        batch: Sequence[Lifecycle] = lifecycles_of_side, each: int = per_worker
                    ) -> None:
                        await _batch(batch, each)

                    await _forget_old_resources(server.url)
                    profiles[f"{side}, {key}"] = await profiled_async(work)
        cpu_ratios = [
            a / b for a, b in zip(samples["ours"]["cpu"], samples["raw"]["cpu"], strict=True)
        ]
        rate_ratios = [
            a / b for a, b in zip(samples["ours"]["wall"], samples["raw"]["wall"], strict=True)
        ]
        runs[key] = {
            "workers": workers,
            "setting": setting,
            "queries": queries,
            "lifecycles_per_round": lifecycles,
            "cpu_ratio": percentile(cpu_ratios, 50),
            "cpu_ratio_iqr": (percentile(cpu_ratios, 25), percentile(cpu_ratios, 75)),
            "rate_ratio": percentile(rate_ratios, 50),
            "cpu_ratios": cpu_ratios,
            "rate_ratios": rate_ratios,
            "samples": samples,
            **{
                f"{side}_{name}": percentile(values, 50)
                for side, measures in samples.items()
                for name, values in measures.items()
            },
        }
    return {"runs": runs, "profiles": profiles}


_HTTP_STACK: Final = ("httpx", "httpcore (connection pool)", "h11 (HTTP/1.1 parser)")


def _stack_share(profile: Profile) -> float:
    return sum(share for name, share in profile.package_shares() if name in _HTTP_STACK)


def _of(queries: int) -> str:
    """How a row names its lifecycle: nothing for the usual one."""
    minutes = queries * POLL_INTERVAL / 60
    return "" if queries == QUERIES else f" of a {minutes:g}-minute recording ({queries} queries)"


def _share_text(profile: Profile) -> str:
    return ", ".join(f"{name} {share:.0%}" for name, share in profile.package_shares()[:6])


def _table(runs: dict[str, Any], profiles: dict[str, Profile]) -> str:
    lines = [
        "| workers | httpx setting | lifecycles/s: ours / raw | client CPU per lifecycle "
        "(ms): ours / raw | CPU ours / raw | server CPU per lifecycle (ms) | httpx+httpcore+h11 "
        "share of client CPU: ours / raw |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for key, r in runs.items():
        ours, raw = profiles.get(f"ours, {key}"), profiles.get(f"raw, {key}")
        share = (
            f"{_stack_share(ours):.0%} / {_stack_share(raw):.0%}"
            if ours is not None and raw is not None
            else "-"
        )
        lines.append(
            f"| {r['workers']} | {r['setting']}{_of(r['queries'])} | "
            f"{r['ours_wall']:.0f} / {r['raw_wall']:.0f} | "
            f"{r['ours_cpu'] * 1e3:.2f} / {r['raw_cpu'] * 1e3:.2f} | {r['cpu_ratio']:.2f}x | "
            f"{r['raw_server_cpu'] * 1e3:.2f} | {share} |"
        )
    return "\n".join(lines)


def run(quick: bool) -> BenchResult:
    """Start the server, measure every configuration, stop the server."""
    with _server() as server:
        measured = anyio.run(_measure, server, quick, backend="asyncio")
    runs: dict[str, Any] = measured["runs"]
    profiles: dict[str, Profile] = measured["profiles"]
    rows: list[Row] = []
    notes: list[str] = []
    for r in runs.values():
        if r["setting"] != "httpx defaults":
            continue
        rows.append(
            Row(
                benchmark=NAME,
                measure=(
                    f"lifecycle{_of(r['queries'])}, {r['workers']} worker(s), httpx defaults: "
                    "client CPU ours / raw"
                ),
                value=r["cpu_ratio"],
                unit="x",
                context=(
                    f"ours {r['ours_cpu'] * 1e3:.2f} ms, raw {r['raw_cpu'] * 1e3:.2f} ms CPU per "
                    f"lifecycle (IQR of the per-round ratios {r['cpu_ratio_iqr'][0]:.2f}-"
                    f"{r['cpu_ratio_iqr'][1]:.2f}x); {r['ours_wall']:.0f} vs {r['raw_wall']:.0f} "
                    f"lifecycles/s (ours / raw {r['rate_ratio']:.2f}x)"
                ),
                aim=f"<= {AIM}x",
                met=r["cpu_ratio"] <= AIM,
            )
        )
    default50, default1 = runs.get("50 x httpx defaults"), runs.get("1 x httpx defaults")
    for setting in ("keep-alive 100", "no keep-alive", PER_WORKER):
        other = runs.get(f"50 x {setting}")
        if default50 is None or other is None:
            continue
        rows.append(
            Row(
                benchmark=NAME,
                measure=f"50 workers: raw httpx CPU per lifecycle, {setting} / defaults",
                value=other["raw_cpu"] / default50["raw_cpu"],
                unit="x",
                context=(
                    f"raw {other['raw_cpu'] * 1e3:.2f} vs {default50['raw_cpu'] * 1e3:.2f} ms, "
                    f"ours {other['ours_cpu'] * 1e3:.2f} vs {default50['ours_cpu'] * 1e3:.2f} ms; "
                    f"{other['raw_wall']:.0f} vs {default50['raw_wall']:.0f} lifecycles/s (raw)"
                ),
            )
        )
    if default50 is not None and default1 is not None:
        rows.append(
            Row(
                benchmark=NAME,
                measure="raw httpx CPU per lifecycle, 50 workers / 1 worker (httpx defaults)",
                value=default50["raw_cpu"] / default1["raw_cpu"],
                unit="x",
                context="growth of httpx's own cost with concurrency (no library code involved)",
            )
        )
    for name, profile in profiles.items():
        notes.append(f"{name}: {_share_text(profile)}")
    return BenchResult(
        rows=rows,
        details={
            "runs": runs,
            "profiles": {name: profile.as_json() for name, profile in profiles.items()},
        },
        notes=notes,
        tables=[_table(runs, profiles)],
    )
