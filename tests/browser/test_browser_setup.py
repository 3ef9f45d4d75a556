"""The browser tests never vanish silently on CI: a missing Chromium skips them with a
note on how to install it, but fails them when CI=true."""

from __future__ import annotations

import pytest

from . import conftest


def test_a_missing_chromium_is_a_skip_locally_and_a_failure_on_ci(monkeypatch):
    monkeypatch.setattr(conftest, "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        conftest.require_chromium()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="apt-get install chromium"):
        conftest.require_chromium()


def test_chromium_is_launched_from_debian_not_from_a_playwright_download(browser):
    assert conftest.CHROMIUM == "/usr/bin/chromium"
    assert browser.browser_type.name == "chromium" and browser.is_connected()
    assert int(browser.version.split(".")[0]) >= 100
