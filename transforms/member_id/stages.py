"""Pipeline stages called by the DAGs: each takes (settings, ds) and works on that day only.

Daily (``member_id_ingest``): ingest → check_accesses → enrich → check_enriched.
Nightly (``member_id_retrain``) for run date D: the store/training window is the
``mid_train_days`` days ending D-2, the no-member threshold is calibrated on D-1 and the report is
measured on D (time split; none of these overlap). The served estimator then indexes the window
up to D, so the API knows the newest accesses. The gate compares the candidate with the promoted
model re-measured on the same store, calibration and test days.
"""
from __future__ import annotations

import json
import logging
import pandas as pd

from transforms.common.days import shift, window
from transforms.common.models import GateRule, ModelRegistry
from transforms.common.quarantine import Quarantine
from transforms.member_id import evaluation, training
from transforms.member_id.enrich import enrich
from transforms.member_id.estimator import Estimator, usable_store
from transforms.member_id.geo import GeoLookup
from transforms.member_id.model import MemberModel, calibrated_estimator, measure
from transforms.member_id.ingest import MemberSource, input_index, read_day
from transforms.member_id.schemas import ACCESSES, ENRICHED, KEY
from transforms.member_id.settings import MemberIdSettings

log = logging.getLogger(__name__)
MODEL_NAME = MemberModel.name
PAIR_MODELS = "member_id_pair_models"  # a run's trained classifiers, between training and evaluation
SETTINGS = MemberIdSettings  # what the DAGs load for these stages


def ingest_day(settings, ds: str) -> dict:
    quarantine = Quarantine("ingest")
    source = MemberSource(settings.mid_member_field, settings.mid_log_extra_fields, settings.mid_request_id_field)
    frame, counts = read_day(settings.mid_log_dir, ds, source, quarantine,
                             input_index(settings.lake))
    quarantine.write(settings.lake, ACCESSES.name, KEY, ds)
    settings.lake.stage_partition(ACCESSES, ds, frame)
    return counts


def check_accesses(settings, ds: str) -> None:
    import great_expectations as gx
    from transforms.common.validation import run_checkpoint

    frame = settings.lake.read_partition(ACCESSES, ds, staged=True)
    frame["day"] = frame["ts"].dt.strftime("%Y-%m-%d")
    run_checkpoint(settings.lake, "member_id_accesses", ds, frame, [
        gx.expectations.ExpectColumnValuesToBeInSet(column="day", value_set=[ds]),
    ], spec=ACCESSES)
    settings.lake.publish_staged(ACCESSES, ds)


def enrich_day(settings, ds: str) -> dict:
    geo = GeoLookup(settings.mid_city_mmdb, settings.mid_isp_mmdb)  # GeoConfigError here, before any row
    log.info("GeoIP setup: %s", geo.describe())
    try:
        enriched = enrich(settings.lake.read_partition(ACCESSES, ds), geo)
    finally:
        geo.close()
    settings.lake.stage_partition(ENRICHED, ds, enriched)
    counts = {"accesses": len(enriched), "bots": int(enriched["is_bot"].sum()),
              "not_estimable": int((enriched["unusable"] != "").sum()),
              "with_missing_fields": int((enriched["missing_fields"] != "").sum()),
              "ipv6": int((enriched["ip_version"] == 6).sum())}
    log.info("enriched %s: %s; evidence levels: %s; missing fields: %s", ds, counts,
             enriched["evidence"].value_counts().head(12).to_dict(),
             enriched.loc[enriched["missing_fields"] != "", "missing_fields"].value_counts().head(12).to_dict())
    return counts


def check_enriched(settings, ds: str) -> None:
    import great_expectations as gx
    from transforms.common.validation import run_checkpoint

    frame = settings.lake.read_partition(ENRICHED, ds, staged=True)
    # bots are not estimated by design and real logs can be mostly bots: only the others must
    # mostly carry usable evidence
    is_bot = frame["is_bot"].fillna(False).astype(bool)
    frame = frame.assign(unusable_not_bot=frame["unusable"].where(~is_bot, ""))
    run_checkpoint(settings.lake, "member_id_enriched", ds, frame, [
        # most accesses must carry usable evidence, or the GeoIP files / UA parser are wrong
        # (missing city/ISP/versions are normal: they fall back to coarser evidence)
        gx.expectations.ExpectColumnValuesToBeInSet(column="unusable_not_bot", value_set=[""], mostly=0.5),
    ], spec=ENRICHED)
    settings.lake.publish_staged(ENRICHED, ds)


