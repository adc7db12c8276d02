"""The dbt project (dbt_project/) as Dagster assets: staging -> intermediate -> marts -> reporting, plus the reference
seeds.

Asset keys
  dbt sources     ``[<schema>, <table>]``: ``["raw", "es003_line_tariffs"]``, ``["raw", "importer_profiles"]``,
                  ``["ingest", "file_ledger"]``: the keys of the ingest assets, so dbt models depend on them.
  models, seeds   ``[<schema>, <name>]``, i.e. where the relation lives in the warehouse:
                  ``["staging", "stg_ace__es003_line_tariffs"]``, ``["marts", ...]``,
                  ``["seeds", "chapter99_headings"]``.
Groups (by folder): ``staging``, ``intermediate``, ``marts``, ``reporting`` (the run's key figures); ``reference`` for
the seeds and models/staging/reference.
dbt data tests become asset checks of the model they test (severity ``error`` blocks downstream assets).

The manifest must exist before the definitions load (a known pitfall of this stack: ``prepare_if_dev()`` only
works under ``dagster dev``). ``prepare_dbt_manifest()`` runs ``dbt parse``; importing this module also runs it when the
manifest is missing or older than a file of the dbt project, so a fresh checkout, the CLI and the tests load
without a separate step. CI and deployments call ``prepare_dbt_manifest()`` explicitly.
"""

import importlib.metadata
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping, Sequence
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, AssetKey, AssetMaterialization, Config, MaterializeResult, Output
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from packaging import version
from pydantic import Field

from pipelines.resources import PipelineResource
from pipelines.run.context import PARENT_PID_ENV, RunContext, dbt_environment_set
from pipelines.transform.mart_metadata import figures_for

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"

# Files whose change makes the manifest stale.
_PROJECT_FILE_SUFFIXES = {".sql", ".yml", ".yaml", ".csv", ".md"}
_PROJECT_SOURCE_DIRS = ("models", "macros", "seeds", "tests", "snapshots", "analyses")

LAYER_GROUPS = ("staging", "intermediate", "marts", "reporting")
REFERENCE_GROUP = "reference"
DEFAULT_OWNERS = ["team:data-engineering"]
PARTIAL_PARSE_FILE = "partial_parse.msgpack"


@cache
def get_dbt_project() -> DbtProject:
    """The dbt project, with profiles.yml in the project folder (cached: one instance per process)."""
    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
    # Equivalent of project.prepare_if_dev(), but with the dbt executable of this environment (dbt_executable()).
    if project.preparer.using_dagster_dev():
        _parse_manifest(project)
    return project


def dbt_executable() -> str:
    """``refunds-dbt`` beside the running Python (dbt that dies with this process: see dbt_child.py), else the
    ``dbt`` beside it (the virtual environment's bin/), else the one on PATH."""
    for name in ("refunds-dbt", "dbt.exe" if os.name == "nt" else "dbt"):
        beside = Path(sys.executable).parent / name
        if beside.exists():
            return str(beside)
    on_path = shutil.which("dbt")
    if on_path:
        return on_path
    raise FileNotFoundError(
        f"dbt executable not found beside {sys.executable} nor on PATH: install the project's environment "
        "(uv sync) or put dbt on PATH"
    )


class ProjectDbtCliResource(DbtCliResource):
    """dagster-dbt's resource without two start-up costs the pipeline has no use for (about 5 s a run, measured in
    BENCHMARKS.md). Both override dagster-dbt internals (the version is pinned in uv.lock); tests/test_dbt_resource.py
    fails if either stops taking effect."""

    @cached_property
    def _cli_version(self) -> version.Version:
        # dagster-dbt asks the executable (`dbt --version`, a 3 s dbt start-up) whether it is dbt Core or the Fusion
        # engine. The executable is this environment's dbt Core (dbt_executable()), whose version its package has.
        try:
            return version.parse(importlib.metadata.version("dbt-core"))
        except importlib.metadata.PackageNotFoundError:
            return DbtCliResource._cli_version.func(self)

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        # An adapter in the Dagster process serves only fetch_row_counts() and fetch_column_metadata(), which the
        # pipeline does not call (row counts and key figures are read after dbt exits: mart_metadata.py). Not
        # loading dbt Core here saves about 2 s a run.
        return None


