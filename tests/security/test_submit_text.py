"""Finding 7: the submit description is built only from checked values (no line can be injected)."""

from __future__ import annotations

import pytest
from wbtest_security import assert_clean

from workbench.errors import JobTypeError, ParameterError
from workbench.jobtype import JobType
from workbench.settings import RunSettings


@pytest.mark.parametrize("variable", ["WORKBENCH_PYTHON", "WORKBENCH_CONTAINER_IMAGE"])
def test_a_setting_with_a_newline_from_the_environment_is_refused(cli, variable):
    cli.env[variable] = "python3\nexecutable = /bin/sh"
    proc = cli("create", "demo", "b", "--yes")
    assert_clean(proc)
    assert proc.returncode == 2 and "control character" in proc.stderr
    assert not (cli.cwd / "b").exists()


def test_a_setting_with_a_newline_from_the_settings_file_is_refused(cli, tmp_path):
    config = tmp_path / "settings.toml"
    config.write_text('container_image = "docker://python:3.11\\nuniverse = vanilla"\n')
    cli.env["WORKBENCH_CONFIG"] = str(config)
    proc = cli("create", "demo", "b", "--yes")
    assert_clean(proc)
    assert proc.returncode == 2 and "container_image" in proc.stderr and "control character" in proc.stderr
    assert not (cli.cwd / "b").exists()


def test_settings_and_job_type_names_are_checked_where_they_are_made():
    with pytest.raises(ParameterError, match="control character"):
        RunSettings(python="/usr/bin/python3\nexecutable = /bin/sh")
    with pytest.raises(ParameterError, match="control character"):
        RunSettings(target="condor", wheels="wheels\nuniverse = vanilla")
    with pytest.raises(JobTypeError, match="is not a name"):
        JobType(name="demo\nexecutable = /bin/sh", params=(), run=print)
