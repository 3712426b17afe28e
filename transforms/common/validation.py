"""Great Expectations checkpoints between stages.

:func:`run_checkpoint` validates one partition's DataFrame against a list of GX expectations,
keeps the full GX result and a readable summary in the lake under
``_checkpoints/<name>/<partition>/``, and raises :class:`CheckpointFailed` with that summary when
any expectation fails, so the Airflow task fails and downstream tasks do not run.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from transforms.common.contract import DatasetSpec
from transforms.common.lake import Lake
from transforms.common.text import safe_text

log = logging.getLogger(__name__)
SAMPLE_ROWS = 5


class CheckpointFailed(RuntimeError):
    """A checkpoint found failing expectations. Besides the readable message it names the
    checkpoint, the partition and each failing expectation (``failures``: "type {kwargs}"),
    which the failure notifier (:mod:`transforms.common.notify`) puts in its alert."""

    def __init__(self, message: str, name: str = "", partition: str = "", failures: tuple = ()):
        super().__init__(message)
        self.name, self.partition, self.failures = name, partition, tuple(failures)


@dataclass
class CheckpointResult:
    name: str
    partition: str
    success: bool
    summary: str
    report_path: str


def _describe(result, frame: pd.DataFrame) -> str:
    cfg = result.expectation_config
    kwargs = {k: v for k, v in cfg.kwargs.items() if k not in ("batch_id",)}
    res = result.result or {}
    lines = [f"FAILED {cfg.type} {kwargs}"]
    if "unexpected_count" in res:
        lines.append(f"  unexpected: {res.get('unexpected_count')} of {res.get('element_count')} rows")
    index = res.get("unexpected_index_list") or []
    if index:
        rows = [i if isinstance(i, int) else i.get("index", i) for i in index[:SAMPLE_ROWS]]
        rows = [r for r in rows if isinstance(r, int) and r in frame.index]
        if rows:
            lines.append("  first rows:\n" + frame.loc[rows].to_string(max_colwidth=60).replace("\n", "\n    "))
    elif res.get("partial_unexpected_list"):
        lines.append(f"  values: {res['partial_unexpected_list'][:SAMPLE_ROWS]}")
    if "observed_value" in res:
        lines.append(f"  observed: {res['observed_value']}")
    return "\n".join(lines)


def _checkable(frame: pd.DataFrame, spec: DatasetSpec | None) -> pd.DataFrame:
    """The scalar columns of ``frame`` (GX cannot compare lists); the contract's nested columns
    are checked through the scalar summaries a checkpoint adds."""
    nested = {c.name for c in spec.cols if c.nested} if spec is not None else set()
    keep = []
    for column in frame.columns:
        if column in nested:
            continue
        sample = frame[column].dropna().head(1)
        if len(sample) and isinstance(sample.iloc[0], (list, tuple, dict, set, np.ndarray)):
            continue
        keep.append(column)
    return frame[keep]


def run_checkpoint(lake: Lake, name: str, partition: str, frame: pd.DataFrame, expectations: list = (),
                   spec: DatasetSpec | None = None, raise_on_failure: bool = True) -> CheckpointResult:
    """Validate ``frame``: the baseline suite of ``spec``'s contract (if given) plus
    ``expectations`` (the domain rules, often on columns the caller derived)."""
    import great_expectations as gx

    frame = _checkable(frame, spec)
    if spec is not None:
        expectations = spec.expectations(present=list(frame.columns)) + list(expectations)

    context = gx.get_context(mode="ephemeral")
    asset = context.data_sources.add_pandas(name).add_dataframe_asset(name=name)
    batch = asset.add_batch_definition_whole_dataframe(name)
    suite = context.suites.add(gx.ExpectationSuite(name=name))
    for expectation in expectations:
        suite.add_expectation(expectation)
    validation = context.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch, suite=suite))
    checkpoint = context.checkpoints.add(gx.Checkpoint(
        name=name, validation_definitions=[validation],
        result_format={"result_format": "COMPLETE", "unexpected_index_column_names": []},
    ))
    frame = frame.reset_index(drop=True)
    run = checkpoint.run(batch_parameters={"dataframe": frame})
    validation_result = next(iter(run.run_results.values()))
    failures = [r for r in validation_result.results if not r.success]
    header = (f"checkpoint {name} [{partition}]: {len(validation_result.results) - len(failures)}/"
              f"{len(validation_result.results)} expectations passed on {len(frame)} rows")
    summary = safe_text("\n".join([header] + [_describe(r, frame) for r in failures]))
    base = f"_checkpoints/{name}/{partition}"
    lake.write_json(f"{base}/result.json", validation_result.to_json_dict())
    report_path = lake.write_bytes(f"{base}/summary.txt", summary.encode())
    outcome = CheckpointResult(name, partition, not failures, summary, report_path)
    (log.info if outcome.success else log.error)("%s\n(report: %s)", summary, report_path)
    if failures and raise_on_failure:
        failing = [f"{r.expectation_config.type} "
                   f"{ {k: v for k, v in r.expectation_config.kwargs.items() if k != 'batch_id'} }" for r in failures]
        raise CheckpointFailed(f"{summary}\n(report: {report_path})", name, partition, failing)
    return outcome
