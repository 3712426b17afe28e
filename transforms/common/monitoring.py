"""What the operators' pages show, read from the lake and rendered as HTML (no Airflow here).

For one DAG run (:func:`run_page`): the run's partition, its report (the survey's HTML report,
or a domain's ``report.md`` rendered from Markdown, with its charts and JSON figures), its
checkpoint results (each expectation, the failing-rows sample), its quarantine counts by stage
and reason, the model gate's decisions with both models' metrics, and the alerts its tasks sent.
The overview (:func:`overview_page`) lists the latest of each per domain.

The Airflow plugin (``plugins/trackscope_monitoring.py`` → :mod:`transforms.common.monitoring_app`)
adds the metadata DB's view of runs and Airflow's authentication; everything else is here, plain.

Lake layout read (written by the stages, see each domain's docs)::

    reports/<domain>/[<sub>/]<key>=<value>/     report folder (versioned by _manifest.json, or plain files)
    _checkpoints/<name>/<value>/result.json     GX result; summary.txt: readable, with failing rows
    quarantine_<dataset>/<key>=<value>/         quarantined rows (stage, reason, row)
    models/<name>/history.jsonl                 every gate decision
    _alerts/<dag_id>/<run>/<task>.json          failure / deadline alerts (transforms/common/notify.py)
"""
from __future__ import annotations

import html
import json
import logging
import posixpath
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Optional
from urllib.parse import quote

import pyarrow.fs as pafs

from transforms.common.keys import check_key, check_relpath
from transforms.common.lake import MANIFEST, Lake, _is_version

log = logging.getLogger(__name__)

# domain -> (partition key, name prefixes of its datasets, checkpoints and models)
DOMAINS = {
    "survey": ("crawl_id", ("survey_",)),
    "fingerprint": ("ds", ("fingerprint_", "fp_")),
    "member_id": ("ds", ("member_id", "mid_")),
    "search_auth": ("ds", ("search_auth", "sa_")),
    "mouse": ("ds", ("mouse_",)),
}
SAMPLE_ROWS = 5
MAX_INLINE_BYTES = 2_000_000
SERVABLE = {".html": "text/html; charset=utf-8", ".png": "image/png", ".svg": "image/svg+xml",
            ".jpg": "image/jpeg", ".csv": "text/csv; charset=utf-8", ".json": "application/json",
            ".md": "text/markdown; charset=utf-8", ".txt": "text/plain; charset=utf-8",
            ".css": "text/css", ".parquet": "application/octet-stream"}


def domain_of(dag_id: str) -> Optional[str]:
    return next((d for d in DOMAINS if dag_id.startswith(d)), None)


@dataclass
class RunInfo:
    """One DAG run as the pages need it (built from Airflow's metadata DB by the plugin)."""

    dag_id: str
    run_id: str
    state: str = ""
    logical_date: Optional[datetime] = None
    start_date: Optional[datetime] = None
    end_date: Optional[datetime] = None
    conf: dict = field(default_factory=dict)
    event_extras: list = field(default_factory=list)  # extras of the asset events that triggered it

    @property
    def domain(self) -> Optional[str]:
        return domain_of(self.dag_id)

    @property
    def partition(self) -> tuple[str, str]:
        """(key, value) the run worked on, resolved as the tasks do (transforms/common/airflow_glue.run_key):
        the param, else the triggering asset event's extra, else the logical date's day."""
        key = DOMAINS[self.domain][0] if self.domain else "ds"
        candidates = [self.conf.get(key)] + [extra.get(key) for extra in reversed(self.event_extras)]
        if self.logical_date is not None:
            candidates.append(self.logical_date.strftime("%Y-%m-%d"))
        for value in candidates:
            if value:
                try:
                    return key, check_key(str(value), key)
                except ValueError:
                    continue
        return key, ""


# --- reading the lake -----------------------------------------------------------------------------

def _entries(lake: Lake, path: str, kind=pafs.FileType.Directory) -> list[pafs.FileInfo]:
    try:
        infos = lake.fs.get_file_info(pafs.FileSelector(lake.path(path) if path else lake.root, allow_not_found=True))
    except (OSError, ValueError):
        return []
    return [i for i in infos if i.type == kind and not i.base_name.startswith(".")]


