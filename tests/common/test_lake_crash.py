"""A writer killed with SIGKILL at random points never leaves a reader with a missing, partial or
mixed partition, and its leftovers are invisible and cleaned."""
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pyarrow as pa
import pytest

from transforms.common.contract import DatasetSpec

SPEC = DatasetSpec("crash", pa.schema([("generation", pa.int64()), ("row", pa.int64())]), "ds")
WRITER = textwrap.dedent("""
    import sys, pandas as pd, pyarrow as pa
    from transforms.common.contract import DatasetSpec
    from transforms.common.lake import Lake
    spec = DatasetSpec("crash", pa.schema([("generation", pa.int64()), ("row", pa.int64())]), "ds")
    lake, generation = Lake(sys.argv[1], gc_grace_s=0.5), int(sys.argv[2])
    while True:
        generation += 1
        rows = 20_000 + generation % 7 * 1_000  # each generation has its own size: a mix shows
        lake.write_partition(spec, "2026-01-01", pd.DataFrame({"generation": generation, "row": range(rows)}))
        print(generation, flush=True)
""")


def _assert_whole(frame, seen: list):
    generations = frame["generation"].unique()
    assert len(generations) == 1, f"mixed generations {generations[:5]}"
    generation = int(generations[0])
    assert len(frame) == 20_000 + generation % 7 * 1_000 and frame["row"].tolist() == list(range(len(frame)))
    assert generation >= (seen[-1] if seen else 0), "went back to an older version"
    seen.append(generation)


@pytest.mark.slow
def test_kill_minus_9_at_random_points_never_breaks_a_reader(any_lake_uri):
    """On a local folder and on object storage (S3 on loopback)."""
    from transforms.common.lake import Lake

    lake_uri = any_lake_uri
    lake = Lake(lake_uri, gc_grace_s=0.5)
    rounds = 15 if lake.is_local else 8  # each round starts a writer process; object storage is slower
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    rng, seen, generation, kills, reads = random.Random(7), [], 0, 0, 0
    boot = subprocess.run([sys.executable, "-c", WRITER.replace("while True", "for _ in range(1)"), lake_uri, "0"],
                          env=env, check=True, capture_output=True, text=True)
    generation = int(boot.stdout.split()[-1])
    while kills < rounds:
        writer = subprocess.Popen([sys.executable, "-c", WRITER, lake_uri, str(generation + 1000 * (kills + 1))],
                                  env=env, stdout=subprocess.PIPE, text=True)
        first = writer.stdout.readline()  # the interpreter has started and written once
        deadline = time.monotonic() + rng.uniform(0.0, 0.4)
        while time.monotonic() < deadline:
            _assert_whole(lake.read_partition(SPEC, "2026-01-01"), seen)
            reads += 1
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        kills += 1
        assert first
        _assert_whole(lake.read_partition(SPEC, "2026-01-01"), seen)
        generation = seen[-1]
    assert reads >= rounds
    assert lake.partitions(SPEC) == ["2026-01-01"]
    time.sleep(0.6)
    lake.vacuum(grace_s=0)
    import pyarrow.fs as pafs

    folder = lake.partition_path(SPEC, "2026-01-01")
    left = sorted(i.base_name for i in lake.fs.get_file_info(pafs.FileSelector(folder)))
    # kept: the published version, the one before it, and one a killed writer staged but never
    # published (a checkpoint may still be about to publish it); every other version is gone
    pointers = [lake._pointer(folder, name) or {} for name in ("_manifest.json", "_staged.json")]
    keep = {pointers[0].get("version"), pointers[0].get("previous"), pointers[1].get("version")}
    assert {n for n in left if n.startswith("v")} <= keep, (left, keep)
    assert not [n for n in left if n.startswith(".tmp-")], left
    _assert_whole(lake.read_partition(SPEC, "2026-01-01"), seen)
