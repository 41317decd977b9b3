"""JupyterLab 4 in Debian's headless Chromium, driven by Playwright: fixtures for browser tests.

Enable it with ``pytest_plugins = ["labbrowser"]`` in the root ``conftest.py``
(or ``python -m pytest -p labbrowser``).  Nothing is downloaded: the fixtures
use ``/usr/bin/chromium`` (``apt-get install chromium``; ``$WORKBENCH_CHROMIUM``
overrides the path) and the ``playwright`` Python package, and skip, saying
what is missing, when either is absent.

Fixtures
--------
``jupyterlab`` (session)
    A :class:`JupyterLabServer` on 127.0.0.1 with a token, a temporary root
    folder and temporary Jupyter config/runtime/data/settings/workspace
    folders (the user's own are never read or written).  Its log is kept in
    the artifacts folder.
``lab_browser`` (session)
    A Playwright ``Browser`` (headless Chromium).
``lab`` (function)
    A :class:`LabPage`: a fresh browser page, a folder of its own in the
    server's root, helpers to copy a notebook there, open it, run every cell
    and wait for widgets, and screenshots in the test's artifacts folder.  At
    the end of the test every kernel session is deleted through the REST API
    (kernels outlive pages), and a failing test leaves ``failure.png`` and the
    browser console in its artifacts.
``lab_artifacts`` (function)
    The test's artifacts folder: ``$WORKBENCH_ARTIFACTS/<test>`` or
    ``test-artifacts/<test>`` at the repository root.

:class:`JupyterLabServer` works without pytest too (``with JupyterLabServer(root) as lab: ...``).
"""

from __future__ import annotations

import asyncio

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "JupyterLabServer",
    "LabPage",
    "lab_missing_reason",
    "artifacts_root",
    "jupyterlab",
    "lab_browser",
    "lab",
    "lab_artifacts",
]

CHROMIUM = Path(os.environ.get("WORKBENCH_CHROMIUM", "/usr/bin/chromium"))
#: Flags for Debian's Chromium in containers and CI (``--headless`` comes from ``headless=True``).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: JupyterLab user settings that keep dialogs and pop-ups out of tests: no news or update toasts, and a
#: notebook starts its kernel without asking ("Select Kernel" otherwise blocks Run All in JupyterLab 4.6).
LAB_SETTINGS: dict[str, dict[str, Any]] = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker": {"autoStartDefaultKernel": True},
}
#: How long to wait for the server, a page, a kernel or a selector (seconds).
TIMEOUT = float(os.environ.get("WORKBENCH_BROWSER_TIMEOUT", "120"))


def lab_missing_reason() -> str | None:
    """Why JupyterLab browser tests cannot run here, or None when they can."""
    if not (CHROMIUM.exists() and os.access(CHROMIUM, os.X_OK)):
        return f"{CHROMIUM} not found: install Chromium with `apt-get install chromium` to run the browser tests"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed: `pip install playwright` (no `playwright install`: the tests use /usr/bin/chromium)"
    # Not `import jupyterlab`: with tests/ on sys.path that name is this module.
    from importlib.metadata import PackageNotFoundError, version

    try:
        version("jupyterlab")
    except PackageNotFoundError:
        return "jupyterlab is not installed: `pip install jupyterlab`"
    return None


def artifacts_root(rootdir: Path | None = None) -> Path:
    """``$WORKBENCH_ARTIFACTS``, else ``test-artifacts`` in ``rootdir`` (the repository root)."""
    env = os.environ.get("WORKBENCH_ARTIFACTS")
    path = Path(env) if env else (rootdir or Path.cwd()) / "test-artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:120] or "test"


