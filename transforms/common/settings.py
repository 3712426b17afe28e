"""One place for configuration.

Every setting is an environment variable ``TRACKSCOPE_<NAME>``. Inside Airflow tasks,
:func:`load` may be given a variable getter so that an Airflow Variable
``trackscope_<name>`` overrides the environment at run time (operators change those in the UI).
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Callable, Optional

PREFIX = "TRACKSCOPE_"
REPO_ROOT = Path(__file__).resolve().parents[2]


def trackscope_home() -> Path:
    """Where local state lives by default (lake, inputs, secrets): ``TRACKSCOPE_HOME``, else ``<repo>/var``."""
    return Path(os.environ.get("TRACKSCOPE_HOME") or REPO_ROOT / "var")


DEFAULT_HOME = trackscope_home()  # the defaults below follow TRACKSCOPE_HOME as set when the process started


@dataclasses.dataclass(frozen=True)
class BaseSettings:
    """Fields every pipeline shares. Each domain extends it with its own frozen dataclass."""

    lake_uri: str = (DEFAULT_HOME / "lake").as_uri()
    empty_partition: str = "fail"  # a run whose inputs hold nothing for its partition: fail | skip

    @property
    def lake(self):
        from transforms.common.lake import Lake

        return Lake(self.lake_uri)


@dataclasses.dataclass(frozen=True)
class Settings(BaseSettings):
    """The session-replay survey's settings (the first pipeline; kept under the plain name)."""

    tranco_list: str = str(REPO_ROOT / "transforms/survey/fixture_web/tranco_fixture.csv")
    top_n: int = 0  # 0: whole list
    jp_within_top: int = 0  # M: all .jp sites within the top M (0: the whole list)
    other_top: int = 0  # K: the top K non-.jp sites (0: all)
    crawl_batch_size: int = 20
    browsers_per_task: int = 6  # the fewest reaching ≥ 2,700 sites/h at 5 s dwell (docs/survey.md)
    page_load_timeout_s: float = 30.0
    dwell_s: float = 5.0
    visit_retries: int = 1
    chromium_binary: str = "/usr/bin/chromium"
    chromedriver: str = "/usr/bin/chromedriver"
    chromium_extra_args: str = ""  # space-separated, e.g. --proxy-server=...
    js_heap_limit_mb: int = 1024  # V8 heap cap per renderer (0: Chromium's default)
    host_resolver_rules: str = ""  # e.g. "MAP * 127.0.0.1:8443"
    signatures_file: str = str(REPO_ROOT / "transforms/survey/data/signatures.yaml")
    categories_file: str = ""  # optional CSV domain,category


def _coerce(field: dataclasses.Field, raw: str):
    kind = field.type if isinstance(field.type, type) else {"int": int, "float": float, "str": str, "bool": bool}[field.type]
    if kind is bool:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    return kind(raw)


def load(cls=None, variable_getter: Optional[Callable[[str], Optional[str]]] = None, **overrides):
    """Settings of class ``cls`` (default: the survey's) from (lowest to highest) defaults,
    environment ``TRACKSCOPE_<FIELD>``, Airflow Variables ``trackscope_<field>``, overrides."""
    cls = cls or Settings
    values = {}
    for field in dataclasses.fields(cls):
        raw = os.environ.get(PREFIX + field.name.upper())
        if variable_getter is not None:
            from_var = variable_getter("trackscope_" + field.name)
            if from_var not in (None, ""):
                raw = from_var
        if raw is not None:
            values[field.name] = _coerce(field, raw)
    values.update({k: v for k, v in overrides.items() if v is not None})
    return cls(**values)
