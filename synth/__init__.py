"""Synthetic ACE exports: a consistent world of IEEPA entries, CAPE declarations and refunds, written as the
six ACE reports (ES-003, ES-022, ES-701, REV-603, REV-613, REV-615) would show it, plus truth files.

    from synth import generate
    result = generate(Path("data/landing"), entries=20_000, seed=7)

See docs/SYNTHETIC_DATA.md for what is planted and what the truth files hold.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from pipelines.warehouse.layouts import REPORTS
from synth.world import WorldConfig, build_world
from synth.writers import PROFILES, write_reports, write_truth

__all__ = ["PROFILES", "GenerationResult", "generate", "write_sample"]

REPO_ROOT = Path(__file__).resolve().parents[1]
SEEDS_DIR = REPO_ROOT / "dbt_project" / "seeds"
SAMPLE_XLSX = ("es022", "rev603", "rev613")  # as real users download them (docs/DOMAIN.md section 8)
# Files a previous run may have left; nothing else in out_dir is touched.
REPORT_FILE = re.compile(r"^(ES-(003|022|701)|REV-6(03|13|15))_\d{4}-\d\d-\d\d_\d{4}-\d\d-\d\d\.(csv|xlsx)$")
TRUTH_FILES = (
    "entries.csv",
    "files.csv",
    "planted_variances.csv",
    "importer_profiles.csv",
    "refunds.csv",
    "offsets.csv",
    "as_of.txt",
)


@dataclass
class GenerationResult:
    files: list[Path]  # report files written
    rows_by_file: dict[str, int]  # data rows per file name
    truth_dir: Path
    entries: int
    seed: int
    as_of: date
    profile: str
    seconds: float


def _connect(work: Path, memory_limit: str) -> duckdb.DuckDBPyConnection:
    # A file-backed database and a spill folder keep a 1M-entry world within memory_limit.
    con = duckdb.connect(str(work / "world.duckdb"))
    con.execute(f"set memory_limit = '{memory_limit}'")
    con.execute(f"set temp_directory = '{(work / 'spill').as_posix()}'")
    con.execute("set preserve_insertion_order = true")
    con.execute("set enable_progress_bar = false")  # COPY keeps the ORDER BY: same seed, same bytes
    return con


def _clean(out_dir: Path, truth_dir: Path) -> None:
    for p in out_dir.iterdir():
        if p.is_file() and REPORT_FILE.match(p.name):
            p.unlink()
    for name in TRUTH_FILES:
        (truth_dir / name).unlink(missing_ok=True)


def generate(
    out_dir: Path,
    entries: int = 400,
    seed: int = 7,
    as_of: date = date(2026, 11, 20),
    xlsx_reports: tuple[str, ...] = (),
    quirks: bool = True,
    memory_limit: str = "3GB",
    profile: str = "realistic",
) -> GenerationResult:
    """Write the ACE report files for a world of ``entries`` entry summaries into ``out_dir``, and the truth
    into ``out_dir/truth``. ``quirks`` adds what real exports carry (MM/DD/YYYY, $1,234.56, (12.00), CRLF,
    BOMs, dashed entry numbers, overlapping ES-003 exports with corrections, a REV-603 without offsets).
    ``profile`` says which layouts the files take (writers.PROFILES): ``realistic`` as real exports are found to
    be (the default), ``assumed`` as the project first assumed them."""
    if entries < 1:
        raise ValueError("entries must be at least 1")
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; known: {sorted(PROFILES)}")
    unknown = set(xlsx_reports) - set(REPORTS)
    if unknown:
        raise ValueError(f"unknown report codes for xlsx_reports: {sorted(unknown)}; known: {sorted(REPORTS)}")
    started = time.perf_counter()
    out_dir = Path(out_dir)
    truth_dir = out_dir / "truth"
    out_dir.mkdir(parents=True, exist_ok=True)
    truth_dir.mkdir(exist_ok=True)
    _clean(out_dir, truth_dir)

    cfg = WorldConfig(entries=entries, seed=seed, as_of=as_of, seeds_dir=SEEDS_DIR)
    work = Path(tempfile.mkdtemp(prefix="synth_world_"))
    try:
        con = _connect(work, memory_limit)
        try:
            build_world(con, cfg, quirks)
            written = write_reports(con, out_dir, as_of, tuple(xlsx_reports), quirks, PROFILES[profile])
            write_truth(con, truth_dir, written)
            (truth_dir / "as_of.txt").write_text(f"{as_of.isoformat()}\n")  # the date the world is seen at
        finally:
            con.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return GenerationResult(
        files=[w.path for w in written],
        rows_by_file={w.path.name: w.rows for w in written},
        truth_dir=truth_dir,
        entries=entries,
        seed=seed,
        as_of=as_of,
        profile=profile,
        seconds=round(time.perf_counter() - started, 2),
    )


def write_sample(repo_root: Path = REPO_ROOT) -> GenerationResult:
    """Regenerate the bundled sample (data/sample, defaults, REV-613 as .xlsx) and the importer profiles the
    pipeline reads (data/reference/importer_profiles.csv)."""
    repo_root = Path(repo_root)
    result = generate(repo_root / "data" / "sample", xlsx_reports=SAMPLE_XLSX)
    reference = repo_root / "data" / "reference"
    reference.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(result.truth_dir / "importer_profiles.csv", reference / "importer_profiles.csv")
    write_entry_flags(result.truth_dir / "entries.csv", reference / "entry_flags.csv")
    return result


def write_entry_flags(truth_entries: Path, target: Path) -> int:
    """The user-kept entry flags file for the sample: the facts of the world the ACE exports do not carry
    (drawback claims, protests, AD/CVD entries still unliquidated), one row per flagged entry."""
    import csv

    with truth_entries.open(newline="", encoding="utf-8") as f:
        entries = list(csv.DictReader(f))
    rows = []
    for e in entries:
        adcvd_pending = e["adcvd_flag"] == "Y" and e["liquidation_status"] in (
            "",
            "Unliquidated",
            "Suspended",
            "Extended",
        )
        if e["drawback_flag"] == "Y" or e["protest_status"] or adcvd_pending:
            rows.append(
                {
                    "Entry Number": e["entry_number"],
                    "Drawback Claim": e["drawback_flag"],
                    "Protest Status": e["protest_status"],
                    "ADCVD Pending": "Y" if adcvd_pending else "N",
                    "PSC Pending": "N",
                    "Recon Type09 Filed": "N",
                    "Note": "from the synthetic world",
                }
            )
    with target.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["Entry Number"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)
