"""Kill a piece of code at chosen moments (a helper module for the all-or-none tests, imported by name).

One runner process imports malmoi once; each job is a child forked from it, so that a run costs
milliseconds rather than an interpreter start. A job runs ``code`` with the variables of ``args``;
with ``stop_at=k`` the child ends (``os._exit(STOPPED)``) in place of the k-th call to one of the
file-system functions that order a change (rename, fsync, unlink, mkdir...), so that running
k = 1, 2, ... until the code completes stops it between every two such calls.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

STOPPED = 86  # the child's exit status when it stopped itself in place of a call
STOPPING_POINTS = ["replace", "rename", "fsync", "unlink", "link", "mkdir", "rmdir"]

_RUNNER = f"""
import importlib, json, os, sys
for name in sys.argv[1:]:
    importlib.import_module(name)

def stopping(real, counter, at):
    def call(*args, **kwargs):
        counter[0] += 1
        if counter[0] >= at:
            os._exit({STOPPED})
        return real(*args, **kwargs)
    return call

for line in sys.stdin:
    job = json.loads(line)
    pid = os.fork()
    if pid == 0:
        if job["stop_at"] is not None:
            counter = [0]
            for name in {STOPPING_POINTS!r}:
                setattr(os, name, stopping(getattr(os, name), counter, job["stop_at"]))
        exec(job["code"], dict(job["args"]))
        os._exit(0)
    print(pid, flush=True)
    print(os.waitpid(pid, 0)[1], flush=True)
"""


class Killer:
    """``start`` a job and get its process id (to SIGKILL it), then ``wait`` for its wait status."""

    def __init__(self, preload: list[str]):
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self.process = subprocess.Popen([sys.executable, "-c", _RUNNER, *preload], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, env=env)

    def start(self, code: str, args: dict[str, Any], stop_at: int | None = None) -> int:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps({"code": code, "args": args, "stop_at": stop_at}) + "\n")
        self.process.stdin.flush()
        return int(self.process.stdout.readline())

    def wait(self) -> int:
        assert self.process.stdout is not None
        return int(self.process.stdout.readline())

    def run(self, code: str, args: dict[str, Any], stop_at: int | None = None) -> bool:
        """Run a job to its end or its stopping point; True when it completed."""
        self.start(code, args, stop_at)
        status = self.wait()
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
            return True
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == STOPPED, f"the job failed (wait status {status})"
        return False

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)