class JupyterLabServer:
    """A JupyterLab server of this Python for tests, isolated from the user's Jupyter folders.

    Parameters
    ----------
    root
        The server's root folder (notebooks are opened relative to it).
    log_path
        Where the server's output goes (default: a file in the private folder).
    env
        Extra environment variables for the server and its kernels.
    """

    def __init__(self, root: str | os.PathLike[str], *, log_path: Path | None = None, env: dict[str, str] | None = None) -> None:
        self.root = Path(root).absolute()
        self.token = secrets.token_hex(16)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._private = Path(tempfile.mkdtemp(prefix="wb-jupyter-"))
        self.log_path = log_path or self._private / "jupyterlab.log"
        self._extra_env = dict(env or {})
        self.process: subprocess.Popen[bytes] | None = None

    # -- life cycle -----------------------------------------------------------
    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        # The kernel should behave like a user's: no test-only matplotlib backend or warning filters.
        for key in ("MPLBACKEND", "PYTHONWARNINGS", "JUPYTER_PATH", "JUPYTER_CONFIG_PATH"):
            env.pop(key, None)
        for key, sub in (
            ("JUPYTER_CONFIG_DIR", "config"),
            ("JUPYTER_RUNTIME_DIR", "runtime"),
            ("JUPYTER_DATA_DIR", "data"),
            ("JUPYTERLAB_SETTINGS_DIR", "settings"),
            ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"),
            ("IPYTHONDIR", "ipython"),
        ):
            (self._private / sub).mkdir(exist_ok=True)
            env[key] = str(self._private / sub)
        env["JUPYTER_PLATFORM_DIRS"] = "1"
        # The tests folder on PYTHONPATH would let test helpers shadow packages the server imports.
        here = str(Path(__file__).resolve().parent)
        paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and str(Path(p).resolve()) != here]
        if paths:
            env["PYTHONPATH"] = os.pathsep.join(paths)
        else:
            env.pop("PYTHONPATH", None)
        env.update(self._extra_env)
        return env

    def _write_settings(self, settings_dir: Path) -> None:
        # User settings (JUPYTERLAB_SETTINGS_DIR): one file per plugin, <package>/<plugin>.jupyterlab-settings.
        for plugin, values in LAB_SETTINGS.items():
            package, _, name = plugin.rpartition("/")
            path = settings_dir / package / f"{name}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))

    def start(self, timeout: float = TIMEOUT) -> JupyterLabServer:
        """Start the server and wait until its REST API answers."""
        env = self._environment()
        self._write_settings(Path(env["JUPYTERLAB_SETTINGS_DIR"]))
        self.root.mkdir(parents=True, exist_ok=True)
        cmd = [
            sys.executable, "-m", "jupyterlab",
            "--no-browser",
            f"--ServerApp.token={self.token}",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={self.root}",
            "--ServerApp.terminals_enabled=False",
            # window.jupyterapp: run commands (run all cells) without hunting menus.
            "--LabApp.expose_app_in_browser=True",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            cmd, cwd=self.root, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"JupyterLab exited with code {self.process.returncode} at start; its log:\n{self.log_text()[-4000:]}"
                )
            try:
                self.api("GET", "/api/status")
                return self
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"JupyterLab did not answer on {self.url} within {timeout:.0f} s; its log:\n{self.log_text()[-4000:]}")

    def stop(self) -> None:
        """Shut down kernels and the server (only the processes this object started)."""
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            try:
                self.delete_sessions()
            except Exception:  # noqa: BLE001 - the server may be half dead; it is stopped below anyway
                pass
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # the session started for this server: it and its kernels
                proc.wait(timeout=10)
        log = getattr(self, "_log", None)
        if log is not None:
            log.close()
        shutil.rmtree(self._private, ignore_errors=True)

    def __enter__(self) -> JupyterLabServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    # -- REST API -------------------------------------------------------------
    def api(self, method: str, path: str, body: Any = None, timeout: float = 10.0) -> Any:
        """Call the server's REST API; returns the decoded JSON (or None)."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", f"token {self.token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=timeout) as r:  # noqa: S310 - 127.0.0.1 only
            raw = r.read()
        return json.loads(raw) if raw else None

    def sessions(self) -> list[dict[str, Any]]:
        return list(self.api("GET", "/api/sessions") or [])

    def delete_sessions(self) -> None:
        """Delete every session (shutting its kernel down), then any kernel left without one."""
        for s in self.sessions():
            self.api("DELETE", f"/api/sessions/{s['id']}")
        for k in self.api("GET", "/api/kernels") or []:
            self.api("DELETE", f"/api/kernels/{k['id']}")

    def lab_url(self, path: str = "") -> str:
        """The URL that opens ``path`` (relative to the root) in JupyterLab, token included.

        ``reset`` starts from an empty workspace: the server remembers the tabs
        of earlier tests, and their hidden notebooks would match our selectors.
        """
        tree = f"/tree/{urllib.parse.quote(path)}" if path else ""
        return f"{self.url}/lab{tree}?reset&token={self.token}"


class LabPage:
    """One test's browser page on the shared server, with a folder of its own under the server's root.

    Attributes
    ----------
    page
        The Playwright ``Page``.
    folder
        This test's folder in the server root (notebooks are copied here; kernels start here).
    artifacts
        Where screenshots go.
    """

    def __init__(self, server: JupyterLabServer, page: Any, folder: Path, artifacts: Path) -> None:
        self.server = server
        self.page = page
        self.folder = folder
        self.artifacts = artifacts
        self.console: list[str] = []
        self._shots = 0
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))

    # -- notebooks ------------------------------------------------------------
    def copy_notebook(self, src: str | os.PathLike[str], name: str | None = None) -> str:
        """Copy a notebook into this test's folder; returns its path relative to the server root."""
        src = Path(src)
        dest = self.folder / (name or src.name)
        shutil.copyfile(src, dest)
        return dest.relative_to(self.server.root).as_posix()

    def open(self, path: str, timeout: float = TIMEOUT) -> None:
        """Open a notebook and wait until its kernel is idle."""
        self.page.goto(self.server.lab_url(path), timeout=timeout * 1000)
        self.page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell", timeout=timeout * 1000)
        self.page.wait_for_function("() => window.jupyterapp !== undefined", timeout=timeout * 1000)
        self.accept_dialogs()
        self.wait_kernel_idle(path, timeout)

    def accept_dialogs(self) -> None:
        """Accept a dialog (e.g. kernel selection) if one is showing."""
        dialog = self.page.locator(".jp-Dialog .jp-mod-accept")
        if dialog.count():
            dialog.first.click()

    def wait_kernel_idle(self, path: str | None = None, timeout: float = TIMEOUT) -> None:
        """Wait until the notebook at ``path`` has a started, idle kernel (REST API) and the page shows it idle."""
        deadline = time.monotonic() + timeout
        while path is not None:
            states = [s["kernel"]["execution_state"] for s in self.server.sessions() if s.get("path") == path and s.get("kernel")]
            if "idle" in states:
                break
            if time.monotonic() > deadline:
                self.screenshot("no-kernel")
                raise TimeoutError(f"No idle kernel for {path} after {timeout:.0f} s (sessions: {self.server.sessions()})")
            time.sleep(0.2)
        self.page.wait_for_selector(
            ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator[data-status='idle']",
            timeout=timeout * 1000,
        )

    def command(self, command: str, args: dict[str, Any] | None = None) -> None:
        """Start a JupyterLab command (``notebook:run-all-cells``...) through ``window.jupyterapp``."""
        # Not awaited: some commands' promises settle only when their work ends (or never, on a dialog).
        self.page.evaluate("([c, a]) => { window.jupyterapp.commands.execute(c, a); }", [command, args or {}])

    def run_all(self, timeout: float = TIMEOUT) -> None:
        """Run every cell of the current notebook and wait until each code cell has run."""
        self.command("notebook:run-all-cells")
        self.page.wait_for_function(
            """() => {
                const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
                if (!panel) return false;
                const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
                const busy = panel.querySelector(".jp-Notebook-ExecutionIndicator[data-status='idle']") === null;
                return prompts.length > 0 && !busy && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
            }""",
            timeout=timeout * 1000,
            polling=250,
        )
        # Error outputs are rendered as stderr text; a traceback is what tells them from warnings.
        for text in self.page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").all_inner_texts():
            if "Traceback (most recent call last)" in text:
                self.screenshot("cell-error", full_page=True)
                raise AssertionError(f"A cell raised an exception:\n{text[-3000:]}")

    def wait_widgets(self, selector: str = ".jupyter-widgets", timeout: float = TIMEOUT) -> Any:
        """Wait until ``selector`` is visible in the page; returns its locator."""
        loc = self.page.locator(selector).first
        loc.wait_for(state="visible", timeout=timeout * 1000)
        return loc

    # -- artifacts --------------------------------------------------------------
    def screenshot(self, name: str, *, locator: Any = None, full_page: bool = False) -> Path:
        """Save a PNG in the test's artifacts folder (numbered in order); returns its path."""
        self._shots += 1
        path = self.artifacts / f"{self._shots:02d}-{_slug(name)}.png"
        target = locator if locator is not None else self.page
        if locator is not None:
            target.screenshot(path=str(path))
        else:
            target.screenshot(path=str(path), full_page=full_page)
        return path

    def save_console(self) -> Path:
        path = self.artifacts / "console.txt"
        path.write_text("\n".join(self.console) + "\n")
        return path