def dbt_resource() -> DbtCliResource:
    """The DbtCliResource for the ``dbt`` resource key, with an explicit executable (not PATH-dependent)."""
    return ProjectDbtCliResource(project_dir=get_dbt_project(), dbt_executable=dbt_executable())


def _parse_manifest(project: DbtProject) -> Path:
    # `dbt parse` as a plain subprocess (DbtCliResource would also load dbt in this process: ~10 s more).
    # It parses into a private target folder, then manifest.json moves into place with an atomic rename: a process
    # loading the definitions meanwhile never reads a half-written manifest, and parallel prepares do not collide.
    target_dir = project.project_dir / project.target_path
    scratch = target_dir / f".parse-{uuid.uuid4().hex[:8]}"
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        cmd = [dbt_executable(), "parse", "--quiet", "--no-partial-parse"]
        cmd += ["--project-dir", str(project.project_dir), "--profiles-dir", str(project.profiles_dir)]
        cmd += ["--target-path", str(scratch), "--log-path", str(scratch)]
        env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", PARENT_PID_ENV: str(os.getpid())}
        done = subprocess.run(cmd, cwd=project.project_dir, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not (scratch / "manifest.json").exists():
            output = (done.stdout + done.stderr).strip()[-4000:]
            raise RuntimeError(f"dbt parse failed (exit {done.returncode}) in {project.project_dir}:\n{output}")
        os.replace(scratch / "manifest.json", project.manifest_path)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return project.manifest_path


def prepare_dbt_manifest() -> Path:
    """Run ``dbt parse`` and write dbt_project/target/manifest.json; returns its path.

    Call it before loading the definitions from the CLI, tests and CI (``dagster dev`` does it by itself).
    Needs no warehouse: parsing does not connect to DuckDB.
    """
    return _parse_manifest(get_dbt_project())


def manifest_is_stale(project: DbtProject | None = None) -> bool:
    """True when the manifest is missing or older than a file of the dbt project."""
    project = project or get_dbt_project()
    if not project.manifest_path.exists():
        return True
    built = project.manifest_path.stat().st_mtime
    candidates = [project.project_dir / "dbt_project.yml", project.project_dir / "profiles.yml"]
    for folder in _PROJECT_SOURCE_DIRS:
        root = project.project_dir / folder
        if root.exists():
            candidates += [p for p in root.rglob("*") if p.suffix in _PROJECT_FILE_SUFFIXES]
    return any(p.exists() and p.stat().st_mtime > built for p in candidates)


def _manifest_for_definitions() -> Path:
    project = get_dbt_project()
    if manifest_is_stale(project):
        _parse_manifest(project)
    return project.manifest_path


class IeepaDbtTranslator(DagsterDbtTranslator):
    """Asset keys follow the warehouse (``[schema, name]``); groups follow the project's folders."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        meta = dbt_resource_props.get("config", {}).get("meta") or dbt_resource_props.get("meta") or {}
        if meta.get("dagster", {}).get("asset_key"):
            return super().get_asset_key(dbt_resource_props)
        if dbt_resource_props["resource_type"] == "source":
            # raw.<table> -> ["raw", "<table>"], ingest.file_ledger -> ["ingest", "file_ledger"]: the ingest assets.
            table = dbt_resource_props.get("identifier") or dbt_resource_props["name"]
            return AssetKey([dbt_resource_props["schema"], table])
        # Models, seeds, snapshots: where the relation is built (custom schema names are used as-is).
        return AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> Sequence[str] | None:
        # meta.dagster.owners in the dbt project wins; otherwise the data team owns the model.
        return super().get_owners(dbt_resource_props) or DEFAULT_OWNERS

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return REFERENCE_GROUP
        folders = list(dbt_resource_props.get("fqn", []))[1:-1]  # [project, *folders, name]
        if folders[:1] == ["staging"] and REFERENCE_GROUP in folders:
            return REFERENCE_GROUP
        if folders and folders[0] in LAYER_GROUPS:
            return folders[0]
        return super().get_group_name(dbt_resource_props)


class DbtRunConfig(Config):
    """Run configuration of the dbt assets. The run's date, re-export and full refresh are its context (run tags,
    ``pipelines/run/context.py``), the same for every step."""

    unit_tests: bool = Field(
        default=False,
        description=(
            "Also run the dbt unit tests. They check the models' logic on fixed inputs, not the day's data, so the "
            "test suite and CI run them (make test) and the daily run skips them (dbt's advice for production)."
        ),
    )

    def build_args(self, run: RunContext) -> list[str]:
        """The ``dbt build`` arguments of a run (the date goes in the environment: see ``dbt_environment``).

        ``--full-refresh`` when the run is tagged ``refunds/full_refresh=true``: the incremental models (the ES-003
        line tariffs and their classification) rebuilt from every raw row. Not needed after a change to their SQL
        or to the heading table: their build fingerprint makes the next run rebuild every entry by itself."""
        args = ["build"]
        if not self.unit_tests:
            args += ["--exclude-resource-type", "unit_test"]
        return [*args, "--full-refresh"] if run.full_refresh else args


@dbt_assets(
    manifest=_manifest_for_definitions(),
    project=get_dbt_project(),
    dagster_dbt_translator=IeepaDbtTranslator(),
    name="ieepa_dbt_assets",
)
def ieepa_dbt_assets(
    context: AssetExecutionContext, dbt: DbtCliResource, pipeline: PipelineResource, config: DbtRunConfig
):
    """``dbt build`` (seeds, models, data tests; unit tests when asked) of the selected dbt assets, as of the
    run's date."""
    run = pipeline.run_context(context)
    args = config.build_args(run)
    context.log.info(f"dbt {' '.join(args)} (as of {run.as_of}, re-export {str(run.re_export).lower()})")
    # Events are held until dbt exits (it holds the warehouse's write lock), then yielded with row counts and key
    # figures read in one read-only connection. If dbt fails, what it built is still reported, then the error.
    events = []
    try:
        # dbt's environment: the warehouse the settings name, the run's date; restored when dbt has finished
        with dbt_environment_set(pipeline.settings(), run):
            invocation = dbt.cli(args, context=context)
            for event in invocation.stream():
                events.append(event)
    except Exception:
        yield from _with_figures(context, pipeline, events)
        raise
    _keep_parse_state(invocation.target_path)
    yield from _with_figures(context, pipeline, events)


