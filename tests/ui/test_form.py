"""The scan form, headless: set widget values as the browser would, check the model it describes."""

from __future__ import annotations

import asyncio
import getpass
import html
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from wbtest_widgets import open_widgets

import workbench as wb
from workbench.bundle import open_bundle
from workbench.errors import ScanError
from workbench.executors import check as check_module
from workbench.jobtype import JobType
from workbench.params import Param
from workbench.registry import _registered, register
from workbench.scan import Scan
from workbench.scan import scan as make_scan
from workbench.settings import RunSettings
from workbench.sources import Arange, Expr, Geomspace, Linspace, Logspace, NumericValues, Value, Values
from workbench.ui import fields as fields_module
from workbench.ui.form import Form


@pytest.fixture(autouse=True)
def _no_user_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_CONFIG", str(tmp_path / "no-settings.toml"))
    for key in list(os.environ):
        if key.startswith("WORKBENCH_") and key not in ("WORKBENCH_CONFIG", "WORKBENCH_ARTIFACTS"):
            monkeypatch.delenv(key)


@pytest.fixture
def form(tmp_path: Path) -> Iterator[Form]:
    f = wb.form("demo", folder=tmp_path / "scans", plot=False)
    yield f
    f.close()


def set_linspace(f: Form, name: str, start: str, stop: str, num: str) -> None:
    field = f.fields[name]
    field.mode.value = "linspace"
    for key, text in (("start", start), ("stop", stop), ("num", num)):
        field.inputs[f"linspace.{key}"].value = text


def test_a_new_form_describes_the_default_point(form: Form) -> None:
    assert form.scan is not None and len(form.scan) == 1
    assert form.scan.fixed == form.job_type.defaults()
    assert form.errors == {}
    assert "1 job" in form.summary.value
    assert all(not b.disabled for b in form.buttons.values())
    assert form.name == "demo-scan"
    assert form.settings is not None and form.settings.request_memory_mb == 128.0  # 80 MB from the cost model, with head room


def test_a_linspace_typed_into_a_field_changes_the_job_count(form: Form) -> None:
    set_linspace(form, "drive_freq", "0.5", "1.5", "41")
    assert form.scan is not None
    assert form.scan.sources["drive_freq"] == Linspace(0.5, 1.5, 41)
    assert len(form.scan) == 41
    assert "41 values: 0.5, 0.525, …, 1.5 · step 0.025" in form.fields["drive_freq"].message.value
    assert "41 jobs" in form.summary.value and "core-seconds" in form.summary.value
    form.fields["damping"].mode.value = "list"
    form.fields["damping"].inputs["list"].value = "0.05, 0.1, 0.2"
    assert len(form.scan) == 123
    assert "drive_freq 41 × damping 3" in form.summary.value
    assert "<td>0.525</td>" in form.table.value  # the first points, crossed: damping varies fastest
    assert form.table.value.count("<tr>") == 1 + 5


@pytest.mark.parametrize(
    ("mode", "texts", "source", "count"),
    [
        ("value", {"value": "2*pi/4"}, Value(1.5707963267948966), 1),
        ("list", {"list": "0.5, 1, 2"}, Values((0.5, 1, 2)), 3),
        ("list", {"list": "[0.5, 1]"}, Values((0.5, 1)), 2),
        ("linspace", {"start": "0.5", "stop": "1.5", "num": "1e1"}, Linspace(0.5, 1.5, 10), 10),
        ("logspace", {"start": "-1", "stop": "1", "num": "3", "base": "10"}, Logspace(-1, 1, 3, 10), 3),
        ("geomspace", {"start": "0.1", "stop": "10", "num": "5"}, Geomspace(0.1, 10, 5), 5),
        ("arange", {"start": "0.5", "stop": "1", "step": "0.25"}, Arange(0.5, 1, 0.25), 2),
        ("expr", {"expr": "np.linspace(0.5, 1.5, 3)**2"}, Expr("np.linspace(0.5, 1.5, 3)**2"), 3),
    ],
)
def test_every_value_source_mode(form: Form, mode: str, texts: dict[str, str], source: object, count: int) -> None:
    field = form.fields["drive_freq"]
    field.mode.value = mode
    for key, text in texts.items():
        field.inputs[key if mode in ("value", "list", "expr") else f"{mode}.{key}"].value = text
    assert form.errors == {}, form.errors
    assert form.scan is not None
    assert form.scan.sources["drive_freq"] == source
    assert len(form.scan) == count
    assert field.message.value.startswith('<span class="wb-preview">' + (f"{count} values" if count > 1 else "1 value"))


def test_spacing_is_shown(form: Form) -> None:
    field = form.fields["damping"]
    field.mode.value = "geomspace"
    for key, text in (("start", "0.01"), ("stop", "1"), ("num", "3")):
        field.inputs[f"geomspace.{key}"].value = text
    assert "3 values: 0.01, 0.1, 1 · ratio 10" in field.message.value
    field.mode.value = "list"
    field.inputs["list"].value = "0.1, 0.2, 0.4, 0.5"
    assert "uneven spacing" in field.message.value


def test_switching_modes_starts_from_the_current_values(form: Form) -> None:
    field = form.fields["drive_freq"]
    set_linspace(form, "drive_freq", "0.5", "1.5", "5")
    field.mode.value = "expr"
    assert field.inputs["expr"].value == "np.linspace(0.5, 1.5, 5)"
    assert form.scan is not None and form.scan.values("drive_freq") == (0.5, 0.75, 1.0, 1.25, 1.5)
    field.mode.value = "list"
    assert form.scan is not None and form.scan.values("drive_freq") == (0.5, 0.75, 1.0, 1.25, 1.5)
    field.mode.value = "arange"
    assert form.scan is not None and form.scan.values("drive_freq") == (0.5, 0.75, 1.0, 1.25, 1.5)


