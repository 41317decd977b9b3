"""The scan form: a job type's questionnaire as an ipywidgets form, checked as you type.

``workbench.form("demo")`` shows one field per parameter (see
:mod:`workbench.ui.fields`), the number of jobs and their cost, a preview of
the first points, the run settings and the buttons that dry-run, create and
run the bundle.  The form is a view: :attr:`Form.scan` is the
:class:`~workbench.scan.Scan` it describes, and every check, count, cost and
message comes from the model (:mod:`workbench.scan`, :mod:`workbench.settings`,
:mod:`workbench.bundle`).  Everything the buttons do can be done from Python::

    f = wb.form("demo")
    f.fields["drive_freq"].set_source(wb.linspace(0.5, 1.5, 41))
    f.scan, f.errors, f.settings
    f.dry_run(); bundle = f.create()

Feedback on a change (the field's check, the scan, its cost and checks, the
summary, the table, the plot's data and the run settings) is computed
synchronously in the change handler, within 50 ms for scans of 10^6 points
laid out on a few axes (``python tests/benchmarks/bench_form.py``): counts
and costs never make the points, the scan is rebuilt only when a source or
zip group changed, and the cost is reused while the parameters the cost model
uses keep their sources.  The plot only asks the front end to redraw
(``draw_idle``), at most every :data:`~workbench.ui.preview.REDRAW_SECONDS`;
text inputs update on every keystroke unless a field's check is slow (see
:mod:`workbench.ui.fields`).
"""

from __future__ import annotations

import html
import os
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from .._format import format_core_time, format_duration
from ..errors import ExecutorError, JobTypeError, ParameterError, ScanError, WorkbenchError, ZipError
from ..jobtype import JobType, Problem
from ..registry import get_job_type, job_types
from ..scan import Scan, ScanCost
from ..settings import TARGETS, RunSettings, user_defaults
from ..sources import Source, as_source
from .canvas import close_tree
from .fields import ZIP_GROUPS, ParamField
from .preview import PointsPlot, points_table_html

if TYPE_CHECKING:
    from ..bundle import Bundle, BundlePlan
    from ..executors.base import RunReport
    from ..executors.check import HostCheck
    from ..executors.handle import RunHandle
    from ..monitor.widget import Monitor

__all__ = ["Form", "form", "TARGET_LABELS"]

#: How the run targets of :data:`workbench.settings.TARGETS` are named in the form.
TARGET_LABELS: dict[str, str] = {
    "local": "this machine",
    "ssh": "a remote host over SSH",
    "condor": "an HTCondor pool (schedd on this machine)",
    "condor-ssh": "an HTCondor pool through an SSH submit host",
}
#: The run settings each target needs besides the common ones (the others are hidden).
TARGET_FIELDS: dict[str, tuple[str, ...]] = {
    "local": (),
    "ssh": ("host", "remote_dir", "python"),
    "condor": ("python",),
    "condor-ssh": ("host", "remote_dir", "python"),
}
#: Targets reached over SSH: the form offers the hosts of ~/.ssh/config and a *Check* button.
SSH_TARGETS: tuple[str, ...] = ("ssh", "condor-ssh")

_STYLE = """<style>
.wb-form { font-size: var(--jp-ui-font-size1, 13px); max-width: 1100px; }
.wb-form .widget-html-content { line-height: 1.35; }
.wb-form .wb-title .widget-html-content { line-height: 1.4; }
.wb-form .wb-section .widget-html-content { font-weight: 600; color: var(--jp-ui-font-color1, #222);
  border-bottom: 1px solid var(--jp-border-color2, #ddd); margin-top: 10px; padding-bottom: 2px; }
.wb-form .wb-help .widget-html-content { color: var(--jp-ui-font-color2, #666); font-size: 0.92em; }
.wb-form .wb-allowed { color: var(--jp-ui-font-color3, #888); }
.wb-form .wb-name { font-weight: 600; }
.wb-form .wb-unit { color: var(--jp-ui-font-color2, #666); }
.wb-form .wb-preview { font-family: var(--jp-code-font-family, monospace); font-size: 0.9em; color: var(--jp-ui-font-color1, #333); }
.wb-form .wb-error { color: var(--jp-error-color1, #c62828); }
.wb-form .wb-warning { color: var(--jp-warn-color1, #a05a00); }
.wb-form .wb-ok { color: var(--jp-success-color1, #2e7d32); }
.wb-form .wb-invalid .wb-inputs input, .wb-form .wb-invalid .wb-inputs select { border-color: var(--jp-error-color1, #c62828) !important; }
.wb-form .wb-note { color: var(--jp-ui-font-color2, #666); font-size: 0.9em; }
.wb-form table.wb-table { border-collapse: collapse; font-family: var(--jp-code-font-family, monospace); font-size: 0.88em; }
.wb-form table.wb-table th, .wb-form table.wb-table td { padding: 1px 8px; text-align: right; border-bottom: 1px solid var(--jp-border-color2, #e0e0e0); }
.wb-form table.wb-table th { font-weight: 600; }
.wb-form .wb-summary .widget-html-content { font-size: 1.02em; }
.wb-form .wb-status .wb-error, .wb-form .wb-check { white-space: pre-wrap; }
.wb-form .wb-field .wb-message .wb-error, .wb-form .wb-field .wb-message .wb-warning {
  display: block; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.wb-form .wb-field .wb-message:hover .wb-error, .wb-form .wb-field .wb-message:hover .wb-warning { white-space: normal; }
.wb-form .wb-stale { opacity: 0.4; filter: grayscale(60%); }
.wb-form .wb-stale-box { position: relative; }
.wb-form .wb-stale-note { position: absolute; top: 0; left: 0; right: 0; z-index: 2; padding: 2px 6px;
  background: var(--jp-layout-color1, white); border: 1px solid var(--jp-warn-color1, #a05a00); border-radius: 3px;
  color: var(--jp-warn-color1, #a05a00); font-size: 0.9em; }
.wb-form .wb-status pre { max-height: 24em; overflow: auto; font-size: 0.85em; background: var(--jp-layout-color2, #f5f5f5); padding: 6px; }
</style>"""


def _span(cls: str, text: str) -> str:
    return f'<span class="{cls}">{html.escape(text)}</span>'


def _free_name(folder: Path, base: str) -> str:
    """``base``, or ``base-2``, ``base-3``... : the first name not taken in ``folder``."""
    if not (folder / base).exists():
        return base
    m = re.fullmatch(r"(.*)-(\d+)", base)
    stem, k = (m.group(1), int(m.group(2))) if m else (base, 1)
    while (folder / f"{stem}-{k + 1}").exists():
        k += 1
    return f"{stem}-{k + 1}"


