"""The dbt docs site: every model, seed and source with its description and every column's (from the dbt YAML), the
catalog (each relation's columns and types as built in the warehouse) and the lineage graph, in one page that
needs no network and no server.

dbt's ``docs generate --static`` inlines the manifest and the catalog into its single-page app (scripts, styles and
fonts are already inside dbt's page), so ``index.html`` opens from the disk, on a machine without internet. It is
written to ``<reports_dir>/dbt_docs/index.html`` under a temporary name and renamed when complete: at the end of
every successful run (asset ``publish/dbt_docs``) and by ``refunds docs``.

``--no-compile``: the site uses the manifest the run was built from (``dbt_project/target/manifest.json``, parsed
before every run) and dbt's saved parse, so dbt only reads the catalog from the warehouse (a few seconds) instead
of compiling every model again; the models' SQL is shown as written.

The site changes only with the project (the manifest) and the warehouse it describes: the catalog is each relation's
columns, types and comments, no row counts. So a run rewrites it only when its fingerprint (the manifest's sha256,
dbt's version and the warehouse's path, kept in a comment at the end of the page) differs from the page's: a daily run
on an unchanged project skips the 5-8 s of ``dbt docs generate``. ``refunds docs`` always rewrites it.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

from pipelines.run.context import dbt_environment
from pipelines.settings import Settings
from pipelines.transform.dbt import PARTIAL_PARSE_FILE, dbt_executable, get_dbt_project

DOCS_DIR = "dbt_docs"
_FINGERPRINT = re.compile(rb"<!-- refunds dbt docs fingerprint: ([0-9a-f]{64}) -->\s*$")


def _fingerprint(settings: Settings, manifest: Path) -> str:
    from dbt.version import __version__ as dbt_version

    digest = hashlib.sha256(manifest.read_bytes())
    digest.update(f"|dbt {dbt_version}|{Path(settings.warehouse_path).resolve()}".encode())
    return digest.hexdigest()


def _page_fingerprint(page: Path) -> str | None:
    if not page.exists():
        return None
    with open(page, "rb") as f:
        f.seek(max(0, page.stat().st_size - 200))
        found = _FINGERPRINT.search(f.read())
    return found.group(1).decode() if found else None


def docs_page(settings: Settings) -> Path:
    return settings.reports_dir / DOCS_DIR / "index.html"


def build_dbt_docs(settings: Settings, only_if_changed: bool = False) -> tuple[Path, bool]:
    """Write the dbt docs site of the warehouse ``settings`` names; returns the page's path and whether it was
    written (``only_if_changed``: not when the page already describes this project and warehouse). The caller holds
    the warehouse (a run's step, or ``refunds docs`` under the run lock): dbt opens the DuckDB file for the catalog."""
    project = get_dbt_project()
    target = project.project_dir / project.target_path
    if not (target / "manifest.json").exists():
        raise FileNotFoundError(f"no dbt manifest at {target / 'manifest.json'}: run `refunds prepare` first")
    fingerprint = _fingerprint(settings, target / "manifest.json")
    if only_if_changed and _page_fingerprint(docs_page(settings)) == fingerprint:
        return docs_page(settings), False
    scratch = target / f".docs-{uuid.uuid4().hex[:8]}"  # dbt's own outputs, private to this build
    scratch.mkdir(parents=True)
    try:
        for name in ("manifest.json", PARTIAL_PARSE_FILE):
            if (target / name).exists():
                shutil.copyfile(target / name, scratch / name)
        cmd = [dbt_executable(), "docs", "generate", "--static", "--no-compile", "--quiet"]
        cmd += ["--project-dir", str(project.project_dir), "--profiles-dir", str(project.profiles_dir)]
        cmd += ["--target-path", str(scratch), "--log-path", str(scratch)]
        env = {**os.environ, **dbt_environment(settings)}  # the catalog reads the settings' warehouse
        done = subprocess.run(cmd, cwd=project.project_dir, env=env, capture_output=True, text=True, check=False)
        built = scratch / "static_index.html"
        if done.returncode != 0 or not built.exists():
            output = (done.stdout + done.stderr).strip()[-4000:]
            raise RuntimeError(f"dbt docs generate failed (exit {done.returncode}):\n{output}")
        page = docs_page(settings)
        page.parent.mkdir(parents=True, exist_ok=True)
        staged = page.parent / f".{page.name}.{uuid.uuid4().hex[:8]}.tmp"
        try:
            shutil.copyfile(built, staged)
            with open(staged, "ab") as f:
                f.write(f"\n<!-- refunds dbt docs fingerprint: {fingerprint} -->\n".encode())
                f.flush()
                os.fsync(f.fileno())
            os.chmod(staged, 0o644)  # auditors are other users
            os.replace(staged, page)
        finally:
            staged.unlink(missing_ok=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return page, True
