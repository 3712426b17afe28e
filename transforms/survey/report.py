"""Survey report for one crawl: ``reports/survey/crawl_id=<id>/`` in the lake.

``index.html`` (self-contained apart from the PNG charts next to it) plus every table as
``tables/<name>.csv`` and ``tables/<name>.parquet``. Sections: crawl summary, adoption per
service (.jp vs other, like the paper's table), categories of adopting sites, privacy-policy
disclosure classes vs Google Analytics, and the change since the previous crawl.

Counting rules:
* the denominator of every adoption percentage is the number of sites **visited successfully**
  (outcome ``ok``) in that group; failed visits are counted and shown separately, never in it;
* a site adopts a service when a request went to the service (``evidence_source = requests``);
  script snippets found only in the HTML (``html``, e.g. blocked by a consent banner) are shown
  in their own column and are not counted as adoption;
* "any SRS" counts sites with at least one ``session_replay`` service (Google Analytics, kind
  ``analytics``, is shown for comparison and is not part of it).
"""
from __future__ import annotations

import html as html_lib
import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from jinja2 import Environment, FileSystemLoader, select_autoescape  # noqa: E402

from transforms.survey import schemas  # noqa: E402
from transforms.survey.detect import ADOPTION_EVIDENCE, EVIDENCE_RANK  # noqa: E402
from transforms.survey.stats import difference, mcnemar_exact, wilson  # noqa: E402

WEAK_EVIDENCE = [k for k in EVIDENCE_RANK if k not in ADOPTION_EVIDENCE]  # global, html

GROUPS = ["jp", "other"]
GROUP_LABELS = {"jp": ".jp", "other": "other"}
ANY_SRS = "any_srs"
TEMPLATE_DIR = Path(__file__).with_name("templates")
plt.rcParams["font.family"] = ["Noto Sans CJK JP", "DejaVu Sans"]


# ---------------------------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------------------------
def service_list(signatures) -> list[dict]:
    """[{id, name, kind}] from a Signatures object, {id: entry} dict, {"services": [...]} or a list."""
    if hasattr(signatures, "services") and not isinstance(signatures, dict):
        entries = [s.as_dict() if hasattr(s, "as_dict") else dict(s) for s in signatures.services]
    elif isinstance(signatures, dict) and "services" in signatures:
        entries = list(signatures["services"])
    elif isinstance(signatures, dict):
        entries = [dict(v, id=v.get("id", k)) for k, v in signatures.items()]
    else:
        entries = list(signatures)
    return [{"id": e["id"], "name": e.get("name", e["id"]), "kind": e.get("kind", "session_replay")} for e in entries]


def _ok_sites(visits: pd.DataFrame) -> pd.DataFrame:
    ok = visits[visits["outcome"] == "ok"]
    return ok.drop_duplicates("domain")[["domain", "group"]]


def _adopted(visits: pd.DataFrame, detections: pd.DataFrame) -> pd.DataFrame:
    """(domain, group, service_id, kind) of request-evidenced detections on ok sites."""
    ok = _ok_sites(visits)
    hits = detections[(detections["detected"].fillna(False).astype(bool)) &
                      (detections["evidence_source"].isin(ADOPTION_EVIDENCE))]
    hits = hits[["domain", "service_id", "kind"]].drop_duplicates()
    return hits.merge(ok, on="domain", how="inner")


def _pct(n, d) -> float:
    return round(100.0 * n / d, 1) if d else float("nan")


