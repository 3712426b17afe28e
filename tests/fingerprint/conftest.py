import dataclasses
from datetime import date

import pytest

from transforms.synthetic.fingerprint_visits import GeneratorConfig, HistoryGenerator


@pytest.fixture(scope="session")
def history():
    """A small seeded history: 400 devices over 720 days (≈ 850 visits)."""
    return HistoryGenerator(GeneratorConfig(seed=11, devices=400, days=720, start=date(2013, 7, 1))).visits()


@pytest.fixture
def fp_settings(lake_uri, tmp_path, monkeypatch):
    from transforms.common import settings as settings_module
    from transforms.fingerprint.settings import FingerprintSettings

    input_dir = tmp_path / "input"
    input_dir.mkdir()
    monkeypatch.setenv("TRACKSCOPE_LAKE_URI", lake_uri)
    monkeypatch.setenv("TRACKSCOPE_FP_INPUT_DIR", str(input_dir))
    return settings_module.load(FingerprintSettings)


def with_settings(settings, **changes):
    return dataclasses.replace(settings, **changes)
