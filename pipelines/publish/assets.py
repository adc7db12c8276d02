"""The publish assets: after the export, the analysts' copy of every mart, then the dbt docs site."""

from collections.abc import Iterator

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from pipelines.publish.analyst_copy import publish
from pipelines.publish.dbt_docs import build_dbt_docs
from pipelines.resources import PipelineResource
from pipelines.transform.dbt import ieepa_dbt_assets

MART_KEYS = sorted((k for k in ieepa_dbt_assets.keys if k.path[0] == "marts"), key=lambda k: k.to_user_string())


@asset(
    key=AssetKey(["publish", "analyst_copy"]),
    deps=[AssetKey(["export", "cape_declaration_files"]), *MART_KEYS],
    group_name="publish",
    owners=["team:data-engineering"],
    description="The marts (and the ledger and quarantine, schema audit) copied to data/published/"
    "refunds_analytics.duckdb (DuckDB storage v1.0.0, readable by DuckDB 0.10.3 and later, with every column's "
    "description as a comment) and to Parquet, with published.json; "
    "the folder is built beside the old one and swapped in as a whole: analysts never open the working warehouse, "
    "never block it, and never see a half-run or a mix of two runs.",
)
def analyst_copy(context: AssetExecutionContext, pipeline: PipelineResource) -> MaterializeResult:
    settings = pipeline.settings()
    limits = {"memory_limit": settings.duckdb_memory_limit, "threads": settings.duckdb_threads}
    published = publish(
        settings.warehouse_path, settings.published_dir, duckdb_config=limits, run_id=context.run.run_id
    )
    context.log.info(f"published {len(published.tables)} tables to {published.database}")
    return MaterializeResult(
        metadata={
            "database": MetadataValue.path(str(published.database)),
            "parquet": MetadataValue.path(str(published.parquet_dir)),
            "tables": MetadataValue.md(
                "| table | rows |\n|---|---:|\n" + "\n".join(f"| {t} | {n:,} |" for t, n in published.tables.items())
            ),
        }
    )


@asset(
    key=AssetKey(["publish", "dbt_docs"]),
    deps=[AssetKey(["publish", "analyst_copy"])],
    group_name="publish",
    owners=["team:data-engineering"],
    description="The dbt docs site (every model and column described, the catalog as built, the lineage graph) "
    "written to data/reports/dbt_docs/index.html, one page that opens offline; at the end of every successful run "
    "(setting dbt_docs_each_run) whose project or warehouse differs from the page's.",
    output_required=False,  # not materialized when the setting is off
)
def dbt_docs(context: AssetExecutionContext, pipeline: PipelineResource) -> Iterator[MaterializeResult]:
    settings = pipeline.settings()
    if not settings.dbt_docs_each_run:
        context.log.info("dbt docs site not written: the setting dbt_docs_each_run is false (refunds docs writes it)")
        return
    page, written = build_dbt_docs(settings, only_if_changed=True)
    context.log.info(f"dbt docs site: {page}" + ("" if written else " (unchanged: same project and warehouse)"))
    yield MaterializeResult(
        metadata={"site": MetadataValue.path(str(page)), "bytes": page.stat().st_size, "rewritten": written}
    )
