"""Parquet lake under one root URI, partitioned by a key (date or crawl id), crash-safe.

Layout of a partition::

    <root>/<dataset>/<key>=<value>/_manifest.json          which version readers see
    <root>/<dataset>/<key>=<value>/v<stamp>-<id>/part-0.parquet
    <root>/<dataset>/<key>=<value>/_staged.json            a version written but not yet published

A write puts its data in a new version folder that no reader looks at, then replaces the small
manifest in one atomic step (a rename on a local disk, a single PUT on object storage). So at
every instant a reader sees the old or the new version, whole, never none and never a mix, and a
writer killed at any point leaves only an unreferenced folder, which later writes (or
:meth:`Lake.vacuum`) delete. The previous version is kept until the next write, so a reader that
read the old manifest a moment ago still finds its file.

Stage → validate → publish: :meth:`Lake.stage_partition` writes a version and records it in
``_staged.json`` without publishing; a checkpoint reads it with ``staged=True`` and only
:meth:`Lake.publish_staged` makes it visible. A failed check leaves the published state untouched.

Only :class:`Lake` knows this layout: read the lake through it (or through the manifests), not by
globbing Parquet files, which would see every kept version.
"""
from __future__ import annotations

import json
import logging
import posixpath
import time
import uuid
from datetime import datetime, timezone
from typing import Iterable, Optional

import pandas as pd
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from transforms.common.contract import DatasetSpec  # noqa: F401 - re-exported: specs import it from here
from transforms.common.keys import check_key, check_relpath
from transforms.common.text import safe_text

log = logging.getLogger(__name__)
MANIFEST = "_manifest.json"
STAGED = "_staged.json"
DATA_FILE = "part-0.parquet"
GC_GRACE_S = 1800.0  # an unreferenced version younger than this may be a live writer's: keep it


def new_version() -> str:
    """A version folder name that sorts by creation time."""
    return f"v{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:8]}"


def _version_age_s(name: str) -> float:
    try:
        stamp = datetime.strptime(name[1:21], "%Y%m%dT%H%M%S%f").replace(tzinfo=timezone.utc)
    except ValueError:
        return float("inf")
    return (datetime.now(timezone.utc) - stamp).total_seconds()


def _is_version(name: str) -> bool:
    return name.startswith("v") and len(name) > 22 and name[1:9].isdigit()


