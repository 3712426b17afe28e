"""The member estimator for the shared model-contract test: a generated world (150 members, 6
days, generated GeoIP files) ingested and enriched like the daily DAG; store = days 1-4,
calibration = day 5, held out = day 6."""
import tempfile
from datetime import date, timedelta
from pathlib import Path

from transforms.member_id import stages
from transforms.synthetic.member_id_logs import Generator
from transforms.member_id.model import MemberModel
from transforms.member_id.schemas import ACCESSES, ENRICHED
from transforms.member_id.settings import MemberIdSettings

START, DAYS = date(2026, 3, 1), 6


def example():
    days = [(START + timedelta(days=k)).isoformat() for k in range(DAYS)]
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        world = Generator(n_members=150, days=DAYS, start=START, seed=3)
        world.write_geo(str(root / "City.mmdb"), str(root / "ISP.mmdb"))
        world.write_logs(str(root / "logs"))
        settings = MemberIdSettings(lake_uri=(root / "lake").as_uri(), mid_log_dir=str(root / "logs"),
                                    mid_city_mmdb=str(root / "City.mmdb"), mid_isp_mmdb=str(root / "ISP.mmdb"))
        for ds in days:
            stages.ingest_day(settings, ds)
            settings.lake.publish_staged(ACCESSES, ds)
            stages.enrich_day(settings, ds)
            settings.lake.publish_staged(ENRICHED, ds)
        store, calibration, test = (settings.lake.read(ENRICHED, part) for part in (days[:4], days[4:5], days[5:]))
    model = MemberModel(pairs=8000, chunk=4000, gbm_max_pairs=8000, max_candidates=200)
    return model, {"store": store, "calibration": calibration}, test, stages.gate_rule(MemberIdSettings())
