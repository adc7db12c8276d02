"""Transformation: the dbt project (staging -> intermediate -> marts) as Dagster assets.

Importing this package loads the dbt manifest (and parses the project first when the manifest is missing or stale).
"""

from pipelines.transform.dbt import (
    DbtRunConfig,
    IeepaDbtTranslator,
    dbt_executable,
    dbt_resource,
    get_dbt_project,
    ieepa_dbt_assets,
    manifest_is_stale,
    prepare_dbt_manifest,
)

__all__ = [
    "DbtRunConfig",
    "IeepaDbtTranslator",
    "dbt_executable",
    "dbt_resource",
    "get_dbt_project",
    "ieepa_dbt_assets",
    "manifest_is_stale",
    "prepare_dbt_manifest",
]
