"""The CAPE export asset: runs only when the blocking quality checks upstream passed."""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from pipelines.export.cape_files import write_export
from pipelines.quality.checks import CANDIDATES, ELIGIBILITY, PLAN
from pipelines.resources import PipelineResource


@asset(
    key=AssetKey(["export", "cape_declaration_files"]),
    deps=[CANDIDATES, PLAN, ELIGIBILITY],
    group_name="export",
    owners=["team:data-engineering"],
    description="One CAPE upload CSV per planned declaration (header 'Entry Number', at most 9,999 rows, ASCII, "
    "CRLF by default) in data/exports/<as_of>/, with manifest.json and manifest.md: exactly the rows of "
    "marts.fct_cape_export_candidates, which the gate validated (entries sent by an earlier run that CBP has not "
    "answered yet are held back there unless the run is tagged refunds/re_export=true).",
)
def cape_declaration_files(context: AssetExecutionContext, pipeline: PipelineResource) -> MaterializeResult:
    settings = pipeline.settings()
    as_of = pipeline.run_context(context).as_of
    out_dir = settings.exports_dir / as_of.isoformat()
    with pipeline.warehouse() as con:
        manifest = write_export(con, out_dir, as_of, context.run.run_id, settings.line_ending)
    context.log.info(f"{len(manifest['files'])} CAPE file(s), {manifest['entries']} entries -> {out_dir}")
    return MaterializeResult(
        metadata={
            "export_dir": MetadataValue.path(str(out_dir)),
            "files": len(manifest["files"]),
            "entries": manifest["entries"],
            "ieepa_principal_amount": float(manifest["ieepa_principal_amount"]),
            "held_back_awaiting_cape_response": manifest["held_back_awaiting_cape_response"],
            "rules_version": manifest["rules_version"],
            "manifest": MetadataValue.md((out_dir / "manifest.md").read_text(encoding="utf-8")),
        }
    )
