"""The nightly stages in process: linking figures of the test window, the gate's absolute
floors (a failed floor keeps the old linker and the report says why)."""
from datetime import date

import pytest

from transforms.common.models import ModelRegistry
from transforms.fingerprint import stages
from transforms.synthetic.fingerprint_visits import GeneratorConfig, HistoryGenerator, write_daily_files
from transforms.fingerprint.methods import Ssdeep
from tests.fingerprint.conftest import with_settings


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    visits = HistoryGenerator(GeneratorConfig(seed=3, devices=350, days=720, start=date(2013, 7, 1))).visits()
    folder = tmp_path_factory.mktemp("fp-history")
    write_daily_files([v for v in visits if v["ts"][:10] <= "2015-06-17"], folder)
    return folder


def _read_report(settings):
    lake = settings.lake
    with lake.fs.open_input_stream(lake.current_dir("reports/fingerprint/ds=2015-06-17") + "/report.md") as f:
        return f.read().decode()


def test_a_failed_floor_keeps_the_fallback_and_the_report_says_why(fp_settings, imported):
    settings = with_settings(fp_settings, fp_max_different_pairs=20_000, fp_gate_min_link_accuracy=1.01,
                             fp_gate_link_visits=400)
    stages.import_history(settings, "2015-06-17", str(imported))
    stages.check_import(settings, "2015-06-17")
    version = stages.calibrate_and_evaluate(settings, "2015-06-17")
    stages.check_calibration(settings, "2015-06-17")  # publishes calibration and evaluation
    metrics = ModelRegistry(settings.lake, stages.LINKER).meta(version)["metrics"]
    assert 0 <= metrics["false_merge_rate"] <= 1 and 0 < metrics["link_accuracy"] <= 1
    gate = stages.promotion_gate(settings, "2015-06-17", version)
    assert not gate["promoted"] and "link_accuracy" in gate["reason"] and "floor 1.01" in gate["reason"]
    assert isinstance(stages.current_linker(settings), Ssdeep)  # the fallback stays
    stages.build_report(settings, "2015-06-17")
    report = _read_report(settings)
    assert "REFUSED" in report and "floor 1.01" in report
    assert "One-to-many linking of the test window" in report and "Attribute coverage" in report
    # with floors the candidate meets, it is promoted and takes over linking
    settings = with_settings(settings, fp_gate_min_link_accuracy=0.5, fp_gate_max_false_merge=0.2)
    gate = stages.promotion_gate(settings, "2015-06-17", version)
    assert gate["promoted"], gate["reason"]
    assert stages.current_linker(settings).name == "hybrid"