def _relative(lake: Lake, full: str) -> str:
    return posixpath.relpath(full, lake.root)


def _current(lake: Lake, path: str) -> str:
    """The folder readers see: a versioned folder's published version, else the folder itself."""
    current = lake.current_dir(path) if lake.exists(lake.path(path, MANIFEST)) else None
    return _relative(lake, current) if current else path


def _matches(name: str, prefixes) -> bool:
    return any(name.startswith(p) for p in prefixes)


@dataclass
class Report:
    domain: str
    folder: str  # lake-relative folder holding the files readers see
    partition: str  # "key=value"
    files: list
    updated: float = 0.0


def reports(lake: Lake, domain: str, partition: Optional[tuple[str, str]] = None) -> list[Report]:
    """Report folders of ``domain`` (``reports/<domain>/[<sub>/]<key>=<value>``), newest first;
    only those of ``partition`` when given."""
    found = []
    wanted = f"{partition[0]}={partition[1]}" if partition else None

    def visit(path: str, depth: int):
        for info in _entries(lake, path):
            name = info.base_name
            if "=" in name:
                if wanted is None or name == wanted:
                    folder = _current(lake, f"{path}/{name}")
                    files = [i.base_name for i in _entries(lake, folder, pafs.FileType.File)]
                    mtime = max([i.mtime.timestamp() for i in _entries(lake, folder, pafs.FileType.File)
                                 if i.mtime] or [0.0])
                    found.append(Report(domain, folder, name, sorted(files), mtime))
            elif depth < 2 and not _is_version(name) and not name.startswith("_"):
                visit(f"{path}/{name}", depth + 1)

    visit(f"reports/{domain}", 0)
    return sorted(found, key=lambda r: r.updated, reverse=True)


@dataclass
class Checkpoint:
    name: str
    partition: str
    success: Optional[bool]
    header: str
    summary: str
    expectations: list  # dicts: type, kwargs, success, unexpected, sample
    updated: float = 0.0


def _expectation_rows(result: dict) -> list[dict]:
    rows = []
    for item in result.get("results", []):
        config = item.get("expectation_config") or {}
        res = item.get("result") or {}
        kwargs = {k: v for k, v in (config.get("kwargs") or {}).items() if k != "batch_id"}
        sample = res.get("partial_unexpected_list") or []
        rows.append({"type": config.get("type") or config.get("expectation_type", "?"), "kwargs": kwargs,
                     "success": bool(item.get("success")),
                     "unexpected": (f"{res['unexpected_count']} of {res.get('element_count')}"
                                    if "unexpected_count" in res else ""),
                     "observed": res.get("observed_value", ""), "sample": sample[:SAMPLE_ROWS]})
    return rows


def checkpoints(lake: Lake, prefixes, partition: Optional[str] = None, latest_only: bool = False) -> list[Checkpoint]:
    """Checkpoint results whose name starts with one of ``prefixes``: of ``partition``, or (with
    ``latest_only``) the newest one of each checkpoint. Failed ones first, then newest first."""
    out = []
    for info in _entries(lake, "_checkpoints"):
        if not _matches(info.base_name, prefixes):
            continue
        parts = [p for p in _entries(lake, f"_checkpoints/{info.base_name}")
                 if partition is None or p.base_name == partition]
        stamped = []
        for part in parts:
            result_info = lake.fs.get_file_info(posixpath.join(part.path, "result.json"))
            stamped.append((result_info.mtime.timestamp() if result_info.mtime else 0.0, part.base_name))
        stamped.sort(reverse=True)
        for mtime, value in stamped[:1] if latest_only else stamped:
            base = f"_checkpoints/{info.base_name}/{value}"
            try:
                result = lake.read_json(f"{base}/result.json")
            except (OSError, ValueError):
                result = {}
            try:
                summary = lake.read_bytes(f"{base}/summary.txt").decode("utf-8", errors="replace")
            except OSError:
                summary = ""
            out.append(Checkpoint(info.base_name, value, result.get("success"), summary.split("\n", 1)[0], summary,
                                  _expectation_rows(result), mtime))
    return sorted(out, key=lambda c: (c.success is not False, -c.updated))


@dataclass
class QuarantineCount:
    dataset: str
    partition: str
    stage: str
    reason: str
    rows: int
    sample: str


