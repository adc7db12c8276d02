"""Dagster assets of the ingest group: the landing inventory, one raw table per ACE report, importer profiles,
and the file ledger's reconciliation."""

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    asset,
    asset_check,
    multi_asset,
)

from pipelines.ingest.headers import load_aliases
from pipelines.ingest.load import ledger_discrepancies, load_report, take_inventory
from pipelines.ingest.reference import load_entry_flags, load_importer_profiles
from pipelines.resources import PipelineResource
from pipelines.warehouse.layouts import REPORTS, Report

GROUP = "ingest"
OWNERS = ["team:data-engineering"]
INVENTORY_KEY = AssetKey(["ingest", "landing_inventory"])
LEDGER_KEY = AssetKey(["ingest", "file_ledger"])


@asset(
    key=INVENTORY_KEY,
    group_name=GROUP,
    owners=OWNERS,
    description="Every file in the landing folder, fingerprinted (sha256) and classified by its header: new, "
    "already loaded, still being written (deferred) or refused with the reason (refusals go to the ledger).",
)
def landing_inventory(context: AssetExecutionContext, pipeline: PipelineResource) -> MaterializeResult:
    settings = pipeline.settings()
    aliases = load_aliases(settings.header_aliases_file)
    with pipeline.warehouse() as con:
        items = take_inventory(con, settings, aliases, context.run.run_id)
    by_status: dict[str, int] = {}
    for i in items:
        by_status[i.status] = by_status.get(i.status, 0) + 1
        if i.status in ("refused", "deferred"):
            context.log.warning(f"{i.name}: {i.status}: {i.reason}")
    new = by_status.get("new", 0)
    from_cache = sum(i.file is not None and i.file.from_cache for i in items)
    # An empty folder, or one with nothing new, is a normal day: the marts are still rebuilt as of the run's date.
    summary = f"{new} new file(s) to load" if new else "nothing new in the landing folder"
    context.log.info(
        f"{settings.landing_dir}: {len(items)} item(s), {from_cache} fingerprint(s) from the cache; {summary}"
    )
    return MaterializeResult(
        metadata={
            "landing_dir": str(settings.landing_dir),
            "files_seen": len(items),
            "fingerprints_from_cache": from_cache,
            "summary": summary,
            **{f"files_{k}": v for k, v in sorted(by_status.items())},
            "files": MetadataValue.md(
                "| file | status | report | reason |\n|---|---|---|---|\n"
                + "\n".join(
                    "| " + " | ".join(_cell(c) for c in (i.name, i.status, i.report_code, i.reason)) + " |"
                    for i in items
                )
            ),
        }
    )


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|")


def _report_asset(report: Report) -> AssetsDefinition:
    @asset(
        key=AssetKey(["raw", report.table]),
        deps=[INVENTORY_KEY],
        group_name=GROUP,
        owners=OWNERS,
        description=f"{report.title}: every row of every new export, typed, with its file and line; rows that "
        "cannot be parsed go to quarantine.rejected_rows with the reason.",
        metadata={"report_code": report.code, "business_key": ", ".join(report.key)},
    )
    def _load(context: AssetExecutionContext, pipeline: PipelineResource) -> MaterializeResult:
        settings = pipeline.settings()
        aliases = load_aliases(settings.header_aliases_file)
        with pipeline.warehouse() as con:
            loads = load_report(con, settings, aliases, report.code, context.run.run_id)
            total = con.execute(f"select count(*) from raw.{report.table}").fetchone()[0]
        for f in loads:
            if f.status == "refused":
                context.log.warning(f"{f.file_name}: refused: {f.reason}")
            else:
                context.log.info(
                    f"{f.file_name}: {f.rows_read} read, {f.rows_loaded} loaded, {f.rows_quarantined} kept"
                )
        return MaterializeResult(
            metadata={
                "files_loaded": sum(f.status == "loaded" for f in loads),
                "files_refused": sum(f.status == "refused" for f in loads),
                "rows_read": sum(f.rows_read for f in loads),
                "rows_loaded": sum(f.rows_loaded for f in loads),
                "rows_quarantined": sum(f.rows_quarantined for f in loads),
                "dagster/row_count": total,
            }
        )

    _load.__name__ = f"raw_{report.table}"
    return _load


