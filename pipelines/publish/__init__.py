"""Publishing: the analysts' read-only copy of the marts (DuckDB readable by DuckDB 0.10.3 and later, and Parquet)."""