def test_an_invalid_value_is_refused_at_its_field_and_disables_the_buttons(form: Form) -> None:
    field = form.fields["drive_freq"]
    field.inputs["value"].value = "-1"
    assert form.scan is None
    assert set(form.errors) == {"drive_freq"}
    assert "below the lower bound; use a finite number > 0 and <= 100" in form.errors["drive_freq"]
    assert "wb-error" in field.message.value and "below the lower bound" in field.message.value
    assert "wb-invalid" in field.widget._dom_classes
    for key, button in form.buttons.items():
        assert button.disabled
        assert "below the lower bound" in button.tooltip
        assert form.disabled_reason(key) == button.tooltip
    assert "Fix drive_freq" in form.reason.value
    assert "1 field(s) need attention: drive_freq" in form.summary.value
    with pytest.raises(ScanError, match="below the lower bound"):
        form.create()
    field.inputs["value"].value = "0.9"
    assert form.errors == {} and form.scan is not None and form.scan.fixed["drive_freq"] == 0.9
    assert all(not b.disabled for b in form.buttons.values())
    assert "wb-invalid" not in field.widget._dom_classes


@pytest.mark.parametrize(
    ("field", "key", "text", "message"),
    [
        ("periods", "value", "60.5", "not a whole number"),
        ("drive_freq", "value", "[1, 2]", "gives 2 values, but 'single value' takes one"),
        ("drive_freq", "value", "", "no value given"),
        ("drive_freq", "value", "abc", "abc"),
        ("drive_freq", "linspace.num", "0", "makes no values"),
        ("drive_freq", "linspace.num", "1e8", "at most 10,000,000"),
        ("drive_freq", "linspace.start", "", "start is empty"),
        ("damping", "list", "0.1, 0.1", "repeats the value 0.1"),
        ("drive_freq", "expr", "np.linspace(0, 1, 10**12)", "10**12"),
    ],
)
def test_model_messages_reach_the_field(form: Form, field: str, key: str, text: str, message: str) -> None:
    f = form.fields[field]
    f.mode.value = key.split(".")[0] if key != "value" else "value"
    f.inputs[key].value = text
    assert form.scan is None
    assert message in form.errors[field], form.errors
    assert message.replace("'", "&#x27;") in f.message.value


def test_a_parameter_that_cannot_be_scanned_has_no_switch(form: Form) -> None:
    rtol = form.fields["rtol"]
    assert rtol.modes == ("value",)
    assert rtol.mode.layout.display == "none" and rtol.zip.layout.display == "none"
    assert "not scannable" in rtol._help.value
    rtol.set_source(Values((1e-8, 1e-9)))
    assert "rtol" in form.errors and form.scan is None


def test_zip_groups_pair_axes(form: Form) -> None:
    set_linspace(form, "drive_freq", "0.5", "1.5", "3")
    form.fields["damping"].mode.value = "list"
    form.fields["damping"].inputs["list"].value = "0.05, 0.1, 0.2"
    assert len(form.scan) == 9
    form.fields["drive_freq"].zip.value = "A"
    # One member alone is not a pair: the model says so, at the zip level.
    assert form.scan is None and "fewer than two" in form.errors["zip"]
    form.fields["damping"].zip.value = "A"
    assert form.errors == {}
    assert form.scan is not None and form.scan.zip == (("drive_freq", "damping"),) and len(form.scan) == 3
    assert "(drive_freq, damping) 3" in form.summary.value
    form.fields["damping"].inputs["list"].value = "0.05, 0.1"
    assert "different lengths" in form.errors["zip"]
    assert "different lengths" in form.fields["drive_freq"].message.value
    assert "different lengths" in form.fields["damping"].message.value
    assert form.buttons["create"].disabled


def test_a_zip_error_is_reported_at_the_zip_even_when_the_crossed_axes_would_be_too_many(form: Form) -> None:
    """Whether an error is the zip's comes from the model (ZipError), not from a second, unzipped scan."""
    set_linspace(form, "drive_freq", "0.5", "1.5", "100000")
    set_linspace(form, "damping", "0.01", "0.2", "100001")
    set_linspace(form, "force", "1", "2", "10000")  # crossed, these three would be 10^14 points
    form.fields["drive_freq"].zip.value = "A"
    form.fields["damping"].zip.value = "A"
    assert "different lengths" in form.errors["zip"] and "scan" not in form.errors
    assert "different lengths" in form.fields["drive_freq"].message.value
    assert "different lengths" in form.fields["damping"].message.value
    assert "different lengths" not in form.fields["force"].message.value  # not in the group
    assert "different lengths" in form.summary.value and form.scan is None


def test_a_scan_too_big_with_a_valid_zip_is_reported_at_the_scan(form: Form) -> None:
    set_linspace(form, "drive_freq", "0.5", "1.5", "100000")
    set_linspace(form, "damping", "0.01", "0.2", "100000")
    set_linspace(form, "force", "1", "2", "10000")
    form.fields["drive_freq"].zip.value = "A"
    form.fields["damping"].zip.value = "A"  # 10^5 pairs x 10^4 forces: 10^9 points
    assert "at most 100,000,000 are allowed" in form.errors["scan"] and "zip" not in form.errors
    assert "allowed" not in form.fields["drive_freq"].message.value and form.scan is None


def test_job_type_warnings_are_shown_in_the_summary_and_at_their_fields(form: Form) -> None:
    form.fields["damping"].inputs["value"].value = "0.01"
    assert form.errors == {} and form.scan is not None  # a warning does not block
    assert form.warnings and "transient decays" in form.warnings[0].message
    assert "wb-warning" in form.summary.value and "transient decays" in form.summary.value
    assert "transient decays" in form.fields["periods"].message.value
    assert "transient decays" in form.fields["damping"].message.value
    assert not form.buttons["create"].disabled


@pytest.mark.parametrize(
    "hostile",
    [
        "__import__('os').system('touch {canary}')",
        "open('{canary}', 'w').write('x')",
        "().__class__.__base__.__subclasses__()",
        "[c for c in ().__class__.__bases__]",
        "np.save('{canary}', 1)",
        "exec(\"open('{canary}', 'w')\")",
        "eval('1')",
        "lambda: open('{canary}', 'w')",
        "np.__builtins__",
        "9**9**9**9",
        "np.ones(10**10)",
        "(" * 500 + "1" + ")" * 500,
    ],
)
def test_hostile_expressions_are_refused_at_the_field_and_never_run(form: Form, tmp_path: Path, hostile: str) -> None:
    canary = tmp_path / "canary"
    text = hostile.format(canary=canary)
    targets = [("drive_freq", "value", "value"), ("drive_freq", "expr", "expr"), ("drive_freq", "list", "list"),
               ("drive_freq", "linspace", "linspace.start"), ("damping", "arange", "arange.step")]
    for name, mode, key in targets:
        field = form.fields[name]
        field.mode.value = mode
        t0 = time.perf_counter()
        field.inputs[key].value = text
        assert time.perf_counter() - t0 < 2.0, f"{text[:40]!r} in {key} took too long"
        assert form.scan is None, (name, key)
        assert name in form.errors
        assert "wb-error" in field.message.value
        field.mode.value = "value"
        field.inputs["value"].value = "1" if name == "drive_freq" else "0.1"
    assert not canary.exists()
    assert form.errors == {}


