"""One contract per dataset: the Parquet schema and the baseline GX suite both follow it."""
import dataclasses

import pandas as pd
import pyarrow as pa
import pytest

from transforms.common.contract import Col, DatasetSpec
from transforms.common.validation import CheckpointFailed, run_checkpoint

SPEC = DatasetSpec("visits", [
    Col("visit_id", pa.string(), nullable=False),
    Col("score", pa.float64(), min=0, max=1),
    Col("decision", pa.string(), values=("matched", "new")),
    Col("hours", pa.list_(pa.int32())),
], "ds", unique=("visit_id",), min_rows=1)


def frame(**changes):
    base = {"visit_id": ["a", "b"], "score": [0.2, 0.9], "decision": ["new", "matched"], "hours": [[1], [2, 3]]}
    return pd.DataFrame({**base, **changes})


def test_a_good_partition_passes_the_derived_suite(lake):
    assert run_checkpoint(lake, "visits", "d", frame(), spec=SPEC).success


@pytest.mark.parametrize("changes, rule", [
    ({"score": [0.2, 1.5]}, "expect_column_values_to_be_between"),
    ({"decision": ["new", "maybe"]}, "expect_column_values_to_be_in_set"),
    ({"visit_id": ["a", "a"]}, "expect_column_values_to_be_unique"),
    ({"visit_id": ["a", None]}, "expect_column_values_to_not_be_null"),
])
def test_each_rule_of_the_contract_is_checked(lake, changes, rule):
    with pytest.raises(CheckpointFailed, match=rule):
        run_checkpoint(lake, "visits", "d", frame(**changes), spec=SPEC)


def test_changing_one_contract_changes_parquet_and_gx(lake):
    widened = dataclasses.replace(SPEC, columns=[
        dataclasses.replace(c, type=pa.float32(), max=2.0) if c.name == "score" else c for c in SPEC.cols])
    assert widened.schema.field("score").type == pa.float32() and SPEC.schema.field("score").type == pa.float64()
    assert not widened.schema.field("visit_id").nullable
    lake.write_partition(widened, "d", frame(score=[0.2, 1.5]))
    assert lake.read_partition(widened, "d")["score"].dtype == "float32"
    assert run_checkpoint(lake, "visits", "d", frame(score=[0.2, 1.5]), spec=widened).success
    with pytest.raises(CheckpointFailed):
        run_checkpoint(lake, "visits", "d", frame(score=[0.2, 1.5]), spec=SPEC)


def test_conform_names_the_null_column():
    with pytest.raises(ValueError, match="visit_id is not nullable"):
        SPEC.conform(frame(visit_id=["a", None]))


def test_domain_rules_add_to_the_baseline(lake):
    import great_expectations as gx

    extra = [gx.expectations.ExpectColumnValuesToBeBetween(column="n_hours", min_value=2)]
    with pytest.raises(CheckpointFailed, match="n_hours"):
        run_checkpoint(lake, "visits", "d", frame().assign(n_hours=[1, 2]), extra, spec=SPEC)