def _enriched(settings, days: list[str]) -> pd.DataFrame:
    have = set(settings.lake.partitions(ENRICHED))
    missing = [d for d in days if d not in have]
    if missing:
        log.warning("enriched partitions missing, skipped: %s", missing)
    return settings.lake.read(ENRICHED, [d for d in days if d in have])


def _run_dir(ds: str) -> str:
    return f"member_id/runs/ds={ds}"


def train_models(settings, ds: str) -> dict:
    train_days = window(shift(ds, -2), settings.mid_train_days)
    store = usable_store(_enriched(settings, train_days))
    if store["member_id"].nunique() < 2:
        raise ValueError(f"training window {train_days[0]}..{train_days[-1]} has {len(store)} usable accesses: ingest first")
    models = training.fit_pair_models(store, ("gbm", "mlp"), pair_settings(settings))
    # the trained pair models reach evaluate_models as a signed registry artifact, never a bare pickle
    registry = ModelRegistry(settings.lake, PAIR_MODELS)
    version = registry.save(models, {"pairs": settings.mid_train_pairs, "seed": settings.mid_seed},
                            {"train": [train_days[0], train_days[-1]]}, {})
    registry.prune(keep_last=3)
    info = {"window": [train_days[0], train_days[-1]], "store_accesses": len(store),
            "store_members": int(store["member_id"].nunique()), "pairs": settings.mid_train_pairs,
            "pair_models": version}
    settings.lake.write_json(f"{_run_dir(ds)}/train.json", info)
    return info


def pair_settings(settings) -> dict:
    """The pair-training settings, as :func:`training.fit_pair_models` takes them."""
    return {"pairs": settings.mid_train_pairs, "chunk": settings.mid_pair_chunk,
            "negative_ratio": settings.mid_negative_ratio, "hard_negative_share": settings.mid_hard_negative_share,
            "seed": settings.mid_seed, "gbm_max_pairs": settings.mid_gbm_max_pairs,
            "mlp_hidden": settings.mid_mlp_hidden, "mlp_epochs": settings.mid_mlp_epochs}


def gate_rule(settings) -> GateRule:
    return GateRule("decision_accuracy", tolerance=settings.mid_gate_tolerance)


def _sample(queries: pd.DataFrame, settings) -> pd.DataFrame:
    if settings.mid_eval_queries and len(queries) > settings.mid_eval_queries:
        return queries.sample(settings.mid_eval_queries, random_state=settings.mid_seed).reset_index(drop=True)
    return queries


def _held_out(settings, ds: str) -> tuple[pd.DataFrame, str, pd.DataFrame, pd.DataFrame]:
    """(store of the training window, calibration day, its queries, the test day's queries) of run ``ds``."""
    info = settings.lake.read_json(f"{_run_dir(ds)}/train.json")
    store = usable_store(_enriched(settings, window(info["window"][1], settings.mid_train_days)))
    calibration_day = shift(ds, -1)
    calibration = _sample(evaluation.member_rows(_enriched(settings, [calibration_day])), settings)
    test = _sample(evaluation.member_rows(_enriched(settings, [ds])), settings)
    if calibration.empty or test.empty:
        raise ValueError(f"need enriched accesses on {calibration_day} (calibration) and {ds} (test)")
    return store, calibration_day, calibration, test


def _measure(model, store, calibration, test, settings) -> dict:
    """Metrics of a pair model on held-out days: no-member threshold (for the target no-member
    precision) and isotonic calibrator fitted on one, measured on the other."""
    estimator, calibration = calibrated_estimator(model, store, calibration, settings.mid_max_candidates,
                                                  settings.mid_block_per_member, settings.mid_no_member_precision)
    result = measure(estimator, test)
    result["calibration"] = {k: v for k, v in calibration.items() if k not in ("calibrator", "decision_model")}
    result["_calibrator"] = (calibration["calibrator"], calibration["decision_model"])
    return result


