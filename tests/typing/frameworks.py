"""Type-checked, not run: the receiver mounts in Starlette and FastAPI, a Recorder infers its key.

mypy --strict and pyright --strict check this file (``.ci/run``); an ignore comment here would
hide exactly what it tests, so there is none.
"""

from __future__ import annotations

from collections.abc import Hashable

from agora_recording import Recorder, RecordingClient, RecordingResult, webhooks
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.routing import Mount, Route
from typing_extensions import assert_type


def starlette_app(receiver: webhooks.NotificationReceiver) -> Starlette:
    """Starlette takes the receiver by add_route, by mount and in its route list."""
    app = Starlette(routes=[Route("/ncs", receiver, methods=["POST"]), Mount("/m", receiver)])
    app.add_route("/agora/ncs", receiver, methods=["POST"])
    app.mount("/agora", receiver)
    return app


def fastapi_app(receiver: webhooks.NotificationReceiver) -> FastAPI:
    """FastAPI takes the receiver by add_route and by mount."""
    app = FastAPI()
    app.add_route("/agora/ncs", receiver, methods=["POST"])
    app.mount("/agora", receiver)
    return app


def recorder_key(client: RecordingClient) -> Recorder[str]:
    """A Recorder whose key type is known from its context needs no annotation."""
    recorder: Recorder[str] = Recorder(client)
    return recorder


async def recorder_inferred(client: RecordingClient) -> None:
    """``Recorder(client)`` with no annotation types: its keys default to any hashable."""
    async with Recorder(client) as recorder:
        assert_type(recorder, Recorder[Hashable])
        recorder.get("room")


async def recorder_from_hook(client: RecordingClient) -> None:
    """A hook's key type is the Recorder's key type."""

    async def ended(key: int, result: RecordingResult[int]) -> None:
        del key, result

    async with Recorder(client, on_ended=ended) as recorder:
        assert_type(recorder, Recorder[int])
