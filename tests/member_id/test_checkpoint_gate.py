"""A failed checkpoint stops the publish: no enriched data is readable past a failed gate, and a
previously published version stays what readers get."""
import pytest

from transforms.common.validation import CheckpointFailed
from transforms.member_id import stages
from transforms.member_id.schemas import ACCESSES, ENRICHED

from .conftest import DAY_NAMES, small_settings


def test_failed_enriched_checkpoint_publishes_nothing(world, tmp_path):
    settings = small_settings(world, (tmp_path / "lake").as_uri())
    ds = DAY_NAMES[0]
    stages.ingest_day(settings, ds)
    stages.check_accesses(settings, ds)
    assert ds in settings.lake.partitions(ACCESSES)
    stages.enrich_day(settings, ds)
    good = settings.lake.read_partition(ENRICHED, ds, staged=True)
    bad = good.copy()
    bad["unusable"] = "no usable evidence: unknown User-Agent and no GeoIP record"  # e.g. a wrong GeoIP file
    settings.lake.stage_partition(ENRICHED, ds, bad)
    with pytest.raises(CheckpointFailed):
        stages.check_enriched(settings, ds)
    assert ds not in settings.lake.partitions(ENRICHED)
    assert settings.lake.read_partition(ENRICHED, ds).empty  # readers see no rows
    assert settings.lake.read(ENRICHED).empty

    settings.lake.stage_partition(ENRICHED, ds, good)
    stages.check_enriched(settings, ds)  # passes: published
    assert len(settings.lake.read_partition(ENRICHED, ds)) == len(good)
    settings.lake.stage_partition(ENRICHED, ds, bad)  # a later bad re-run ...
    with pytest.raises(CheckpointFailed):
        stages.check_enriched(settings, ds)
    assert (settings.lake.read_partition(ENRICHED, ds)["unusable"] != "").sum() == (good["unusable"] != "").sum()