def test_dry_run_writes_nothing(form: Form, tmp_path: Path) -> None:
    set_linspace(form, "drive_freq", "0.5", "1.5", "4")
    before = sorted(tmp_path.rglob("*"))
    form.buttons["dry_run"].click()
    assert sorted(tmp_path.rglob("*")) == before
    assert not form.path.exists()
    status = form.status.value
    assert "Dry run: nothing was written" in status
    assert "submit_job.sub" in status and "queue job_index, job_id from jobs.txt" in status
    assert "job 0 (" in status and "drive_freq = 0.5" in status
    plan = form.dry_run()
    assert len(plan.job_ids) == 4
    assert sorted(tmp_path.rglob("*")) == before


def test_create_writes_the_bundle(form: Form) -> None:
    set_linspace(form, "drive_freq", "0.5", "1.5", "4")
    form.settings_widgets["max_idle"].value = 20
    form.settings_widgets["batch_name"].value = "resonance"
    form.buttons["create"].click()
    assert "Created" in form.status.value, form.status.value
    bundle = open_bundle(form.path)
    assert form.bundle is not None and form.bundle.path == bundle.path
    assert bundle.count == 4 and bundle.name == "demo-scan"
    assert bundle.scan == form.scan
    assert bundle.settings.max_idle == 20 and bundle.settings.batch_name == "resonance"
    assert bundle.settings.request_memory_mb == 128.0
    # The name is taken now: creating again waits for a new name, and the note says what happened, not a failure.
    assert form.buttons["create"].disabled and form.buttons["create_and_run"].disabled
    reason = form.disabled_reason("create") or ""
    assert reason == "Bundle demo-scan is created. For another scan, change the bundle name (e.g. to demo-scan-2)."
    assert "already exists" not in form.reason.value and "demo-scan is created" in form.reason.value
    assert not form.buttons["dry_run"].disabled
    form.settings_widgets["name"].value = "demo-scan-2"
    assert not form.buttons["create"].disabled


def test_a_bundle_made_elsewhere_under_the_name_is_reported_as_taken(form: Form) -> None:
    wb.create(form.scan, form.path)
    form.settings_widgets["folder"].value = str(form.folder)  # any change checks again
    assert form.disabled_reason("create") == f"{form.path} already exists: choose another bundle name (e.g. demo-scan-2)."


def test_create_and_run_runs_on_this_machine(form: Form) -> None:
    form.fields["drive_freq"].mode.value = "list"
    form.fields["drive_freq"].inputs["list"].value = "0.9, 1.1"
    form.fields["periods"].inputs["value"].value = "20"
    form.fields["damping"].inputs["value"].value = "0.5"
    report = form.create_and_run(wait=True)
    assert report.completed == 2 and not report.failed  # type: ignore[union-attr]
    assert form.bundle is not None and len(form.bundle.finished_ids()) == 2


def test_create_and_run_shows_the_monitor_below_the_form(form: Form) -> None:
    form.fields["drive_freq"].mode.value = "list"
    form.fields["drive_freq"].inputs["list"].value = "0.9, 1.0, 1.1"
    form.fields["periods"].inputs["value"].value = "20"
    handle = form.create_and_run()
    try:
        assert handle is form.run_handle and handle.target == "local"
        assert form.monitor is not None and form.monitor_box.children == (form.monitor.widget,)
        assert form.monitor.run is handle
        deadline = time.monotonic() + 60
        while form.monitor.progress.done < 3:  # refresh() alone: no event loop in this test
            assert time.monotonic() < deadline, form.monitor.progress.summary()
            form.monitor.refresh()
            time.sleep(0.05)
        assert "3 of 3 done (100 %)" in form.monitor.progress_text.value
        status = form.status.value
        assert "Started 3 job(s)" in status and "this machine" in status and "monitor below" in status, status
        # The bundle made here is no problem to list; Run is offered for it once the run has ended.
        handle.wait(30)
        form._update_buttons()
        assert "already exists" not in form.reason.value
        assert form.run_button.layout.display == "" and not form.run_button.disabled
    finally:
        handle.close()


def test_each_target_shows_the_run_settings_it_needs(form: Form) -> None:
    sw = form.settings_widgets

    def shown() -> set[str]:
        keys = {k for k in ("host", "remote_dir", "python") if sw[k].layout.display != "none"}
        return keys | ({"check"} if form.check_button.layout.display != "none" else set())

    assert shown() == set()
    assert form.run_options == {}
    sw["target"].value = "ssh"
    assert shown() == {"host", "remote_dir", "python", "check"}
    assert "needs a host" in form.errors["settings.host"]
    assert form.scan is not None and form.settings is None
    sw["host"].value = "cluster"
    sw["remote_dir"].value = "/data/scans"
    sw["python"].value = "/opt/wb/bin/python"
    assert form.errors == {}
    assert form.run_options == {"host": "cluster", "remote_dir": "/data/scans", "python": "/opt/wb/bin/python"}
    assert not form.buttons["create_and_run"].disabled  # every target runs from the form now
    sw["target"].value = "condor"
    assert shown() == {"python"}
    assert form.run_options == {}
    sw["target"].value = "condor-ssh"
    assert shown() == {"host", "remote_dir", "python", "check"}
    assert form.run_options == {"host": "cluster", "remote_dir": "/data/scans"}  # the jobs take python from the bundle
    form.buttons["create"].click()
    settings = open_bundle(form.path).settings
    assert (settings.target, settings.host, settings.remote_dir, settings.python) == (
        "condor-ssh", "cluster", "/data/scans", "/opt/wb/bin/python"
    )
    sw["target"].value = "local"
    assert shown() == set()


