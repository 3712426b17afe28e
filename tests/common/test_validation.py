import great_expectations as gx
import pandas as pd
import pytest

from transforms.common.validation import CheckpointFailed, run_checkpoint


def test_passing_checkpoint_keeps_result(lake):
    frame = pd.DataFrame({"a": [1, 2]})
    result = run_checkpoint(lake, "cp", "p", frame, [gx.expectations.ExpectColumnValuesToNotBeNull(column="a")])
    assert result.success
    assert lake.read_json("_checkpoints/cp/p/result.json")["success"] is True


def test_failing_checkpoint_names_rows_and_expectation(lake):
    frame = pd.DataFrame({"a": [1, None, 3], "who": ["x", "bad-row", "z"]})
    with pytest.raises(CheckpointFailed) as failure:
        run_checkpoint(lake, "cp", "p", frame, [gx.expectations.ExpectColumnValuesToNotBeNull(column="a")])
    message = str(failure.value)
    assert "expect_column_values_to_not_be_null" in message and "bad-row" in message
    assert "bad-row" in lake.read_bytes("_checkpoints/cp/p/summary.txt").decode()
