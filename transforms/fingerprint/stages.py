"""The fingerprint pipeline's stages as functions of (settings, ds): what each DAG task calls.

Each stage reads its inputs from the lake and replaces its own partition(s), so a rerun or a
backfill of a date gives the same result as the daily run. Linking reads the device store of the
latest earlier day, so days are linked in date order (the DAG has ``depends_on_past``).
"""
from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

import pandas as pd

from transforms.common.models import ModelRegistry
from transforms.common import days
from transforms.common.inputs import NothingToDo
from transforms.common.quarantine import Quarantine
from transforms.fingerprint import checkpoints, evaluation, ingest, schemas
from transforms.fingerprint.linking import link_visits
from transforms.fingerprint.methods import Method, Ssdeep, all_methods
from transforms.fingerprint.model import LinkerModel, gate_rule, linker_method
from transforms.fingerprint.settings import FingerprintSettings
from transforms.fingerprint.table import VisitTable

log = logging.getLogger(__name__)
SETTINGS = FingerprintSettings  # what the DAGs load for these stages
LINKER = LinkerModel.name
FITTED = "fp_methods_fit"  # the nightly's fitted methods, shared by its evaluation shards


def _ingest_records(settings: FingerprintSettings, ds: str, records: list[dict], quarantine: Quarantine) -> pd.DataFrame:
    visits = ingest.normalise_records(records, ds, settings.fp_max_attribute_chars, quarantine, settings.collected)
    settings.lake.stage_partition(schemas.VISITS, ds, visits)
    quarantine.write(settings.lake, schemas.VISITS.name, schemas.KEY, ds)
    return visits


def ingest_visits(settings: FingerprintSettings, ds: str) -> dict:
    """The day's input files → ``fp_visits`` (+ quarantine)."""
    quarantine, records = Quarantine("ingest"), []
    files = ingest.day_files(settings.fp_input_dir, ds)
    for path in files:
        records += ingest.read_records(path, quarantine)
    visits = _ingest_records(settings, ds, records, quarantine)
    log.info("ingest %s: %d files, %d records → %d visits, %d quarantined %s, %d capped", ds, len(files),
             len(records), len(visits), len(quarantine), quarantine.counts(), (visits["capped"] != "").sum())
    return {"files": len(files), "visits": len(visits), "quarantined": len(quarantine)}


def _coverage_path(ds: str) -> str:
    return f"fingerprint/coverage/ds={ds}.json"


def record_coverage(settings: FingerprintSettings, ds: str, visits: pd.DataFrame) -> pd.DataFrame:
    """Attribute coverage of the visits (lake JSON, read by the report); low coverage is logged."""
    table = ingest.coverage(visits, settings.collected)
    settings.lake.write_json(_coverage_path(ds), {"ds": ds, "rows": table.to_dict("records")})
    low = table[table["collected"] & (table["share"] < settings.fp_coverage_warn)]
    if len(visits) and len(low):
        log.warning("coverage %s: collected attributes on fewer than %.0f%% of %d visits: %s", ds,
                    100 * settings.fp_coverage_warn, len(visits),
                    ", ".join(f"{r.attribute} {100 * r.share:.1f}%" for r in low.itertuples()))
    return table


def check_ingest(settings: FingerprintSettings, ds: str) -> None:
    visits = settings.lake.read_partition(schemas.VISITS, ds, staged=True)
    checkpoints.after_ingest(settings.lake, ds, visits, settings.fp_min_attributes, collected=settings.collected)
    record_coverage(settings, ds, visits)
    settings.lake.publish_staged(schemas.VISITS, ds)


def current_linker(settings: FingerprintSettings) -> Method:
    """The promoted linker, or ssdeep at the fallback threshold before the first promotion."""
    registry = ModelRegistry(settings.lake, LINKER)
    if registry.current_version() is None:
        return Ssdeep(threshold=settings.fp_fallback_threshold)
    return linker_method(registry.load())


def _previous_store(settings: FingerprintSettings, ds: str) -> pd.DataFrame:
    earlier = [p for p in settings.lake.partitions(schemas.STORE) if p < ds]
    return settings.lake.read_partition(schemas.STORE, earlier[-1]) if earlier else schemas.STORE.schema.empty_table().to_pandas()


def _link_and_store(settings: FingerprintSettings, store: pd.DataFrame, visits: pd.DataFrame, last_ds: str):
    method = current_linker(settings)
    links, after = link_visits(store, visits, method, settings.fp_store_keep, settings.fp_store_retention_days,
                               settings.fp_max_anonymity_set)
    settings.lake.stage_partition(schemas.STORE, last_ds, after)  # published with the links, after their check
    return links, after, method