report_assets = [_report_asset(r) for r in REPORTS.values()]


@multi_asset(
    specs=[
        AssetSpec(
            AssetKey(["raw", "importer_profiles"]),
            group_name=GROUP,
            owners=OWNERS,
            description="Importer profiles kept by the user (data/reference/importer_profiles.csv): corporate or "
            "not (drives the interest rate), ACH enrolment, Form 4811 payee, filer codes allowed for the importer.",
        ),
        AssetSpec(
            AssetKey(["raw", "entry_flags"]),
            group_name=GROUP,
            owners=OWNERS,
            description="Entry facts the ACE exports do not carry, kept by the user (data/reference/"
            "entry_flags.csv): drawback claims, protests, AD/CVD pending, PSC pending, type 09 filed. Present = "
            "complete; absent = unknown (the rules that need them route entries to review).",
        ),
        AssetSpec(
            AssetKey(["ingest", "reference_files"]),
            group_name=GROUP,
            owners=OWNERS,
            description="Whether each user-kept reference file was present at the last load.",
        ),
    ],
    name="reference_files",
)
def reference_files(context: AssetExecutionContext, pipeline: PipelineResource):
    """Loads the user-kept reference files, each in its own transaction."""
    settings = pipeline.settings()
    with pipeline.warehouse() as con:
        profiles = load_importer_profiles(con, settings.importer_profiles_file)
        flags = load_entry_flags(con, settings.entry_flags_file)
    for path in (settings.importer_profiles_file, settings.entry_flags_file):
        if not path.exists():
            context.log.warning(f"{path} not found: the facts it carries are unknown downstream")
    yield MaterializeResult(
        asset_key=AssetKey(["raw", "importer_profiles"]),
        metadata={"source": str(settings.importer_profiles_file), "dagster/row_count": profiles},
    )
    yield MaterializeResult(
        asset_key=AssetKey(["raw", "entry_flags"]),
        metadata={
            "source": str(settings.entry_flags_file),
            "present": settings.entry_flags_file.exists(),
            "dagster/row_count": flags,
        },
    )
    yield MaterializeResult(asset_key=AssetKey(["ingest", "reference_files"]), metadata={"dagster/row_count": 2})


@asset(
    key=LEDGER_KEY,
    deps=[r.key for r in report_assets],
    group_name=GROUP,
    owners=OWNERS,
    description="The file ledger: one row per file loaded or refused (sha256, size, report, rows read, loaded, "
    "quarantined). Its check proves that every loaded file reconciles with the rows in raw and quarantine.",
)
def file_ledger(pipeline: PipelineResource) -> MaterializeResult:
    with pipeline.warehouse() as con:
        totals = con.execute(
            """
            select count(*) filter (where status = 'loaded'), count(*) filter (where status = 'refused'),
                coalesce(sum(rows_read), 0), coalesce(sum(rows_loaded), 0), coalesce(sum(rows_quarantined), 0)
            from ingest.file_ledger
            """
        ).fetchone()
    return MaterializeResult(
        metadata={
            "files_loaded": totals[0],
            "files_refused": totals[1],
            "rows_read": totals[2],
            "rows_loaded": totals[3],
            "rows_quarantined": totals[4],
        }
    )


@asset_check(
    asset=LEDGER_KEY,
    blocking=True,
    description="rows read = loaded + quarantined for every file, and "
    "the ledger's counts equal the rows actually in raw.* and quarantine.rejected_rows",
)
def ledger_reconciles(pipeline: PipelineResource) -> AssetCheckResult:
    with pipeline.warehouse() as con:
        bad = ledger_discrepancies(con)
    return AssetCheckResult(
        passed=not bad,
        severity=AssetCheckSeverity.ERROR,
        metadata={"files_not_reconciling": len(bad), "first": MetadataValue.text(repr(bad[:5]))},
    )


ingest_assets = [landing_inventory, *report_assets, reference_files, file_ledger]
ingest_checks = [ledger_reconciles]