def evaluate_models(settings, ds: str) -> dict:
    """Calibrate on D-1, measure on D, for both models and for the currently promoted one (the
    gate compares on these same days); save the served model as a candidate version."""
    info = settings.lake.read_json(f"{_run_dir(ds)}/train.json")
    models = ModelRegistry(settings.lake, PAIR_MODELS).load(info["pair_models"])
    store, calibration_day, calibration, test = _held_out(settings, ds)
    results, calibrators = {}, {}
    for kind, model in models.items():
        results[kind] = _measure(model, store, calibration, test, settings)
        calibrators[kind] = results[kind].pop("_calibrator")
        log.info("%s on %s: %s", kind, ds, {k: v for k, v in results[kind].items()
                                            if k not in ("accuracy_by_stored_accesses", "no_member_curve",
                                                         "accuracy_by_evidence")})
    registry = ModelRegistry(settings.lake, MODEL_NAME)
    current = _current_on_same_days(settings, registry, ds, (store, calibration, test))
    served = settings.mid_served_model
    full_window = window(ds, settings.mid_train_days + 2)
    estimator = Estimator(models[served], usable_store(_enriched(settings, full_window)),
                          threshold=results[served]["threshold"], max_candidates=settings.mid_max_candidates,
                          block_per_member=settings.mid_block_per_member, calibrator=calibrators[served][0],
                          decision_model=calibrators[served][1])
    version = registry.save(
        estimator, params={"model": served, "pairs": settings.mid_train_pairs, "mlp_hidden": settings.mid_mlp_hidden,
                           "max_candidates": settings.mid_max_candidates,
                           "block_per_member": settings.mid_block_per_member},
        data_window={"train": info["window"], "calibration": calibration_day, "test": ds,
                     "served_store": [full_window[0], full_window[-1]]},
        metrics={k: v for k, v in results[served].items() if isinstance(v, (int, float))})
    report = {"ds": ds, "data": data_source(settings.mid_log_dir),
              "train": info, "calibration_day": calibration_day, "test_day": ds, "served_model": served,
              "candidate_version": version, "current_model_same_days": current, "models": results}
    settings.lake.write_json(f"{_run_dir(ds)}/candidate.json", {"version": version, "current": current})
    settings.lake.write_json(f"reports/member_id/ds={ds}/metrics.json", report)
    settings.lake.write_bytes(f"reports/member_id/ds={ds}/report.md", render_report(report).encode())
    return {"version": version, **{k: v["top1_accuracy_known"] for k, v in results.items()}}


def _current_on_same_days(settings, registry: ModelRegistry, ds: str, held_out=None) -> dict | None:
    """The promoted model's pair classifier re-measured on run ``ds``'s store, calibration and
    test days (its own metrics came from other days); None before any promotion."""
    version = registry.current_version()
    if version is None:
        return None
    if held_out is None:
        store, _, calibration, test = _held_out(settings, ds)
    else:
        store, calibration, test = held_out
    metrics = _measure(registry.load(version).model, store, calibration, test, settings)
    metrics.pop("_calibrator")
    log.info("current model %s on the candidate's days: %s", version,
             {k: v for k, v in metrics.items() if k != "accuracy_by_stored_accesses"})
    return {"version": version, "metrics": {k: v for k, v in metrics.items() if isinstance(v, (int, float))}}


def promotion_gate(settings, ds: str) -> dict:
    """Promote the candidate unless its decision accuracy is worse, by more than the tolerance,
    than the current model's on the same store, calibration and test days."""
    candidate = settings.lake.read_json(f"{_run_dir(ds)}/candidate.json")
    registry = ModelRegistry(settings.lake, MODEL_NAME)
    current = candidate.get("current")
    if registry.current_version() not in (None, (current or {}).get("version")):
        current = _current_on_same_days(settings, registry, ds)  # promoted since the evaluation: measure it now
    decision = registry.gate(candidate["version"], gate_rule(settings),
                             current_metrics=current["metrics"] if current else None)
    return {"promoted": decision.promoted, "version": candidate["version"], "reason": decision.reason,
            "current_value_same_days": decision.current_value}


def data_source(log_dir: str) -> str:
    """What the logs are: the generator leaves GENERATED.json in the folder it writes."""
    from pathlib import Path

    marker = Path(log_dir) / "GENERATED.json"
    if marker.is_file():
        info = json.loads(marker.read_text())
        return (f"generated by transforms/synthetic/member_id_logs.py ({info.get('members')} members, seed "
                f"{info.get('seed')}, {info.get('days')} days; not real logs)")
    return f"access logs in {log_dir} (not written by the trackscope generator)"


def _fmt(value) -> str:
    return "–" if value is None else (f"{value:.3f}" if isinstance(value, float) else str(value))