def link_day(settings: FingerprintSettings, ds: str) -> dict:
    visits = settings.lake.read_partition(schemas.VISITS, ds)
    links, after, method = _link_and_store(settings, _previous_store(settings, ds), visits, ds)
    settings.lake.stage_partition(schemas.LINKS, ds, links)
    counts = links["decision"].value_counts().to_dict()
    log.info("link %s with %s@%.4g: %s; store %d fingerprints of %d devices", ds, method.name, method.linking_threshold,
             counts, len(after), after["device_id"].nunique())
    return {"method": method.name, **counts}


def check_links(settings: FingerprintSettings, ds: str) -> None:
    lake = settings.lake
    checkpoints.after_linking(lake, ds, lake.read_partition(schemas.VISITS, ds),
                              lake.read_partition(schemas.LINKS, ds, staged=True))
    lake.publish_staged(schemas.LINKS, ds)
    lake.publish_staged(schemas.STORE, ds)


def import_history(settings: FingerprintSettings, ds: str, source: str | None = None) -> dict:
    """Onboard a history (a folder of daily files, or one file) in one run: every day is
    ingested exactly as the daily DAG would, then all visits are linked in time order and the
    store snapshot is written for the last day (later daily runs continue from it)."""
    path = Path(source or settings.fp_input_dir)
    files = sorted(p for p in path.iterdir() if p.suffix in ingest.SUFFIXES) if path.is_dir() else [path]
    quarantine, records = Quarantine("import"), []
    for file in files:
        records += ingest.read_records(file, quarantine)
    by_day: dict[str, list[dict]] = {}
    for record in records:
        stamp = pd.to_datetime(record.get("ts"), utc=True, errors="coerce", format="ISO8601")
        if pd.isna(stamp) or stamp.strftime("%Y-%m-%d") > ds:
            quarantine.add({k: v for k, v in record.items() if k != "_source"},
                           "missing, unparsable or later-than-run timestamp", str(record.get("_source", "")))
            continue
        by_day.setdefault(stamp.strftime("%Y-%m-%d"), []).append(record)
    quarantine.write(settings.lake, schemas.VISITS.name, schemas.KEY, ds)
    frames, started = [], time.perf_counter()
    for day in sorted(by_day):
        frames.append(_ingest_records(settings, day, by_day[day], Quarantine("ingest")))
    visits = pd.concat(frames, ignore_index=True) if frames else schemas.VISITS.schema.empty_table().to_pandas()
    log.info("import: %d records from %d files → %d visits on %d days (%.1fs); %d quarantined", len(records),
             len(files), len(visits), len(by_day), time.perf_counter() - started, len(quarantine))
    store = _previous_store(settings, min(by_day) if by_day else ds)
    links, after, method = _link_and_store(settings, store, visits, max(by_day) if by_day else ds)
    for day, day_links in links.groupby(links["ts"].dt.strftime("%Y-%m-%d")):
        settings.lake.stage_partition(schemas.LINKS, day, day_links)
    settings.lake.write_json(_import_record(ds), {"days": sorted(by_day), "store_day": max(by_day) if by_day else ds})
    log.info("import linked %d visits with %s: %s; store %d fingerprints", len(links), method.name,
             links["decision"].value_counts().to_dict(), len(after))
    return {"days": len(by_day), "visits": len(visits), "quarantined": len(quarantine)}


def windows(settings: FingerprintSettings, ds: str) -> dict[str, tuple[str, str]]:
    """Disjoint (first, last) day windows ending at ``ds``: fit < calibration < test."""
    spans = days.windows(ds, {"fit": settings.fp_fit_days, "calibration": settings.fp_calibration_days,
                              "test": settings.fp_test_days})
    return {name: (span[0], span[-1]) for name, span in spans.items()}


def _window_visits(settings: FingerprintSettings, window: tuple[str, str]) -> pd.DataFrame:
    parts = [p for p in settings.lake.partitions(schemas.VISITS) if window[0] <= p <= window[1]]
    return settings.lake.read(schemas.VISITS, parts)


def _window_table(settings: FingerprintSettings, name: str, span: tuple[str, str]) -> VisitTable:
    visits = _window_visits(settings, span)
    if visits["uid"].notna().sum() < 2:
        raise ValueError(f"{name} window {span} has no labelled visits: ingest or import history first")
    log.info("%s window %s..%s: %d visits, %d UIDs", name, *span, len(visits), visits["uid"].nunique())
    return VisitTable(visits)