def test_the_host_field_offers_the_hosts_of_the_ssh_config(tmp_path: Path) -> None:
    config = tmp_path / "ssh_config"
    config.write_text("Host bigbox gpu1\n  HostName 10.0.0.2\nHost *.cluster.org !bad\nHost login?\nHost alpha\n")
    f = wb.form("demo", folder=tmp_path, plot=False, connect={"ssh_config": config})
    try:
        assert list(f.settings_widgets["host"].options) == ["alpha", "bigbox", "gpu1"]
        f.settings_widgets["target"].value = "ssh"
        f.settings_widgets["host"].value = "bigbox"
        assert f.run_options["host"] == "bigbox" and f.run_options["ssh_config"] == config
    finally:
        f.close()
    g = wb.form("demo", folder=tmp_path, plot=False, connect={"ssh_config": None})
    assert list(g.settings_widgets["host"].options) == []
    g.close()


def test_check_needs_a_remote_target(form: Form) -> None:
    form.check_button.click()
    assert "choose 'a remote host over SSH'" in html.unescape(form.check_result.value)
    with pytest.raises(ScanError, match="Check connects to a host"):
        form.check()


def test_run_needs_a_bundle_made_here(form: Form) -> None:
    assert form.run_button.layout.display == "none"
    with pytest.raises(ScanError, match="Create the bundle first"):
        form.run()


def test_run_settings_are_checked_by_the_model(form: Form) -> None:
    sw = form.settings_widgets
    sw["request_cpus"].value = 0
    assert "request_cpus = 0" in form.errors["settings.request_cpus"]
    assert form.scan is not None and form.settings is None
    assert all(b.disabled for b in form.buttons.values())
    assert "request_cpus" in form._settings_message.value
    sw["request_cpus"].value = 4
    assert form.settings is not None and form.settings.request_cpus == 4
    sw["name"].value = "a/b"
    assert "not a plain folder name" in form.errors["settings.name"]
    sw["name"].value = ""
    assert "empty" in form.errors["settings.name"]
    sw["name"].value = "mine"
    assert form.errors == {} and form.path.name == "mine"


def test_memory_and_disk_requests_follow_the_cost_model_until_set(form: Form) -> None:
    sw = form.settings_widgets
    assert sw["auto_requests"].value and sw["request_memory_mb"].disabled
    assert sw["request_memory_mb"].value == 128.0 and sw["request_disk_mb"].value == 64.0
    sw["auto_requests"].value = False
    sw["request_memory_mb"].value = 1000.0
    assert form.settings is not None and form.settings.request_memory_mb == 1000.0
    assert form.settings.request_disk_mb == 64.0
    sw["request_memory_mb"].value = -5.0
    assert "request_memory_mb" in form.errors["settings.request_memory_mb"]


def test_a_bundle_fills_a_new_form_to_clone_it(tmp_path: Path) -> None:
    original = make_scan(
        "demo", drive_freq=Linspace(0.5, 1.5, 5), damping=Geomspace(0.05, 0.8, 5), force=[1.0, 2.0], zip=[("drive_freq", "damping")]
    )
    settings = RunSettings(max_idle=7, request_memory_mb=2048.0, request_disk_mb=100.0, batch_name="first")
    wb.create(original, tmp_path / "scans" / "first", settings=settings)
    f = wb.form(str(tmp_path / "scans" / "first"), plot=False)
    try:
        assert f.scan == original
        assert f.fields["drive_freq"].mode.value == "linspace"
        assert f.fields["damping"].mode.value == "geomspace"
        assert f.fields["force"].mode.value == "list"
        assert f.fields["drive_freq"].zip_group == f.fields["damping"].zip_group == "A"
        assert f.name == "first-2" and f.folder == tmp_path / "scans"
        assert f.settings is not None
        assert (f.settings.max_idle, f.settings.batch_name, f.settings.request_memory_mb) == (7, "first", 2048.0)
        assert not f.settings_widgets["auto_requests"].value
        # Change one axis and create the clone beside the original.
        f.fields["force"].inputs["list"].value = "1, 2, 3"
        clone = f.create()
        assert clone.path == tmp_path / "scans" / "first-2"
        assert clone.count == 15 and clone.scan.sources["drive_freq"] == Linspace(0.5, 1.5, 5)
    finally:
        f.close()


def test_load_fills_an_open_form(form: Form, tmp_path: Path) -> None:
    s = make_scan("demo", periods=Arange(20, 40, 10), damping=[0.2, 0.3])
    form.load(s)
    assert form.scan == s
    assert form.fields["periods"].mode.value == "arange"
    bundle = wb.create(s, tmp_path / "b")
    form.fields["periods"].inputs["value"].value = "99"
    form.load(bundle)
    assert form.scan == s and form.name == "b-2"
    form.load(s.to_dict())
    assert form.scan == s
    with pytest.raises(ScanError, match="job type"):
        form.load("demo")


def test_unknown_job_type_or_missing_bundle(tmp_path: Path) -> None:
    with pytest.raises(LookupError, match="neither a job type nor a bundle"):
        wb.form(str(tmp_path / "nothing"), plot=False)


def test_initial_values_and_zip(tmp_path: Path) -> None:
    f = wb.form("demo", values={"drive_freq": wb.linspace(0.5, 1.5, 41), "damping": [0.05, 0.1, 0.2]}, folder=tmp_path, plot=False)
    assert f.scan is not None and len(f.scan) == 123
    g = wb.form("demo", values={"drive_freq": [1, 2], "damping": [0.1, 0.2]}, zip=[("drive_freq", "damping")], name="pair", plot=False)
    assert g.scan is not None and len(g.scan) == 2 and g.name == "pair"
    f.close()
    g.close()


@pytest.fixture
def kinds_job_type() -> Iterator[JobType]:
    from workbench.jobtypes.demo import run

    jt = JobType(
        name="formkinds",
        params=(
            Param("x", "float", 1.0, unit="nm", min=0.0),
            Param("flag", "bool", False, help="A switch."),
            Param("method", "choice", "fast", choices=("fast", "exact", "cheap")),
            Param("label", "str", "run"),
            Param("n", "int", 3, min=1, max=10),
        ),
        run=run,
        constants={"nm": 1.0},
    )
    register(jt)
    yield jt
    _registered.pop(jt.name, None)