def quarantine_counts(lake: Lake, prefixes, key: str, partition: Optional[str] = None) -> list[QuarantineCount]:
    """Rows quarantined per dataset, stage and reason: of ``partition``, or of each dataset's
    newest partition when ``partition`` is None."""
    from transforms.common.quarantine import quarantine_spec

    out = []
    for info in _entries(lake, ""):
        name = info.base_name
        if not name.startswith("quarantine_") or not _matches(name[len("quarantine_"):], prefixes):
            continue
        spec = quarantine_spec(name[len("quarantine_"):], key)
        try:
            values = lake.partitions(spec)
        except (OSError, ValueError):
            continue
        values = [partition] if partition is not None else values[-1:]
        for value in values:
            if value not in lake.partitions(spec):
                continue
            frame = lake.read_partition(spec, value)
            if not len(frame):
                out.append(QuarantineCount(spec.name[len("quarantine_"):], value, "", "(none)", 0, ""))
                continue
            for (stage, reason), group in frame.groupby(["stage", "reason"], dropna=False):
                out.append(QuarantineCount(spec.name[len("quarantine_"):], value, str(stage), str(reason), len(group),
                                           str(group["row"].iloc[0])[:300]))
    return sorted(out, key=lambda q: (q.dataset, -q.rows))


def gate_decisions(lake: Lake, prefixes, since: Optional[datetime] = None, until: Optional[datetime] = None,
                   latest_only: bool = False) -> list[dict]:
    """Gate decisions (``models/<name>/history.jsonl``) of models named with ``prefixes``, taken
    between ``since`` and ``until`` (a run's start and end), or the newest per model."""
    out = []
    for info in _entries(lake, "models"):
        if not _matches(info.base_name, prefixes):
            continue
        path = f"models/{info.base_name}/history.jsonl"
        if not lake.exists(lake.path(path)):
            continue
        decisions = [json.loads(line) for line in lake.read_bytes(path).splitlines() if line.strip()]
        for decision in decisions:
            decision["model"] = info.base_name
        if latest_only:
            out += decisions[-1:]
            continue
        for decision in decisions:
            at = _parse_time(decision.get("at"))
            if at is not None and (since is None or at >= since) and (until is None or at <= until):
                out.append(decision)
    return sorted(out, key=lambda d: d.get("at", ""), reverse=True)


def _parse_time(text) -> Optional[datetime]:
    try:
        value = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def alerts(lake: Lake, dag_id: Optional[str] = None, run_id: Optional[str] = None, limit: int = 20) -> list[dict]:
    """Alerts kept by :mod:`transforms.common.notify`, newest first (of one run when given)."""
    from transforms.common.notify import run_folder

    found = []
    dags = [dag_id] if dag_id else [i.base_name for i in _entries(lake, "_alerts")]
    for dag in dags:
        runs = [run_folder(run_id)] if run_id else [i.base_name for i in _entries(lake, f"_alerts/{dag}")]
        for run in runs:
            for info in _entries(lake, f"_alerts/{dag}/{run}", pafs.FileType.File):
                try:
                    found.append(lake.read_json(f"_alerts/{dag}/{run}/{info.base_name}"))
                except (OSError, ValueError):
                    continue
    return sorted(found, key=lambda a: a.get("at", ""), reverse=True)[:limit]


def read_servable(lake: Lake, path: str) -> tuple[bytes, str]:
    """(bytes, content type) of a report file, for the pages' links and images. Only files under
    ``reports/`` with a known extension are served; anything else is ``PermissionError``."""
    check_relpath(path)
    extension = posixpath.splitext(path)[1].lower()
    if not path.startswith("reports/") or extension not in SERVABLE:
        raise PermissionError(f"not a report file: {path}")
    return lake.read_bytes(path), SERVABLE[extension]