def _seeded_methods(settings: FingerprintSettings) -> list[Method]:
    methods = all_methods()
    for m in methods:
        if hasattr(m, "seed"):
            m.seed = settings.fp_seed
    return methods


def calibrate(settings: FingerprintSettings, ds: str) -> str:
    """Fit the learned methods on the fit window and set every method's threshold on the
    calibration window; stage the calibration and keep the fitted methods (a signed artifact in
    the ``fp_methods_fit`` registry) for the evaluation shards. Returns that artifact's version."""
    spans = windows(settings, ds)
    fit, calib = (_window_table(settings, name, spans[name]) for name in ("fit", "calibration"))
    methods = _seeded_methods(settings)
    started = time.perf_counter()
    calibration = evaluation.fit_and_calibrate(fit, calib, methods, settings.fp_max_different_pairs, settings.fp_seed,
                                               settings.fp_gate_max_false_merge)
    log.info("fit + calibration in %.1fs:\n%s", time.perf_counter() - started, calibration.to_string())
    calibration["fit_window"] = "..".join(spans["fit"])
    calibration["calibration_window"] = "..".join(spans["calibration"])
    settings.lake.stage_partition(schemas.CALIBRATION, ds, calibration)
    link_accuracy = float(calibration.set_index("method").loc["hybrid", "link_accuracy"])
    return ModelRegistry(settings.lake, FITTED).save(methods, {"seed": settings.fp_seed}, spans,
                                                     {"calibration_link_accuracy": link_accuracy})


def _shard_path(ds: str, fitted: str, shard: int, shards: int) -> str:
    return f"fingerprint/nightly/ds={ds}/{fitted}/shard-{shard}-of-{shards}.npz"


def eval_shards(settings: FingerprintSettings, ds: str) -> list[int]:
    if settings.fp_eval_shards < 1:
        raise ValueError(f"fp_eval_shards must be at least 1, not {settings.fp_eval_shards}")
    return list(range(settings.fp_eval_shards))


def score_shard(settings: FingerprintSettings, ds: str, fitted: str, shard: int) -> str:
    """Score shard ``shard`` of the test window's pairs with every fitted method; the per-threshold
    counts go to the lake (a NumPy archive) for :func:`evaluate_shards`."""
    methods = ModelRegistry(settings.lake, FITTED).load(fitted)
    test = _window_table(settings, "test", windows(settings, ds)["test"])
    started = time.perf_counter()
    counts = evaluation.count_pairs(test, methods, shard=shard, shards=settings.fp_eval_shards)
    log.info("shard %d/%d scored in %.1fs", shard + 1, settings.fp_eval_shards, time.perf_counter() - started)
    return settings.lake.write_bytes(_shard_path(ds, fitted, shard, settings.fp_eval_shards),
                                     evaluation.counts_to_npz(counts))


def evaluate_shards(settings: FingerprintSettings, ds: str, fitted: str) -> str:
    """Merge every shard's counts into the test window's evaluation, stage it, and register the
    hybrid linker as a candidate ``fp_linker`` model with the test metrics (returns its version)."""
    lake, shards = settings.lake, settings.fp_eval_shards
    counts = evaluation.merge_counts([evaluation.counts_from_npz(lake.read_bytes(_shard_path(ds, fitted, k, shards)))
                                      for k in range(shards)])
    methods = ModelRegistry(lake, FITTED).load(fitted)
    spans = windows(settings, ds)
    result = evaluation.evaluate(None, methods, counts)
    result["test_window"] = "..".join(spans["test"])
    lake.stage_partition(schemas.EVALUATION, ds, result)
    calibration = lake.read_partition(schemas.CALIBRATION, ds, staged=True)
    hybrid = next(m for m in methods if m.name == "hybrid")
    linking = link_evaluation(settings, _window_visits(settings, spans["test"]),
                              [m for m in methods if m.name in evaluation.LINKABLE])
    settings.lake.write_json(_linking_path(ds), {"ds": ds, "test_window": "..".join(spans["test"]), "rows": linking})
    by_method = {row["method"]: row for row in linking}
    overall = result[(result["bucket"] == "all")].set_index("method")
    metrics = {"link_accuracy": by_method["hybrid"]["link_accuracy"],
               "false_merge_rate": by_method["hybrid"]["false_merge_rate"],
               "returning_linked": by_method["hybrid"]["returning_linked"],
               "fp_plus_fn": float(2 - overall.loc["hybrid", "tp_rate"] - overall.loc["hybrid", "tn_rate"]),
               "eer": float(overall.loc["hybrid", "eer"]), "precision": float(overall.loc["hybrid", "precision"]),
               "ssdeep_fp_plus_fn": float(2 - overall.loc["ssdeep", "tp_rate"] - overall.loc["ssdeep", "tn_rate"]),
               "calibration_link_accuracy": float(calibration.set_index("method").loc["hybrid", "link_accuracy"])}
    ModelRegistry(lake, FITTED).prune(keep_last=3)
    return ModelRegistry(lake, LINKER).save(
        LinkerModel.from_settings(settings, hybrid, eval_shards=shards),
        {"threshold": hybrid.threshold, "link_threshold": hybrid.link_threshold, "seed": settings.fp_seed,
         "eval_shards": shards}, spans, metrics)


