"""Each dataset's contract, declared once: columns, types, nullability, value rules, keys.

The Parquet schema (:attr:`DatasetSpec.schema`) and the baseline Great Expectations suite
(:meth:`DatasetSpec.expectations`) both derive from the same :class:`Col` list, so they cannot
drift apart. A checkpoint adds only what is domain logic (rules across columns or tables).

    VISITS = DatasetSpec("fp_visits", [
        Col("visit_id", pa.string(), nullable=False),
        Col("n_attributes", pa.int32(), min=0, max=20),
        Col("decision", pa.string(), values=("matched", "new")),
    ], "ds", unique=("visit_id",))
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import pandas as pd
import pyarrow as pa


@dataclass(frozen=True)
class Col:
    """One column: its type and the rules every row must keep (``mostly``: the share of non-null
    rows that must keep the value rules, for columns where a few outliers are legitimate)."""

    name: str
    type: pa.DataType
    nullable: bool = True
    min: Optional[float] = None
    max: Optional[float] = None
    values: Optional[tuple] = None
    min_length: Optional[int] = None
    max_length: Optional[int] = None
    pattern: Optional[str] = None
    mostly: float = 1.0
    doc: str = ""

    @property
    def nested(self) -> bool:
        return pa.types.is_nested(self.type)


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset declared once, in code. ``columns`` may be a plain ``pa.Schema`` (types only)."""

    name: str
    columns: Sequence[Col] | pa.Schema
    partition_key: str
    unique: tuple[str, ...] = ()  # columns that identify a row within a partition
    min_rows: int = 0
    doc: str = ""
    cols: tuple[Col, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        cols = self.columns
        if isinstance(cols, pa.Schema):
            cols = [Col(f.name, f.type) for f in cols]
        object.__setattr__(self, "cols", tuple(cols))
        names = [c.name for c in self.cols]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: duplicate column names {names}")
        unknown = set(self.unique) - set(names)
        if unknown:
            raise ValueError(f"{self.name}: unique key columns {sorted(unknown)} are not columns")

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.type, nullable=c.nullable) for c in self.cols])

    def column(self, name: str) -> Col:
        return next(c for c in self.cols if c.name == name)

    def conform(self, frame: pd.DataFrame) -> pa.Table:
        """Table in exactly the declared schema (missing columns or nulls in non-nullable
        columns are an error naming the column; extra columns are dropped)."""
        missing = [c.name for c in self.cols if c.name not in frame.columns]
        if missing:
            raise ValueError(f"{self.name}: missing columns {missing}")
        for col in self.cols:
            if not col.nullable and not col.nested:
                nulls = frame[col.name].isna()
                if nulls.any():
                    raise ValueError(f"{self.name}: column {col.name} is not nullable but has {int(nulls.sum())} "
                                     f"null values (first rows {list(frame.index[nulls][:5])})")
        return pa.Table.from_pandas(frame[self.schema.names], schema=self.schema, preserve_index=False)

    def expectations(self, present: Optional[Sequence[str]] = None) -> list:
        """The baseline GX suite of this contract (for the columns in ``present``, default all)."""
        import great_expectations as gx

        E = gx.expectations
        have = set(present) if present is not None else {c.name for c in self.cols}
        suite = []
        if self.min_rows:
            suite.append(E.ExpectTableRowCountToBeBetween(min_value=self.min_rows))
        for c in self.cols:
            if c.name not in have or c.nested:
                continue
            if not c.nullable:
                suite.append(E.ExpectColumnValuesToNotBeNull(column=c.name))
            if c.min is not None or c.max is not None:
                suite.append(E.ExpectColumnValuesToBeBetween(column=c.name, min_value=c.min, max_value=c.max,
                                                             mostly=c.mostly))
            if c.values is not None:
                suite.append(E.ExpectColumnValuesToBeInSet(column=c.name, value_set=list(c.values), mostly=c.mostly))
            if c.min_length is not None or c.max_length is not None:
                suite.append(E.ExpectColumnValueLengthsToBeBetween(column=c.name, min_value=c.min_length,
                                                                   max_value=c.max_length, mostly=c.mostly))
            if c.pattern is not None:
                suite.append(E.ExpectColumnValuesToMatchRegex(column=c.name, regex=c.pattern, mostly=c.mostly))
        if self.unique and set(self.unique) <= have:
            if len(self.unique) == 1:
                suite.append(E.ExpectColumnValuesToBeUnique(column=self.unique[0]))
            else:
                suite.append(E.ExpectCompoundColumnsToBeUnique(column_list=list(self.unique)))
        return suite

    def scalar_columns(self) -> list[str]:
        """Columns GX can check directly (nested values are summarised by checkpoints instead)."""
        return [c.name for c in self.cols if not c.nested]
