"""Transformation: the dbt project (staging -> intermediate -> marts) as Dagster assets (``pipelines.transform.dbt``).

Nothing is imported here: ``pipelines.transform.dbt`` loads (and, when stale, parses) the dbt manifest on import,
and ``refunds-dbt`` (``dbt_child.py``), the dbt that this very parse starts, must not.
"""
