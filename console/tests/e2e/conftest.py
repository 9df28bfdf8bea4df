"""A real browser for the console's tests: the distribution's Chromium driven by Playwright (no download)."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CRM_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[3] / "var" / "test-artifacts" / "console"
AXE = Path(__file__).resolve().parents[1] / "vendor" / "axe.min.js"


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield browser
        browser.close()


class Console:
    """One person at the console: a browser context of their own (cookies) and helpers."""

    def __init__(self, browser, base_url: str, width: int = 1280, locale: str = "en-US"):
        self.base_url = base_url
        self.context = browser.new_context(viewport={"width": width, "height": 900}, locale=locale)
        self.context.set_default_timeout(15000)
        self.page = self.context.new_page()
        self.csp_errors: list[str] = []
        self.page.on("console", lambda m: self.csp_errors.append(m.text)
                     if "Content Security Policy" in m.text else None)

    def go(self, path: str):
        self.page.goto(self.base_url + path)
        return self.page

    def sign_in(self, email: str, password: str):
        page = self.go("/login")
        page.fill("#f-email", email)
        page.fill("#f-password", password)
        page.click("button.primary")
        return page

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{re.sub(r'[^a-z0-9_-]+', '-', name.lower())}.png"),
                             full_page=True, caret="initial")  # "hide" injects a style the CSP reports

    def serious_violations(self) -> list[dict]:
        """axe-core's serious and critical findings on the current page (run through the devtools protocol)."""
        self.page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")
        result = self.page.evaluate("async () => (await axe.run(document)).violations"
                                    ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length}))")
        return [v for v in result if v["impact"] in ("serious", "critical")]

    def close(self):
        self.context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.console_failed = report.failed


@pytest.fixture()
def console_for(browser, suite, request):
    opened = []

    def make(**kwargs) -> Console:
        person = Console(browser, f"http://127.0.0.1:{suite.suite.port}", **kwargs)
        opened.append(person)
        return person
    yield make
    for index, person in enumerate(opened):
        if getattr(request.node, "console_failed", False):
            person.shot(f"failed-{request.node.name}-{index}")
        person.close()