class Lake:
    def __init__(self, uri: str, gc_grace_s: float = GC_GRACE_S):
        self.uri = uri
        self.fs, self.root = pafs.FileSystem.from_uri(uri)
        self.is_local = isinstance(self.fs, pafs.LocalFileSystem)
        self.gc_grace_s = gc_grace_s

    # -- paths -------------------------------------------------------------------------------
    def path(self, *parts: str) -> str:
        """Full path of a lake-relative path; every segment is validated (no traversal)."""
        if not parts:
            return self.root
        return posixpath.join(self.root, check_relpath("/".join(p.strip("/") for p in parts)))

    def partition_path(self, spec: DatasetSpec, value: str) -> str:
        return self.path(spec.name, f"{spec.partition_key}={check_key(value, spec.partition_key)}")

    def local_path(self, *parts: str) -> str:
        """Filesystem path for tools that need one (reports); only for local lakes."""
        if not self.is_local:
            raise ValueError("local_path needs a local lake")
        return self.path(*parts)

    def exists(self, path: str) -> bool:
        return self.fs.get_file_info(path).type != pafs.FileType.NotFound

    # -- atomic small files ------------------------------------------------------------------
    def _put(self, full: str, data: bytes) -> None:
        """Replace one file atomically: rename over it locally; object stores swap whole objects."""
        parent = posixpath.dirname(full)
        self.fs.create_dir(parent, recursive=True)
        if not self.is_local:
            with self.fs.open_output_stream(full) as out:
                out.write(data)
            return
        tmp = posixpath.join(parent, f".tmp-{uuid.uuid4().hex}")
        with self.fs.open_output_stream(tmp) as out:
            out.write(data)
        self.fs.move(tmp, full)

    def _pointer(self, folder: str, name: str) -> Optional[dict]:
        try:
            with self.fs.open_input_stream(posixpath.join(folder, name)) as src:
                return json.loads(src.read())
        except FileNotFoundError:
            return None
        except OSError as error:  # object stores report a missing key as a generic OSError
            if "not found" in str(error).lower() or "nosuchkey" in str(error).lower():
                return None
            raise

    # -- versioned folders (partitions, reports) ---------------------------------------------
    def _publish_version(self, folder: str, version: str, info: dict) -> None:
        current = self._pointer(folder, MANIFEST)
        previous = (current or {}).get("version")
        if previous == version:
            return
        self._put(posixpath.join(folder, MANIFEST), json.dumps({
            **info, "version": version, "previous": previous,
            "published_at": datetime.now(timezone.utc).isoformat()}).encode())
        self._collect(folder)

    def _collect(self, folder: str, grace_s: Optional[float] = None) -> int:
        """Delete version folders no pointer names (leftovers of killed or replaced writes) that
        are older than the grace period, and stray temporary files. Returns how many went."""
        grace = self.gc_grace_s if grace_s is None else grace_s
        keep = {(self._pointer(folder, MANIFEST) or {}).get(k) for k in ("version", "previous")}
        keep.add((self._pointer(folder, STAGED) or {}).get("version"))
        removed = 0
        for info in self.fs.get_file_info(pafs.FileSelector(folder, allow_not_found=True)):
            name = info.base_name
            if info.type == pafs.FileType.Directory and _is_version(name) and name not in keep:
                if _version_age_s(name) >= grace:
                    self.fs.delete_dir(info.path)
                    removed += 1
            elif name.startswith(".tmp-") and time.time() - info.mtime.timestamp() >= grace:
                self.fs.delete_file(info.path)
                removed += 1
        return removed

    def vacuum(self, prefix: str = "", grace_s: float = 0.0) -> int:
        """Clean every versioned folder under ``prefix`` (default: the whole lake) now."""
        base = self.path(prefix) if prefix else self.root
        folders = set()
        for info in self.fs.get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=True)):
            name = info.base_name
            if (info.type == pafs.FileType.Directory and _is_version(name)) or name.startswith(".tmp-") \
                    or name in (MANIFEST, STAGED):
                folders.add(posixpath.dirname(info.path))
        removed = sum(self._collect(folder, grace_s) for folder in sorted(folders))
        log.info("vacuum %s: removed %d leftovers in %d folders", base, removed, len(folders))
        return removed

    # -- partitions --------------------------------------------------------------------------
    def stage_partition(self, spec: DatasetSpec, value: str, frame: pd.DataFrame) -> int:
        """Write partition ``value`` as a new, unpublished version; returns the row count.
        Readers keep seeing the published version until :meth:`publish_staged`."""
        table = spec.conform(frame)
        folder = self.partition_path(spec, str(value))
        version = new_version()
        self.fs.create_dir(posixpath.join(folder, version), recursive=True)
        pq.write_table(table, posixpath.join(folder, version, DATA_FILE), filesystem=self.fs)
        self._put(posixpath.join(folder, STAGED), json.dumps({
            "version": version, "rows": table.num_rows,
            "staged_at": datetime.now(timezone.utc).isoformat()}).encode())
        log.info("staged %s %s=%s: %d rows (%s)", spec.name, spec.partition_key, value, table.num_rows, version)
        return table.num_rows

    def publish_staged(self, spec: DatasetSpec, value: str) -> int:
        """Make the staged version of partition ``value`` the one readers see; returns its rows.
        Idempotent: publishing what is already published does nothing."""
        folder = self.partition_path(spec, str(value))
        staged = self._pointer(folder, STAGED)
        if staged is None:
            current = self._pointer(folder, MANIFEST)
            if current is not None:
                return int(current.get("rows", 0))
            raise LookupError(f"nothing staged for {spec.name} {spec.partition_key}={value}")
        self._publish_version(folder, staged["version"], {"rows": staged["rows"]})
        self.fs.delete_file(posixpath.join(folder, STAGED))
        log.info("published %s %s=%s: %d rows", spec.name, spec.partition_key, value, staged["rows"])
        return int(staged["rows"])

    def write_partition(self, spec: DatasetSpec, value: str, frame: pd.DataFrame) -> int:
        """Replace partition ``value`` of ``spec`` with ``frame`` now (stage and publish)."""
        rows = self.stage_partition(spec, value, frame)
        self.publish_staged(spec, value)
        return rows

    def staged_partitions(self, spec: DatasetSpec) -> list[str]:
        return self._partitions_with(spec, STAGED)

    def read_partition(self, spec: DatasetSpec, value: str, staged: bool = False) -> pd.DataFrame:
        """Rows of the published version (empty if none). With ``staged``: the version a
        checkpoint is about to publish — the staged one, or the published one when nothing is
        staged (a checkpoint rerun after its publish re-checks what readers see)."""
        folder = self.partition_path(spec, str(value))
        for attempt in range(5):
            pointer = (self._pointer(folder, STAGED) if staged else None) or self._pointer(folder, MANIFEST)
            if pointer is None:
                return spec.schema.empty_table().to_pandas()
            try:
                return pq.read_table(posixpath.join(folder, pointer["version"], DATA_FILE), filesystem=self.fs,
                                     schema=spec.schema).to_pandas()
            except (FileNotFoundError, OSError):
                if attempt == 4:
                    raise
                time.sleep(0.05)  # replaced and collected since we read the pointer: read it again

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
        """Values of the published partitions, sorted."""
        return self._partitions_with(spec, MANIFEST)

    def _partitions_with(self, spec: DatasetSpec, pointer: str) -> list[str]:
        base = self.path(spec.name)
        prefix = spec.partition_key + "="
        values = []
        for info in self.fs.get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=True)):
            if info.base_name != pointer:
                continue
            folder = posixpath.dirname(info.path)
            name = posixpath.basename(folder)
            if posixpath.dirname(folder).rstrip("/") == base.rstrip("/") and name.startswith(prefix):
                values.append(name[len(prefix):])
        return sorted(values)

    # -- small documents (JSON, HTML, PNG) ---------------------------------------------------
    def write_bytes(self, path: str, data: bytes) -> str:
        """Atomically (re)write one file at ``path`` relative to the root; returns its full path."""
        full = self.path(path)
        self._put(full, data)
        return full

    def write_json(self, path: str, obj) -> str:
        text = safe_text(json.dumps(obj, ensure_ascii=False, indent=1, default=str))
        return self.write_bytes(path, text.encode())

    def read_bytes(self, path: str) -> bytes:
        with self.fs.open_input_stream(self.path(path)) as src:
            return src.read()

    def read_json(self, path: str):
        return json.loads(self.read_bytes(path))

    def list_files(self, path: str, suffix: str = "") -> list[str]:
        """Relative names of visible files directly under ``path``."""
        infos = self.fs.get_file_info(pafs.FileSelector(self.path(path), allow_not_found=True))
        names = [i.base_name for i in infos if i.type == pafs.FileType.File]
        return sorted(n for n in names if n.endswith(suffix) and not n.startswith((".", "_")))

    def replace_dir_from_local(self, local_dir: str, path: str) -> str:
        """Publish a local folder (e.g. a rendered report) as the new version of ``path``;
        returns the full path of the published folder (see :meth:`current_dir`)."""
        folder = self.path(path)
        version = new_version()
        self.fs.create_dir(posixpath.join(folder, version), recursive=True)
        pafs.copy_files(local_dir, posixpath.join(folder, version), source_filesystem=pafs.LocalFileSystem(),
                        destination_filesystem=self.fs)
        self._publish_version(folder, version, {})
        return posixpath.join(folder, version)

    def current_dir(self, path: str) -> Optional[str]:
        """Full path of the published version of a folder written by :meth:`replace_dir_from_local`."""
        folder = self.path(path)
        pointer = self._pointer(folder, MANIFEST)
        return posixpath.join(folder, pointer["version"]) if pointer else None
