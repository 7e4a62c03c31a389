"""Where checkers run: in this process, in worker processes, or as Ray tasks (skipped without ray)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from noisy_data import as_examples, noisy_rows

import malmoi
from malmoi.clean import CheckerFeatures, CheckerRunner, CleanSettings, LabelChecker, find_label_issues

FAST = {"rounds": 2, "splits": 2, "folds": 4, "workers": 1}


class PidChecker(LabelChecker):
    """Answers the id of the process that ran the fit, so a test can see where fits ran."""

    def fit_predict(self, features, train, targets, check, *, seed):
        return np.full((len(check), 1), os.getpid(), dtype=np.float64)


def _features(n: int) -> CheckerFeatures:
    return CheckerFeatures(np.arange(n + 1, dtype=np.int64), np.zeros(n, np.int64), np.ones(n, np.float32), 1)


def _tasks(count: int) -> list:
    return [(np.arange(2), np.ones((2, 1)), np.arange(2, 4), seed) for seed in range(count)]


def test_one_worker_fits_in_this_process():
    with CheckerRunner(PidChecker(), _features(4), workers=1) as runner:
        results = runner.map(_tasks(3))
    assert runner.where == "inline"
    assert {int(r[0, 0]) for r in results} == {os.getpid()}


def test_workers_fit_in_other_processes():
    with CheckerRunner(PidChecker(), _features(4), workers=2) as runner:
        results = runner.map(_tasks(8))
    assert runner.where == "processes"
    pids = {int(r[0, 0]) for r in results}
    assert os.getpid() not in pids
    assert 1 <= len(pids) <= 2


def test_missing_ray_is_named_with_the_fix(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray":
            raise ImportError("no ray here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(ImportError, match=r"malmoi\[ray\]"):
        CheckerRunner(PidChecker(), _features(4), ray_address="local")


@pytest.mark.slow
def test_ray_tasks_find_what_processes_find():
    ray = pytest.importorskip("ray")
    rows, _ = noisy_rows()
    local = find_label_issues(as_examples(rows), "en", CleanSettings(**FAST))
    # Ray's workers import the checker class by module: this folder and malmoi's own must be on their path.
    path = os.pathsep.join([str(Path(__file__).parent), str(Path(malmoi.__file__).parents[1])])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": path}})
    try:
        with CheckerRunner(PidChecker(), _features(4), ray_address="auto") as runner:
            pids = {int(r[0, 0]) for r in runner.map(_tasks(4))}
        assert runner.where == "ray" and os.getpid() not in pids
        remote = find_label_issues(as_examples(rows), "en", CleanSettings(**FAST, ray_address="auto"))
    finally:
        ray.shutdown()
    assert [s.text for s in remote.suspects] == [s.text for s in local.suspects]
    np.testing.assert_allclose(remote.p_wrong, local.p_wrong, atol=1e-4)