def _job_type_options(names: Sequence[str], current: JobType) -> list[tuple[str, str]]:
    """(title, name) of each job type for the picker; the name where a job type cannot be loaded here."""
    options = []
    for n in names:
        title = n
        try:
            title = (current if n == current.name else get_job_type(n)).title or n
        except Exception:  # noqa: BLE001 - a broken plug-in still shows, by name; picking it says what is wrong
            pass
        options.append((title if title == n else f"{title} ({n})", n))
    return options


def _section(title: str) -> w.HTML:
    h = w.HTML(html.escape(title))
    h.add_class("wb-section")
    return h


class Form:
    """A scan of one job type, as a form.

    Parameters
    ----------
    what
        A job type (name or :class:`~workbench.jobtype.JobType`), a bundle (path
        or :class:`~workbench.bundle.Bundle`) or a :class:`~workbench.scan.Scan`
        to start from.  ``None`` starts from the ``demo`` job type (or the first one found).
    folder
        Where bundles are created (relative paths are relative to the working directory).
    name
        The bundle's name (a folder in ``folder``); by default ``<job type>-scan``, numbered if taken.
    settings
        Run settings to start from (a :class:`~workbench.settings.RunSettings` or a dict);
        by default the user's (see :func:`~workbench.settings.user_defaults`).
    values
        Initial values: per parameter a value, a list or a source.
    zip
        Initial zip groups, e.g. ``[("a", "b")]``.
    plot
        Show the small plot of the points of 1-D and 2-D scans.
    rows
        Rows of the preview table.
    connect
        SSH connection options for the ``ssh`` and ``condor-ssh`` targets (``ssh_config``, ``user``,
        ``port``, ``key_filename``, ``known_hosts``, ...), given to the run and to *Check* as
        :func:`workbench.run` takes them; by default ``~/.ssh/config`` says how to reach the host.
        The *host* field offers the ``Host`` names of that config.

    Attributes
    ----------
    fields
        The parameter fields by name (:class:`~workbench.ui.fields.ParamField`).
    bundle
        The bundle made by the last :meth:`create` or :meth:`create_and_run`, else ``None``.
    run_handle
        The run started by :meth:`create_and_run` or :meth:`run` (a
        :class:`~workbench.executors.RunHandle`, whatever the target), else ``None``.
    monitor
        The monitor of that run, shown below the form, else ``None``.
    last_check
        What the last *Check* found (a :class:`~workbench.executors.check.HostCheck`), else ``None``.
    widget
        The whole form (an ipywidgets ``VBox``).
    last_update_seconds
        Time the last change took to check and show (for the benchmark).
    """

    def __init__(
        self,
        what: Any = None,
        *,
        folder: str | os.PathLike[str] = ".",
        name: str | None = None,
        settings: RunSettings | Mapping[str, Any] | None = None,
        values: Mapping[str, Any] | None = None,
        zip: Iterable[Sequence[str]] = (),
        plot: bool = True,
        rows: int = 5,
        connect: Mapping[str, Any] | None = None,
    ) -> None:
        self.fields: dict[str, ParamField] = {}
        self.bundle: Bundle | None = None
        self.run_handle: RunHandle | None = None
        self.monitor: Monitor | None = None
        self.last_check: HostCheck | None = None
        self.connect: dict[str, Any] = dict(connect or {})
        self.last_update_seconds = 0.0
        self.rows = rows
        self._quiet = 0
        self._scan: Scan | None = None
        self._errors: dict[str, str] = {}
        self._settings: RunSettings | None = None
        self._built_key: Any = None
        self._built: tuple[Scan | None, WorkbenchError | None] = (None, None)
        self._cost_key: Any = None
        self._cost_value: ScanCost | None = None
        self._name_auto = name is None
        self._checking: Any = None  # the arguments of the check in progress
        self._last_table = ""  # the preview table of the last valid scan, shown dimmed while a field is invalid

        names = job_types()  # reads every package's entry points: once
        job_type, scan, bundle = self._resolve(what, names)
        if isinstance(settings, Mapping):
            settings = RunSettings.from_dict(dict(settings))
        if settings is None and bundle is not None:
            settings = bundle.settings
        self._notice = ""
        if settings is None:
            try:
                settings = user_defaults()
            except WorkbenchError as e:
                settings = RunSettings()
                self._notice = _span("wb-warning", f"⚠ {e} The form starts from the built-in run settings.")
        self._base_settings = settings

        # -- widgets -----------------------------------------------------------
        self._style = w.HTML(_STYLE, layout=w.Layout(display="none"))
        self.job_type_picker = w.Dropdown(
            options=_job_type_options(names if job_type.name in names else [*names, job_type.name], job_type),
            value=job_type.name, description="Job type", style={"description_width": "initial"},
            layout=w.Layout(width="18em"),
        )
        self._fit_picker()
        self.job_type_picker.add_class("wb-job-type")
        self.job_type_picker.observe(self._job_type_picked, names="value")
        self._title = w.HTML(layout=w.Layout(flex="1 1 auto", margin="0 0 0 1em"))
        self._title.add_class("wb-title")
        self._header_message = w.HTML()
        self._fields_box = w.VBox()
        self.summary = w.HTML()
        self.summary.add_class("wb-summary")
        # An adaptive scan (a parameter's source is "adaptive"): where it stops. Shown only then.
        self.adapt_goal = w.Text(value="0.01", description="loss goal", layout=w.Layout(width="200px"),
                                 style={"description_width": "70px"})  # fmt: skip
        self.adapt_max_jobs = w.Text(value="200", description="max jobs", layout=w.Layout(width="200px"),
                                     style={"description_width": "70px"})  # fmt: skip
        self.adapt_message = w.HTML()
        self.adapt_box = w.HBox([self.adapt_goal, self.adapt_max_jobs, self.adapt_message], layout=w.Layout(display="none"))
        for wdg in (self.adapt_goal, self.adapt_max_jobs):
            wdg.observe(lambda _: self._update_buttons(), names="value")
        #: The adaptive loop Create and run started (see :func:`workbench.adapt`), if the scan is adaptive.
        self.adapt_handle: Any = None
        self.table = w.HTML(layout=w.Layout(flex="1 1 auto", overflow="auto"))
        self.table.add_class("wb-preview-table")
        self.plot = PointsPlot() if plot else None
        preview_children: list[w.Widget] = [self.table]
        if self.plot is not None:
            # Set on the canvas's own Layout: a replaced one would stay open (nothing would close it).
            self.plot.widget.layout.width, self.plot.widget.layout.height = "360px", "260px"
            self.plot.widget.layout.flex = "0 0 auto"
            self.plot.widget.add_class("wb-plot")
            preview_children.append(self.plot.widget)
        self._preview_box = w.HBox(preview_children, layout=w.Layout(align_items="flex-start", width="100%"))

        s = settings
        desc = {"description_width": "12em"}

        def wide() -> w.Layout:  # one Layout per widget: hiding one must not hide the others
            return w.Layout(width="32em")

        def narrow() -> w.Layout:
            return w.Layout(width="20em")

        self.settings_widgets: dict[str, w.Widget] = {
            "name": w.Text(description="bundle name", style=desc, layout=wide()),
            "folder": w.Text(value=str(folder), description="in folder", style=desc, layout=wide()),
            "target": w.Dropdown(
                options=[(TARGET_LABELS.get(t, t), t) for t in TARGETS], value=s.target, description="runs on",
                style=desc, layout=wide(),
            ),
            "host": w.Combobox(
                value=s.host, options=self._host_names(), ensure_option=False, description="host",
                placeholder="a Host of ~/.ssh/config, or a host name", style=desc, layout=wide(),
            ),
            "remote_dir": w.Text(
                value=s.remote_dir, description="remote folder", placeholder="relative to the remote home folder",
                tooltip="Where bundles go on the host (the bundle is a folder in it)", style=desc, layout=wide(),
            ),
            "python": w.Text(
                value=s.python, description="Python there", placeholder="python3, or an absolute path",
                tooltip="The Python that runs the jobs there; it needs workbench", style=desc, layout=wide(),
            ),
            "batch_name": w.Text(value=s.batch_name, description="batch name", style=desc, layout=wide()),
            "request_cpus": w.IntText(value=s.request_cpus, description="request_cpus", style=desc, layout=narrow()),
            "request_memory_mb": w.FloatText(
                value=s.request_memory_mb or 0.0, description="request_memory (MB)", style=desc, layout=narrow()
            ),
            "request_disk_mb": w.FloatText(
                value=s.request_disk_mb or 0.0, description="request_disk (MB)", style=desc, layout=narrow()
            ),
            "auto_requests": w.Checkbox(
                value=s.request_memory_mb is None and s.request_disk_mb is None,
                description="memory and disk from the cost model", indent=False, layout=w.Layout(width="auto", margin="0 0 0 12.5em"),
            ),
            "max_idle": w.IntText(
                value=s.max_idle, description="max_idle", tooltip="at most this many idle jobs in the queue (0: no limit)",
                style=desc, layout=narrow(),
            ),
            "checkpoint_seconds": w.FloatText(
                value=s.checkpoint_seconds, description="checkpoint every (s)", style=desc, layout=narrow()
            ),
        }
        for key, widget in self.settings_widgets.items():
            widget.add_class(f"wb-setting-{key.replace('_', '-')}")
            widget.observe(self._setting_changed, names="value")
        sw = self.settings_widgets
        self._settings_message = w.HTML()
        self.check_button = w.Button(
            description="Check", icon="plug", tooltip="Connect to the host and say what is there: Python, workbench, free disk",
            layout=w.Layout(width="auto", min_width="7em", margin="2px 0 2px 12.5em"),
        )
        self.check_button.add_class("wb-button-check")
        self.check_button.on_click(lambda _: self._check_clicked())
        self.check_result = w.HTML(layout=w.Layout(max_width="60em"))
        self.check_result.add_class("wb-check")
        settings_box = w.HBox(
            [
                w.VBox([sw["name"], sw["folder"], sw["target"], sw["host"], sw["remote_dir"], sw["python"],
                        self.check_button, sw["batch_name"]]),  # fmt: skip
                w.VBox([sw["request_cpus"], sw["request_memory_mb"], sw["request_disk_mb"], sw["auto_requests"], sw["max_idle"], sw["checkpoint_seconds"]]),
            ],
            layout=w.Layout(flex_flow="row wrap"),
        )

        self.buttons: dict[str, w.Button] = {
            "dry_run": w.Button(description="Dry run", icon="eye", tooltip="Show what would be written; write nothing"),
            "create": w.Button(description="Create bundle", icon="folder", button_style="primary"),
            "create_and_run": w.Button(description="Create and run", icon="play", button_style="success"),
        }
        for key, b in self.buttons.items():
            b.add_class(f"wb-button-{key.replace('_', '-')}")
            b.layout.width, b.layout.min_width, b.layout.flex = "auto", "9em", "0 0 auto"
        self.buttons["dry_run"].on_click(lambda _: self._click(self.dry_run))
        self.buttons["create"].on_click(lambda _: self._click(self.create))
        self.buttons["create_and_run"].on_click(lambda _: self._click(self.create_and_run))
        # Shown once the form made a bundle: runs it again, e.g. after a start that failed, with other run settings.
        self.run_button = w.Button(description="Run", icon="play", button_style="success",
                                   layout=w.Layout(width="auto", min_width="6em", flex="0 0 auto", display="none"))
        self.run_button.add_class("wb-button-run")
        self.run_button.on_click(lambda _: self._click(self.run))
        self.reason = w.HTML(layout=w.Layout(flex="1 1 auto", margin="0 0 0 0.8em"))
        self.reason.add_class("wb-reason")
        self.status = w.HTML()
        self.status.add_class("wb-status")
        self.monitor_box = w.VBox(layout=w.Layout(width="100%"))
        self.monitor_box.add_class("wb-form-monitor")

        self.widget = w.VBox(
            [
                self._style,
                w.HBox([self.job_type_picker, self._title], layout=w.Layout(align_items="center")),
                self._header_message,
                _section("Parameters"),
                self._fields_box,
                _section("Scan"),
                self.summary,
                self.adapt_box,
                self._preview_box,
                _section("Run settings"),
                settings_box,
                self.check_result,
                self._settings_message,
                # Top-aligned: a reason growing to several lines must not move the buttons.
                w.HBox([*self.buttons.values(), self.run_button, self.reason], layout=w.Layout(align_items="flex-start", margin="8px 0 0 0")),
                self.status,
                self.monitor_box,
            ],
            layout=w.Layout(width="100%"),
        )
        self.widget.add_class("wb-form")

        self._quiet += 1
        try:
            self._set_job_type(job_type)
            if scan is not None:
                self._fill(scan)
            if values:
                for key, v in values.items():
                    self._field(key).set_source(as_source(v))
            if zip:
                self._set_zip(tuple(tuple(g) for g in zip))
            self._fill_settings(settings, folder=bundle.path.parent if bundle is not None else None)
            sw["name"].value = name if name is not None else _free_name(
                self.folder, bundle.name if bundle is not None else f"{job_type.name}-scan"
            )
        finally:
            self._quiet -= 1
        self._refresh()

    # ------------------------------------------------------------------
    # What the form describes
    # ------------------------------------------------------------------
    @property
    def job_type(self) -> JobType:
        return self._job_type

    @property
    def scan(self) -> Scan | None:
        """The scan the form describes, or ``None`` while any parameter, zip group or check is in error."""
        if any(not k.startswith("settings.") for k in self._errors):
            return None
        return self._scan

    @property
    def errors(self) -> dict[str, str]:
        """Every current problem, by field: parameter names, ``"zip"``, ``"scan"`` and ``"settings.<name>"``."""
        return dict(self._errors)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        """The job type's warnings about the current scan."""
        return self._scan.warnings if self._scan is not None else ()

    @property
    def settings(self) -> RunSettings | None:
        """The run settings, with memory and disk requests filled in; ``None`` while a setting is invalid."""
        return self._settings

    @property
    def folder(self) -> Path:
        return Path(str(self.settings_widgets["folder"].value).strip() or ".").expanduser()

    @property
    def name(self) -> str:
        return str(self.settings_widgets["name"].value).strip()

    @property
    def path(self) -> Path:
        """Where :meth:`create` writes the bundle."""
        return self.folder / self.name

    def disabled_reason(self, action: str = "create") -> str | None:
        """Why a button is disabled (``"dry_run"``, ``"create"``, ``"create_and_run"`` or ``"run"``), or ``None`` when it is not."""
        if action == "run":
            return self._run_blocked()
        if self._errors:
            key, message = next(iter(self._errors.items()))
            more = len(self._errors) - 1
            where = "" if key in ("scan", "zip") or key.startswith("settings.") else f"{key}: "
            if message.startswith(f"{key}"):
                where = ""
            extra = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
            return f"Fix {where}{message}{extra}"
        if self._scan is None:
            return "The form does not describe a scan yet."
        if action in ("create", "create_and_run") and self.path.exists():
            free = _free_name(self.folder, self.name)
            if self.bundle is not None and self.bundle.path.resolve() == self.path.resolve():
                # Not a failure: this form made it.  Say so, and how to make the next one.
                return f"Bundle {self.name} is created. For another scan, change the bundle name (e.g. to {free})."
            return f"{self.path} already exists: choose another bundle name (e.g. {free})."
        if action in ("create_and_run", "run") and self.adaptive:
            try:
                self.adapt_settings()
            except ScanError as e:
                return str(e)
        return None

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def dry_run(self) -> BundlePlan:
        """Render the bundle without writing anything; show and return the plan (files, submit text, first jobs)."""
        from ..bundle import plan_bundle

        scan, settings = self._ready("dry_run")
        plan = plan_bundle(scan, name=self.name, settings=settings, head=5)  # a preview: its cost does not grow with the scan
        self._show_status(
            f"Dry run: nothing was written. {self.path} would hold:",
            pre=plan.summary(),
        )
        return plan

    def create(self) -> Bundle:
        """Write the bundle to :attr:`path` and return it (also kept as :attr:`bundle`)."""
        from ..bundle import create

        scan, settings = self._ready("create")
        bundle = create(scan, self.path, settings=settings, name=self.name)
        self.bundle = bundle
        cost = scan.cost
        self._show_status(
            f"Created {bundle.path}: {len(scan):,} job(s), about {format_core_time(cost.core_seconds)}. "
            f"Run it with wb.run(wb.open_bundle({str(bundle.path)!r})), or use Create and run next time."
        )
        self._update_buttons()
        return bundle

    def create_and_run(self, *, wait: bool = False) -> RunHandle | RunReport:
        """Create the bundle and run it where the run settings say (see :meth:`run`).

        If the run does not start (an unreachable host, say), the bundle stays
        created: fix the run settings and press *Run* (or call :meth:`run`).
        """
        self._ready("create_and_run")
        bundle = self.create()
        return self._start(bundle, wait=wait, created=True)

    def run(self, *, wait: bool = False) -> RunHandle | RunReport:
        """Run the bundle this form created, on the target of the run settings, and show its monitor below the form.

        What the form does, :func:`workbench.run` does: this calls
        ``wb.run(bundle, target=settings.target, wait=wait, progress=False, **form.run_options)``.

        Returns
        -------
        RunHandle or RunReport
            The run's handle (also :attr:`run_handle`), or with ``wait`` its report.

        Raises
        ------
        ExecutorError, TransportError
            The run did not start; the message names the host, the problem and the fix.
        """
        reason = self.disabled_reason("run")
        if reason is not None or self.bundle is None:
            raise ScanError(reason or "Create the bundle first.")
        return self._start(self.bundle, wait=wait, created=False)

    @property
    def adaptive(self) -> bool:
        """Whether the scan has adaptive parameters: Create and run then runs :func:`workbench.adapt`."""
        from ..learners import adaptive_names

        return self._scan is not None and bool(adaptive_names(self._scan))

    def adapt_settings(self) -> dict[str, Any]:
        """``goal`` and ``max_jobs`` of an adaptive scan, from the scan section.

        Raises
        ------
        ScanError
            A value that is not a positive number, naming it and the fix.
        """
        out: dict[str, Any] = {}
        for key, wdg, kind in (("goal", self.adapt_goal, float), ("max_jobs", self.adapt_max_jobs, int)):
            text = wdg.value.strip()
            if not text:
                continue
            try:
                value = kind(float(text)) if kind is int else float(text)
            except ValueError:
                value = None
            if value is None or not value > 0 or (kind is int and float(text) != int(float(text))):
                what = "a whole number of jobs, e.g. 200" if kind is int else "a positive number, e.g. 0.01"
                raise ScanError(f"{key} = {text!r}: give {what}, or leave it empty.")
            out[key] = value
        if self._scan is not None and self.adaptive:
            from ..learners import AdaptiveScan, adaptive_names, check_goal

            learners = AdaptiveScan(self._scan)  # a goal the budget cannot reach is refused before anything is written
            check_goal(out.get("goal"), out.get("max_jobs"), len(adaptive_names(self._scan)), len(learners.learners),
                       "curvature")  # fmt: skip
        return out

    @property
    def run_options(self) -> dict[str, Any]:
        """The options :meth:`run` gives :func:`workbench.run` for the current target (empty while a setting is invalid).

        ``host``, ``remote_dir`` and ``python`` (``ssh``), ``host`` and
        ``remote_dir`` (``condor-ssh``, whose jobs take ``python`` from the
        bundle's settings), and the SSH connection options :attr:`connect`.
        """
        s = self._settings
        if s is None:
            return {}
        if s.target == "ssh":
            return {"host": s.host, "remote_dir": s.remote_dir, "python": s.python, **self.connect}
        if s.target == "condor-ssh":
            return {"host": s.host, "remote_dir": s.remote_dir, **self.connect}
        return {}

    def check(self) -> HostCheck:
        """Connect to the host of the run settings and say what is there (here, blocking; the button uses a thread).

        Returns
        -------
        HostCheck
            Python and workbench versions, free disk in the remote folder, or why it failed; also
            shown under the settings and kept as :attr:`last_check`.
        """
        from ..executors.check import check_host

        args = self._check_args()
        result = check_host(**args)
        self._show_check(result)
        return result

    def _check_args(self) -> dict[str, Any]:
        s = self._settings
        if s is None or s.target not in SSH_TARGETS:
            target = s.target if s is not None else self.settings_widgets["target"].value
            if target not in SSH_TARGETS:
                raise ScanError(f"Check connects to a host: choose {TARGET_LABELS['ssh']!r} or "
                                f"{TARGET_LABELS['condor-ssh']!r} under 'runs on' first.")  # fmt: skip
            raise ScanError("Fix the run settings first: " + "; ".join(self._errors.values()))
        return {"host": s.host, "python": s.python, "remote_dir": s.remote_dir, "condor": s.target == "condor-ssh",
                **self.connect}  # fmt: skip

    def _check_clicked(self) -> None:
        from ..executors.check import check_host
        from ..monitor.poller import running_loop

        try:
            args = self._check_args()
        except WorkbenchError as e:
            self.check_result.value = _span("wb-error", f"✖ {e}")
            return
        loop = running_loop()
        if loop is None:  # no kernel loop (a script): check here
            self._show_check(check_host(**args))
            return
        self._checking = args
        self.check_button.disabled = True
        self.check_result.value = _span("wb-note", f"Connecting to {args['host']}…")

        def done(fut: Any) -> None:  # on the kernel's loop, like every widget update
            self.check_button.disabled = False
            if self._checking is not args:
                return  # the settings changed meanwhile: that result is about another host
            self._checking = None
            e = fut.exception() if not fut.cancelled() else None
            if e is not None:
                self.check_result.value = _span("wb-error", f"✖ The check failed: {type(e).__name__}: {e}")
            elif not fut.cancelled():
                self._show_check(fut.result())

        # The connection and the remote commands take seconds: in a worker thread, so the kernel stays free.
        loop.run_in_executor(None, lambda: check_host(**args)).add_done_callback(done)

    def _show_check(self, result: HostCheck | None) -> None:
        self.last_check = result
        if result is None:
            self._checking = None
            self.check_result.value = ""
            return
        head, *rest = result.summary().splitlines()
        lines = [_span("wb-ok" if result.ok else "wb-error", head)]
        for line in rest:
            cls = "wb-warning" if line.startswith("⚠") else "wb-error" if line.startswith("✖") else "wb-note"
            lines.append(_span(cls, line))
        self.check_result.value = "<br>".join(lines)

    def _run_blocked(self) -> str | None:
        """Why :meth:`run` cannot go now, or ``None``."""
        if self.bundle is None or not self.bundle.path.exists():
            return "Create the bundle first (Create bundle), then run it."
        settings_errors = [m for k, m in self._errors.items() if k.startswith("settings.") and k != "settings.name"]
        if settings_errors or self._settings is None:
            return "Fix the run settings: " + ("; ".join(settings_errors) or "they are not valid.")
        # A run still going is refused by the target itself, with where it runs and how to stop it.
        return None

    def _start(self, bundle: Bundle, *, wait: bool, created: bool) -> RunHandle | RunReport:
        """``wb.run`` with the form's run settings; the monitor below the form follows the run."""
        from .. import executors

        settings = self._settings
        assert settings is not None
        where = self._where(settings)
        if self.adaptive:
            return self._start_adaptive(bundle, where, wait=wait)
        self._show_status(f"Starting {bundle.count:,} job(s) of {bundle.path} on {where}…")
        try:
            result = executors.run(bundle, target=settings.target, wait=wait, progress=False, **self.run_options)
        except WorkbenchError as e:
            first = f"Created {bundle.path}, but its run" if created else f"The run of {bundle.path}"
            fix = " Check tells what the host has." if settings.target in SSH_TARGETS else ""
            raise ExecutorError(f"{first} on {where} did not start: {e}\nNothing ran; the bundle is kept. Fix the "
                                f"run settings and press Run.{fix}") from e  # fmt: skip
        finally:
            self._update_buttons()
        if wait:
            self._show_monitor(bundle, None)
            self._show_status(f"Ran {bundle.path} on {where}: {result}")
            return result
        handle: RunHandle = result  # type: ignore[assignment]
        self.run_handle = handle
        self._show_monitor(bundle, handle)
        home = " and brings the results home as they come" if handle.remote else ""
        self._show_status(
            _span("wb-ok", f"✔ Started {bundle.count:,} job(s) of {bundle.path} on {handle.where if handle.remote else where}.")
            + html.escape(f" The monitor below follows them{home}; in another notebook, wb.monitor({str(bundle.path)!r}) "
                          "does too. Change the scan to make another bundle; Run runs this one's unfinished jobs again."),
            raw=True,
        )  # fmt: skip
        return handle

    def _start_adaptive(self, bundle: Bundle, where: str, *, wait: bool) -> Any:
        """:func:`workbench.adapt` with the scan section's goal and budget; the monitor below shows its panel."""
        from ..adapting import adapt

        settings = self._settings
        assert settings is not None
        try:
            handle = adapt(bundle.path, target=settings.target, progress=False, **self.adapt_settings(), **self.run_options)
        finally:
            self._update_buttons()
        self.adapt_handle = handle
        self._show_monitor(bundle, None)
        self._show_status(
            _span("wb-ok", f"✔ Started the adaptive scan {bundle.path} on {where}.")
            + html.escape(" The monitor below shows the loss falling and where the points go; "
                          f"stop it with form.adapt_handle.stop(), resume with wb.adapt({str(bundle.path)!r})."),
            raw=True,
        )  # fmt: skip
        if wait:
            return handle.wait()
        return handle

    def _host_names(self) -> list[str]:
        """The ``Host`` names of the SSH config the connection uses (``connect["ssh_config"]``, else ``~/.ssh/config``)."""
        from ..transport.ssh import config_hosts

        if "ssh_config" in self.connect:
            return config_hosts(self.connect["ssh_config"])
        return config_hosts()

    @staticmethod
    def _where(settings: RunSettings) -> str:
        if settings.target in SSH_TARGETS:
            return f"{settings.host}:{settings.remote_dir}" + (" (HTCondor)" if settings.target == "condor-ssh" else "")
        return TARGET_LABELS.get(settings.target, settings.target)

    def _show_monitor(self, bundle: Bundle, handle: RunHandle | None) -> None:
        """The monitor of ``bundle``'s run, in the box below the form (replacing the one of an earlier run)."""
        from ..monitor import monitor

        if self.monitor is not None:
            self.monitor.close()
        self.monitor = monitor(bundle, run=handle, display=False)
        if handle is None:
            self.monitor.refresh()
        self.monitor_box.children = [self.monitor.widget]

    def load(self, what: Any) -> Form:
        """Fill the form from a bundle (path or :class:`~workbench.bundle.Bundle`), a :class:`~workbench.scan.Scan` or its dict.

        A bundle also brings its run settings and folder; the bundle name becomes
        the next free one (``name-2``...), so the clone is created beside the original.
        """
        job_type, scan, bundle = self._resolve(what, self._picker_names())
        if scan is None:
            raise ScanError(f"{what!r} is a job type, not a scan or bundle; use workbench.form({what!r}) to start a new scan.")
        self._quiet += 1
        try:
            if job_type is not self._job_type:
                self._set_job_type(job_type)
            self._fill(scan)
            if bundle is not None:
                self._base_settings = bundle.settings
                self._fill_settings(bundle.settings, folder=bundle.path.parent)
                self.settings_widgets["name"].value = _free_name(bundle.path.parent, bundle.name)
                self._name_auto = False
        finally:
            self._quiet -= 1
        self._refresh()
        return self

    # ------------------------------------------------------------------
    # Display
    # ------------------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        state = repr(self._scan) if self.scan is not None else f"{len(self._errors)} problem(s)"
        return f"<Form {self._job_type.name}: {state}>"

    def close(self) -> None:
        """Close every widget of the form and the monitor below it (the run goes on)."""
        self._checking = None
        if self.monitor is not None:
            self.monitor.close()
        if self.plot is not None:
            self.plot.close()
        for f in self.fields.values():
            f.close()
        close_tree([self.widget])

    # ------------------------------------------------------------------
    # Internals
    # ------------------------------------------------------------------
    @staticmethod
    def _resolve(what: Any, names: Sequence[str] | None = None) -> tuple[JobType, Scan | None, Bundle | None]:
        from ..bundle import Bundle, open_bundle

        names = job_types() if names is None else names
        if what is None:
            return get_job_type("demo" if "demo" in names else names[0]), None, None
        if isinstance(what, JobType):
            return what, None, None
        if isinstance(what, Scan):
            return what.job_type, what, None
        if isinstance(what, Mapping):
            scan = Scan.from_dict(what)
            return scan.job_type, scan, None
        if isinstance(what, str) and what in names:
            return get_job_type(what), None, None
        if isinstance(what, (str, os.PathLike, Bundle)):
            if not isinstance(what, Bundle) and not Path(what).expanduser().exists():
                raise JobTypeError(
                    f"{str(what)!r} is neither a job type nor a bundle folder. Job types: {', '.join(names)}; "
                    "or give the path of an existing bundle to clone it."
                )
            bundle = open_bundle(what)
            scan = bundle.scan
            return scan.job_type, scan, bundle
        raise TypeError(f"form() takes a job type, a bundle path or a Scan, not {type(what).__name__}.")

    def _fit_picker(self) -> None:
        """Make the job type picker as wide as its longest title (within bounds)."""
        longest = max((len(o[0] if isinstance(o, tuple) else str(o)) for o in self.job_type_picker.options), default=10)
        self.job_type_picker.layout.width = f"calc({min(max(longest, 12), 60)}ch + 7em)"

    def _picker_names(self) -> list[str]:
        """The job type names the picker offers (its options are (title, name) pairs, or names)."""
        return [o[1] if isinstance(o, tuple) else o for o in self.job_type_picker.options]

    def _field(self, name: str) -> ParamField:
        try:
            return self.fields[name]
        except KeyError:
            self._job_type.param(name)  # raises with the list of parameters
            raise

    def _set_job_type(self, job_type: JobType) -> None:
        self._job_type = job_type
        for f in self.fields.values():
            f.close()
        self.fields = {p.name: ParamField(p, job_type, self._field_changed) for p in job_type.params}
        self._fields_box.children = [f.widget for f in self.fields.values()]
        self._built_key = None
        self._quiet += 1
        try:
            if self.job_type_picker.value != job_type.name:
                if job_type.name not in self._picker_names():
                    self.job_type_picker.options = [*self.job_type_picker.options, (job_type.title, job_type.name)]
                    self._fit_picker()
                self.job_type_picker.value = job_type.name
        finally:
            self._quiet -= 1
        # The picker shows the title; the header says the rest.
        name = f"<code>{html.escape(job_type.name)}</code>"
        desc = f" — {html.escape(job_type.description)}" if job_type.description else ""
        self._title.value = f"{name}{desc}"
        self._header_message.value = self._notice

    def _fill(self, scan: Scan) -> None:
        for n, src in scan.sources.items():
            self.fields[n].set_source(src)
        self._set_zip(scan.zip)

    def _set_zip(self, groups: Sequence[Sequence[str]]) -> None:
        if len(groups) > len(ZIP_GROUPS):
            raise ScanError(f"The form shows at most {len(ZIP_GROUPS)} zip groups; this scan has {len(groups)}.")
        for f in self.fields.values():
            f.set_zip_group("")
        for letter, group in zip(ZIP_GROUPS, groups):
            for n in group:
                self._field(n).set_zip_group(letter)

    def _fill_settings(self, s: RunSettings, *, folder: Path | None = None) -> None:
        sw = self.settings_widgets
        sw["target"].value = s.target if s.target in TARGETS else "local"
        sw["host"].value = s.host
        sw["remote_dir"].value = s.remote_dir
        sw["python"].value = s.python
        sw["batch_name"].value = s.batch_name
        sw["request_cpus"].value = s.request_cpus
        sw["max_idle"].value = s.max_idle
        sw["checkpoint_seconds"].value = s.checkpoint_seconds
        if folder is not None:
            sw["folder"].value = str(folder)
        manual = s.request_memory_mb is not None or s.request_disk_mb is not None
        if manual and self._built_scan_cost_matches(s):
            manual = False
        sw["auto_requests"].value = not manual
        if manual:
            sw["request_memory_mb"].value = float(s.request_memory_mb or 0.0)
            sw["request_disk_mb"].value = float(s.request_disk_mb or 0.0)

    def _built_scan_cost_matches(self, s: RunSettings) -> bool:
        """Whether ``s``'s requests are exactly what the cost model gives the current fields (then they stay automatic)."""
        scan, _ = self._build()
        if scan is None:
            return False
        cost = self._cost(scan)
        auto = replace(s, request_memory_mb=None, request_disk_mb=None).with_cost(cost.max_memory_mb, cost.max_disk_mb)
        return (auto.request_memory_mb, auto.request_disk_mb) == (s.request_memory_mb, s.request_disk_mb)

    def _zip_groups(self) -> tuple[tuple[str, ...], ...]:
        groups: dict[str, list[str]] = {}
        for f in self.fields.values():
            if f.zip_group:
                groups.setdefault(f.zip_group, []).append(f.name)
        return tuple(tuple(groups[g]) for g in ZIP_GROUPS if g in groups)

    def _build(self) -> tuple[Scan | None, WorkbenchError | None]:
        """The scan of the current fields (cached on the sources and zip groups), or the model's error."""
        if any(f.error for f in self.fields.values()):
            return None, None
        sources: dict[str, Source] = {n: f.source for n, f in self.fields.items() if f.source is not None}
        zips = self._zip_groups()
        key = (self._job_type, tuple(sources.items()), zips)
        if key != self._built_key:
            try:
                self._built = (Scan(self._job_type, sources, zips), None)
            except WorkbenchError as e:
                self._built = (None, e)
            self._built_key = key
        return self._built

    def _cost(self, scan: Scan) -> ScanCost:
        """``scan.cost``, reused while the parameters the cost model uses (``JobType.cost_uses``) keep their sources.

        The model walks every combination of those parameters (up to 20,000
        cost evaluations); a change of any other parameter leaves the cost as
        it was, so the form does not pay for it again.
        """
        jt = scan.job_type
        if jt.cost_uses is None:
            return scan.cost
        key = (jt, len(scan), tuple(scan.sources[n] for n in jt.cost_uses), scan.zip)
        if key != self._cost_key:
            self._cost_key, self._cost_value = key, scan.cost
        return self._cost_value  # type: ignore[return-value]

    def _field_changed(self, field: ParamField) -> None:
        if not self._quiet:
            self._refresh()

    def _setting_changed(self, change: dict[str, Any]) -> None:
        if self._quiet:
            return
        if change["owner"] is self.settings_widgets["name"]:
            self._name_auto = False
        if change["owner"] in [self.settings_widgets[k] for k in ("target", "host", "remote_dir", "python")]:
            self._show_check(None)  # a result about other settings would mislead
        self._refresh(scan_changed=False)

    def _job_type_picked(self, change: dict[str, Any]) -> None:
        if self._quiet:
            return
        try:
            jt = get_job_type(change["new"])
        except WorkbenchError as e:
            self._header_message.value = _span("wb-error", f"✖ {e}")
            self._quiet += 1
            try:
                self.job_type_picker.value = change["old"]
            finally:
                self._quiet -= 1
            return
        self._quiet += 1
        try:
            self._set_job_type(jt)
            if self._name_auto:
                self.settings_widgets["name"].value = _free_name(self.folder, f"{jt.name}-scan")
        finally:
            self._quiet -= 1
        self._refresh()

    def _refresh(self, *, scan_changed: bool = True) -> None:
        """Check everything and show it: field messages, summary, preview, settings, buttons."""
        t0 = time.perf_counter()
        errors: dict[str, str] = {}
        for n, f in self.fields.items():
            if f.error:
                errors[n] = f.error
        scan, error = self._build()
        extra: dict[str, str] = {}
        if isinstance(error, ZipError):  # shown at the zip control and at the fields of the group
            errors["zip"] = str(error)
            extra = {n: str(error) for n in error.group}
        elif error is not None:
            errors["scan"] = str(error)
        per_field: dict[str, list[Problem]] = {}
        problems = scan.problems if scan is not None else ()
        for pr in problems:
            targets = [n for n in pr.params if n in self.fields]
            for n in targets:
                per_field.setdefault(n, []).append(pr)
            if pr.level == "error":
                for n in targets or ["scan"]:
                    errors[n] = f"{errors[n]}\n{pr.message}" if n in errors else pr.message
        if scan_changed:
            for n, f in self.fields.items():
                f.set_problems(per_field.get(n, ()), extra.get(n))
        self._scan = scan
        scan_errors = dict(errors)
        errors.update(self._check_settings(scan))
        self._errors = errors
        if scan_changed:
            self._show_scan(scan, scan_errors, problems)
            self.adapt_box.layout.display = "" if self.adaptive else "none"
        self._update_buttons()
        self.last_update_seconds = time.perf_counter() - t0

    def _check_settings(self, scan: Scan | None) -> dict[str, str]:
        sw = self.settings_widgets
        errors: dict[str, str] = {}
        target = sw["target"].value
        needed = TARGET_FIELDS.get(target, ())
        for key in ("host", "remote_dir", "python"):
            sw[key].layout.display = "" if key in needed else "none"
        self.check_button.layout.display = "" if target in SSH_TARGETS else "none"
        auto = bool(sw["auto_requests"].value)
        sw["request_memory_mb"].disabled = auto
        sw["request_disk_mb"].disabled = auto
        values = {
            **self._base_settings.to_dict(),
            "target": target,
            "host": str(sw["host"].value).strip(),
            "remote_dir": str(sw["remote_dir"].value).strip() or RunSettings.remote_dir,
            "python": str(sw["python"].value).strip() or RunSettings.python,
            "batch_name": str(sw["batch_name"].value).strip(),
            "request_cpus": sw["request_cpus"].value,
            "max_idle": sw["max_idle"].value,
            "checkpoint_seconds": sw["checkpoint_seconds"].value,
            "request_memory_mb": None if auto else sw["request_memory_mb"].value,
            "request_disk_mb": None if auto else sw["request_disk_mb"].value,
        }
        settings: RunSettings | None
        try:
            settings = RunSettings.from_dict(values)
        except ParameterError as e:
            errors[f"settings.{e.parameter or 'target'}"] = str(e)
            settings = None
        if settings is not None and scan is not None:
            cost = self._cost(scan)
            settings = settings.with_cost(cost.max_memory_mb, cost.max_disk_mb)
            if auto:
                self._quiet += 1
                try:
                    sw["request_memory_mb"].value = float(settings.request_memory_mb or 0.0)
                    sw["request_disk_mb"].value = float(settings.request_disk_mb or 0.0)
                finally:
                    self._quiet -= 1
        self._settings = settings
        sw["batch_name"].placeholder = self.name or "the bundle name"
        name = self.name
        if not name:
            errors["settings.name"] = "The bundle name is empty; type a folder name such as demo-scan."
        elif name in (".", "..") or "/" in name or os.sep in name:
            errors["settings.name"] = (
                f"The bundle name {name!r} is not a plain folder name; use letters, digits, '-' and '_' "
                "(put the parent folders in 'folder')."
            )
        folder = self.folder
        if folder.exists() and not folder.is_dir():
            errors["settings.folder"] = f"The folder {str(folder)!r} is a file; choose a folder (it is created if missing)."
        self._settings_message.value = "<br>".join(_span("wb-error", f"✖ {m}") for m in errors.values())
        return errors

    def _show_scan(self, scan: Scan | None, errors: Mapping[str, str], problems: Sequence[Problem]) -> None:
        lines: list[str] = []
        if scan is not None:
            cost = self._cost(scan)
            shape = " × ".join(f"{d.label} {len(d):,}" for d in scan.axes) or "a single point"
            lines.append(
                f'<b class="wb-jobs">{len(scan):,} job{"s" if len(scan) != 1 else ""}</b> ({html.escape(shape)}) · '
                f"about {format_core_time(cost.core_seconds)}{' (estimated from a sample)' if cost.estimated else ''} · "
                f"per job up to {format_duration(cost.max_seconds, digits=2)}, {cost.max_memory_mb:.3g} MB memory, "
                f"{cost.max_disk_mb:.3g} MB disk"
            )
        for key in ("scan", "zip"):
            if key in errors:
                lines.append(_span("wb-error", f"✖ {errors[key]}"))
        field_errors = [k for k in errors if k not in ("scan", "zip")]
        if field_errors:
            lines.append(_span("wb-error", f"✖ {len(field_errors)} field(s) need attention: {', '.join(field_errors)}"))
        for pr in problems:
            lines.append(_span("wb-error" if pr.level == "error" else "wb-warning", f"{'✖' if pr.level == 'error' else '⚠'} {pr.message}"))
        self.summary.value = "<br>".join(lines)
        if scan is not None:
            self._last_table = points_table_html(scan, self.rows)
            self.table.value = self._last_table
            if self.plot is not None:
                shown = self.plot.update(scan)
                self.plot.widget.layout.display = "" if shown else "none"
                self.plot.widget.remove_class("wb-stale")
            return
        # While a field is invalid (as on every keystroke of "1e12": "1e" is not a number), the last valid
        # preview stays where it was, dimmed under a note: nothing below it moves.
        if not self._last_table:
            self.table.value = '<div class="wb-note">The preview appears when every field is valid.</div>'
            return
        where = ", ".join(k for k in errors if k not in ("scan", "zip")) or "the scan"
        note = f"The last valid preview: fix {where} to update it."
        self.table.value = (
            f'<div class="wb-stale-box"><div class="wb-stale-note">{html.escape(note)}</div>'
            f'<div class="wb-stale">{self._last_table}</div></div>'
        )
        if self.plot is not None:
            self.plot.widget.add_class("wb-stale")

    def _update_buttons(self) -> None:
        texts = []
        # For the bundle made here the reason says so (not a failure) and how to make the next one.
        for key, b in self.buttons.items():
            reason = self.disabled_reason(key)
            b.disabled = reason is not None
            b.tooltip = reason or ""
            if reason and reason not in texts:
                texts.append(reason)
        made_here = self.bundle is not None and self.bundle.path.exists()
        reason = self.disabled_reason("run")
        self.run_button.layout.display = "" if made_here else "none"
        self.run_button.disabled = reason is not None
        self.run_button.tooltip = reason or f"Run {self.bundle.path if self.bundle else ''} with the run settings above"
        if made_here and reason and reason not in texts:
            texts.append(reason)
        self.reason.value = "<br>".join(_span("wb-note", t) for t in texts)

    def _ready(self, action: str) -> tuple[Scan, RunSettings]:
        reason = self.disabled_reason(action)
        if reason is not None or self._scan is None or self._settings is None:
            if self._errors:
                raise ScanError(
                    "The form is not ready: " + "; ".join(f"{k}: {v}" if not v.startswith(k) else v for k, v in self._errors.items())
                )
            raise ScanError(reason or "The form does not describe a scan yet.")
        return self._scan, self._settings

    def _click(self, action: Any) -> None:
        for b in (*self.buttons.values(), self.run_button):
            b.disabled = True
        self._show_status("Working…")
        try:
            action()
        except WorkbenchError as e:
            self._show_status(_span("wb-error", f"✖ {e}"), raw=True)
        except Exception as e:  # noqa: BLE001 - shown in the form, not lost in the kernel's log
            self._show_status(_span("wb-error", f"✖ Unexpected {type(e).__name__}: {e}"), raw=True)
        finally:
            self._update_buttons()

    def _show_status(self, text: str, *, pre: str | None = None, raw: bool = False) -> None:
        body = text if raw else html.escape(text)
        if pre is not None:
            body += f"<pre>{html.escape(pre)}</pre>"
        self.status.value = body


def form(what: Any = None, **options: Any) -> Form:
    """A form for a new scan of a job type, or for a clone of an existing bundle.

    Parameters
    ----------
    what
        A job type name (``"demo"``), a :class:`~workbench.jobtype.JobType`, the
        path of a bundle (or a :class:`~workbench.bundle.Bundle`) to clone, or a
        :class:`~workbench.scan.Scan`.
    **options
        See :class:`Form`: ``folder``, ``name``, ``settings``, ``values``, ``zip``, ``plot``, ``rows``.

    Returns
    -------
    Form
        Displayed when it is the last expression of a cell; ``form.scan`` is the scan it describes.

    Examples
    --------
    >>> import workbench as wb
    >>> f = wb.form("demo", values={"drive_freq": wb.linspace(0.5, 1.5, 41)}, plot=False)
    >>> len(f.scan)
    41
    """
    return Form(what, **options)