def render_report(report: dict) -> str:
    rows = ["coverage", "coverage_paper_required_fields", "top1_accuracy_known", "top3_accuracy_known",
            "top1_accuracy_answered", "top1_accuracy_known_vote_only", "no_member_precision", "no_member_recall",
            "known_told_no_member", "decision_accuracy", "calibration_error", "calibration_error_raw_likelihood",
            "blocking_recall", "mean_candidates", "threshold", "known_queries", "unseen_queries"]
    kinds = list(report["models"])
    lines = [f"# Member-ID estimation report, {report['ds']}", "",
             f"Data: {report['data']}. Store/training window {report['train']['window'][0]}..{report['train']['window'][1]}"
             f" ({report['train']['store_accesses']} accesses, {report['train']['store_members']} members, "
             f"{report['train']['pairs']} training pairs); threshold calibrated on {report['calibration_day']};"
             f" measured on {report['test_day']}. Prior work (paper): 87% top-1.", "",
             "| metric | " + " | ".join(kinds) + " |", "|---|" + "---|" * len(kinds)]
    lines += [f"| {r} | " + " | ".join(_fmt(report["models"][k].get(r)) for k in kinds) + " |" for r in rows]
    lines += ["", "Top-1/top-3 are over all accesses of known members (unanswered ones count as wrong); "
              "coverage_paper_required_fields: share the paper's setup (ISP, city, OS and browser versions "
              "all required) would have answered. No-member threshold chosen on the calibration day for "
              + ", ".join(f"{k}: precision ≥ {report['models'][k]['calibration']['target_precision']} "
                          f"({'reached' if report['models'][k]['calibration']['target_reached'] else 'NOT reached'}"
                          f" there: {_fmt(report['models'][k]['calibration']['calibration_precision'])} / recall "
                          f"{_fmt(report['models'][k]['calibration']['calibration_recall'])})" for k in kinds) + ".",
              "", "No-member precision / recall on the test day by threshold:", "",
              "| threshold | " + " | ".join(f"{k} precision | {k} recall" for k in kinds) + " |",
              "|---|" + "---|---|" * len(kinds)]
    for i, point in enumerate(report["models"][kinds[0]]["no_member_curve"]):
        lines.append(f"| {point['threshold']:.2f} | " + " | ".join(
            f"{_fmt(report['models'][k]['no_member_curve'][i]['precision'])} | "
            f"{_fmt(report['models'][k]['no_member_curve'][i]['recall'])}" for k in kinds) + " |")
    lines += ["", "Top-1 accuracy by stored accesses of the true member:", "",
              "| stored accesses | queries | " + " | ".join(kinds) + " |", "|---|---|" + "---|" * len(kinds)]
    for bucket, cell in report["models"][kinds[0]]["accuracy_by_stored_accesses"].items():
        lines.append(f"| {bucket} | {cell['queries']} | " + " | ".join(
            _fmt(report["models"][k]["accuracy_by_stored_accesses"][bucket]["top1_accuracy"]) for k in kinds) + " |")
    lines += ["", "Top-1 accuracy by the place evidence of the access (country = e.g. mobile carrier ranges):", "",
              "| evidence | queries | " + " | ".join(kinds) + " |", "|---|---|" + "---|" * len(kinds)]
    for level, cell in report["models"][kinds[0]].get("accuracy_by_evidence", {}).items():
        lines.append(f"| {level} | {cell['queries']} | " + " | ".join(
            _fmt(report["models"][k]["accuracy_by_evidence"][level]["top1_accuracy"]) for k in kinds) + " |")
    current = report.get("current_model_same_days")
    if current:
        lines += ["", f"Currently promoted model {current['version']} on the same store, calibration and test days"
                      f" (what the gate compares): decision_accuracy {_fmt(current['metrics'].get('decision_accuracy'))},"
                      f" top1_accuracy_known {_fmt(current['metrics'].get('top1_accuracy_known'))}."]
    lines += ["", f"Served model: {report['served_model']}, candidate version {report['candidate_version']}", "",
              "```json", json.dumps({k: v for k, v in report.items() if k != "models"}, indent=1, default=str), "```"]
    return "\n".join(lines) + "\n"


def purge_api_requests(settings, ds: str) -> dict:
    """Erase ip, access time and User-Agent of the API's requests finished more than
    ``mid_api_retention_days`` ago (request store ``mid_api_db_url``); results and usage counts
    stay. Scheduled hourly by ``member_id_api_purge``; the cutoff is the time of the run, ``ds``
    only names it."""
    from transforms.member_id.api import db

    engine = db.connect(settings.mid_api_db_url)
    try:
        purged = db.purge_raw(engine, settings.mid_api_retention_days * 86400.0)
    finally:
        engine.dispose()
    log.info("purged the raw fields of %d API requests finished over %s days ago", purged,
             settings.mid_api_retention_days)
    return {"purged": purged, "retention_days": settings.mid_api_retention_days}
