"""Parquet lake under one root URI, partitioned by a key (date or crawl id).

Layout: ``<root>/<dataset>/<key>=<value>/part-0.parquet``. A partition is written to a hidden
staging folder and then renamed into place, replacing the previous version: readers never see a
half-written partition, and a rerun of the same partition replaces it instead of adding rows.
Names starting with ``_`` or ``.`` are invisible to readers.
"""
from __future__ import annotations

import json
import logging
import posixpath
import uuid
from dataclasses import dataclass
from typing import Iterable, Optional

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset declared once, in code: its name, schema and partition key."""

    name: str
    schema: pa.Schema
    partition_key: str

    def conform(self, frame: pd.DataFrame) -> pa.Table:
        """Table in exactly the declared schema (missing columns are an error, extras dropped)."""
        missing = [f.name for f in self.schema if f.name not in frame.columns]
        if missing:
            raise ValueError(f"{self.name}: missing columns {missing}")
        return pa.Table.from_pandas(frame[self.schema.names], schema=self.schema, preserve_index=False)


class Lake:
    def __init__(self, uri: str):
        self.uri = uri
        self.fs, self.root = pafs.FileSystem.from_uri(uri)

    # -- paths -------------------------------------------------------------------------------
    def path(self, *parts: str) -> str:
        return posixpath.join(self.root, *parts)

    def partition_path(self, spec: DatasetSpec, value: str) -> str:
        return self.path(spec.name, f"{spec.partition_key}={value}")

    def local_path(self, *parts: str) -> str:
        """Filesystem path for tools that need one (reports); only for local lakes."""
        if not isinstance(self.fs, pafs.LocalFileSystem):
            raise ValueError("local_path needs a local lake")
        return self.path(*parts)

    def exists(self, path: str) -> bool:
        return self.fs.get_file_info(path).type != pafs.FileType.NotFound

    # -- partition-replace writes -------------------------------------------------------------
    def _replace_dir(self, staging: str, target: str) -> None:
        parent = posixpath.dirname(target)
        trash = posixpath.join(parent, f"_trash-{uuid.uuid4().hex}")
        had_old = self.exists(target)
        if had_old:
            self.fs.move(target, trash)
        self.fs.move(staging, target)
        if had_old:
            self.fs.delete_dir(trash)

    def _staging_dir(self, target: str) -> str:
        parent = posixpath.dirname(target)
        self.fs.create_dir(parent, recursive=True)
        staging = posixpath.join(parent, f"_staging-{uuid.uuid4().hex}")
        self.fs.create_dir(staging, recursive=True)
        return staging

    def write_partition(self, spec: DatasetSpec, value: str, frame: pd.DataFrame) -> int:
        """Replace partition ``value`` of ``spec`` with ``frame``; returns the row count."""
        table = spec.conform(frame)
        target = self.partition_path(spec, str(value))
        staging = self._staging_dir(target)
        pq.write_table(table, posixpath.join(staging, "part-0.parquet"), filesystem=self.fs)
        self._replace_dir(staging, target)
        log.info("wrote %s %s=%s: %d rows", spec.name, spec.partition_key, value, table.num_rows)
        return table.num_rows

    def read_partition(self, spec: DatasetSpec, value: str) -> pd.DataFrame:
        target = self.partition_path(spec, str(value))
        if not self.exists(target):
            return spec.schema.empty_table().to_pandas()
        return pq.read_table(posixpath.join(target, "part-0.parquet"), filesystem=self.fs, schema=spec.schema).to_pandas()

    def read(self, spec: DatasetSpec, values: Optional[Iterable[str]] = None) -> pd.DataFrame:
        """Rows of all (or the given) partitions, with the partition column filled in."""
        wanted = [str(v) for v in values] if values is not None else self.partitions(spec)
        frames = []
        for value in wanted:
            frame = self.read_partition(spec, value)
            frame[spec.partition_key] = value
            frames.append(frame)
        if not frames:
            empty = spec.schema.empty_table().to_pandas()
            empty[spec.partition_key] = pd.Series(dtype="object")
            return empty
        return pd.concat(frames, ignore_index=True)

    def partitions(self, spec: DatasetSpec) -> list[str]:
        base = self.path(spec.name)
        if not self.exists(base):
            return []
        prefix = spec.partition_key + "="
        infos = self.fs.get_file_info(pafs.FileSelector(base))
        names = [posixpath.basename(i.path) for i in infos if i.type == pafs.FileType.Directory]
        return sorted(n[len(prefix):] for n in names if n.startswith(prefix))

    # -- small documents (JSON, HTML, PNG) ---------------------------------------------------
    def write_bytes(self, path: str, data: bytes) -> str:
        """Atomically (re)write one file at ``path`` relative to the root; returns its full path."""
        full = self.path(path)
        parent = posixpath.dirname(full)
        self.fs.create_dir(parent, recursive=True)
        tmp = posixpath.join(parent, f".tmp-{uuid.uuid4().hex}")
        with self.fs.open_output_stream(tmp) as out:
            out.write(data)
        self.fs.move(tmp, full)
        return full

    def write_json(self, path: str, obj) -> str:
        return self.write_bytes(path, json.dumps(obj, ensure_ascii=False, indent=1, default=str).encode())

    def read_bytes(self, path: str) -> bytes:
        with self.fs.open_input_stream(self.path(path)) as src:
            return src.read()

    def read_json(self, path: str):
        return json.loads(self.read_bytes(path))

    def list_files(self, path: str, suffix: str = "") -> list[str]:
        """Relative names of visible files directly under ``path``."""
        full = self.path(path)
        if not self.exists(full):
            return []
        infos = self.fs.get_file_info(pafs.FileSelector(full))
        names = [posixpath.basename(i.path) for i in infos if i.type == pafs.FileType.File]
        return sorted(n for n in names if n.endswith(suffix) and not n.startswith((".", "_")))

    def replace_dir_from_local(self, local_dir: str, path: str) -> str:
        """Copy a local folder (e.g. a rendered report) into ``path`` and swap it in atomically."""
        target = self.path(path)
        staging = self._staging_dir(target)
        local = pafs.LocalFileSystem()
        pafs.copy_files(local_dir, staging, source_filesystem=local, destination_filesystem=self.fs)
        self._replace_dir(staging, target)
        return target
