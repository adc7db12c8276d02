"""DDL of the ingestion side of the warehouse: raw tables (one per report), the file ledger and the quarantine."""

from __future__ import annotations

import duckdb

from pipelines.warehouse.layouts import REPORTS, Report

SQL_TYPES = {
    "entry_number": "VARCHAR",
    "text": "VARCHAR",
    "code": "VARCHAR",
    "hts": "VARCHAR",
    "int": "INTEGER",
    "decimal": "DECIMAL(18,6)",
    "money": "DECIMAL(18,2)",
    "date": "DATE",
    "flag": "BOOLEAN",
}

# Lineage columns every raw row carries: which file, which line, which load.
LINEAGE_COLUMNS = (
    ("_load_id", "BIGINT NOT NULL"),
    ("_file_sha256", "VARCHAR NOT NULL"),
    ("_source_file", "VARCHAR NOT NULL"),
    ("_source_line", "BIGINT NOT NULL"),
    ("_file_modified_at", "TIMESTAMP NOT NULL"),
)


def raw_columns(report: Report) -> list[tuple[str, str]]:
    """(name, SQL type) of the raw table: the layout's columns, a check status per entry number, lineage."""
    cols: list[tuple[str, str]] = []
    for c in report.columns:
        cols.append((c.name, SQL_TYPES[c.kind]))
        if c.kind == "entry_number":
            # 'valid' | 'bad_check_digit' | 'malformed': bad entry numbers are kept and flagged, never dropped.
            cols.append((f"{c.name}_check", "VARCHAR"))
    return cols + list(LINEAGE_COLUMNS)


def ensure_warehouse(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ingestion schemas and tables if missing (idempotent)."""
    for schema in ("raw", "quarantine", "ingest", "export"):
        con.execute(f"create schema if not exists {schema}")
    for report in REPORTS.values():
        cols = ",\n  ".join(f"{name} {typ}" for name, typ in raw_columns(report))
        con.execute(f"create table if not exists raw.{report.table} (\n  {cols}\n)")
        # A layout variant added since the table was created brings new optional columns: add them (NULL for the
        # rows already loaded, which did not carry them).
        present = {
            r[0]
            for r in con.execute(
                "select column_name from duckdb_columns() where schema_name = 'raw' and table_name = ?", [report.table]
            ).fetchall()
        }
        for name, typ in raw_columns(report):
            if name not in present:
                con.execute(f"alter table raw.{report.table} add column {name} {typ}")
    con.execute(
        """
        create table if not exists raw.importer_profiles (
          importer_number varchar primary key,
          importer_name varchar,
          is_corporate boolean not null,
          ach_enrolled boolean,
          form_4811_payee_number varchar,
          allowed_filer_codes varchar[],
          phase3_from date,                 -- CAPE Phase 3 allowed for the importer from this date (NULL: off)
          _source_file varchar not null,
          _source_line bigint not null
        )
        """
    )
    # A profiles table created before the column existed gets it (the table is refilled from the file every run).
    con.execute("alter table raw.importer_profiles add column if not exists phase3_from date")
    con.execute(
        """
        create table if not exists raw.entry_flags (
          entry_number varchar primary key,
          drawback_claim boolean not null,
          adcvd_pending boolean not null,
          psc_pending boolean not null,
          recon_type09_filed boolean not null,
          protest_status varchar,
          note varchar,
          _source_file varchar not null,
          _source_line bigint not null
        )
        """
    )
    con.execute(
        """
        create table if not exists ingest.reference_files (
          file_kind varchar primary key,    -- importer_profiles | entry_flags
          file_path varchar not null,
          present boolean not null,         -- absent: the facts it carries are unknown downstream
          rows_loaded bigint not null,
          loaded_at timestamp not null
        )
        """
    )
    con.execute(
        """
        create table if not exists export.exported_entries (
          entry_summary_number varchar not null,
          planned_declaration_id varchar not null,
          file_name varchar not null,
          file_sha256 varchar not null,
          as_of_date date not null,       -- one export folder per as_of date: re-running that day rewrites it
          run_id varchar not null,
          exported_at timestamp not null
        )
        """
    )
    con.execute("create sequence if not exists ingest.load_id_seq start 1")
    con.execute(
        """
        create table if not exists ingest.file_ledger (
          load_id bigint primary key,
          file_sha256 varchar not null,
          file_name varchar not null,
          file_size_bytes bigint not null,
          file_modified_at timestamp not null,
          file_format varchar,              -- csv | xlsx
          encoding varchar,                 -- utf-8 | utf-8-sig | cp1252
          report_code varchar,              -- es003 ... ; NULL when the file was refused unrecognised
          status varchar not null,          -- loaded | refused
          refusal_code varchar,             -- empty_file | unknown_report | required_column_missing | ...
          refusal_reason varchar,
          header_line bigint,
          columns_missing varchar[],        -- optional layout columns absent from the file
          columns_ignored varchar[],        -- file headers the layout does not know
          rows_read bigint not null,
          rows_loaded bigint not null,
          rows_quarantined bigint not null,
          loaded_at timestamp not null,
          run_id varchar,
          layout_fingerprint varchar,       -- layouts + aliases in force: a refused file is retried when they change
          layout_variant varchar,           -- the known layout the header is closest to (report_layouts.yaml)
          detection_note varchar,           -- how the report was told apart from another that also fits
          source_archive varchar,           -- the ZIP archive the file came from (file_name is <archive>/<member>)
          refusal_excerpt varchar           -- a refused file's first characters, escaped and cut short
        )
        """
    )
    # Warehouses created before these columns existed get them (NULL for the files already in the ledger).
    for column in ("layout_variant", "detection_note", "source_archive", "refusal_excerpt"):
        con.execute(f"alter table ingest.file_ledger add column if not exists {column} varchar")
    con.execute(
        """
        create table if not exists quarantine.rejected_rows (
          load_id bigint not null,
          report_code varchar not null,
          source_file varchar not null,
          source_line bigint not null,
          reason_code varchar not null,     -- csv_structure | required_missing | bad_date | bad_amount | ...
          reason varchar not null,          -- readable: which column, which value, what was expected
          record varchar                    -- the row as read (JSON of the raw text values, or the CSV line)
        )
        """
    )


def ensure_fingerprint_cache(con: duckdb.DuckDBPyConnection) -> None:
    """The landing inventory's fingerprint cache (``ingest/fingerprint_cache.py``), created on first use: it is the
    inventory's own table, not an input of dbt's, so ``ensure_warehouse`` (the sources) leaves it out."""
    con.execute(
        """
        create table if not exists ingest.landing_fingerprints (
          file_path blob not null,          -- resolved path, as the file system's bytes (names need not be UTF-8)
          file_size_bytes bigint not null,  -- with the next four: the stat a cached fingerprint is valid for
          mtime_ns bigint not null,
          ctime_ns bigint not null,
          inode ubigint not null,
          device ubigint not null,
          file_sha256 varchar not null,
          utf8 boolean not null,            -- the whole file decodes as UTF-8
          head blob not null,               -- its first 256 bytes (a refusal's excerpt, the BOM)
          fingerprinted_at timestamp not null
        )
        """
    )
