"""Settings of the search-history authentication pipeline (env ``TRACKSCOPE_SA_<FIELD>``)."""
from __future__ import annotations

import dataclasses

from transforms.common.settings import DEFAULT_HOME, BaseSettings


@dataclasses.dataclass(frozen=True)
class SearchAuthSettings(BaseSettings):
    sa_input_dir: str = str(DEFAULT_HOME / "search_auth" / "input")  # AOL .txt/.tsv, .csv, .parquet files
    sa_timezone: str = "Asia/Tokyo"  # timezone of naive log timestamps; days are cut in this zone
    sa_max_query_chars: int = 256
    sa_template_days: int = 28
    sa_min_active_days: int = 7  # fewer active days in the window: "insufficient_history"
    sa_doc2vec_dims: int = 200
    sa_doc2vec_epochs: int = 20
    sa_doc2vec_min_count: int = 1
    sa_seed: int = 7
    sa_window_days: int = 63  # rolling retraining window (28 template days + train + holdout)
    sa_holdout_days: int = 7
    sa_rf_trees: int = 100
    sa_feature_set: str = "extended"  # "thesis" (4 features), "extended" (7) or "sparse" (11 + replay veto)
    sa_gate_metric: str = "accuracy"
    sa_gate_tolerance: float = 0.01
    sa_decision_threshold: float = 0.5