# ---------------------------------------------------------------------------
# pytest
# ---------------------------------------------------------------------------
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    # Keep each phase's report on the item so fixtures can tell a failed test at teardown.
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"_lab_rep_{rep.when}", rep)


@pytest.fixture(scope="session")
def jupyterlab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLabServer]:
    """A JupyterLab server for the whole session (skips when Chromium, Playwright or JupyterLab is missing)."""
    reason = lab_missing_reason()
    if reason:
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("lab-root")
    log = artifacts_root(request.config.rootpath) / "jupyterlab-server.log"
    server = JupyterLabServer(root, log_path=log).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def lab_browser(jupyterlab: JupyterLabServer) -> Iterator[Any]:
    """Headless Chromium (``/usr/bin/chromium``) driven by Playwright."""
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
    except Exception as e:  # noqa: BLE001 - a browser that cannot start is a reason to skip, shown as such
        pw.stop()
        pytest.skip(f"{CHROMIUM} did not start under Playwright: {e}")
    try:
        yield browser
    finally:
        browser.close()
        pw.stop()


@pytest.fixture
def lab_artifacts(request: pytest.FixtureRequest) -> Path:
    """This test's artifacts folder (created)."""
    path = artifacts_root(request.config.rootpath) / _slug(request.node.nodeid.replace("/", "."))
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


