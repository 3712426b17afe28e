"""Settings of the member-ID pipeline and API (env ``TRACKSCOPE_MID_*``)."""
import dataclasses

from transforms.common.settings import DEFAULT_HOME, BaseSettings


@dataclasses.dataclass(frozen=True)
class MemberIdSettings(BaseSettings):
    # inputs
    mid_log_dir: str = str(DEFAULT_HOME / "member_id/logs")  # access-YYYY-MM-DD.{log,csv,parquet}
    # where the member is: "user" (%u), "header:<name>", "cookie:<name>", "column:<name>" or "map:<csv>"
    # (request_id,member_id joined on the log's request id); see transforms/member_id/ingest.py
    mid_member_field: str = "user"
    mid_log_extra_fields: str = ""  # names of the quoted fields after the User-Agent, in order: "X-Member-Id,Cookie"
    mid_request_id_field: str = "request_id"  # the extra field / column holding the request id (map:)
    mid_city_mmdb: str = str(DEFAULT_HOME / "member_id/geo/City.mmdb")
    # optional ("" = City alone): a GeoIP2-ISP mmdb, a GeoLite2-ASN mmdb or an IP-range → ASN CSV/TSV
    mid_isp_mmdb: str = str(DEFAULT_HOME / "member_id/geo/ISP.mmdb")
    # model
    mid_train_days: int = 14  # store/training window ending two days before the run date
    mid_train_pairs: int = 200_000
    mid_negative_ratio: float = 1.0  # negatives per positive
    mid_hard_negative_share: float = 0.5  # negatives drawn from the same candidate block
    mid_pair_chunk: int = 50_000  # pairs per streamed chunk
    mid_gbm_max_pairs: int = 400_000  # gradient boosting is fitted in memory: capped sample
    mid_mlp_hidden: str = "500,500,500,50"  # the paper's architecture
    mid_mlp_epochs: int = 2
    mid_served_model: str = "gbm"  # gbm | mlp: the model the gate considers for promotion
    mid_gate_tolerance: float = 0.01
    mid_no_member_precision: float = 0.9  # no-member threshold: highest recall at this precision (calibration day)
    mid_max_candidates: int = 400
    mid_block_per_member: int = 1  # a candidate block keeps this many accesses per member (0: no limit)
    mid_eval_queries: int = 2000  # evaluation/calibration queries sampled per day (0: all)
    mid_seed: int = 7
    # API
    mid_api_db_url: str = "sqlite:///" + str(DEFAULT_HOME / "member_id/api.sqlite")
    mid_api_workers: int = 2
    mid_api_rate_per_minute: int = 6000
    mid_api_reload_s: float = 10.0
    mid_api_lease_s: float = 60.0
    mid_api_max_attempts: int = 3  # a request failing this many times ends `error` with the reason
    mid_api_retry_s: float = 1.0  # back-off before attempt n+1 is n × this
    mid_api_retention_days: float = 7.0  # raw ip / time / user agent of finished requests are erased after it
    # larger request bodies get 413; above the largest valid body (~26 KB with every character \u-escaped),
    # so a schema-valid request never gets 413
    mid_api_max_body_bytes: int = 65_536
