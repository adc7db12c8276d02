"""Run a committed expectation suite on a pandas frame, and publish the result to the run's Data Docs.

The suites live in the GX file context `expectations/` (committed JSON, readable by auditors). Validation runs
in an ephemeral context so that nothing is written back into the committed files (GX would otherwise record
data sources with absolute paths in great_expectations.yml); its Data Docs site is the run's report folder.
GX validates pandas frames, not GX's SQL datasource (DESIGN: its SQLAlchemy path fails on DuckDB).
`import great_expectations` costs 4-6 s, so it is imported here, lazily, only when a check runs; a run starts that
import in a background thread when it begins (``preload_in_background``), so it is done, or nearly, by the first
check, instead of being paid in the check.

The Data Docs work offline: GX's pages load Bootstrap, jQuery, Font Awesome, Vega ... from public CDNs, and an
auditor's machine often has no internet. Those files are vendored in expectations/plugins/custom_data_docs/vendor/
(with ``assets.json``: CDN address -> file); after each build they are copied into the site and every page's links
are rewritten to them (``make_offline``).
"""

from __future__ import annotations

import copy
import html
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from pipelines.settings import PROJECT_ROOT

EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
SAMPLE_LIMIT = 20  # unexpected values / row keys reported per failed expectation
VENDOR_DIR = EXPECTATIONS_DIR / "plugins" / "custom_data_docs" / "vendor"
GX_WEB_ASSETS = "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/"  # GX's logo: in its package too
_LOADING_TAG = re.compile(r"<(?:script|link|img)\b[^>]*>", re.I)
_REMOTE = re.compile(r'\b(src|href)="(https?://[^"]*)"', re.I)
_SITE_STATIC = re.compile(r'\b(src|href)="(?:\./|(?:\.\./)+)static/([^"]*)"', re.I)  # GX counts ../ wrong in places
_CROSS_ORIGIN = re.compile(r'\s(?:integrity|crossorigin)="[^"]*"', re.I)  # a file:// page cannot pass CORS or SRI

log = logging.getLogger(__name__)
_preload_lock = threading.Lock()
_preload: threading.Thread | None = None


def preload_in_background() -> None:
    """Start importing Great Expectations in a daemon thread (once per process). The run's first steps spend their
    time in DuckDB, which releases the GIL; a check that imports GX meanwhile waits for the import to finish (Python's
    module lock), so nothing runs twice and an import error still surfaces in the check."""
    global _preload
    with _preload_lock:
        if _preload is None:
            _preload = threading.Thread(target=_import_gx, name="gx-preload", daemon=True)
            _preload.start()


def _import_gx() -> None:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    try:
        import great_expectations  # noqa: F401
        from great_expectations.data_context.types import base  # noqa: F401
    except Exception:  # the check's own import reports it
        log.debug("preloading great_expectations failed", exc_info=True)


@dataclass
class Failure:
    expectation: str
    column: str | None
    unexpected_count: int | None
    unexpected_values: list
    unexpected_rows: list  # values of the frame's key column on the failing rows


@dataclass
class SuiteOutcome:
    suite: str
    success: bool
    evaluated: int
    rows: int
    failures: list[Failure] = field(default_factory=list)

    def summary(self) -> str:
        if self.success:
            return f"{self.suite}: {self.evaluated} expectations passed on {self.rows} rows"
        parts = [
            f"{f.expectation}({f.column}): {f.unexpected_count} row(s), "
            f"e.g. {f.unexpected_rows[:5] or f.unexpected_values[:5]}"
            for f in self.failures
        ]
        return f"{self.suite}: FAILED on {self.rows} rows: " + "; ".join(parts)


@cache
def _file_context():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx

    return gx.get_context(mode="file", context_root_dir=str(EXPECTATIONS_DIR))


def load_suite(name: str):
    return _file_context().suites.get(name)


