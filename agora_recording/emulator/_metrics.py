"""The emulator's own metrics in Prometheus's text format (``GET /_emulator/metrics``).

What a dashboard shows about the service side, so the telemetry example (docs: Telemetry) can
be tried with no account: the requests the emulator received by App ID, endpoint and answered
status, the 429s its quota answered, the recordings running by mode and App ID, and the
notifications it delivered. Names follow Prometheus's conventions (``_total`` for counters).
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._emulator import Emulator

__all__ = ["CONTENT_TYPE", "prometheus_text"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _label(value: object) -> str:
    text = str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    return f'"{text}"'


def _series(name: str, labels: dict[str, object], value: float) -> str:
    inside = ",".join(f"{key}={_label(v)}" for key, v in labels.items())
    return f"{name}{{{inside}}} {value:g}"


def prometheus_text(emulator: Emulator) -> str:
    """Every metric of ``emulator`` now, as one Prometheus text exposition."""
    lines: list[str] = []

    def family(name: str, kind: str, help_text: str) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")

    stats = emulator.stats.as_dict()
    family(
        "agora_emulator_requests_total",
        "counter",
        "Requests to the REST endpoints, by App ID, endpoint and answered status "
        "(0: a connection the emulator dropped).",
    )
    for app_id, endpoints in stats.items():
        for endpoint, entry in endpoints.items():
            for status, n in entry["statuses"].items():
                labels = {"app_id": app_id, "endpoint": endpoint, "status": status}
                lines.append(_series("agora_emulator_requests_total", labels, n))
    family(
        "agora_emulator_rate_limited_total",
        "counter",
        "429s answered because the App ID's quota was exhausted.",
    )
    for app_id, endpoints in stats.items():
        for endpoint, entry in endpoints.items():
            labels = {"app_id": app_id, "endpoint": endpoint}
            lines.append(
                _series("agora_emulator_rate_limited_total", labels, entry["rate_limited"])
            )
    family(
        "agora_emulator_recordings",
        "gauge",
        "Recordings running now (what would be billing), by App ID and mode.",
    )
    running = Counter((r.app_id, r.mode) for r in emulator.running_recordings())
    for (app_id, mode), n in sorted(running.items()):
        lines.append(_series("agora_emulator_recordings", {"app_id": app_id, "mode": mode}, n))
    family(
        "agora_emulator_quota_rate",
        "gauge",
        "The quota per App ID in requests per second (absent without a rate limit).",
    )
    if emulator.stats.rate:
        lines.append(f"agora_emulator_quota_rate {emulator.stats.rate:g}")
    family(
        "agora_emulator_notifications_total",
        "counter",
        "Notification deliveries by outcome (attempts, delivered, duplicated, dropped, gave_up).",
    )
    for outcome, n in sorted(emulator.delivery_counts.items()):
        lines.append(_series("agora_emulator_notifications_total", {"outcome": outcome}, n))
    return "\n".join(lines) + "\n"
