"""The emulator's web page at ``/``, driven in headless Debian chromium through selenium.

A standalone emulator (real HTTP on 127.0.0.1, the real clock) POSTs its notifications to a
real `NotificationReceiver` served by uvicorn; the test starts a recording with the client,
sees it on the page, presses the page's button that signs the next notification with a wrong
secret, stops the recording and sees that delivery fail. Screenshots go to pytest's
``tmp_path``. Skipped, with the reason, when chromium, its driver or selenium is missing.
"""

from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import uvicorn
from agora_recording import Mode, RecordingClient, RecordingHandle
from agora_recording.emulator import DEFAULT_NOTIFICATION_SECRET, SystemClock
from agora_recording.testing import (
    DEFAULT_APP_ID,
    DEFAULT_CUSTOMER_ID,
    DEFAULT_CUSTOMER_SECRET,
    ServedEmulator,
)
from agora_recording.webhooks import NotificationHub, NotificationReceiver

from tests.helpers import START_CONFIGS

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
STORAGE_SECRET = START_CONFIGS[Mode.MIX].storage_config.secret_key  # type: ignore[union-attr]

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
    pytest.skip(
        "chromium and chromedriver are not installed (Debian: apt install chromium "
        "chromium-driver)",
        allow_module_level=True,
    )

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture
def receiver_url() -> Iterator[str]:
    """A NotificationReceiver with the emulator's secret, served by uvicorn on a free port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = NotificationReceiver(NotificationHub(), DEFAULT_NOTIFICATION_SECRET)
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/ncs"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def served_options(receiver_url: str) -> dict[str, Any]:
    """An emulator (`served`) of each test's own, delivering notifications to the test's
    receiver, with recordings that take half a second to come up and stay listed ten minutes."""
    return {
        "clock": SystemClock(),
        "startup_delay": 0.5,
        "exit_window": 600.0,
        "notification_url": receiver_url,
        "per_test": True,
    }


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless chromium through the system chromedriver (nothing is downloaded)."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    options.add_argument("--window-size=1400,1100")
    driver = webdriver.Chrome(
        options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER)
    )
    try:
        yield driver
    finally:
        driver.quit()


def client(served: ServedEmulator) -> RecordingClient:
    """A client of the served emulator, as a user configures one."""
    return RecordingClient(
        app_id=DEFAULT_APP_ID,
        customer_id=DEFAULT_CUSTOMER_ID,
        customer_secret=DEFAULT_CUSTOMER_SECRET,
        base_url=served.url,
    )


def start(served: ServedEmulator) -> RecordingHandle:
    """Start a mix recording of channel ``lobby`` over HTTP; its handle."""

    async def go() -> RecordingHandle:
        async with client(served) as c:
            acquired = await c.acquire(cname="lobby", uid="9001")
            started = await c.start(
                acquired.resource_id,
                Mode.MIX,
                cname="lobby",
                uid="9001",
                config=START_CONFIGS[Mode.MIX],
            )
            c.release(started.handle)
            return started.handle

    return anyio.run(go)


def stop(served: ServedEmulator, handle: RecordingHandle) -> None:
    """Stop the recording over HTTP."""

    async def go() -> None:
        async with client(served) as c:
            await c.ensure_stopped(handle)

    anyio.run(go)


def text_of(driver: Any, element_id: str) -> str:
    """The visible text of one part of the page."""
    return str(driver.find_element(By.ID, element_id).text)


@pytest.mark.slow
def test_the_page_shows_a_recording_and_a_failed_delivery_after_a_fault(
    served: ServedEmulator, browser: Any, tmp_path: Path
) -> None:
    """Start a recording, see it on the page, inject a fault by its button, see delivery fail."""
    served.emulator.channel("lobby").publish(7)
    browser.get(served.url + "/")
    wait = WebDriverWait(browser, 20, poll_frequency=0.2)
    assert browser.title == "Agora Cloud Recording emulator"
    wait.until(lambda d: "lobby" in text_of(d, "channels"))

    handle = start(served)
    wait.until(lambda d: handle.sid in text_of(d, "recordings"))
    wait.until(lambda d: "delivered" in text_of(d, "notifications"))
    wait.until(lambda d: "in progress" in text_of(d, "recordings"))
    browser.save_screenshot(str(tmp_path / "1-recording.png"))

    button = browser.find_element(By.XPATH, "//button[text()='sign next notification wrongly']")
    button.click()
    wait.until(lambda d: "injected" in text_of(d, "said"))
    stop(served, handle)
    wait.until(lambda d: "gave up: HTTP 401" in text_of(d, "notifications"))
    browser.save_screenshot(str(tmp_path / "2-delivery-failed.png"))

    assert "gave_up" in served.emulator.delivery_counts
    page = browser.page_source
    assert STORAGE_SECRET not in page
    assert DEFAULT_CUSTOMER_SECRET not in page
    assert DEFAULT_NOTIFICATION_SECRET not in page
    assert (tmp_path / "2-delivery-failed.png").stat().st_size > 10_000


def test_the_page_data_is_bounded_and_holds_no_secret(served: ServedEmulator) -> None:
    """The page's JSON lists at most SHOWN requests and never a storage key or token."""
    handle = start(served)
    with httpx.Client(base_url=served.url) as http:
        for _ in range(150):
            http.get("/v1/apps/x/cloud_recording/nothing")
        data = http.get("/_emulator/page.json").json()
    assert len(data["requests"]) == 100
    assert handle.sid in {r["sid"] for r in data["recordings"]}
    assert STORAGE_SECRET not in str(data)
    assert "007eJxTYExample" not in str(data)