@cache
def _run_context(docs_dir: str | None):
    """One ephemeral context per run folder, so every suite of a run lands in the same Data Docs site."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    sites = {}
    if docs_dir:
        sites["run_site"] = {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": docs_dir},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        data_docs_sites=sites,
        progress_bars=ProgressBarsConfig(globally=False),
        analytics_enabled=False,
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    context.data_sources.add_pandas("warehouse_frames")
    return context


def validate_frame(suite_name: str, frame, key_column: str | None, docs_dir: Path | None) -> SuiteOutcome:
    """Validate ``frame`` against the committed suite ``suite_name``; failing rows are named by ``key_column``."""
    import great_expectations as gx

    context = _run_context(str(docs_dir) if docs_dir else None)
    committed = load_suite(suite_name)
    suite = context.suites.add_or_update(gx.ExpectationSuite(**_suite_dict(committed)))
    source = context.data_sources.get("warehouse_frames")
    asset = next((a for a in source.assets if a.name == suite_name), None) or source.add_dataframe_asset(suite_name)
    batch = next((b for b in asset.batch_definitions if b.name == "whole_frame"), None)
    batch = batch or asset.add_batch_definition_whole_dataframe("whole_frame")
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=suite_name, data=batch, suite=suite)
    )
    result_format = {"result_format": "COMPLETE", "partial_unexpected_count": SAMPLE_LIMIT}
    if key_column and len(frame):
        result_format["unexpected_index_column_names"] = [key_column]
    checkpoint = context.checkpoints.add_or_update(
        gx.Checkpoint(name=suite_name, validation_definitions=[definition], actions=[], result_format=result_format)
    )
    run = checkpoint.run(batch_parameters={"dataframe": frame})
    result_id, validation = next(iter(run.run_results.items()))
    if docs_dir:
        _publish_escaped(context, result_id, suite_name, Path(docs_dir))
    failures = []
    for r in validation.results:
        if r.success:
            continue
        res = r.result or {}
        index = res.get("unexpected_index_list") or []
        rows = [i.get(key_column) if isinstance(i, dict) else i for i in index[:SAMPLE_LIMIT]]
        failures.append(
            Failure(
                expectation=r.expectation_config.type,
                column=r.expectation_config.kwargs.get("column"),
                unexpected_count=res.get("unexpected_count"),
                unexpected_values=[_plain(v) for v in (res.get("partial_unexpected_list") or [])[:SAMPLE_LIMIT]]
                or ([_plain(res["observed_value"])] if "observed_value" in res else []),
                unexpected_rows=[_plain(v) for v in rows],
            )
        )
    return SuiteOutcome(suite_name, bool(validation.success), len(validation.results), len(frame), failures)


def _publish_escaped(context, result_id, suite_name: str, docs_dir: Path) -> None:
    """Add the validation to the run's Data Docs with every value from the data HTML-escaped, readable offline.

    GX puts unexpected values and row keys into its pages as raw HTML: a value such as ``<script>`` in a failing
    row would run in the auditor's browser. The stored copy the pages are built from is escaped; the result the
    pipeline reads (``validate_frame``'s return) keeps the values as they are.
    """
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    store = context.validation_results_store
    shown = copy.deepcopy(store.get(result_id))
    for r in shown.results:
        if r.result:
            r.result = _escaped(r.result)
    store.set(result_id, shown)
    context.build_data_docs(
        site_names=["run_site"], resource_identifiers=[result_id, ExpectationSuiteIdentifier(name=suite_name)]
    )
    left = make_offline(docs_dir)
    if left:
        log.warning(f"Data Docs still load from outside (add them to {VENDOR_DIR / 'assets.json'}): {left}")


def make_offline(site: Path) -> list[str]:
    """Bundle the CDN assets of the Data Docs in ``site`` into ``site/static/vendor`` and point every page at them.

    Returns the outside addresses a page still loads (none, unless a GX upgrade added one). Pages are rewritten
    under a temporary name, then renamed; links to web pages (``<a href>``) are left as they are.
    """
    assets = json.loads((VENDOR_DIR / "assets.json").read_text(encoding="utf-8"))
    vendor = site / "static" / "vendor"
    if not vendor.exists():
        scratch = site / "static" / f".vendor-{uuid.uuid4().hex[:8]}"
        shutil.copytree(VENDOR_DIR, scratch, ignore=shutil.ignore_patterns("assets.json", "README.md"))
        os.replace(scratch, vendor)
    left: set[str] = set()
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        offline = _offline_page(text, page, site, assets, left)
        if offline != text:
            _replace_text(page, offline)
    return sorted(left)


def _offline_page(text: str, page: Path, site: Path, assets: dict[str, str], left: set[str]) -> str:
    """The page with every asset it loads from a CDN (script, stylesheet, image) pointing at the bundled copy,
    relative to the page; an address with no bundled copy is added to ``left``."""
    to_static = Path(os.path.relpath(site / "static", page.parent)).as_posix()
    to_vendor, to_images = f"{to_static}/vendor", f"{to_static}/images"

    def local(match: re.Match) -> str:
        attribute, url = match.group(1), match.group(2)
        if url in assets:
            return f'{attribute}="{to_vendor}/{assets[url]}"'
        if url.startswith(GX_WEB_ASSETS):
            return f'{attribute}="{to_images}/{url.removeprefix(GX_WEB_ASSETS).split("?")[0]}"'
        left.add(url)
        return match.group(0)

    def tag(match: re.Match) -> str:
        rewritten = _REMOTE.sub(local, match.group(0))
        if rewritten != match.group(0):
            rewritten = _CROSS_ORIGIN.sub("", rewritten)
        # the site's own files, relative to this page (GX's favicon link on validation pages is one level short)
        return _SITE_STATIC.sub(lambda m: f'{m.group(1)}="{to_static}/{m.group(2)}"', rewritten)

    return _LOADING_TAG.sub(tag, text)


def _replace_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _escaped(value):
    if isinstance(value, str):
        return html.escape(value)
    if isinstance(value, list | tuple):
        return [_escaped(v) for v in value]
    if isinstance(value, dict):
        return {k: _escaped(v) for k, v in value.items()}
    return value


def _suite_dict(suite) -> dict:
    d = suite.to_json_dict()
    d.pop("id", None)
    return d


def _plain(v):
    return v.item() if hasattr(v, "item") else v
