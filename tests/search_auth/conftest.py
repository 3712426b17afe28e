import dataclasses

import pytest

from transforms.common import settings as settings_module
from transforms.synthetic.search_auth_logs import generate
from transforms.search_auth.settings import SearchAuthSettings


@pytest.fixture
def sa_settings(tmp_path, lake_uri, monkeypatch):
    """Settings on a temp lake and input folder, small Doc2Vec so tests stay fast."""
    input_dir = tmp_path / "input"
    input_dir.mkdir()
    values = {"LAKE_URI": lake_uri, "SA_INPUT_DIR": str(input_dir), "SA_DOC2VEC_DIMS": "16",
              "SA_DOC2VEC_EPOCHS": "5", "SA_WINDOW_DAYS": "35", "SA_HOLDOUT_DAYS": "3", "SA_RF_TREES": "20"}
    for key, value in values.items():
        monkeypatch.setenv("TRACKSCOPE_" + key, value)
    return settings_module.load(SearchAuthSettings)


@pytest.fixture
def generated_log(sa_settings):
    return generate(f"{sa_settings.sa_input_dir}/log.txt", n_users=12, n_days=36, start="2026-01-01", seed=3)


def with_overrides(settings, **changes):
    return dataclasses.replace(settings, **changes)


def seed_days(settings, days) -> None:
    """What earlier daily runs wrote: ingest and features of each day, published as their check
    tasks would (without running the checkpoints)."""
    from transforms.search_auth import schemas, stages

    for ds in days:
        stages.ingest_queries(settings, ds)
        settings.lake.publish_staged(schemas.QUERIES, ds)
        stages.build_daily_features(settings, ds)
        settings.lake.publish_staged(schemas.DAILY_FEATURES, ds)
