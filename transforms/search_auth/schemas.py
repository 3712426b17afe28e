"""Datasets of the search-history authentication pipeline, all partitioned by local day ``ds``."""
import pyarrow as pa

from transforms.common.lake import DatasetSpec

KEY = "ds"

QUERIES = DatasetSpec("sa_queries", pa.schema([
    ("user_id", pa.string()),
    ("ts", pa.timestamp("us", tz="UTC")),
    ("hour", pa.int8()),  # local hour in the log's timezone
    ("query", pa.string()),
    ("source", pa.string()),  # input file name
]), KEY)

DAILY_FEATURES = DatasetSpec("sa_daily_features", pa.schema([
    ("user_id", pa.string()),
    ("search_count", pa.int32()),
    ("sqr", pa.float64()),  # single query rate: share of queries without a space
    ("hour_vector", pa.list_(pa.int32())),  # 24 local-hour counts
    ("document", pa.list_(pa.string())),  # nouns of the day's queries, in time order
    ("hour_sum", pa.int32()),
]), KEY)

TEMPLATES = DatasetSpec("sa_templates", pa.schema([
    ("user_id", pa.string()),
    ("state", pa.string()),  # ok | partial | insufficient_history
    ("active_days", pa.int32()),
    ("window_start", pa.string()),
    ("window_end", pa.string()),
    ("template_sqr", pa.float64()),
    ("template_mean_count", pa.float64()),
    ("time_template", pa.list_(pa.float64())),
    ("time_days_present", pa.int32()),  # of d-28, d-21, d-14, d-7
    ("query_days_present", pa.int32()),  # of the 10 query-template days
    ("cv_count", pa.float64()),
    ("self_sim_time", pa.float64()),
    ("self_sim_query", pa.float64()),
    ("uniqueness_time", pa.float64()),
    ("uniqueness_query", pa.float64()),
]), KEY)

TEMPLATE_STATES = ["ok", "partial", "insufficient_history"]