def calibrate_and_evaluate(settings: FingerprintSettings, ds: str) -> str:
    """The nightly's evaluation in one process (the DAG runs the shards as parallel tasks)."""
    fitted = calibrate(settings, ds)
    for shard in range(settings.fp_eval_shards):
        score_shard(settings, ds, fitted, shard)
    return evaluate_shards(settings, ds, fitted)


def _linking_path(ds: str) -> str:
    return f"fingerprint/linking/ds={ds}.json"


def link_evaluation(settings: FingerprintSettings, visits: pd.DataFrame, methods: list[Method]) -> list[dict]:
    """One-to-many linking of the test window's latest ``fp_gate_link_visits`` visits, in time
    order from an empty store, by each method at its calibrated linking threshold, with the
    production rules (keep, retention, anonymity set); judged by :func:`evaluation.linking_metrics`."""
    visits = visits.sort_values(["ts", "visit_id"]).tail(settings.fp_gate_link_visits).reset_index(drop=True)
    labels, source = evaluation.truth_labels(visits)
    empty = schemas.STORE.schema.empty_table().to_pandas()
    rows = []
    for method in methods:
        started = time.perf_counter()
        links, _ = link_visits(empty, visits, method, settings.fp_store_keep, settings.fp_store_retention_days,
                               settings.fp_max_anonymity_set)
        seconds = time.perf_counter() - started
        rows.append({"method": method.name, "threshold": float(method.linking_threshold), "labels": source,
                     **evaluation.linking_metrics(links, labels), "visits_per_s": len(visits) / max(seconds, 1e-9)})
        log.info("linking %s: %s", method.name, rows[-1])
    return rows


def threshold_ranges() -> dict[str, tuple[float, float]]:
    return {m.name: m.threshold_range for m in all_methods()}


def check_calibration(settings: FingerprintSettings, ds: str) -> None:
    lake = settings.lake
    earlier = [p for p in lake.partitions(schemas.CALIBRATION) if p < ds]
    previous = lake.read_partition(schemas.CALIBRATION, earlier[-1]) if earlier else pd.DataFrame(columns=["method", "threshold"])
    checkpoints.after_calibration(lake, ds, lake.read_partition(schemas.CALIBRATION, ds, staged=True),
                                  lake.read_partition(schemas.EVALUATION, ds, staged=True), previous,
                                  settings.fp_max_threshold_shift, threshold_ranges())
    lake.publish_staged(schemas.CALIBRATION, ds)
    lake.publish_staged(schemas.EVALUATION, ds)


def promotion_gate(settings: FingerprintSettings, ds: str, version: str) -> dict:
    """Promote the candidate if it is not worse than the current linker (FP+FN rate) *and* meets
    the absolute floors: linking accuracy on the test window ≥ ``fp_gate_min_link_accuracy`` and
    false-merge rate ≤ ``fp_gate_max_false_merge``. A refused candidate leaves the current linker
    (or the ssdeep fallback) in place; the reason goes to the registry history and the report."""
    decision = ModelRegistry(settings.lake, LINKER).gate(version, gate_rule(settings))
    return {"promoted": decision.promoted, "reason": decision.reason}


