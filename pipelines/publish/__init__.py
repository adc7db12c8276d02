"""Publishing: the analysts' read-only copy of the marts (DuckDB readable by 1.x clients, and Parquet)."""
