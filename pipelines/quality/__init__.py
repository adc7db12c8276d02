"""Data-quality gate: Great Expectations suites (committed in expectations/) run on frames read from the
warehouse through a read-only connection, as blocking Dagster asset checks."""
