"""Suite-wide settings. Under CI (CI=true, as `.ci/run` runs), a skipped test is a failure: every
capability must really be exercised there, not skipped for a missing asset or backend."""

from __future__ import annotations

import os

import pytest

STRICT = os.environ.get("CI", "").lower() in ("1", "true", "yes") and os.environ.get("NUMBA_DISABLE_JIT") != "1"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if STRICT and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI, where every test must run: {reason}"
