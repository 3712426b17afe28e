"""A small generated world (logs + GeoIP files) and a lake where the whole pipeline has run."""
import dataclasses
from datetime import date, timedelta

import pytest

START = date(2026, 3, 1)
DAYS = 6
DAY_NAMES = [(START + timedelta(days=k)).isoformat() for k in range(DAYS)]


@pytest.fixture(scope="session")
def world(tmp_path_factory):
    from transforms.synthetic.member_id_logs import Generator

    root = tmp_path_factory.mktemp("mid_world")
    gen = Generator(n_members=150, days=DAYS, start=START, seed=3)
    gen.write_geo(str(root / "City.mmdb"), str(root / "ISP.mmdb"))
    gen.write_logs(str(root / "logs"))
    return root


def ingest_and_enrich(settings, ds: str) -> None:
    """What a daily member_id_ingest run writes, published as its check tasks would (the
    checkpoints themselves are tested elsewhere)."""
    from transforms.member_id import stages
    from transforms.member_id.schemas import ACCESSES, ENRICHED

    stages.ingest_day(settings, ds)
    settings.lake.publish_staged(ACCESSES, ds)
    stages.enrich_day(settings, ds)
    settings.lake.publish_staged(ENRICHED, ds)


def small_settings(world, lake_uri):
    from transforms.member_id.settings import MemberIdSettings

    return MemberIdSettings(
        lake_uri=lake_uri, mid_log_dir=str(world / "logs"), mid_city_mmdb=str(world / "City.mmdb"),
        mid_isp_mmdb=str(world / "ISP.mmdb"), mid_train_days=4, mid_train_pairs=8000, mid_pair_chunk=4000,
        mid_gbm_max_pairs=8000, mid_mlp_hidden="32,16", mid_mlp_epochs=2, mid_max_candidates=200)


@pytest.fixture(scope="session")
def trained(world, tmp_path_factory):
    """Settings of a lake where every day was ingested/enriched and the last day retrained + gated."""
    from transforms.member_id import stages

    lake_uri = (tmp_path_factory.mktemp("mid_lake") / "lake").as_uri()
    settings = small_settings(world, lake_uri)
    for ds in DAY_NAMES:
        ingest_and_enrich(settings, ds)
    stages.train_models(settings, DAY_NAMES[-1])
    evaluation = stages.evaluate_models(settings, DAY_NAMES[-1])
    gate = stages.promotion_gate(settings, DAY_NAMES[-1])
    return dataclasses.replace(settings), evaluation, gate
