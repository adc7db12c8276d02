"""Ingestion: ACE report exports from the landing folder into DuckDB (raw.*, quarantine.*, ingest.file_ledger)."""