def test_every_kind_has_its_control(kinds_job_type: JobType, tmp_path: Path) -> None:
    import ipywidgets as widgets

    f = wb.form(kinds_job_type, folder=tmp_path, plot=False)
    try:
        assert isinstance(f.fields["flag"].inputs["value"], widgets.Checkbox)
        assert isinstance(f.fields["method"].inputs["value"], widgets.Dropdown)
        assert isinstance(f.fields["method"].inputs["list"], widgets.SelectMultiple)
        assert f.fields["flag"].modes == ("value", "list") and f.fields["n"].modes[-1] == "expr"
        assert "[nm]" in f.fields["x"]._label.value and "Allowed: a finite number &gt;= 0 nm" in f.fields["x"]._help.value
        f.fields["x"].inputs["value"].value = "800*nm"  # the job type's constants are usable
        f.fields["flag"].inputs["value"].value = True
        f.fields["method"].inputs["value"].value = "exact"
        f.fields["label"].inputs["value"].value = "second run"
        assert f.scan is not None and f.scan.fixed == {"x": 800.0, "flag": True, "method": "exact", "label": "second run", "n": 3}
        f.fields["method"].mode.value = "list"
        f.fields["method"].inputs["list"].value = ("cheap", "fast")
        f.fields["flag"].mode.value = "list"
        assert f.fields["flag"].inputs["list"].value == "False, True"
        f.fields["label"].mode.value = "list"
        f.fields["label"].inputs["list"].value = "a, b c"
        assert f.scan is not None
        assert f.scan.values("method") == ("fast", "cheap") and f.scan.values("flag") == (False, True)
        assert f.scan.values("label") == ("a", "b c") and len(f.scan) == 8
        f.fields["method"].inputs["list"].value = ()
        assert "empty" in f.errors["method"]
        # The job type picker rebuilds the fields.
        f.job_type_picker.value = "demo"
        assert list(f.fields) == list(wb.get_job_type("demo").param_names) and f.errors == {}
        assert f.name == "demo-scan"
    finally:
        f.close()


def test_an_unloadable_job_type_is_reported_and_the_form_stays(form: Form, monkeypatch: pytest.MonkeyPatch) -> None:
    from workbench import registry

    monkeypatch.setitem(registry._BUILTIN, "broken", "no_such_module_here:thing")
    form.job_type_picker.options = [*form.job_type_picker.options, ("broken", "broken")]
    form.job_type_picker.value = "broken"
    assert "Cannot import module" in form._header_message.value
    assert form.job_type_picker.value == "demo" and form.job_type.name == "demo"


def test_closing_the_form_closes_every_widget_it_made(tmp_path: Path) -> None:
    """Inputs of modes not shown, layouts, styles and the plot's toolbar too; also on a change of job type."""
    before = set(open_widgets())
    f = wb.form("demo", folder=tmp_path, plot=True)
    made = {k: v for k, v in open_widgets().items() if k not in before}
    hidden = f.fields["drive_freq"].inputs["linspace.start"]
    assert hidden in made.values() and f.plot is not None and f.plot.canvas.toolbar in made.values()
    # Switching job types closes the old fields: back at demo, as many widgets are open as at first.
    f.job_type_picker.value = "tdse"
    f.job_type_picker.value = "demo"
    assert hidden.comm is None
    now = {k: v for k, v in open_widgets().items() if k not in before}
    assert len(now) == len(made)
    f.close()
    left = [v for v in {**made, **now}.values() if v.comm is not None]  # type: ignore[attr-defined]
    assert left == []


def test_the_plot_shows_1d_and_2d_scans_only(tmp_path: Path) -> None:
    f = wb.form("demo", folder=tmp_path)
    try:
        assert f.plot is not None and not f.plot.shown and f.plot.widget.layout.display == "none"
        set_linspace(f, "drive_freq", "0.5", "1.5", "41")
        assert f.plot.shown and f.plot.widget.layout.display == ""
        assert len(f.plot.line.get_xdata()) == 41
        f.fields["damping"].mode.value = "geomspace"
        for key, text in (("start", "0.01"), ("stop", "1"), ("num", "200")):
            f.fields["damping"].inputs[f"geomspace.{key}"].value = text
        assert f.plot.shown and f.plot.ax.get_yscale() == "log"
        assert len(f.plot.line.get_xdata()) == 21 * 30  # at most 30 evenly strided values per axis
        assert "8,200 points (sampled)" == f.plot.ax.get_title()
        f.fields["force"].mode.value = "list"
        f.fields["force"].inputs["list"].value = "1, 2"
        assert not f.plot.shown and f.plot.widget.layout.display == "none"
    finally:
        f.close()


def test_a_slow_field_stops_updating_on_every_keystroke(form: Form, monkeypatch: pytest.MonkeyPatch) -> None:
    field = form.fields["drive_freq"]
    assert field.inputs["value"].continuous_update
    monkeypatch.setattr(fields_module, "SLOW_SECONDS", 0.0)
    field.inputs["value"].value = "0.7"
    assert not field.inputs["value"].continuous_update
    assert "updates on Enter" in field.message.value
    monkeypatch.setattr(fields_module, "SLOW_SECONDS", 10.0)
    field.inputs["value"].value = "0.8"
    assert field.inputs["value"].continuous_update


