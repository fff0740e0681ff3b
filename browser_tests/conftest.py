"""A real Home Assistant with the demo (scripts/develop's configuration) and headless Chromium.

Run by scripts/test with the newest Home Assistant: Debian's Chromium (/usr/bin/chromium, or
EV_SESSIONS_CHROMIUM), driven by Playwright with ``executable_path``; no browser is downloaded.
"""

from __future__ import annotations

from collections.abc import Iterator
import os
from pathlib import Path
import shutil
import socket
import subprocess
import sys
import time
from typing import Any
import urllib.request

from playwright.sync_api import Browser, Locator, Page, sync_playwright
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("EV_SESSIONS_CHROMIUM", "/usr/bin/chromium")
# As root, on a machine with no network but loopback: no sandbox, nothing fetched at start.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
START_TIMEOUT = 240.0
SCREENSHOTS = os.environ.get("EV_SESSIONS_SCREENSHOTS")
PAGES: list[Page] = []


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def home_assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo on free ports: a simulated wallbox, a simulated OCPP garage, spot prices."""
    config = tmp_path_factory.mktemp("config")
    http_port, ocpp_port = _free_port(), _free_port()
    shutil.copy(ROOT / "demo" / "configuration.yaml", config / "configuration.yaml")
    (config / "custom_components").mkdir()
    (config / "custom_components" / "ev_sessions").symlink_to(
        ROOT / "custom_components" / "ev_sessions"
    )
    seed = [sys.executable, str(ROOT / "scripts" / "develop_seed.py"), str(config)]
    subprocess.run([*seed, str(http_port), str(ocpp_port)], check=True)
    log = (config / "home-assistant.out").open("w")
    hass = subprocess.Popen(
        [str(Path(sys.executable).parent / "hass"), "--config", str(config), "--skip-pip"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    charger = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "scripts" / "ocpp_charger.py"),
            f"ws://127.0.0.1:{ocpp_port}/demo-garage",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{http_port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(f"{url}/manifest.json"):
            if hass.poll() is not None or time.monotonic() > deadline:
                output = (config / "home-assistant.out").read_text()[-5000:]
                pytest.fail(f"Home Assistant did not start:\n{output}")
            time.sleep(1)
        yield url
    finally:
        for process in (charger, hass):
            process.terminate()
        for process in (charger, hass):
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()
        errors = (
            [
                line
                for line in (config / "home-assistant.log").read_text().splitlines()
                if "ev_sessions" in line and (" ERROR " in line or "Traceback" in line)
            ]
            if (config / "home-assistant.log").exists()
            else []
        )
        assert not errors, "\n".join(errors)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"No Chromium at {CHROMIUM}: `apt-get install -y chromium` (scripts/setup does it "
            "as root), or set EV_SESSIONS_CHROMIUM"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def open_page(
    browser: Browser,
    *,
    dark: bool = False,
    locale: str = "en-GB",
    width: int = 1280,
    height: int = 900,
) -> Page:
    """A new tab as a user in Sweden sees it (the demo's time zone)."""
    context = browser.new_context(
        viewport={"width": width, "height": height},
        color_scheme="dark" if dark else "light",
        locale=locale,
        timezone_id="Europe/Stockholm",
        device_scale_factor=2 if width < 600 else 1,
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors  # type: ignore[attr-defined]
    PAGES.append(page)
    return page


def log_in(page: Page, url: str) -> None:
    """Open Home Assistant once, as a returning user has: the trusted network logs the tab in
    (a redirect and back), and the tokens are kept for the pages the test opens next.
    """
    page.goto(url)
    page.wait_for_function(
        "() => document.querySelector('home-assistant')?.hass?.connected === true",
        timeout=120_000,
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """On a failure, keep what the browser showed (in the test's output folder)."""
    report = yield
    if report.when == "call" and report.failed:
        for page in PAGES:
            if not page.is_closed():
                path = Path(str(item.config.rootpath)) / ".browser-failures" / f"{item.name}.png"
                path.parent.mkdir(exist_ok=True)
                page.screenshot(path=str(path), full_page=True)
                report.sections.append(("browser", f"screenshot: {path}"))
    PAGES.clear()
    return report


def screenshot(what: Page | Locator, name: str) -> None:
    """Keep a picture of what the user sees (a page or one card) when EV_SESSIONS_SCREENSHOTS
    names a folder (the README's pictures: docs/images/).
    """
    if SCREENSHOTS:
        page = what if isinstance(what, Page) else what.page
        # Home Assistant's launch screen fades out over the first moments of a page.
        page.wait_for_function("() => !document.getElementById('ha-launch-screen')")
        page.wait_for_timeout(500)
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        what.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"))
