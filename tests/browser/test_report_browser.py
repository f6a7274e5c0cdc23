"""Headless Chromium opens the report and the running optuna-dashboard of a finished tiny study.

Needs Debian's ``chromium`` (``.ci/run`` installs it); skipped with the reason when it is absent.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from mtlsearch.cli import main
from mtlsearch.search import load_study

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Under CI (which installs chromium) a missing browser is a failure, not a skip.
pytestmark = pytest.mark.skipif(
    CHROMIUM is None and os.environ.get("CI") != "true",
    reason="chromium not found: apt-get install chromium (CI does)",
)


@pytest.fixture(scope="module")
def finished(tmp_path_factory, tiny_template):
    folder = tmp_path_factory.mktemp("browser")
    study_file = tiny_template.write(  # 3 ple trials of one epoch on 400 samples, only lr searched
        folder,
        params={"architecture": "ple", "levels": 2, "expert_width": 4},
        drop=("specific_experts", "shared_experts", "loss_weight"),
        data={"name": "synthetic-video", "options": {"n_samples": 400, "dim": 8}},
        training={"epochs": 1, "patience": 1},
    )
    storage = f"sqlite:///{folder / 'tiny.db'}"
    assert main(["optimize", "--study", str(study_file), "--storage", storage, "--no-progress"]) == 0
    return folder, storage


def chromium(url: str, out: Path, screenshot: str) -> str:
    """The DOM after scripts ran (up to 10 s of virtual time); saves a screenshot beside it."""
    profile = out / "profile"
    profile.mkdir(exist_ok=True)
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
        "--virtual-time-budget=10000", "--window-size=1400,2400", f"--screenshot={out / screenshot}", "--dump-dom", url,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=600, check=False).stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_report_renders_the_pareto_front_with_the_metric_names(finished, tmp_path):
    _, storage = finished
    report = tmp_path / "report.html"
    assert main(["report", "--study", "tiny", "--storage", storage, "--out", str(report)]) == 0
    dom = chromium(report.as_uri(), tmp_path, "report.png")
    start, end = dom.index('<section id="pareto">'), dom.index('<section id="hypervolume">')
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", dom[start:end])
    assert "vtr/auc (maximize)" in texts and "vcr/mse (minimize)" in texts
    assert (tmp_path / "report.png").stat().st_size > 10_000


def test_dashboard_renders_the_pareto_front_and_the_hypervolume_history(finished, tmp_path):
    _, storage = finished
    study = load_study("tiny", storage)
    port = free_port()
    mtlsearch = [sys.executable, "-c", "import sys; from mtlsearch.cli import main; sys.exit(main())"]
    command = [*mtlsearch, "dashboard", "--study", "tiny", "--storage", storage]
    server = subprocess.Popen(
        [*command, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=os.environ.copy()
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stderr.read().decode()
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline, "optuna-dashboard did not answer within 60 s"
                time.sleep(0.5)
        url = f"http://127.0.0.1:{port}/dashboard/studies/{study._study_id}"
        dom = chromium(url, tmp_path, "dashboard.png")
    finally:
        server.terminate()
        server.wait(timeout=20)
    # The dashboard's Pareto front: axis pickers holding the metric names, then the plotly graph.
    start = dom.index("Pareto Front")
    end = dom.index('id="graph-pareto-front"')
    pickers = re.findall(r'role="combobox"[^>]*>([^<]*)<', dom[start:end])
    assert pickers[:2] == ["vtr/auc", "vcr/mse"]
    graph = dom[end : re.compile(r'id="(graph|plot)-').search(dom, end + 10).start()]
    assert "main-svg" in graph and 'class="point"' in graph
    # The hypervolume history written after each trial, drawn by the dashboard as a custom plot.
    titles = re.findall(r'class="gtitle"[^>]*>([^<]*)<', dom)
    assert any(t.startswith("Hypervolume history (tiny") for t in titles)
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000
