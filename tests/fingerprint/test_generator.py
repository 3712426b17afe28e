"""The synthetic histories have the properties the evaluation relies on."""
from collections import defaultdict
from datetime import date

import pandas as pd

from transforms.fingerprint.attributes import ATTRIBUTES, parse_user_agent
from transforms.fingerprint.generator import GeneratorConfig, HistoryGenerator, _dst_active, add_bad_lines, write_daily_files


def test_seeded_and_deterministic():
    config = GeneratorConfig(seed=5, devices=50, days=420)
    assert HistoryGenerator(config).visits() == HistoryGenerator(config).visits()
    assert HistoryGenerator(config).visits() != HistoryGenerator(GeneratorConfig(seed=6, devices=50, days=420)).visits()


def test_history_shape(history):
    frame = pd.DataFrame(history)
    ts = pd.to_datetime(frame["ts"], format="ISO8601")
    assert (ts.max() - ts.min()).days >= 411
    per_device = frame.groupby("truth_device")
    returning = (per_device.size() > 1).mean()
    assert 0.25 < returning < 0.5  # paper: 565 of 1,513 UIDs return
    assert (per_device["uid"].nunique() > 1).sum() >= 5  # cookie clearing: same device, new UID
    assert set(ATTRIBUTES) <= set(frame.columns)


def test_browser_versions_never_go_down_and_do_go_up(history):
    last: dict[str, tuple] = {}
    bumps = 0
    for visit in history:  # time order
        family, version, _ = parse_user_agent(visit.get("http_user_agent"))
        if version < 0:
            continue
        before = last.get(visit["truth_device"])
        if before and before[0] == family:
            assert version >= before[1]
            bumps += version > before[1]
        last[visit["truth_device"]] = (family, version)
    assert bumps >= 20


def test_lookalikes_share_everything_but_the_device():
    visits = HistoryGenerator(GeneratorConfig(seed=2, devices=600, days=420)).visits()
    keys = defaultdict(set)
    for v in visits:
        keys[(v.get("fonts"), v.get("plugins"), v.get("global_ip"), v.get("screen"))].add(v["truth_device"])
    assert any(len(devices) > 1 and key[0] for key, devices in keys.items())


def test_dst_rules():
    assert _dst_active("us", date(2014, 7, 1)) and not _dst_active("us", date(2014, 12, 1))
    assert _dst_active("eu", date(2014, 4, 1)) and not _dst_active("eu", date(2014, 3, 29))
    assert not _dst_active(None, date(2014, 7, 1))


def test_daily_files_and_damage(tmp_path, history):
    paths = write_daily_files(history[:30], tmp_path)
    assert all(p.name.startswith("visits-") for p in paths)
    before = len(paths[-1].read_bytes().splitlines())
    add_bad_lines(paths[-1])
    assert len(paths[-1].read_bytes().splitlines()) == before + 5