# ---------------------------------------------------------------------------------------------
# tables
# ---------------------------------------------------------------------------------------------
def crawl_summary(visits: pd.DataFrame, site_list: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per group (and total): sites listed, visited, ok, and failures per outcome (separate)."""
    rows = []
    last = visits.sort_values("started_at").drop_duplicates("domain", keep="last") if len(visits) else visits
    for group in GROUPS + ["total"]:
        v = last if group == "total" else last[last["group"] == group]
        if site_list is not None and len(site_list):
            listed = len(site_list) if group == "total" else int((site_list["group"] == group).sum())
        else:
            listed = len(v)
        row = {"group": GROUP_LABELS.get(group, group), "listed": listed, "visited": len(v),
               "ok": int((v["outcome"] == "ok").sum()), "failed": int((v["outcome"] != "ok").sum())}
        for outcome in schemas.OUTCOMES[1:]:
            row[f"failed_{outcome}"] = int((v["outcome"] == outcome).sum())
        row["not_visited"] = max(listed - len(v), 0)
        rows.append(row)
    return pd.DataFrame(rows)


def adoption_table(visits: pd.DataFrame, detections: pd.DataFrame, signatures) -> pd.DataFrame:
    """Sites per service and group, with % of the group's successfully visited sites.

    Columns: service_id, service, kind, then per group g in (jp, other): ``g_sites``, ``g_pct``,
    ``g_pct_low`` / ``g_pct_high`` (95 % Wilson score interval), ``g_html_only`` (snippet or
    global seen but no request), ``g_ok`` (the denominator); then the .jp − other difference in
    percentage points with its 95 % interval (Newcombe) and Fisher's exact p-value.
    Last rows: ``any_srs`` (sites with ≥ 1 session-replay service), then analytics services.
    """
    services = service_list(signatures)
    ok = _ok_sites(visits)
    denom = {g: int((ok["group"] == g).sum()) for g in GROUPS}
    adopted = _adopted(visits, detections)
    html_only = detections[(detections["detected"].fillna(False).astype(bool)) &
                           (detections["evidence_source"].isin(WEAK_EVIDENCE))].merge(ok, on="domain", how="inner",
                                                                                      suffixes=("_det", ""))
    rows = []

    def add(sid, name, kind, sites: pd.DataFrame, html: pd.DataFrame):
        row = {"service_id": sid, "service": name, "kind": kind}
        for g in GROUPS:
            n = int(sites[sites["group"] == g]["domain"].nunique())
            low, high = wilson(n, denom[g])
            row[f"{g}_sites"] = n
            row[f"{g}_pct"] = _pct(n, denom[g])
            row[f"{g}_pct_low"] = round(100 * low, 1) if denom[g] else float("nan")
            row[f"{g}_pct_high"] = round(100 * high, 1) if denom[g] else float("nan")
            row[f"{g}_html_only"] = int(html[html["group"] == g]["domain"].nunique())
            row[f"{g}_ok"] = denom[g]
        diff = difference(row["jp_sites"], denom["jp"], row["other_sites"], denom["other"])
        row["diff_pp"] = round(100 * diff["diff"], 1) if denom["jp"] and denom["other"] else float("nan")
        row["diff_low_pp"] = round(100 * diff["diff_low"], 1) if denom["jp"] and denom["other"] else float("nan")
        row["diff_high_pp"] = round(100 * diff["diff_high"], 1) if denom["jp"] and denom["other"] else float("nan")
        row["fisher_p"] = diff["p_value"]
        rows.append(row)

    srs = [s for s in services if s["kind"] == "session_replay"]
    srs_rows = []
    for s in srs:
        add(s["id"], s["name"], s["kind"], adopted[adopted["service_id"] == s["id"]],
            html_only[html_only["service_id"] == s["id"]])
        srs_rows.append(rows.pop())
    srs_rows.sort(key=lambda r: -(r["jp_sites"] + r["other_sites"]))
    rows.extend(srs_rows)
    srs_ids = {s["id"] for s in srs}
    any_sites = adopted[adopted["service_id"].isin(srs_ids)]
    any_html = html_only[html_only["service_id"].isin(srs_ids) & ~html_only["domain"].isin(any_sites["domain"])]
    add(ANY_SRS, "any SRS", "session_replay", any_sites, any_html)
    for s in services:
        if s["kind"] != "session_replay":
            add(s["id"], s["name"], s["kind"], adopted[adopted["service_id"] == s["id"]],
                html_only[html_only["service_id"] == s["id"]])
    return pd.DataFrame(rows)


def failed_visit_detections(visits: pd.DataFrame, detections: pd.DataFrame) -> pd.DataFrame:
    """Services seen on visits that did not end ``ok`` (timeout, crash, …): their requests were
    captured before the failure. Listed here, never counted in adoption or its denominators."""
    columns = ["domain", "group", "outcome", "partial", "service_id", "service", "evidence_source", "evidence"]
    if not len(visits) or not len(detections):
        return pd.DataFrame(columns=columns)
    failed = visits[visits["outcome"] != "ok"].drop_duplicates("domain")[["domain", "outcome", "partial"]]
    hits = detections[detections["detected"].fillna(False).astype(bool)]
    out = hits.merge(failed, on="domain", how="inner")
    out = out.assign(service=out["service_name"], group=out["group"].map(GROUP_LABELS),
                     evidence=out["evidence_urls"].map(lambda v: " ".join(list(v)[:3]) if v is not None else ""))
    return out[columns].sort_values(["service_id", "domain"]).reset_index(drop=True)


def category_table(visits: pd.DataFrame, detections: pd.DataFrame, categories: pd.DataFrame,
                   signatures) -> pd.DataFrame:
    """Categories of sites adopting any SRS, per group: category, g_sites, g_pct (of adopters)."""
    srs_ids = {s["id"] for s in service_list(signatures) if s["kind"] == "session_replay"}
    adopted = _adopted(visits, detections)
    sites = adopted[adopted["service_id"].isin(srs_ids)][["domain", "group"]].drop_duplicates()
    cats = categories.drop_duplicates("domain")[["domain", "category"]]
    sites = sites.merge(cats, on="domain", how="left")
    sites["category"] = sites["category"].fillna("Uncategorized")
    out = sites.groupby(["category", "group"]).size().unstack("group", fill_value=0)
    for g in GROUPS:
        if g not in out.columns:
            out[g] = 0
    out = out[GROUPS].reset_index()
    frame = pd.DataFrame({"category": out["category"]})
    for g in GROUPS:
        total = int(out[g].sum())
        frame[f"{g}_sites"] = out[g].astype(int)
        frame[f"{g}_pct"] = [_pct(n, total) for n in out[g]]
    frame["_total"] = frame["jp_sites"] + frame["other_sites"]
    return frame.sort_values(["_total", "category"], ascending=[False, True]).drop(columns="_total").reset_index(drop=True)


def disclosure_table(visits: pd.DataFrame, detections: pd.DataFrame, disclosures: pd.DataFrame,
                     signatures) -> pd.DataFrame:
    """Disclosure classes per service and group (counts and % of classified sites).

    Rows: each session-replay service with disclosures, ``any_srs`` (all site × SRS pairs), and
    the analytics services restricted to the same sites (sites that adopt some SRS), the paper's
    comparison. Only adopting (request-evidenced, ok) sites are counted.
    """
    services = service_list(signatures)
    names = {s["id"]: s["name"] for s in services}
    kinds = {s["id"]: s["kind"] for s in services}
    adopted = _adopted(visits, detections)[["domain", "service_id", "group"]]
    d = disclosures.drop(columns=["group"], errors="ignore").merge(adopted, on=["domain", "service_id"], how="inner")
    srs_sites = set(adopted[adopted["service_id"].map(kinds) == "session_replay"]["domain"])
    rows = []

    def add(sid, label, part):
        for g in GROUPS:
            p = part[part["group"] == g]
            row = {"service_id": sid, "service": label, "group": GROUP_LABELS[g], "sites": len(p)}
            for cls in schemas.DISCLOSURE_CLASSES:
                n = int((p["disclosure_class"] == cls).sum())
                row[cls] = n
                row[f"{cls}_pct"] = _pct(n, len(p))
            rows.append(row)

    srs_part = d[d["service_id"].map(kinds) == "session_replay"]
    for s in services:
        if s["kind"] == "session_replay" and (srs_part["service_id"] == s["id"]).any():
            add(s["id"], s["name"], srs_part[srs_part["service_id"] == s["id"]])
    add(ANY_SRS, "any SRS", srs_part)
    for s in services:
        if s["kind"] != "session_replay":
            part = d[(d["service_id"] == s["id"]) & d["domain"].isin(srs_sites)]
            add(s["id"], f"{names[s['id']]} (same SRS sites)", part)
    return pd.DataFrame(rows)


def disclosure_evidence(visits: pd.DataFrame, detections: pd.DataFrame, disclosures: pd.DataFrame) -> pd.DataFrame:
    """One row per adopting site × service: classes (learned and baseline), the classifier
    version and the evidence sentences with the URLs of the pages they are on."""
    adopted = _adopted(visits, detections)[["domain", "service_id"]]
    columns = ["domain", "group", "service_id", "disclosure_class", "baseline_class", "purpose_sentence", "purpose_url",
               "service_sentence", "service_url", "policy_url", "classifier_version"]
    d = disclosures.merge(adopted, on=["domain", "service_id"], how="inner")
    for column in columns:
        if column not in d:
            d[column] = None
    d["group"] = d["group"].map(GROUP_LABELS)
    return d[columns].sort_values(["service_id", "domain"]).reset_index(drop=True)


def _fragment_link(url, sentence) -> str:
    """A link to ``url`` that scrolls to and highlights ``sentence`` (a text fragment)."""
    from urllib.parse import quote

    if not isinstance(url, str) or not url:
        return html_lib.escape(sentence) if isinstance(sentence, str) else "–"
    if not isinstance(sentence, str) or not sentence:
        return f'<a href="{html_lib.escape(url)}">{html_lib.escape(url)}</a>'
    words = sentence.split()
    start = " ".join(words[:6]) if len(words) > 1 else sentence[:20]
    target = url.split("#")[0] + ("" if url.lower().split("?")[0].endswith(".pdf") else "#:~:text=" + quote(start, safe=""))
    return f'<a href="{html_lib.escape(target)}" title="{html_lib.escape(url)}">{html_lib.escape(sentence)}</a>'


def _evidence_html(evidence: pd.DataFrame) -> str:
    head = ("<tr><th>site</th><th>group</th><th>service</th><th>class</th><th>rule baseline</th>"
            "<th>purpose evidence</th><th>service evidence</th></tr>")
    rows = [f"<tr><td>{html_lib.escape(str(r.domain))}</td><td>{html_lib.escape(str(r.group))}</td>"
            f"<td>{html_lib.escape(str(r.service_id))}</td><td>{html_lib.escape(str(r.disclosure_class))}</td>"
            f"<td>{html_lib.escape(str(r.baseline_class))}</td><td>{_fragment_link(r.purpose_url, r.purpose_sentence)}</td>"
            f"<td>{_fragment_link(r.service_url, r.service_sentence)}</td></tr>" for r in evidence.itertuples()]
    return f'<table class="t">{head}{"".join(rows)}</table>'


def change_tables(cur_visits, cur_det, prev_visits, prev_det, signatures) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-service counts previous vs current, sites that started/stopped using a service).

    Started/stopped only considers sites visited successfully in **both** crawls, so a failed
    visit never reads as "stopped"."""
    adoption_prev = adoption_table(prev_visits, prev_det, signatures)
    adoption_cur = adoption_table(cur_visits, cur_det, signatures)
    merged = adoption_cur[["service_id", "service", "jp_sites", "other_sites"]].merge(
        adoption_prev[["service_id", "jp_sites", "other_sites"]], on="service_id", how="left", suffixes=("", "_prev"))
    counts = pd.DataFrame({"service_id": merged["service_id"], "service": merged["service"]})
    for g in GROUPS:
        counts[f"{g}_prev"] = merged[f"{g}_sites_prev"].fillna(0).astype(int)
        counts[f"{g}_now"] = merged[f"{g}_sites"].astype(int)
        counts[f"{g}_delta"] = counts[f"{g}_now"] - counts[f"{g}_prev"]
    both_ok = set(_ok_sites(cur_visits)["domain"]) & set(_ok_sites(prev_visits)["domain"])
    cur = _adopted(cur_visits, cur_det)
    prev = _adopted(prev_visits, prev_det)
    cur = cur[cur["domain"].isin(both_ok)]
    prev = prev[prev["domain"].isin(both_ok)]
    key = ["domain", "group", "service_id"]
    m = cur[key].merge(prev[key], on=key, how="outer", indicator=True)
    m = m[m["_merge"] != "both"]
    m["change"] = m["_merge"].map({"left_only": "started", "right_only": "stopped"}).astype(str)
    names = {s["id"]: s["name"] for s in service_list(signatures)}
    changes = m.groupby(["service_id", "change"]).size().unstack("change", fill_value=0)
    counts["started"] = counts["service_id"].map(changes["started"] if "started" in changes else {}).fillna(0).astype(int)
    counts["stopped"] = counts["service_id"].map(changes["stopped"] if "stopped" in changes else {}).fillna(0).astype(int)
    counts["mcnemar_p"] = [mcnemar_exact(a, b) for a, b in zip(counts["started"], counts["stopped"])]
    m["service"] = m["service_id"].map(names)
    m["group"] = m["group"].map(GROUP_LABELS)
    sites = m[["domain", "group", "service_id", "service", "change"]].sort_values(
        ["change", "service_id", "domain"]).reset_index(drop=True)
    return counts, sites


# ---------------------------------------------------------------------------------------------
# charts
# ---------------------------------------------------------------------------------------------
def _grouped_bars(frame: pd.DataFrame, label_column: str, xlabel: str, title: str, path: str) -> None:
    """Horizontal .jp/other bar pairs, one per row of ``frame`` (columns jp_pct, other_pct)."""
    fig, ax = plt.subplots(figsize=(8, 0.35 * max(len(frame), 1) + 1.5))
    y = range(len(frame))
    ax.barh([i - 0.2 for i in y], frame["jp_pct"].fillna(0), height=0.4, label=".jp")
    ax.barh([i + 0.2 for i in y], frame["other_pct"].fillna(0), height=0.4, label="other")
    ax.set_yticks(list(y), frame[label_column])
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def _bar_adoption(adoption: pd.DataFrame, path: str) -> None:
    _grouped_bars(adoption[adoption["kind"] == "session_replay"], "service",
                  "% of successfully visited sites", "Session-replay service adoption", path)


def _bar_categories(cats: pd.DataFrame, path: str) -> None:
    _grouped_bars(cats, "category", "% of SRS-adopting sites", "Categories of SRS-adopting sites", path)


def _stacked_disclosure(disc: pd.DataFrame, path: str) -> None:
    d = disc[disc["sites"] > 0]
    labels = [f"{s} ({g})" for s, g in zip(d["service"], d["group"])]
    fig, ax = plt.subplots(figsize=(9, 0.35 * max(len(d), 1) + 1.5))
    left = [0.0] * len(d)
    colors = {"both": "#2b8a3e", "purpose_only": "#8ce99a", "service_only": "#ffd43b",
              "neither": "#fa5252", "unsupported_language": "#9775fa", "no_policy": "#adb5bd"}
    for cls in schemas.DISCLOSURE_CLASSES:
        vals = d[f"{cls}_pct"].fillna(0).tolist()
        ax.barh(labels, vals, left=left, label=cls, color=colors[cls])
        left = [a + b for a, b in zip(left, vals)]
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of adopting sites")
    ax.set_title("Privacy-policy disclosure")
    ax.legend(ncol=3, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2))
    fig.tight_layout()
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


