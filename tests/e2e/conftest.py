"""The console's end-to-end tests: Debian's chromium, driven by Playwright, against a real stack.

The browser is Debian's (`/usr/bin/chromium`, or `$CROSSBORDER_CHROMIUM`), never one Playwright
downloads. A missing browser (or font) fails these tests with what to run, it never skips them
silently: `bash scripts/chromium.sh` installs both (CI's .ci/run does). Only
`CROSSBORDER_SKIP_E2E=1` skips them, on purpose.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .stack import Stack, start

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM = Path(os.environ.get("CROSSBORDER_CHROMIUM", "/usr/bin/chromium"))
INSTALL = "install it with `bash scripts/chromium.sh` (Debian's chromium and fonts-noto-cjk)"


def require_system_package(what: str, present: bool) -> None:
    """Fails (never skips) a test whose system package is missing, unless e2e is skipped."""
    if os.environ.get("CROSSBORDER_SKIP_E2E") == "1":
        pytest.skip("CROSSBORDER_SKIP_E2E=1")
    if not present:
        pytest.fail(f"{what} is missing: {INSTALL}", pytrace=False)


@pytest.fixture(scope="session")
def chromium() -> Path:
    require_system_package(f"chromium ({CHROMIUM})", CHROMIUM.is_file())
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.fail("the playwright package is missing: `make deps` installs it", pytrace=False)
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium: Path) -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="session")
def stack(chromium: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    started = start(tmp_path_factory.mktemp("e2e"))
    try:
        yield started
    finally:
        started.stop()
