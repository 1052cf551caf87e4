"""Fixtures of the console's browser tests: a console on a free port, headless Chromium.

The console runs in this process (its own thread and event loop) over private data
streams and a private silences topic; the browser is Debian's chromium driven by selenium
through chromium-driver (no browser download).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

HINT = "apt-get install -y chromium chromium-driver (or scripts/system-deps --tests)"
#: Where the screenshots go besides the test's tmp dir (docs/img when refreshing the README).
SHOTS_ENV = "BITACORA_UI_SCREENSHOTS"


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    """Headless Debian chromium through chromium-driver (fails, never skips, when missing)."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if binary is None or driver is None:
        pytest.fail(f"chromium or chromedriver is missing: {HINT}", pytrace=False)
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
    ):
        options.add_argument(arg)
    chrome = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    try:
        yield chrome
    finally:
        chrome.quit()


def screenshot(browser: webdriver.Chrome, directory: Path, name: str) -> Path:
    """Save a PNG of the page (also under $BITACORA_UI_SCREENSHOTS when set); returns it."""
    import os

    path = directory / f"{name}.png"
    assert browser.save_screenshot(str(path))
    extra = os.environ.get(SHOTS_ENV)
    if extra:
        shutil.copy(path, Path(extra) / path.name)
    return path