# ---------------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------------
def _previous_crawl(lake, crawl_id: str) -> str | None:
    earlier = [c for c in lake.partitions(schemas.SITE_VISITS) if c < crawl_id]
    return max(earlier) if earlier else None


def _html_table(frame: pd.DataFrame) -> str:
    frame = frame.copy()
    for column in [c for c in frame.columns if c.endswith("_p")]:  # p-values keep their small digits
        frame[column] = frame[column].map(lambda v: "–" if pd.isna(v) else f"{v:.3g}")
    return frame.to_html(index=False, na_rep="–", border=0, classes="t", escape=True, float_format=lambda v: f"{v:.1f}")


def build_report(lake, crawl_id: str, signatures, out_subdir: str | None = None) -> str:
    """Render the report of ``crawl_id`` into ``reports/survey/crawl_id=<id>/`` (or
    ``out_subdir``) of the lake; returns the path of ``index.html``."""
    crawl_id = str(crawl_id)
    target = out_subdir or f"reports/survey/crawl_id={crawl_id}"

    def load(cid):
        return {name: lake.read_partition(spec, cid) for name, spec in
                [("visits", schemas.SITE_VISITS), ("detections", schemas.DETECTIONS),
                 ("disclosures", schemas.DISCLOSURES), ("categories", schemas.CATEGORIES),
                 ("site_list", schemas.SITE_LIST)]}

    cur = load(crawl_id)
    prev_id = _previous_crawl(lake, crawl_id)
    prev = load(prev_id) if prev_id else None

    tables: dict[str, pd.DataFrame] = {}
    tables["crawl_summary"] = crawl_summary(cur["visits"], cur["site_list"])
    tables["adoption"] = adoption_table(cur["visits"], cur["detections"], signatures)
    tables["failed_visit_detections"] = failed_visit_detections(cur["visits"], cur["detections"])
    tables["categories"] = category_table(cur["visits"], cur["detections"], cur["categories"], signatures)
    tables["disclosure"] = disclosure_table(cur["visits"], cur["detections"], cur["disclosures"], signatures)
    tables["disclosure_evidence"] = disclosure_evidence(cur["visits"], cur["detections"], cur["disclosures"])
    if prev is not None:
        tables["change_counts"], tables["change_sites"] = change_tables(
            cur["visits"], cur["detections"], prev["visits"], prev["detections"], signatures)

    with tempfile.TemporaryDirectory(prefix="survey-report-") as tmp:
        os.makedirs(os.path.join(tmp, "tables"))
        for name, frame in tables.items():
            frame.to_csv(os.path.join(tmp, "tables", f"{name}.csv"), index=False)
            frame.to_parquet(os.path.join(tmp, "tables", f"{name}.parquet"), index=False)
        charts = {"adoption": "adoption.png", "categories": "categories.png", "disclosure": "disclosure.png"}
        _bar_adoption(tables["adoption"], os.path.join(tmp, charts["adoption"]))
        _bar_categories(tables["categories"], os.path.join(tmp, charts["categories"]))
        _stacked_disclosure(tables["disclosure"], os.path.join(tmp, charts["disclosure"]))

        env = Environment(loader=FileSystemLoader(str(TEMPLATE_DIR)), autoescape=select_autoescape(["html", "j2"]))
        sig_versions = sorted(set(cur["detections"]["signatures_version"].dropna())) if len(cur["detections"]) else []
        classifiers = sorted(set(tables["disclosure_evidence"]["classifier_version"].dropna()))
        page = env.get_template("report.html.j2").render(
            crawl_id=crawl_id, prev_id=prev_id, signatures_versions=", ".join(sig_versions) or "–",
            html={**{name: _html_table(frame) for name, frame in tables.items()},
                  "disclosure_evidence": _evidence_html(tables["disclosure_evidence"])},
            classifier_versions=", ".join(classifiers) or "–",
            has_change=prev is not None, charts=charts,
            n_started=int((tables.get("change_sites", pd.DataFrame({"change": []}))["change"] == "started").sum()),
            n_stopped=int((tables.get("change_sites", pd.DataFrame({"change": []}))["change"] == "stopped").sum()),
            table_names=list(tables), escape=html_lib.escape)
        with open(os.path.join(tmp, "index.html"), "w", encoding="utf-8") as out:
            out.write(page)
        full = lake.replace_dir_from_local(tmp, target)
    return f"{full.rstrip('/')}/index.html"
