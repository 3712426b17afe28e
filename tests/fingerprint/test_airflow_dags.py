"""The fingerprint DAGs through real Airflow (`airflow dags test`): import → nightly → daily."""
import os
from datetime import date

from tests.airflow_run import airflow_env, migrate, run_dag
from transforms.fingerprint import schemas
from transforms.synthetic.fingerprint_visits import GeneratorConfig, HistoryGenerator, add_bad_lines, write_daily_files


def test_import_nightly_and_daily_dags_succeed(fp_settings, tmp_path):
    visits = HistoryGenerator(GeneratorConfig(seed=3, devices=350, days=720, start=date(2013, 7, 1))).visits()
    paths = write_daily_files(visits, tmp_path / "input")
    add_bad_lines(paths[-1])  # the last day (2015-06-20) carries damaged lines
    history = tmp_path / "history"
    history.mkdir()
    for path in paths:
        if path.name <= "visits-2015-06-17.jsonl":
            (history / path.name).symlink_to(path)
    trackscope = {k: v for k, v in os.environ.items() if k.startswith("TRACKSCOPE_")}
    # the gate's absolute floors are tested in test_gate.py; 350 devices are too few for the defaults
    trackscope.update(TRACKSCOPE_FP_INPUT_DIR=str(tmp_path / "input"), TRACKSCOPE_FP_MAX_DIFFERENT_PAIRS="20000",
                      TRACKSCOPE_FP_GATE_MIN_LINK_ACCURACY="0.5", TRACKSCOPE_FP_GATE_MAX_FALSE_MERGE="0.2",
                      TRACKSCOPE_FP_GATE_LINK_VISITS="400")
    env = airflow_env(tmp_path / "airflow", **trackscope)
    migrate(env)

    imported = run_dag(env, "fingerprint_import", conf={"ds": "2015-06-17", "source": str(history)})
    assert imported.state == "success", imported.output[-3000:]
    nightly = run_dag(env, "fingerprint_nightly", logical_date="2015-06-17")
    assert nightly.state == "success", nightly.output[-3000:]
    assert nightly.states_of("promotion_gate") == {"success"}
    daily = run_dag(env, "fingerprint_daily", logical_date="2015-06-20")
    assert daily.state == "success", daily.output[-3000:]
    assert daily.states_of("check_links") == {"success"}

    lake = fp_settings.lake
    evaluation = lake.read_partition(schemas.EVALUATION, "2015-06-17")
    assert set(evaluation["method"]) == {"fybrid", "openam50", "openam30", "eckersley", "yiks", "ssdeep", "ssdeep_info", "hybrid"}
    assert lake.exists(lake.current_dir("reports/fingerprint/ds=2015-06-17") + "/tp_rate_by_gap.png")
    links = lake.read_partition(schemas.LINKS, "2015-06-20")
    assert len(links) == len(lake.read_partition(schemas.VISITS, "2015-06-20")) > 0
    assert set(links["method"]) == {"hybrid"}  # the promoted linker took over from the ssdeep fallback
    imported_days = [d for d in lake.partitions(schemas.LINKS) if d <= "2015-06-17"]
    assert len(imported_days) > 300 and imported_days[0] < "2013-08-01"  # the imported history was linked
