"""Asset events carry the partition, the stage's counts and the partition's quarantine counts."""
import numpy as np

from transforms.common.airflow_glue import outlet_extra
from transforms.common.quarantine import Quarantine


def test_outlet_extra_has_partition_counts_and_quarantine(lake):
    quarantine = Quarantine("ingest")
    quarantine.add("{x", "malformed JSON")
    quarantine.add("{y", "malformed JSON")
    quarantine.add({"uid": 1}, "missing or unparsable timestamp")
    quarantine.write(lake, "fp_visits", "ds", "2026-01-02")
    Quarantine("ingest").write(lake, "fp_visits", "ds", "2026-01-03")  # a clean day
    extra = outlet_extra(lake, "ds", "2026-01-02", "transforms.fingerprint.stages", "link_day",
                         {"visits": np.int64(14), "new_devices": 3, "rate": 0.5, "method": "hybrid", "nested": {"a": 1}})
    assert extra == {"ds": "2026-01-02", "stage": "link_day", "visits": 14, "new_devices": 3, "rate": 0.5,
                     "method": "hybrid", "quarantined": 3,
                     "quarantine_reasons": {"malformed JSON": 2, "missing or unparsable timestamp": 1}}
    assert type(extra["visits"]) is int  # JSON-serialisable for the asset event
    clean = outlet_extra(lake, "ds", "2026-01-03", "transforms.fingerprint.stages", "check_links", None)
    assert clean == {"ds": "2026-01-03", "stage": "check_links", "quarantined": 0, "quarantine_reasons": {}}
    # another domain's quarantine is not counted
    other = outlet_extra(lake, "ds", "2026-01-02", "transforms.mouse.stages", "features", None)
    assert other["quarantined"] == 0