def build_report(settings: FingerprintSettings, ds: str) -> str:
    """Markdown (Table 5 layout + summary), CSVs and the TP-rate plot under reports/fingerprint/ds=<ds>/."""
    lake = settings.lake
    result = lake.read_partition(schemas.EVALUATION, ds)
    calibration = lake.read_partition(schemas.CALIBRATION, ds)
    links = lake.read(schemas.LINKS, [p for p in lake.partitions(schemas.LINKS) if p <= ds][-30:])
    linking = pd.DataFrame(lake.read_json(_linking_path(ds))["rows"]) if lake.exists(lake.path(_linking_path(ds))) else pd.DataFrame()
    gate = [d for d in ModelRegistry(lake, LINKER).decisions()]
    gate_text = (f"**{'promoted' if gate[-1]['promoted'] else 'REFUSED — the current linker stays'}** "
                 f"(candidate {gate[-1]['candidate']}): {gate[-1]['reason']}") if gate else "no gate decision yet"
    current = ModelRegistry(lake, LINKER).current_version()
    coverage_days = sorted(p for p in lake.list_files("fingerprint/coverage", ".json") if p.rsplit("ds=", 1)[-1][:10] <= ds)[-30:]
    coverage = pd.concat([pd.DataFrame(lake.read_json(f"fingerprint/coverage/{p}")["rows"]) for p in coverage_days],
                         ignore_index=True) \
        if coverage_days else pd.DataFrame(columns=["attribute", "collected", "visits", "present"])
    coverage = coverage.groupby("attribute", sort=False).agg(collected=("collected", "last"), visits=("visits", "sum"),
                                                              present=("present", "sum"))
    coverage["share"] = (coverage["present"] / coverage["visits"].clip(lower=1)).round(4)
    with tempfile.TemporaryDirectory() as tmp:
        evaluation.plot_tp_rate(result, f"{tmp}/tp_rate_by_gap.png")
        result.to_csv(f"{tmp}/evaluation.csv", index=False)
        calibration.to_csv(f"{tmp}/calibration.csv", index=False)
        text = [f"# Fingerprint linking: evaluation of {ds}", "",
                f"Fit window {calibration['fit_window'].iloc[0]}, calibration window "
                f"{calibration['calibration_window'].iloc[0]}, test window {result['test_window'].iloc[0]}.",
                "Labels: same cookie UID = same device (as in the paper). TP rate = same-UID pairs judged same; "
                "TN rate = different-UID pairs judged different.", "",
                "## TP / TN rate per time gap (paper's Table 5 layout)", "", evaluation.table5(result), "",
                "## Overall", "", evaluation.summary(result, calibration), "",
                "## Calibration (threshold where FP rate + FN rate is smallest on the calibration window)", "",
                calibration.to_markdown(index=False), "",
                "## One-to-many linking of the test window (time order, production rules)", "",
                "Right = a returning identity matched to itself, a new one left new (or abstained); false merge = "
                "a visit matched to another identity's visit. Identities: the `labels` column.", "",
                linking.to_markdown(index=False, floatfmt=".4f") if len(linking) else "(not measured)", "",
                "## Promotion gate", "", gate_text, "", f"Linker in use: {current or 'ssdeep fallback (nothing promoted)'}.", "",
                "## Linking, last 30 days", "", links.groupby("decision").size().rename("visits").to_frame().to_markdown(), "",
                "Anonymity sets (stored devices sharing the visit's fingerprint exactly):", "",
                links["anonymity_set"].dropna().clip(upper=5).map(lambda v: "≥5" if v >= 5 else str(int(v))).value_counts()
                .rename("visits").to_frame().to_markdown() if "anonymity_set" in links and links["anonymity_set"].notna().any()
                else "(none recorded)", "",
                "## Attribute coverage, last 30 ingested days", "", coverage.to_markdown(), "",
                "![TP rate against the time gap](tp_rate_by_gap.png)", ""]
        Path(f"{tmp}/report.md").write_text("\n".join(text), encoding="utf-8")
        target = lake.replace_dir_from_local(tmp, f"reports/fingerprint/ds={ds}")
    log.info("report written to %s", target)
    return target


def _import_record(ds: str) -> str:
    return f"fingerprint/imports/ds={ds}.json"


def check_import(settings: FingerprintSettings, ds: str) -> None:
    """Checkpoints over every day the import staged; only if all pass are the visits, links and
    the device store published (a failed import leaves the lake as it was)."""
    lake = settings.lake
    record = lake.read_json(_import_record(ds))
    days = record["days"]
    if not days:
        raise NothingToDo(f"the import of {ds} found no visits")
    visits = pd.concat([lake.read_partition(schemas.VISITS, d, staged=True) for d in days], ignore_index=True)
    links = pd.concat([lake.read_partition(schemas.LINKS, d, staged=True) for d in days], ignore_index=True)
    checkpoints.after_ingest(lake, ds, visits, settings.fp_min_attributes, days=days, collected=settings.collected)
    record_coverage(settings, ds, visits)
    checkpoints.after_linking(lake, ds, visits, links)
    for day in days:
        lake.publish_staged(schemas.VISITS, day)
        lake.publish_staged(schemas.LINKS, day)
    lake.publish_staged(schemas.STORE, record["store_day"])
