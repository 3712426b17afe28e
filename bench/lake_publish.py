"""Cost of the lake's crash-safe publish against a plain Parquet write, in the same run.

The plain write is what a non-crash-safe lake does: ``pq.write_table`` straight onto the
partition's file. The crash-safe publish is :meth:`Lake.write_partition`: a new version folder,
the atomic manifest swap and the collection of replaced versions. Both write the same table
(about ``--mb`` MB of Parquet), alternately, ``--repeats`` times; medians are compared.
Usage: python bench/lake_publish.py [--mb 100] [--repeats 5] [--lake-uri file:///tmp/x | s3://...]
"""
import argparse
import os
import statistics
import tempfile
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from transforms.common.contract import Col, DatasetSpec
from transforms.common.lake import Lake

SPEC = DatasetSpec("bench_publish", [Col("id", pa.int64()), Col("value", pa.float64()), Col("text", pa.string())],
                   "ds")


def table_of(mb: float) -> pd.DataFrame:
    """Incompressible-ish rows: random floats and hex strings, ~``mb`` MB of Parquet."""
    rows = int(mb * 1e6 / 27)  # ≈27 bytes of Parquet per row (measured)
    rng = np.random.default_rng(1)
    return pd.DataFrame({"id": np.arange(rows), "value": rng.random(rows),
                         "text": rng.integers(0, 2**62, rows).astype("U16")})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--lake-uri", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as tmp:
        lake = Lake(args.lake_uri or f"file://{tmp}/lake")
        frame = table_of(args.mb)
        table = SPEC.conform(frame)
        plain_path = lake.path("bench_plain", "ds=2026-01-01", "part-0.parquet")
        lake.fs.create_dir(lake.path("bench_plain", "ds=2026-01-01"), recursive=True)
        plain, safe = [], []
        lake.write_partition(SPEC, "2026-01-01", frame)  # warm-up, and a previous version to replace
        for _ in range(args.repeats):
            started = time.perf_counter()
            pq.write_table(table, plain_path, filesystem=lake.fs)
            plain.append(time.perf_counter() - started)
            started = time.perf_counter()
            lake.write_partition(SPEC, "2026-01-01", frame)
            safe.append(time.perf_counter() - started)
        size = lake.fs.get_file_info(plain_path).size / 1e6
        # write_partition also converts the DataFrame (conform); time that part alone to separate it
        started = time.perf_counter()
        SPEC.conform(frame)
        conform_s = time.perf_counter() - started
    p, s = statistics.median(plain), statistics.median(safe)
    print(f"lake {args.lake_uri or 'local folder'}; partition {size:.1f} MB Parquet, {len(frame):,} rows; "
          f"{args.repeats} alternating repeats (load {os.getloadavg()[0]:.1f})")
    print(f"plain pq.write_table:           median {p:.3f}s  ({', '.join(f'{x:.2f}' for x in plain)})")
    print(f"crash-safe write_partition:     median {s:.3f}s  ({', '.join(f'{x:.2f}' for x in safe)})")
    print(f"  of which DataFrame→Arrow conform (both need it; the plain write above starts from Arrow): {conform_s:.3f}s")
    print(f"publish overhead: {100 * (s - conform_s - p) / p:+.1f} % (excluding conform), "
          f"{100 * (s - p) / p:+.1f} % (including it); goal <= 10 %")


if __name__ == "__main__":
    main()