# --- rendering --------------------------------------------------------------------------------------

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.2em;color:#1d2733;font-size:14px}
h1{font-size:1.45em;margin:.2em 0 .6em} h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #d8dee6}
h3{font-size:1.05em} table{border-collapse:collapse;margin:.5em 0} td,th{border:1px solid #d8dee6;padding:3px 7px;
text-align:left;vertical-align:top} th{background:#f1f4f8} pre{background:#f6f8fa;padding:8px;overflow:auto;
max-height:28em;font-size:12px} .ok{color:#1a7f37;font-weight:600} .bad{color:#cf222e;font-weight:600}
.muted{color:#6b7785} .report img{max-width:100%} iframe.report{width:100%;height:75vh;border:1px solid #d8dee6}
.pill{display:inline-block;padding:1px 8px;border-radius:10px;background:#eef2f7;margin-right:6px}
"""


def _e(value) -> str:
    return html.escape("" if value is None else str(value))


def _status(success) -> str:
    if success is None:
        return '<span class="muted">unknown</span>'
    return '<span class="ok">passed</span>' if success else '<span class="bad">FAILED</span>'


def page(title: str, body: str) -> str:
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>{_e(title)}</title>'
            f"<style>{CSS}</style></head><body>{body}</body></html>")


def _lake_url(base: str, path: str) -> str:
    return f"{base}/lake/{quote(path)}"


def render_markdown(text: str, folder_url: str) -> str:
    """Markdown → HTML (tables included); relative image and link targets point into the report's
    folder. Raw HTML in the Markdown is escaped, not passed through."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = md.parse(text)

    def fix(token_list):
        for token in token_list:
            for attr in ("src", "href"):
                target = token.attrGet(attr) if hasattr(token, "attrGet") else None
                if target and "://" not in target and not target.startswith(("/", "#", "mailto:")):
                    token.attrSet(attr, f"{folder_url}/{quote(target)}")
            if token.children:
                fix(token.children)

    fix(tokens)
    return md.renderer.render(tokens, md.options, {})


def _json_html(obj) -> str:
    if isinstance(obj, dict) and all(not isinstance(v, (dict, list)) for v in obj.values()):
        return "<table>" + "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in obj.items()) + "</table>"
    return f"<pre>{_e(json.dumps(obj, indent=1, default=str)[:20000])}</pre>"


def render_report(lake: Lake, report: Report, base: str) -> str:
    """A report folder as HTML: the survey's ``index.html`` in a frame; ``*.md`` rendered; JSON
    figures as tables; images the Markdown does not show below it; other files as links."""
    folder_url = _lake_url(base, report.folder)
    parts = [f'<p class="muted">{_e(report.folder)}</p>']
    shown = set()
    if "index.html" in report.files:
        parts.append(f'<p><a href="{folder_url}/index.html" target="_blank">open full page</a></p>'
                     f'<iframe class="report" src="{folder_url}/index.html" title="report"></iframe>')
        shown.add("index.html")
    for name in [f for f in report.files if f.endswith(".md")]:
        text = lake.read_bytes(f"{report.folder}/{name}").decode("utf-8", errors="replace")
        parts.append(f'<div class="report">{render_markdown(text, folder_url)}</div>')
        shown.add(name)
        shown.update(f for f in report.files if f"({f})" in text)
    for name in [f for f in report.files if f.endswith(".json")]:
        raw = lake.read_bytes(f"{report.folder}/{name}")
        try:
            body = _json_html(json.loads(raw)) if len(raw) < MAX_INLINE_BYTES else "(too large)"
        except ValueError:
            body = "(not JSON)"
        parts.append(f"<h3>{_e(name)}</h3>{body}")
        shown.add(name)
    for name in [f for f in report.files if f not in shown and f.endswith((".png", ".svg", ".jpg"))]:
        parts.append(f'<figure><img src="{folder_url}/{quote(name)}" alt="{_e(name)}" style="max-width:100%">'
                     f"<figcaption>{_e(name)}</figcaption></figure>")
        shown.add(name)
    others = [f for f in report.files if f not in shown and posixpath.splitext(f)[1] in SERVABLE]
    if others:
        parts.append("<p>Files: " + ", ".join(f'<a href="{folder_url}/{quote(f)}">{_e(f)}</a>' for f in others) + "</p>")
    return "\n".join(parts)


def render_checkpoints(items: list[Checkpoint]) -> str:
    if not items:
        return '<p class="muted">No checkpoint results for this partition.</p>'
    parts = []
    for cp in items:
        rows = "".join(
            f"<tr><td>{_status(r['success'])}</td><td>{_e(r['type'])}</td><td>{_e(r['kwargs'])}</td>"
            f"<td>{_e(r['unexpected'])}</td><td>{_e(r['sample']) if r['sample'] else _e(r['observed'])}</td></tr>"
            for r in cp.expectations)
        failing = cp.success is False
        parts.append(
            f'<h3 class="checkpoint">{_e(cp.name)} [{_e(cp.partition)}] {_status(cp.success)}</h3>'
            f"<p>{_e(cp.header)}</p>"
            f"<table><tr><th>result</th><th>expectation</th><th>arguments</th><th>unexpected</th>"
            f"<th>sample / observed</th></tr>{rows}</table>"
            + (f"<details open><summary>failing rows (sample)</summary><pre>{_e(cp.summary)}</pre></details>"
               if failing else ""))
    return "\n".join(parts)


def render_quarantine(items: list[QuarantineCount]) -> str:
    if not items:
        return '<p class="muted">Nothing quarantined (no quarantine table for this partition).</p>'
    rows = "".join(f"<tr><td>{_e(q.dataset)}</td><td>{_e(q.partition)}</td><td>{_e(q.stage)}</td><td>{_e(q.reason)}</td>"
                   f"<td>{q.rows}</td><td><code>{_e(q.sample)}</code></td></tr>" for q in items)
    return ("<table class=\"quarantine\"><tr><th>dataset</th><th>partition</th><th>stage</th><th>reason</th>"
            f"<th>rows</th><th>first row</th></tr>{rows}</table>")


def render_gate(decisions: list[dict]) -> str:
    if not decisions:
        return '<p class="muted">No model gate decision.</p>'
    parts = []
    for d in decisions:
        cand, cur = d.get("candidate_metrics") or {}, d.get("current_metrics") or {}
        metrics = sorted(set(cand) | set(cur))
        rows = "".join(f"<tr><td>{_e(m)}</td><td>{_e(_fmt(cand.get(m)))}</td><td>{_e(_fmt(cur.get(m)))}</td></tr>"
                       for m in metrics)
        verdict = '<span class="ok">promoted</span>' if d.get("promoted") else '<span class="bad">refused</span>'
        parts.append(f"<h3 class=\"gate\">{_e(d.get('model'))}: {verdict}</h3>"
                     f"<p>{_e(d.get('reason'))}<br><span class=\"muted\">candidate {_e(d.get('candidate'))}, "
                     f"current {_e(d.get('current') or '–')}, at {_e(d.get('at'))}</span></p>"
                     f"<table><tr><th>metric</th><th>candidate</th><th>current</th></tr>{rows}</table>")
    return "\n".join(parts)


def _fmt(value) -> str:
    if value is None:
        return "–"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def render_alerts(items: list[dict], base: Optional[str] = None) -> str:
    if not items:
        return '<p class="muted">No alerts.</p>'
    rows = []
    for a in items:
        run = a.get("run_id", "")
        link = (f'<a href="{base}/runs/{quote(a.get("dag_id", ""), safe="")}/{quote(run, safe="")}">{_e(run)}</a>'
                if base else _e(run))
        rows.append(f"<tr><td>{_e(a.get('at', '')[:19])}</td><td>{_e(a.get('dag_id'))}</td><td>{_e(a.get('task_id'))}</td>"
                    f"<td>{link}</td><td>{_e(a.get('partition'))}</td><td><pre>{_e(a.get('text', ''))[:3000]}</pre></td></tr>")
    return ("<table class=\"alerts\"><tr><th>at</th><th>DAG</th><th>task</th><th>run</th><th>partition</th>"
            f"<th>alert</th></tr>{''.join(rows)}</table>")


def run_page(lake: Lake, run: RunInfo, base: str) -> str:
    """The page of one DAG run; ``base``: the URL prefix the monitoring app is served under."""
    domain = run.domain
    key, value = run.partition
    head = (f"<h1>{_e(run.dag_id)} · {_e(run.run_id)}</h1><p><span class=\"pill\">state {_e(run.state or '?')}</span>"
            f"<span class=\"pill\">partition {_e(key)}={_e(value or '?')}</span>"
            f"<span class=\"pill\"><a href=\"{base}/\">all trackscope monitoring</a></span></p>")
    if domain is None or not value:
        return page(f"{run.dag_id} {run.run_id}", head + "<p>This run has no trackscope partition to show.</p>")
    prefixes = DOMAINS[domain][1]
    found = reports(lake, domain, (key, value))
    if not found and run.start_date is not None:
        # reports keyed otherwise (search_auth's evaluation by its first day): those this run wrote
        until_s = (run.end_date or datetime.now(timezone.utc)).timestamp() + 60
        found = [r for r in reports(lake, domain) if run.start_date.timestamp() - 1 <= r.updated <= until_s]
    report_html = "\n".join(render_report(lake, r, base) for r in found) or \
        f'<p class="muted">No report for {_e(key)}={_e(value)} (this DAG may not write one; see the nav page).</p>'
    since = run.start_date
    until = run.end_date or datetime.now(timezone.utc)
    body = (head
            + "<h2>Alerts</h2>" + render_alerts(alerts(lake, run.dag_id, run.run_id))
            + "<h2>Report</h2>" + report_html
            + "<h2>Checkpoints</h2>" + render_checkpoints(checkpoints(lake, prefixes, value))
            + "<h2>Quarantine</h2>" + render_quarantine(quarantine_counts(lake, prefixes, key, value))
            + "<h2>Model gate</h2>" + render_gate(gate_decisions(lake, prefixes, since, until) if since else []))
    return page(f"{run.dag_id} {run.run_id}", body)


def overview_page(lake: Lake, latest_runs: list[RunInfo], base: str) -> str:
    """The nav page: per domain, the latest runs, report, checkpoint results, quarantine and gate."""
    parts = ["<h1>trackscope monitoring</h1>",
             f'<p class="muted">lake {_e(lake.uri)} · {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC</p>',
             "<h2>Recent alerts</h2>", render_alerts(alerts(lake, limit=10), base)]
    for domain, (key, prefixes) in DOMAINS.items():
        runs = [r for r in latest_runs if r.domain == domain]
        rows = "".join(
            f'<tr><td>{_e(r.dag_id)}</td><td><a class="run" href="{base}/runs/{quote(r.dag_id, safe="")}/'
            f'{quote(r.run_id, safe="")}">{_e(r.run_id)}</a></td><td>{_e(r.state)}</td>'
            f"<td>{_e('='.join(r.partition))}</td></tr>" for r in runs)
        latest_report = reports(lake, domain)[:1]
        report_link = "".join(
            f'<a class="report" href="{base}/reports/{quote(domain)}/{quote(r.partition)}">{_e(r.partition)}</a>'
            for r in latest_report) or '<span class="muted">none yet</span>'
        cps = checkpoints(lake, prefixes, latest_only=True)
        cp_rows = "".join(f"<tr><td>{_e(c.name)}</td><td>{_e(c.partition)}</td><td>{_status(c.success)}</td>"
                          f"<td>{_e(c.header)}</td></tr>" for c in cps)
        parts += [f"<h2 id=\"{_e(domain)}\">{_e(domain)}</h2>",
                  ("<table><tr><th>DAG</th><th>latest run</th><th>state</th><th>partition</th></tr>"
                   f"{rows}</table>" if rows else '<p class="muted">No runs yet.</p>'),
                  f"<p>Latest report: {report_link}</p>",
                  "<h3>Checkpoints (latest of each)</h3>",
                  (f"<table><tr><th>checkpoint</th><th>partition</th><th>result</th><th>summary</th></tr>{cp_rows}</table>"
                   if cp_rows else '<p class="muted">none yet</p>'),
                  "<h3>Quarantine (latest partition of each dataset)</h3>",
                  render_quarantine(quarantine_counts(lake, prefixes, key)),
                  "<h3>Model gate (latest decision of each model)</h3>",
                  render_gate(gate_decisions(lake, prefixes, latest_only=True))]
    return page("trackscope monitoring", "\n".join(parts))


def report_page(lake: Lake, domain: str, partition: str, base: str) -> Optional[str]:
    """One report folder of ``domain`` (``partition``: "key=value") as a page; None if absent."""
    if domain not in DOMAINS or "=" not in partition:
        return None
    key, value = partition.split("=", 1)
    found = reports(lake, domain, (key, value))
    if not found:
        return None
    head = (f"<h1>{_e(domain)} report · {_e(partition)}</h1>"
            f'<p><span class="pill"><a href="{base}/">all trackscope monitoring</a></span></p>')
    return page(f"{domain} {partition}", head + "\n".join(render_report(lake, r, base) for r in found))
