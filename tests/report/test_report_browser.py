"""The report in a real browser: Debian's headless chromium, driven over the DevTools pipe."""

from __future__ import annotations

import os

import pytest

from pipeline.report import build_report
from tests.report.cdp import CHROMIUM, Browser

pytestmark = pytest.mark.browser


@pytest.fixture()
def chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is not installed (scripts/ensure-chromium.sh installs it)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + "; CI=true: the browser test must run")
    pytest.skip(message)


def test_report_renders_every_chart_offline_without_errors(chromium, published_duckdb, tmp_path):
    report = build_report(published_duckdb, tmp_path / "report")
    browser = Browser(tmp_path / "profile")
    try:
        browser.call("Network.enable", session=True)
        browser.call("Emulation.setDeviceMetricsOverride",
                     {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session=True)
        browser.open(report.as_uri())
        charts = browser.evaluate("""(() => {
            const divs = [...document.querySelectorAll('div.plotly-graph-div')];
            return {total: divs.length,
                    missing: divs.filter(d => !d.querySelector('svg.main-svg')).map(d => d.id)};
        })()""")
        shot = browser.screenshot(tmp_path / "report.png")
        errors = browser.errors()
        requests = [m["params"]["request"]["url"] for m in browser.messages
                    if m.get("method") == "Network.requestWillBeSent"]
    finally:
        browser.close()
    assert errors == []
    assert charts["total"] >= 10 and charts["missing"] == []
    assert all(url.startswith(("file:", "data:", "about:", "blob:")) for url in requests), requests
    assert shot.stat().st_size > 50_000
