"""The project's dbt resource skips two dagster-dbt start-up costs (pipelines/transform/dbt.py,
ProjectDbtCliResource). Both override dagster-dbt internals: these tests fail if an upgrade makes either stop
taking effect, or if the shortcut would tell dagster-dbt a different dbt version than the executable has."""

import re
import subprocess

from pipelines.transform.dbt import dbt_executable, dbt_resource


def test_dbt_version_is_the_executables_own():
    printed = subprocess.run([dbt_executable(), "--version"], capture_output=True, text=True, check=True).stdout
    core = re.search(r"installed:\s*(\d+\.\d+\.\d+)", printed) or re.search(r"(\d+\.\d+\.\d+)", printed)
    assert core, printed
    assert str(dbt_resource()._cli_version) == core.group(1)


def test_no_dbt_adapter_is_loaded_in_the_calling_process(tmp_path):
    invocation = dbt_resource().cli(["--version"], target_path=tmp_path / "target")
    invocation.wait()
    assert invocation.is_successful()
    assert invocation.adapter is None