def _keep_parse_state(run_target: Path) -> None:
    # dbt saves its parse in the run's own target folder; dagster-dbt starts each run from the project's
    # target/partial_parse.msgpack. Keeping the newest one there lets the next run re-parse only what changed
    # (the files that read the date) instead of the whole project: about 7 s a run.
    project = get_dbt_project()
    saved = Path(project.project_dir, run_target) / PARTIAL_PARSE_FILE  # run_target may be relative
    if saved.exists():
        scratch = project.project_dir / project.target_path / f".{PARTIAL_PARSE_FILE}.{uuid.uuid4().hex[:8]}"
        shutil.copyfile(saved, scratch)
        os.replace(scratch, project.project_dir / project.target_path / PARTIAL_PARSE_FILE)


def _with_figures(context: AssetExecutionContext, pipeline: PipelineResource, events: list) -> Iterator[Any]:
    def key_of(event: Any) -> AssetKey | None:
        if isinstance(event, Output):
            return context.asset_key_for_output(event.output_name)
        return (
            getattr(event, "asset_key", None) if isinstance(event, MaterializeResult | AssetMaterialization) else None
        )

    keys = [k for k in (key_of(e) for e in events) if k is not None]
    figures: dict[AssetKey, dict[str, object]] = {}
    if keys:
        try:
            with pipeline.warehouse(read_only=True) as con:
                figures = figures_for(con, keys)
        except Exception as error:  # figures are a convenience: never fail the build for them
            context.log.warning(f"row counts and key figures not read: {error}")
    for event in events:
        extra = figures.get(key_of(event))
        yield event.with_metadata({**(event.metadata or {}), **extra}) if extra else event
