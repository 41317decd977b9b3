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

from .._format import format_duration
from ..errors import JobTypeError, ParameterError, ScanError, WorkbenchError, ZipError
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
    from ..executors.local import LocalRun
    from ..monitor.poller import Poller

__all__ = ["Form", "form", "TARGET_LABELS"]

#: How the run targets of :data:`workbench.settings.TARGETS` are named in the form.
TARGET_LABELS: dict[str, str] = {
    "local": "this machine",
    "ssh": "a remote host over SSH",
    "condor": "an HTCondor pool (schedd on this machine)",
    "condor-ssh": "an HTCondor pool through an SSH submit host",
}
#: Targets the form can run itself (the others are created here and submitted elsewhere).
RUNNABLE_TARGETS: tuple[str, ...] = ("local",)
#: Seconds between updates of the status line while a run the form started lasts.
RUN_STATUS_SECONDS = 1.0

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

    Attributes
    ----------
    fields
        The parameter fields by name (:class:`~workbench.ui.fields.ParamField`).
    bundle
        The bundle made by the last :meth:`create` or :meth:`create_and_run`, else ``None``.
    run_handle
        The background run started by :meth:`create_and_run`, else ``None``.
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
    ) -> None:
        self.fields: dict[str, ParamField] = {}
        self.bundle: Bundle | None = None
        self.run_handle: LocalRun | None = None
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
        self._poller: Poller | None = None

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
            options=names if job_type.name in names else [*names, job_type.name],
            value=job_type.name, description="Job type", style={"description_width": "initial"},
            layout=w.Layout(width="18em"),
        )
        self.job_type_picker.add_class("wb-job-type")
        self.job_type_picker.observe(self._job_type_picked, names="value")
        self._title = w.HTML(layout=w.Layout(flex="1 1 auto", margin="0 0 0 1em"))
        self._title.add_class("wb-title")
        self._header_message = w.HTML()
        self._fields_box = w.VBox()
        self.summary = w.HTML()
        self.summary.add_class("wb-summary")
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
            "host": w.Text(value=s.host, description="host", placeholder="as in ~/.ssh/config", style=desc, layout=wide()),
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
        settings_box = w.HBox(
            [
                w.VBox([sw["name"], sw["folder"], sw["target"], sw["host"], sw["batch_name"]]),
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
        self.reason = w.HTML(layout=w.Layout(flex="1 1 auto", margin="0 0 0 0.8em"))
        self.reason.add_class("wb-reason")
        self.status = w.HTML()
        self.status.add_class("wb-status")

        self.widget = w.VBox(
            [
                self._style,
                w.HBox([self.job_type_picker, self._title], layout=w.Layout(align_items="center")),
                self._header_message,
                _section("Parameters"),
                self._fields_box,
                _section("Scan"),
                self.summary,
                self._preview_box,
                _section("Run settings"),
                settings_box,
                self._settings_message,
                w.HBox([*self.buttons.values(), self.reason], layout=w.Layout(align_items="center", margin="8px 0 0 0")),
                self.status,
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
        """Why a button is disabled (``"dry_run"``, ``"create"`` or ``"create_and_run"``), or ``None`` when it is not."""
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
            return f"{self.path} already exists: choose another bundle name."
        if action == "create_and_run" and self._settings is not None and self._settings.target not in RUNNABLE_TARGETS:
            return (
                f"The form runs bundles on this machine only so far; create the bundle and submit it to "
                f"{TARGET_LABELS.get(self._settings.target, self._settings.target)} from there."
            )
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
            f"Created {bundle.path}: {len(scan):,} job(s), about {cost.core_hours:.3g} core-hours. "
            f"Run it with wb.run(wb.open_bundle({str(bundle.path)!r})), or use Create and run next time."
        )
        self._update_buttons()
        return bundle

    def create_and_run(self, *, wait: bool = False) -> LocalRun | RunReport:
        """Create the bundle and run it on this machine (in the background unless ``wait``)."""
        from ..executors.local import run

        self._ready("create_and_run")
        bundle = self.create()
        handle = run(bundle, wait=wait, progress=False)
        if wait:
            self._show_status(f"Created and ran {bundle.path}: {handle}")
            return handle
        self.run_handle = handle  # type: ignore[assignment]
        self._show_status(
            f"Created {bundle.path} and started its {bundle.count:,} job(s) on this machine in the background. "
            f"Follow them with wb.status({str(bundle.path)!r}); results with wb.results(...)."
        )
        self._start_poller(bundle)
        return handle

    def load(self, what: Any) -> Form:
        """Fill the form from a bundle (path or :class:`~workbench.bundle.Bundle`), a :class:`~workbench.scan.Scan` or its dict.

        A bundle also brings its run settings and folder; the bundle name becomes
        the next free one (``name-2``...), so the clone is created beside the original.
        """
        job_type, scan, bundle = self._resolve(what, self.job_type_picker.options)
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
        """Close every widget of the form (and stop following a run)."""
        if self._poller is not None:
            self._poller.stop()
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
                if job_type.name not in self.job_type_picker.options:
                    self.job_type_picker.options = [*self.job_type_picker.options, job_type.name]
                self.job_type_picker.value = job_type.name
        finally:
            self._quiet -= 1
        desc = f" — {html.escape(job_type.description)}" if job_type.description else ""
        self._title.value = f"<b>{html.escape(job_type.title)}</b>{desc}"
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
        self._update_buttons()
        self.last_update_seconds = time.perf_counter() - t0

    def _check_settings(self, scan: Scan | None) -> dict[str, str]:
        sw = self.settings_widgets
        errors: dict[str, str] = {}
        target = sw["target"].value
        sw["host"].layout.display = "" if target in ("ssh", "condor-ssh") else "none"
        auto = bool(sw["auto_requests"].value)
        sw["request_memory_mb"].disabled = auto
        sw["request_disk_mb"].disabled = auto
        values = {
            **self._base_settings.to_dict(),
            "target": target,
            "host": str(sw["host"].value).strip(),
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
                f"about {cost.core_hours:.3g} core-hours{' (estimated from a sample)' if cost.estimated else ''} · "
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
            self.table.value = points_table_html(scan, self.rows)
        else:
            self.table.value = '<div class="wb-note">The preview appears when every field is valid.</div>'
        if self.plot is not None:
            shown = self.plot.update(scan)
            self.plot.widget.layout.display = "" if shown else "none"

    def _update_buttons(self) -> None:
        texts = []
        for key, b in self.buttons.items():
            reason = self.disabled_reason(key)
            b.disabled = reason is not None
            b.tooltip = reason or ""
            if reason and reason not in texts:
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
        for b in self.buttons.values():
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

    def _start_poller(self, bundle: Bundle) -> None:
        """Update the status line while the background run lasts.

        A :class:`~workbench.monitor.poller.Poller` on the kernel's loop; the
        listing of finished jobs (a directory scan) runs in a worker thread.
        """
        from ..monitor.poller import Poller, running_loop

        loop = running_loop()
        handle = self.run_handle
        if loop is None or handle is None:
            return
        if self._poller is not None:
            self._poller.stop()

        async def step() -> None:
            ended = handle.done  # before the listing: a run that ended has written all it will
            done = len(await loop.run_in_executor(None, bundle.finished_ids))
            count = f"{done:,} of {bundle.count:,} job(s) finished"
            if not ended:
                self._show_status(f"Running {bundle.path} on this machine: {count}.")
                return
            poller.stop()
            try:
                report = handle.wait(0)
                self._show_status(f"Ran {bundle.path} on this machine: {count}. {report}")
            except Exception as e:  # noqa: BLE001 - the run's own error, shown where the user looks
                self._show_status(_span("wb-error", f"✖ The run of {bundle.path} failed ({count}): {e}"), raw=True)

        def failed(e: BaseException) -> None:
            self._show_status(_span("wb-error", f"✖ Following the run of {bundle.path} failed: {e}"), raw=True)

        poller = self._poller = Poller(step, RUN_STATUS_SECONDS, on_error=failed)
        poller.start(loop)


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
