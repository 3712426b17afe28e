"""Every domain's checkpoints take their baseline suite from the dataset's contract: changing one
contract changes both the Parquet schema and what the domain's checkpoint checks, and no
checkpoint writes by hand a rule the contract could state."""
import ast
import dataclasses
import importlib
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from transforms.common.contract import Col, DatasetSpec
from transforms.common.validation import CheckpointFailed

ROOT = Path(__file__).resolve().parents[2]
DOMAINS = ["fingerprint", "member_id", "mouse", "search_auth", "survey"]
# modules that run checkpoints (member_id's two are inline in its stages)
CHECKPOINT_MODULES = [f"transforms/{d}/checkpoints.py" for d in DOMAINS if d != "member_id"] + [
    "transforms/member_id/stages.py"]


def _specs() -> list[DatasetSpec]:
    specs = []
    for domain in DOMAINS:
        module = importlib.import_module(f"transforms.{domain}.schemas")
        specs += [v for v in vars(module).values() if isinstance(v, DatasetSpec)]
    return specs


def _event_frame(x=(10.0, 20.0)):
    return pd.DataFrame({"source": "recorder", "user_id": "u1", "session_id": "s1", "task": "t", "is_illegal": -1,
                         "seq": [0, 1], "t": [0.0, 0.1], "event": "move", "button": "none", "x": list(x),
                         "y": [5.0, 6.0], "scroll_y": 0.0})


def test_the_domain_checkpoint_follows_a_changed_contract(lake, monkeypatch):
    """Widen mouse_events' x range and add a non-nullable column: the Parquet file gets the new
    column, and the domain checkpoint both accepts the wider range and checks the new column."""
    from transforms.mouse import checkpoints, schemas

    wide = _event_frame(x=(10.0, 12_000.0))
    with pytest.raises(CheckpointFailed, match="expect_column_values_to_be_between"):
        checkpoints.events(lake, "2016-01-01", wide)

    changed = dataclasses.replace(schemas.EVENTS, columns=[
        dataclasses.replace(c, max=20_000) if c.name == "x" else c for c in schemas.EVENTS.cols]
        + [Col("pressure", pa.float32(), nullable=False, min=0, max=1)])
    monkeypatch.setattr(schemas, "EVENTS", changed)
    lake.write_partition(changed, "2016-01-01", wide.assign(pressure=[0.5, 0.7]))
    assert lake.read_partition(changed, "2016-01-01")["pressure"].dtype == "float32"
    assert changed.schema.field("pressure").type == pa.float32() and not changed.schema.field("pressure").nullable
    assert checkpoints.events(lake, "2016-01-01", wide.assign(pressure=[0.5, 0.7])) is None
    with pytest.raises(CheckpointFailed, match="pressure"):
        checkpoints.events(lake, "2016-01-01", wide.assign(pressure=[0.5, 3.0]))
    with pytest.raises(ValueError, match="pressure is not nullable"):
        lake.write_partition(changed, "2016-01-01", wide.assign(pressure=[0.5, None]))


@pytest.mark.parametrize("spec", _specs(), ids=lambda s: s.name)
def test_every_rule_of_a_contract_is_in_its_suite(spec):
    """Each declared rule gives one expectation on its column (nested columns excepted)."""
    suite = [(e.expectation_type if hasattr(e, "expectation_type") else type(e).__name__, getattr(e, "column", None))
             for e in spec.expectations()]
    columns = {column for _, column in suite}
    for col in spec.cols:
        ruled = (not col.nullable) or any(v is not None for v in (col.min, col.max, col.values, col.min_length,
                                                                   col.max_length, col.pattern))
        if ruled and not col.nested:
            assert col.name in columns, f"{spec.name}.{col.name} declares a rule its suite lacks"


def _literal(node) -> bool:
    try:
        ast.literal_eval(node)
        return True
    except ValueError:
        return False


def _handwritten_contract_rules(path: Path) -> list[str]:
    """Expectations with only literal arguments on a column of the contract passed to the same
    ``run_checkpoint(..., spec=schemas.X)`` call's function: those belong in the contract."""
    tree = ast.parse(path.read_text())
    specs = {}
    for domain in DOMAINS:
        module = importlib.import_module(f"transforms.{domain}.schemas")
        specs[domain] = {k: v for k, v in vars(module).items() if isinstance(v, DatasetSpec)}
    domain = path.parent.name
    found = []
    for function in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]:
        calls = [n for n in ast.walk(function) if isinstance(n, ast.Call)]
        spec_names = [ast.unparse(k.value).split(".")[-1] for c in calls for k in c.keywords
                      if k.arg == "spec" and ast.unparse(c.func).endswith("run_checkpoint")]
        columns = {c.name for name in spec_names for c in specs[domain][name].cols}
        for call in calls:
            if not ast.unparse(call.func).split(".")[-1].startswith("Expect"):
                continue
            kwargs = {k.arg: k.value for k in call.keywords}
            column = kwargs.get("column")
            if isinstance(column, ast.Constant) and column.value in columns and all(
                    _literal(v) for k, v in kwargs.items() if k != "column"):
                found.append(f"{domain}/{path.name}:{call.lineno} {ast.unparse(call)}")
    return found


@pytest.mark.parametrize("module", CHECKPOINT_MODULES)
def test_no_checkpoint_hand_writes_a_contract_rule(module):
    assert not _handwritten_contract_rules(ROOT / module)


def test_the_scan_finds_a_hand_written_contract_rule(tmp_path):
    folder = tmp_path / "mouse"
    folder.mkdir()
    (folder / "checkpoints.py").write_text(
        "def events(lake, ds, frame):\n"
        "    run_checkpoint(lake, 'x', ds, frame, [E.ExpectColumnValuesToNotBeNull(column='user_id')],\n"
        "                   spec=schemas.EVENTS)\n")
    assert len(_handwritten_contract_rules(folder / "checkpoints.py")) == 1
