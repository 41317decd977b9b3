"""Job types other packages add with an entry point: a real distribution on sys.path, found by name everywhere."""

from __future__ import annotations

import os
import subprocess
import importlib
import sys
from pathlib import Path

import pytest

from workbench import registry
from workbench.bundle import create
from workbench.errors import JobTypeError
from workbench.executors.local import run
from workbench.registry import ENTRY_POINT_GROUP, get_job_type, job_types
from workbench.results import results
from workbench.scan import scan

TESTS = Path(__file__).parent

PLUGIN = '''
from workbench.jobtype import Cost, JobType
from workbench.params import Param


def run_cube(point, ctx):
    return {"cube": point["a"] ** 3}


cube = JobType(
    name="{name}",
    title="Cubes (a plug-in)",
    params=(Param("a", "float", 2.0, help="the side"),),
    run=run_cube,
    cost=lambda p: Cost(seconds=0.01),
)
'''


def install_plugin(site: Path, name: str, module: str, source: str | None = None) -> None:
    """What `pip install` of a package declaring a job type leaves in site-packages: the module and its dist-info.

    The module is the plug-in above, or ``source`` (which must define ``cube``).
    """
    (site / f"{module}.py").write_text(PLUGIN.replace("{name}", name) if source is None else source)
    info = site / f"{module}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{name} = {module}:cube\n")
    importlib.invalidate_caches()


@pytest.fixture
def site(tmp_path, monkeypatch) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    return site


def test_an_installed_package_adds_a_job_type_that_runs_in_bundles(site, tmp_path):
    install_plugin(site, "wbtest-cube", "wbtest_cube_plugin")
    assert "wbtest-cube" in job_types()
    jt = get_job_type("wbtest-cube")
    assert jt.title == "Cubes (a plug-in)" and jt.param_names == ("a",)

    b = create(scan("wbtest-cube", a=[1.0, 2.0, 3.0]), tmp_path / "b")
    report = run(b, workers=2, progress=False)
    assert report.completed == 3
    assert list(results(b)["cube"]) == [1.0, 8.0, 27.0]


def test_the_command_line_lists_and_creates_a_plug_in_job_type(site, tmp_path):
    install_plugin(site, "wbtest-cli-cube", "wbtest_cli_cube_plugin")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(TESTS)])}

    def wb(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "workbench", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)  # fmt: skip

    listed = wb("list", "-v")
    assert listed.returncode == 0, listed.stderr
    assert "wbtest-cli-cube Cubes (a plug-in)" in listed.stdout and "a = 2.0" in listed.stdout
    made = wb("create", "wbtest-cli-cube", "c", "--set", "a=[1, 2]", "--yes")
    assert made.returncode == 0, made.stderr
    ran = wb("run", "c", "--no-progress")
    assert ran.returncode == 0 and "2 of 2 job(s) completed" in ran.stdout, ran.stderr


def test_a_package_installed_after_the_first_look_is_found(site):
    assert "wbtest-late" not in job_types()  # read once, then remembered for this sys.path
    install_plugin(site, "wbtest-late", "wbtest_late_plugin")
    assert get_job_type("wbtest-late").name == "wbtest-late"  # an unknown name looks again before it fails
    assert "wbtest-late" in job_types()


def test_the_installed_packages_are_read_once_not_once_per_job(site, monkeypatch):
    install_plugin(site, "wbtest-once", "wbtest_once_plugin")
    reads = []
    real = registry.entry_points
    monkeypatch.setattr(registry, "entry_points", lambda **kw: reads.append(kw) or real(**kw))
    registry._entry_point_refs.cache_clear()
    for _ in range(50):
        get_job_type("wbtest-once")
        get_job_type("demo")
    assert len(reads) == 1


def test_an_entry_point_that_is_not_a_job_type_is_refused_by_name(site):
    install_plugin(site, "wbtest-bad", "wbtest_bad_plugin", source="cube = 42\n")
    with pytest.raises(JobTypeError, match=r"'wbtest_bad_plugin:cube' \(job type 'wbtest-bad'\) is a int, not a JobType"):
        get_job_type("wbtest-bad")


def test_job_types_made_in_this_process_run_by_name_without_reading_installed_packages(monkeypatch):
    import wbtest_jobs

    from workbench.job import _run_function

    monkeypatch.setattr(registry, "entry_points", lambda **kw: pytest.fail("read the installed packages"))
    registry._entry_point_refs.cache_clear()
    job_input = {"job_type": "wbtest-counting", "run": "wbtest_jobs:run_counting"}
    assert _run_function(job_input) is wbtest_jobs.run_counting
