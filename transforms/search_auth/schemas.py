"""Datasets of the search-history authentication pipeline, all partitioned by local day ``ds``.

Each contract gives the Parquet schema and the baseline GX suite (transforms/common/contract.py);
checkpoints.py adds the rules across columns and the settings-dependent ones."""
import pyarrow as pa

from transforms.common.contract import Col
from transforms.common.lake import DatasetSpec

KEY = "ds"
TEMPLATE_STATES = ("ok", "partial", "insufficient_history")

QUERIES = DatasetSpec("sa_queries", [
    Col("user_id", pa.string(), nullable=False),
    Col("ts", pa.timestamp("us", tz="UTC")),
    Col("hour", pa.int8(), min=0, max=23, doc="local hour in the log's timezone"),
    Col("query", pa.string(), min_length=1),
    Col("source", pa.string(), doc="input file name"),
], KEY)

DAILY_FEATURES = DatasetSpec("sa_daily_features", [
    Col("user_id", pa.string(), nullable=False),
    Col("search_count", pa.int32(), min=1, doc="a user-day row exists only for days with queries"),
    Col("sqr", pa.float64(), min=0, max=1, doc="single query rate: share of queries without a space"),
    Col("hour_vector", pa.list_(pa.int32()), doc="24 local-hour counts"),
    Col("document", pa.list_(pa.string()), doc="nouns of the day's queries, in time order"),
    Col("hour_sum", pa.int32()),
], KEY, unique=("user_id",))

TEMPLATES = DatasetSpec("sa_templates", [
    Col("user_id", pa.string(), nullable=False),
    Col("state", pa.string(), values=TEMPLATE_STATES),
    Col("active_days", pa.int32(), min=0),
    Col("window_start", pa.string()),
    Col("window_end", pa.string()),
    Col("template_sqr", pa.float64()),
    Col("template_mean_count", pa.float64()),
    Col("time_template", pa.list_(pa.float64())),
    Col("time_days_present", pa.int32(), min=0, max=4, doc="of d-28, d-21, d-14, d-7"),
    Col("query_days_present", pa.int32(), min=0, max=10, doc="of the 10 query-template days"),
    Col("cv_count", pa.float64()),
    Col("self_sim_time", pa.float64()),
    Col("self_sim_query", pa.float64()),
    Col("uniqueness_time", pa.float64()),
    Col("uniqueness_query", pa.float64()),
], KEY, unique=("user_id",))
