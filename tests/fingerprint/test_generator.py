"""The synthetic histories have the properties the evaluation relies on."""
from collections import defaultdict
from datetime import date, timedelta

import pandas as pd

from transforms.fingerprint.attributes import ATTRIBUTES, parse_user_agent
from transforms.synthetic.fingerprint_visits import GeneratorConfig, HistoryGenerator, _dst_active, add_bad_lines, write_daily_files


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


def test_modern_generator_has_real_world_shape():
    from collections import Counter

    from transforms.synthetic.fingerprint_visits import ModernGenerator, age_user_agent

    config = GeneratorConfig(seed=5, devices=1500, days=540, start=date(2023, 1, 1))
    visits = ModernGenerator(config).visits()
    assert visits == ModernGenerator(config).visits()  # seeded
    first = {}
    for v in visits:
        first.setdefault(v["truth_device"], v)
    # heavy-tailed popularity: many devices share one configuration exactly
    configs = Counter((v.get("http_user_agent"), v.get("screen"), v.get("accept_language")) for v in first.values())
    sizes = sorted(configs.values(), reverse=True)
    assert sizes[0] >= 20 and sum(s for s in sizes if s > 1) > 0.4 * len(first) and sum(s == 1 for s in sizes) > 50
    # sparse attribute sets: never 20, scripts blocked on some devices, fonts rare
    present = [sum(1 for k in ATTRIBUTES if v.get(k)) for v in visits]
    assert max(present) <= 12 and min(present) <= 4
    assert 0.05 < sum(bool(v.get("fonts")) for v in visits) / len(visits) < 0.4
    assert sum("timezone" not in v for v in visits) / len(visits) > 0.08
    # release cadence: versions go up on returning devices, never down; Safari/iOS by years
    last, bumps = {}, 0
    for v in visits:
        family, version, _ = parse_user_agent(v.get("http_user_agent"))
        before = last.get(v["truth_device"])
        if before and before[0] == family and version >= 0 and before[1] >= 0:
            assert version >= before[1]
            bumps += version > before[1]
        if version >= 0:
            last[v["truth_device"]] = (family, version)
    assert bumps >= 50
    ios = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.0 Mobile/15E148 Safari/604.1"
    assert "OS 17_7" in age_user_agent(ios, date(2024, 10, 1), date(2025, 10, 1)) and "Version/25" in age_user_agent(ios, date(2024, 10, 1), date(2025, 10, 1))
    chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
    assert "Chrome/121." in age_user_agent(chrome, date(2025, 1, 1), date(2025, 1, 1) + timedelta(days=84))
