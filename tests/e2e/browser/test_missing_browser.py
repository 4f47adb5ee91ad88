"""Without a browser the browser tests fail with a sentence saying how to install one; never a skip."""
from __future__ import annotations

import pytest

from tests.e2e.browser.conftest import INSTALL_SENTENCE, chromium_or_fail


def test_a_missing_browser_is_a_failure_with_one_sentence(monkeypatch, tmp_path):
    monkeypatch.setenv("CHROMIUM", str(tmp_path / "no-such-chromium"))
    with pytest.raises(pytest.fail.Exception) as failure:
        chromium_or_fail()
    assert str(failure.value) == INSTALL_SENTENCE
    assert "apt-get install chromium" in INSTALL_SENTENCE