def never_materialise(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the form's feedback fail if it makes every point, or a long axis's values as Python numbers.

    That is what made feedback on 10^6-point scans take seconds; the benchmark
    (tests/benchmarks/bench_form.py) measures the time itself.
    """

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the form's feedback materialised a whole scan or a long axis")

    monkeypatch.setattr(Scan, "points", refuse)
    monkeypatch.setattr(NumericValues, "tolist", refuse)


def test_a_million_point_scan_gets_feedback_without_making_its_points(
    form: Form, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_linspace(form, "drive_freq", "0.5", "1.5", "1000")
    set_linspace(form, "damping", "0.01", "0.2", "1000")
    assert form.scan is not None and len(form.scan) == 1_000_000
    assert "1,000,000 jobs" in form.summary.value
    never_materialise(monkeypatch)
    form.fields["force"].inputs["value"].value = "2"
    form.fields["damping"].inputs["linspace.stop"].value = "0.3"
    assert form.errors == {} and "1,000,000 jobs" in form.summary.value
    assert isinstance(form.scan.values("damping"), NumericValues)  # kept as one array, not 1,000 Python floats


def test_a_million_values_on_one_axis_are_checked_and_shown_as_you_type(
    form: Form, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One 10^6-value axis: the field shows count, ends and step, the summary the jobs, the table the first points."""
    never_materialise(monkeypatch)
    set_linspace(form, "drive_freq", "0.5", "1.5", "1000001")
    form.fields["drive_freq"].inputs["linspace.stop"].value = "2.5"
    assert form.scan is not None and len(form.scan) == 1_000_001
    assert isinstance(form.scan.values("drive_freq"), NumericValues)  # kept as one array
    assert "1,000,001 values: 0.5, 0.500002, …, 2.5 · step 2e-6" in form.fields["drive_freq"].message.value
    assert "1,000,001 jobs" in form.summary.value
    assert "<td>0.500002</td>" in form.table.value
    # A value out of bounds anywhere in the million is found and named at the field.
    form.fields["drive_freq"].inputs["linspace.start"].value = "-0.5"
    assert "value 1 of 1000001" in form.fields["drive_freq"].message.value
    assert form.scan is None


def test_the_form_displays_as_a_widget(form: Form) -> None:
    bundle = form._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == form.widget.model_id
    assert "demo" in repr(form)


def test_a_broken_settings_file_is_reported_and_defaults_are_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "settings.toml"
    bad.write_text("this is = not [toml")
    monkeypatch.setenv("WORKBENCH_CONFIG", str(bad))
    f = wb.form("demo", folder=tmp_path, plot=False)
    try:
        assert "not valid TOML" in f._header_message.value
        assert f.settings is not None and f.settings.target == "local" and f.errors == {}
    finally:
        f.close()


def test_user_settings_are_the_starting_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_MAX_IDLE", "50")
    f = wb.form("demo", folder=tmp_path, plot=False)
    try:
        assert f.settings_widgets["max_idle"].value == 50 and f.settings is not None and f.settings.max_idle == 50
    finally:
        f.close()


# ---------------------------------------------------------------------------
# Other targets, against the real OpenSSH server of tests/sshd.py
# ---------------------------------------------------------------------------
@pytest.fixture
def ssh_form(sshd, tmp_path: Path) -> Iterator[Form]:
    """A demo form set to run on the test server, reached through an ssh config alias as users have them."""
    config = sshd.write_ssh_config(tmp_path / "ssh_config", "wbform")
    f = wb.form("demo", folder=tmp_path / "scans", plot=False, connect={"ssh_config": config, "allow_agent": False})
    sw = f.settings_widgets
    assert "wbform" in sw["host"].options
    sw["target"].value = "ssh"
    sw["host"].value = "wbform"
    sw["remote_dir"].value = str(tmp_path / "remote")
    sw["python"].value = sys.executable  # the remote is this machine: the same Python has workbench
    f.fields["drive_freq"].mode.value = "list"
    f.fields["drive_freq"].inputs["list"].value = "0.9, 1.0, 1.1"
    f.fields["periods"].inputs["value"].value = "20"
    yield f
    f.close()


def _until_done(f: Form, total: int, timeout: float = 90.0) -> None:
    """Refresh the form's monitor (sync, then update) until ``total`` jobs are done: no event loop, no manual sync."""
    assert f.monitor is not None
    deadline = time.monotonic() + timeout
    while f.monitor.progress.done < total:
        assert time.monotonic() < deadline, (f.monitor.progress.summary(), f.monitor.message)
        f.monitor.refresh()
        time.sleep(0.2)


@pytest.mark.ssh
def test_check_says_what_the_host_has_from_a_worker_thread(ssh_form: Form, monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[int] = []
    real = check_module.check_host

    def spy(*args: object, **kwargs: object) -> check_module.HostCheck:
        threads.append(threading.get_ident())
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(check_module, "check_host", spy)

    async def main() -> str:
        ssh_form.check_button.click()
        assert "Connecting to wbform" in ssh_form.check_result.value and ssh_form.check_button.disabled
        deadline = time.monotonic() + 30
        while ssh_form.last_check is None:
            assert time.monotonic() < deadline, ssh_form.check_result.value
            await asyncio.sleep(0.05)  # the kernel's loop stays free meanwhile
        return ssh_form.check_result.value

    text = html.unescape(asyncio.run(main()))
    assert threads and threading.get_ident() not in threads
    assert not ssh_form.check_button.disabled
    check = ssh_form.last_check
    assert check is not None and check.ok and check.free_bytes and check.free_bytes > 0
    v = sys.version.split()[0]
    assert f"✔ wbform ({getpass.getuser()}@127.0.0.1:" in text
    assert f"Python {v} ({sys.executable}), workbench {wb.__version__} as here" in text
    assert " free in " in text and "wb-ok" in ssh_form.check_result.value
    # Changing the host forgets the result: it was about another host.
    ssh_form.settings_widgets["host"].value = "elsewhere"
    assert ssh_form.check_result.value == "" and ssh_form.last_check is None


@pytest.mark.ssh
def test_check_names_an_unknown_host_key_a_missing_python_and_an_unknown_host(sshd, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    config = sshd.write_ssh_config(tmp_path / "ssh_config", "stranger", known_hosts=empty)
    f = wb.form("demo", folder=tmp_path, plot=False, connect={"ssh_config": config, "allow_agent": False},
                settings={"target": "ssh", "host": "stranger", "python": sys.executable})  # fmt: skip
    try:
        check = f.check()
        text = html.unescape(f.check_result.value)
        fingerprint = subprocess.run(["ssh-keygen", "-lf", str(sshd.host_key_path.with_suffix(".pub"))],
                                     capture_output=True, text=True, check=True).stdout.split()[1]  # fmt: skip
        assert not check.ok and fingerprint.startswith("SHA256:")
        assert "✖ stranger: cannot connect." in text
        assert f"Unknown host key for [127.0.0.1]:{sshd.port}" in text and fingerprint in text
        assert f"ssh-keyscan -p {sshd.port} -t ed25519 127.0.0.1 >> {empty}" in text  # how to trust it
        assert empty.read_text() == ""  # nothing trusted behind the user's back

        good = sshd.write_ssh_config(tmp_path / "ssh_config", "stranger")
        assert good == config
        f.settings_widgets["python"].value = "no-such-python3"
        check = f.check()
        text = html.unescape(f.check_result.value)
        assert not check.ok and check.destination
        assert "No Python 'no-such-python3' on stranger" in text and "absolute path" in text

        f.settings_widgets["host"].value = "no-such-host.invalid"
        check = f.check()
        assert not check.ok and "Cannot resolve host name 'no-such-host.invalid'" in html.unescape(f.check_result.value)
    finally:
        f.close()


# -- numbers as a scientist writes them (issue 17) ----------------------------------------------
def _width_chars(widget: object) -> int:
    """The characters a text input is sized for (its width is ``calc(<n>ch + <m>em)``)."""
    import re

    m = re.fullmatch(r"calc\((\d+)ch \+ [\d.]+em\)", widget.layout.width)  # type: ignore[attr-defined]
    assert m, widget.layout.width  # type: ignore[attr-defined]
    return int(m.group(1))


def test_large_numbers_are_prefilled_as_1e14_in_inputs_that_fit_them(tmp_path: Path) -> None:
    f = wb.form("tdse", folder=tmp_path, plot=False)
    try:
        field = f.fields["intensity"]
        assert field.inputs["value"].value == "1e14"
        field.mode.value = "geomspace"
        start, stop = field.inputs["geomspace.start"], field.inputs["geomspace.stop"]
        assert (start.value, stop.value) == ("1e14", "2e14")
        assert field.inputs["expr"].value == ""
        field.mode.value = "expr"
        assert field.inputs["expr"].value == "np.geomspace(1e14, 2e14, 11)"
        assert "11 values: 1e14, 1.07177e14, …, 2e14" in field.message.value
        # An input grows with what it holds, so nothing typed is cut off.
        field.mode.value = "list"
        lst = field.inputs["list"]
        assert _width_chars(lst) == min(len(lst.value), 60) + 1  # long lists wrap at 60 characters
        lst.value = "1e12, 2e12"
        assert _width_chars(lst) == 23  # never narrower than the placeholder-sized minimum
        assert "Allowed: a finite number >= 0 and <= 1e18 W/cm²." in html_unescape(field._help.value)
        assert "a.u.." not in html_unescape(f.fields["Z"]._help.value)
        assert "optical cycles" in f.fields["cycles"].widget.children[0].children[0].value
    finally:
        f.close()


@pytest.mark.ssh
def test_create_and_run_over_ssh_reaches_the_end_through_the_monitor(ssh_form: Form, tmp_path: Path) -> None:
    handle = ssh_form.create_and_run()
    bundle = ssh_form.bundle
    assert bundle is not None and handle is ssh_form.run_handle
    assert handle.target == "ssh" and handle.remote
    # The form's run settings went to wb.run as the handle's options.
    rec = handle.record
    assert (rec.host, rec.python) == ("wbform", sys.executable)
    assert rec.remote_dir == str((tmp_path / "remote" / bundle.name).resolve())
    assert rec.connect["ssh_config"] == str(tmp_path / "ssh_config")
    status = html.unescape(ssh_form.status.value)
    assert "✔ Started 3 job(s)" in status and "wbform:" in status and "brings the results home" in status, status
    assert ssh_form.monitor is not None and ssh_form.monitor_box.children == (ssh_form.monitor.widget,)

    _until_done(ssh_form, 3)
    assert "3 of 3 done (100 %)" in ssh_form.monitor.progress_text.value
    assert "from wbform:" in ssh_form.monitor.progress_text.value  # it synced by itself
    df = wb.results(bundle)
    assert len(df) == 3 and (df["status"] == "completed").all() and df["amplitude"].notna().all()
    with wb.attach(bundle) as again:  # the one lookup finds the same run
        assert again.target == "ssh" and again.cluster == handle.cluster


@pytest.mark.ssh
def test_a_run_that_does_not_start_keeps_the_bundle_and_runs_once_fixed(ssh_form: Form) -> None:
    ssh_form.settings_widgets["python"].value = "no-such-python3"
    ssh_form.buttons["create_and_run"].click()
    status = html.unescape(ssh_form.status.value)
    assert "wb-error" in ssh_form.status.value
    assert f"Created {ssh_form.path}, but its run on wbform:" in status and "did not start" in status, status
    assert "not on the PATH" in status and "press Run" in status
    bundle = ssh_form.bundle
    assert bundle is not None and open_bundle(bundle.path).count == 3 and ssh_form.monitor is None
    assert ssh_form.run_button.layout.display == "" and not ssh_form.run_button.disabled

    ssh_form.settings_widgets["python"].value = sys.executable
    ssh_form.run_button.click()
    assert "✔ Started 3 job(s)" in html.unescape(ssh_form.status.value), ssh_form.status.value
    _until_done(ssh_form, 3)
    assert len(wb.results(ssh_form.path)) == 3


@pytest.mark.ssh
def test_a_remote_folder_holding_another_bundle_is_refused_and_left_alone(ssh_form: Form, tmp_path: Path) -> None:
    other = wb.create(make_scan("demo", drive_freq=[2.0]), tmp_path / "elsewhere" / ssh_form.name)
    there = tmp_path / "remote" / ssh_form.name
    shutil.copytree(other.path, there)  # another bundle of the same folder name went there first
    before = sorted((p.relative_to(there), p.stat().st_mtime_ns) for p in there.rglob("*"))
    ssh_form.buttons["create_and_run"].click()
    status = html.unescape(ssh_form.status.value)
    assert "did not start" in status and "holds a 'demo' bundle of 1 job(s)" in status, status
    assert "choose another remote_dir" in status and ssh_form.monitor is None
    assert sorted((p.relative_to(there), p.stat().st_mtime_ns) for p in there.rglob("*")) == before
    assert ssh_form.bundle is not None and ssh_form.bundle.path.exists() and not ssh_form.run_button.disabled


def html_unescape(text: str) -> str:
    import html

    return html.unescape(text)


def test_a_cloned_bundle_shows_its_numbers_as_a_scientist_writes_them(tmp_path: Path) -> None:
    bundle = wb.create(make_scan("tdse", intensity=Geomspace(1e9, 1e12, 4), wavelength=[400.0, 1e3]), tmp_path / "orig")
    f = wb.form(bundle.path, plot=False)
    try:
        field = f.fields["intensity"]
        assert field.mode.value == "geomspace"
        texts = [field.inputs[f"geomspace.{k}"].value for k in ("start", "stop", "num")]
        assert texts == ["1e9", "1e12", "4"]
        assert all(_width_chars(field.inputs[f"geomspace.{k}"]) >= 8 for k in ("start", "stop"))
        assert f.fields["wavelength"].inputs["list"].value == "400.0, 1000.0"
        assert f.scan is not None and f.scan.sources["intensity"] == Geomspace(1e9, 1e12, 4)
        assert f.job_type_picker.value == "tdse"
        labels = dict((v, k) for k, v in f.job_type_picker.options)
        assert labels["tdse"] == "1D TDSE: soft-core atom in a laser pulse (tdse)"
    finally:
        f.close()


def test_the_summary_gives_core_time_in_the_unit_that_fits(form: Form) -> None:
    import re

    assert re.search(r"about 0\.\d\d? core-seconds ·", form.summary.value), form.summary.value
    assert "core-hours" not in form.summary.value
    form.fields["periods"].inputs["value"].value = "1e5"
    form.fields["drive_freq"].mode.value = "linspace"
    form.fields["drive_freq"].inputs["linspace.num"].value = "1000"
    assert re.search(r"about \d+(\.\d)? core-hours ·", form.summary.value), form.summary.value


def test_a_word_in_a_number_field_says_first_that_a_number_is_expected(tmp_path: Path) -> None:
    import re

    f = wb.form("tdse", folder=tmp_path, plot=False)
    try:
        field = f.fields["intensity"]
        field.inputs["value"].value = "abc"
        text = html_unescape(re.sub(r"<[^>]+>", "", field.message.value))
        assert text.startswith('✖ intensity: "abc": not a number; type a number (e.g. 1e14), a list')
        assert text.index("not a number") < text.index("allowed names")
    finally:
        f.close()


def test_an_invalid_field_keeps_the_last_valid_preview_dimmed(tmp_path: Path) -> None:
    f = wb.form("demo", folder=tmp_path, plot=True)
    try:
        field = f.fields["drive_freq"]
        field.mode.value = "linspace"
        field.inputs["linspace.num"].value = "5"
        table = f.table.value
        assert "wb-stale" not in table and f.plot is not None and f.plot.widget.layout.display == ""
        field.inputs["linspace.num"].value = "1e"  # half of "1e1", as typed
        assert field.error and f.scan is None
        assert "The last valid preview: fix drive_freq to update it." in f.table.value
        assert table in f.table.value  # the same table, dimmed
        assert f.plot.widget.layout.display == "" and "wb-stale" in f.plot.widget._dom_classes
        field.inputs["linspace.num"].value = "1e1"
        assert "wb-stale" not in f.table.value and "wb-stale" not in f.plot.widget._dom_classes
        assert "… 5 more" in f.table.value
    finally:
        f.close()


def _tick_labels(axis: object) -> list[str]:
    """The labels a drawn figure shows on ``axis`` (major and minor, empty ones left out)."""
    ticks = [*axis.get_majorticklabels(), *axis.get_minorticklabels()]  # type: ignore[attr-defined]
    lo, hi = sorted(axis.get_view_interval())  # type: ignore[attr-defined]
    return [t.get_text() for t in ticks if t.get_text() and lo <= t.get_position()[0 if axis.axis_name == "x" else 1] <= hi]  # type: ignore[attr-defined]


def test_log_axes_of_the_preview_label_decades_as_1e12_without_crowding(tmp_path: Path) -> None:
    f = wb.form("tdse", folder=tmp_path, plot=True, values={"intensity": Geomspace(1e12, 1e14, 30)})
    try:
        assert f.plot is not None and f.plot.ax.get_xscale() == "log"
        f.plot.figure.canvas.draw()
        labels = _tick_labels(f.plot.ax.xaxis)
        assert labels == ["1e12", "1e13", "1e14"], labels  # decades only: no 2e12, 5e12... crowding them
        f.fields["intensity"].set_source(Geomspace(1e14, 3e14, 5))
        f.plot.figure.canvas.draw()
        labels = _tick_labels(f.plot.ax.xaxis)
        assert "2e14" in labels and all("e+" not in t for t in labels), labels
    finally:
        f.close()


def test_an_adaptive_scan_takes_its_goal_and_budget_from_the_scan_section(tmp_path: Path) -> None:
    f = wb.form("demo", folder=tmp_path, plot=False)
    try:
        assert f.adapt_box.layout.display == "none" and not f.adaptive
        f.fields["drive_freq"].mode.value = "adaptive"
        f.fields["periods"].inputs["value"].value = "20"
        assert f.adaptive and f.adapt_box.layout.display == ""
        f.adapt_max_jobs.value = "abc"
        assert f.buttons["create_and_run"].disabled
        assert "max_jobs = 'abc': give a whole number of jobs" in (f.disabled_reason("create_and_run") or "")
        f.adapt_goal.value, f.adapt_max_jobs.value = "0.001", "12"  # a goal 12 jobs cannot reach: said before writing
        assert "Give max_jobs >= 41" in (f.disabled_reason("create_and_run") or "") and not f.path.exists()
        f.adapt_goal.value = "0.01"
        assert not f.buttons["create_and_run"].disabled
        handle = f.create_and_run()
        report = handle.wait()
        assert report is not None and report.reason == "max_jobs" and report.jobs == 12
        assert f.adapt_handle is handle and "adaptive scan" in f.status.value
        assert f.monitor is not None
        f.monitor.refresh()
        assert f.monitor.progress.summary().startswith("12 of 12 done")  # the monitor followed the growth
    finally:
        f.close()
