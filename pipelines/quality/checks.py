"""The data-quality gate as blocking Dagster asset checks.

Each check reads its frame from the warehouse through a read-only connection, validates it against a committed
GX suite, and writes the result to the run's Data Docs (data/reports/runs/<as_of>_<run>/data_docs/). A failed
check blocks every asset downstream of the checked one in the same run: above all the CAPE export, so nothing
invalid ever reaches an upload file. The check's metadata names the failed expectations and the failing rows.
"""

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetKey,
    MetadataValue,
    asset_check,
)

from pipelines.quality import frames
from pipelines.quality.gx_runner import SuiteOutcome, preload_in_background, validate_frame
from pipelines.resources import PipelineResource

# GX's import (4-6 s) starts when a run begins, in a background thread, and is done or nearly by the first check.
PipelineResource.at_run_start(preload_in_background)

PLAN = AssetKey(["marts", "fct_declaration_plan"])
CANDIDATES = AssetKey(["marts", "fct_cape_export_candidates"])
ELIGIBILITY = AssetKey(["marts", "fct_entry_eligibility"])
REFUNDABLE = AssetKey(["marts", "fct_entry_refundable"])
LEDGER = AssetKey(["ingest", "file_ledger"])


def _run_suite(context: AssetCheckExecutionContext, pipeline: PipelineResource, suite: str, key: str, read):
    settings = pipeline.settings()
    as_of = pipeline.run_context(context).as_of
    docs_dir = settings.run_report_dir(as_of, context.run.run_id) / "data_docs"
    with pipeline.warehouse(read_only=True) as con:
        frame = read(con, as_of)
    if frame.empty:
        # Nothing to validate (e.g. every planned entry is awaiting CBP's answer): column min/max expectations
        # are undefined on no rows, and no file can carry an invalid row.
        context.log.info(f"{suite}: no rows to validate")
        return _result(SuiteOutcome(suite, True, 0, 0), docs_dir)
    outcome = validate_frame(suite, frame, key, docs_dir)
    (context.log.info if outcome.success else context.log.error)(outcome.summary())
    return _result(outcome, docs_dir)


def _result(outcome: SuiteOutcome, docs_dir) -> AssetCheckResult:
    table = "| expectation | column | failing rows | e.g. |\n|---|---|---:|---|\n" + "\n".join(
        f"| {f.expectation} | {f.column or ''} | {f.unexpected_count if f.unexpected_count is not None else ''} | "
        f"{', '.join(map(str, (f.unexpected_rows or f.unexpected_values)[:10]))} |"
        for f in outcome.failures
    )
    return AssetCheckResult(
        passed=outcome.success,
        severity=AssetCheckSeverity.ERROR,
        description=outcome.summary()[:1000],
        metadata={
            "suite": outcome.suite,
            "rows_validated": outcome.rows,
            "expectations": outcome.evaluated,
            "failed_expectations": len(outcome.failures),
            "failures": MetadataValue.md(table if outcome.failures else "none"),
            "data_docs": MetadataValue.path(str(docs_dir / "index.html")),
        },
    )


@asset_check(
    asset=CANDIDATES,
    blocking=True,
    description="GX suite cape_export_candidates, on exactly the rows the export writes: entry number format and "
    "check digit, unique, eligible as of the "
    "run date, never accepted before, at most 9,999 rows a file, one filer (or importer) a file.",
)
def cape_export_candidates_valid(context: AssetCheckExecutionContext, pipeline: PipelineResource) -> AssetCheckResult:
    return _run_suite(
        context,
        pipeline,
        "cape_export_candidates",
        "entry_summary_number",
        lambda con, as_of: frames.export_candidates(con, as_of),
    )


@asset_check(
    asset=ELIGIBILITY,
    additional_deps=[REFUNDABLE],
    blocking=True,
    description="GX suite marts_entry_refundable: the amounts of every entry that can be filed are never negative, "
    "one row per entry. An entry whose amounts are negative is an anomaly of that entry: the rules hold it back "
    "for review (negative_ieepa_principal) and the others go on; this gate proves none of them can be filed.",
)
def refundable_amounts_valid(context: AssetCheckExecutionContext, pipeline: PipelineResource) -> AssetCheckResult:
    return _run_suite(
        context,
        pipeline,
        "marts_entry_refundable",
        "entry_summary_number",
        lambda con, as_of: frames.entry_refundable(con),
    )


@asset_check(
    asset=ELIGIBILITY,
    blocking=True,
    description="GX suite marts_eligibility_safety: no entry eligible with an unknown Chapter 99 heading, an "
    "invalid entry number, no IEEPA line or no principal.",
)
def eligibility_is_safe(context: AssetCheckExecutionContext, pipeline: PipelineResource) -> AssetCheckResult:
    return _run_suite(
        context,
        pipeline,
        "marts_eligibility_safety",
        "entry_summary_number",
        lambda con, as_of: frames.eligibility_safety(con),
    )


@asset_check(
    asset=LEDGER,
    blocking=True,
    description="GX suite ingest_ledger: every loaded file's counts add up and match the rows present.",
)
def ledger_expectations(context: AssetCheckExecutionContext, pipeline: PipelineResource) -> AssetCheckResult:
    return _run_suite(context, pipeline, "ingest_ledger", "file_name", lambda con, as_of: frames.ledger(con))


quality_checks = [cape_export_candidates_valid, refundable_amounts_valid, eligibility_is_safe, ledger_expectations]