@pytest.fixture
def lab(request: pytest.FixtureRequest, jupyterlab: JupyterLabServer, lab_browser: Any, lab_artifacts: Path) -> Iterator[LabPage]:
    """A fresh JupyterLab page and folder for one test; kernels are shut down afterwards."""
    folder = jupyterlab.root / _slug(request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import expect

    context = lab_browser.new_context(viewport={"width": 1400, "height": 1400}, device_scale_factor=1)
    context.set_default_timeout(TIMEOUT * 1000)
    # expect() has its own 5 s default; a kernel on a busy machine needs longer.
    expect.set_options(timeout=TIMEOUT * 1000)
    page = context.new_page()
    lab_page = LabPage(jupyterlab, page, folder, lab_artifacts)
    try:
        yield lab_page
    finally:
        rep = getattr(request.node, "_lab_rep_call", None)
        if rep is not None and rep.failed:
            try:
                lab_page.screenshot("failure", full_page=True)
            except Exception:  # noqa: BLE001 - a dead page must not hide the test's own failure
                pass
        lab_page.save_console()
        context.close()
        jupyterlab.delete_sessions()


@pytest.fixture(autouse=True)
def _no_foreign_running_loop(request: pytest.FixtureRequest) -> Iterator[None]:
    """Hide an event loop that Playwright's sync API left marked as running in this thread.

    Once the browser fixtures started Playwright (session scope), its loop
    counts as running in the main thread for the rest of the session, though
    it only turns during Playwright calls: a monitor made in a later test would
    put its work on it, and ``asyncio.run`` would refuse to start.
    """
    loop = asyncio.events._get_running_loop()
    if loop is None or request.node.get_closest_marker("browser"):
        yield
        return
    asyncio.events._set_running_loop(None)
    try:
        yield
    finally:
        asyncio.events._set_running_loop(loop)
