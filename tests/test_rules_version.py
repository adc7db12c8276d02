"""The rules version: every setting a rule or rate reads is in it, and a changed seed changes it (dbt_project.yml and
macros/rules_version.sql read as files, and the macro compiled by dbt itself)."""

from __future__ import annotations

import re

import yaml

from tests.conftest import PROJECT_ROOT

DBT = PROJECT_ROOT / "dbt_project"


def test_every_setting_of_the_dbt_project_is_in_the_rules_version():
    settings = set(yaml.safe_load((DBT / "dbt_project.yml").read_text(encoding="utf-8"))["vars"]) - {"as_of"}
    macro = (DBT / "macros" / "rules_version.sql").read_text(encoding="utf-8")
    listed = set(re.findall(r"'([a-z0-9_]+)'", macro[macro.index("rules_version_var_names") :].split("endmacro")[0]))
    assert settings == listed, f"missing: {sorted(settings - listed)}, unknown: {sorted(listed - settings)}"


def test_every_seed_a_mart_reads_is_in_the_rules_version():
    macro = (DBT / "macros" / "rules_version.sql").read_text(encoding="utf-8")
    seeds = {p.stem for p in DBT.joinpath("seeds").rglob("*.csv")} - {"offset_reviews"}  # the user's own review log
    listed = set(re.findall(r"'([a-z0-9_]+)'", macro[macro.index("set seeds") :].split("%}")[0]))
    assert seeds == listed
