"""Fixtures of the tracker fault tests: a sandbox provider, fast retries, a Studio."""

from __future__ import annotations

import pytest

from mjstudio.sandbox import SandboxSettings
from mjstudio.tasks import downloads
from mjstudio.tasks.service import Studio
from tests.sandbox.server import running_sandbox
from tests.tasks.faultkit import KEY, settings_for


@pytest.fixture
def sandbox(tmp_path):
    settings = SandboxSettings(api_key=KEY, latency_s=0.4, data_dir=tmp_path / "provider")
    with running_sandbox(settings) as url:
        yield url


@pytest.fixture
def fast_retries(monkeypatch):
    """Download retries after 0.05 s, 0.1 s ... and a give-up after three attempts."""
    monkeypatch.setattr(downloads, "BACKOFF_S", 0.05)
    monkeypatch.setattr(downloads, "BACKOFF_FACTOR", 2.0)
    monkeypatch.setattr(downloads, "MAX_ATTEMPTS", 3)


@pytest.fixture
def studio(tmp_path, fast_retries):
    made = Studio(settings_for(tmp_path / "data"))
    yield made
    made.tracker.stop()
