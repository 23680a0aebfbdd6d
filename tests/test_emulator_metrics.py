"""``GET /_emulator/metrics``: the emulator's own counts in Prometheus's text format."""

from __future__ import annotations

import re

import pytest
from agora_recording import Mode
from agora_recording.emulator import DEFAULT_CUSTOMER_SECRET
from agora_recording.models import RecordingConfig, StartConfig, StorageConfig
from agora_recording.testing import DEFAULT_APP_ID, emulated_client

pytestmark = pytest.mark.anyio

_SERIES = re.compile(r"^(?P<name>[a-z_]+)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$")


def parse(text: str) -> list[tuple[str, dict[str, str], float]]:
    """The samples of a Prometheus text exposition (every line that is not a comment)."""
    samples = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SERIES.match(line)
        assert match is not None, line
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match["labels"] or ""))
        samples.append((match["name"], labels, float(match["value"])))
    return samples


def total(samples: list[tuple[str, dict[str, str], float]], name: str, **labels: str) -> float:
    return sum(
        value
        for sample, have, value in samples
        if sample == name and all(have.get(k) == v for k, v in labels.items())
    )


async def test_metrics_show_the_requests_429s_and_running_recordings_of_the_stats() -> None:
    """The exposition's requests, 429s and running recordings equal the emulator's own."""
    async with emulated_client(rate_limit=2.0, client_options={"rate_limit": None}) as service:
        service.channel("room").publish(7)
        config = StartConfig(
            storage_config=StorageConfig(
                vendor=1,
                region=0,
                bucket="bucket",
                access_key="ak",
                secret_key="sk",
            ),
            recording_config=RecordingConfig(channel_type=0),
        )
        acquired = await service.client.acquire(cname="room", uid="99")
        started = await service.client.start(
            acquired.resource_id, Mode.MIX, cname="room", uid="99", config=config
        )
        http = service.http_client
        for _ in range(3):  # over the quota of 2 per second: 429s
            await http.post(
                f"http://emulator.invalid/v1/apps/{DEFAULT_APP_ID}/cloud_recording/acquire",
                json={"cname": "room", "uid": "1", "clientRequest": {}},
                auth=(service.emulator.customer_id, DEFAULT_CUSTOMER_SECRET),
            )
        response = await http.get("http://emulator.invalid/_emulator/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
        samples = parse(response.text)
        stats = service.emulator.stats
        assert total(samples, "agora_emulator_requests_total") == stats.requests()
        assert total(samples, "agora_emulator_rate_limited_total") == stats.rate_limited() > 0
        assert total(samples, "agora_emulator_recordings", mode="mix") == 1
        assert total(samples, "agora_emulator_requests_total", endpoint="start", status="200") == 1
        assert DEFAULT_CUSTOMER_SECRET not in response.text
        service.advance(5)
        await service.client.ensure_stopped(started.handle)
