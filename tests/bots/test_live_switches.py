"""Concurrent switches of one bot's live version, from several processes, all kept in LIVE's history."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from malmoi.bots import Registry

# One process: set up, say "ready", wait for "go" (all start together), then switch the bot's live
# version until its spares run out or the publisher is done; print what it did as JSON.
WORKER = r"""
import json, random, sys, time
from pathlib import Path
from malmoi.bots import Registry

root, role, spares, model_dir = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
folder = Path(sys.argv[5])
registry = Registry(root)
if role == "publisher":
    import malmoi.model.model  # torch and the model code loaded before the start, as a server has them
(folder / f"ready-{role}-{spares[:1]}").touch()
while not (folder / "go").exists():
    time.sleep(0.002)
done = {"publishes": [], "activations": 0, "rollbacks": 0}
if role == "publisher":
    for _ in range(2):
        done["publishes"].append(registry.publish(model_dir, bot="race", allow_identical=True).version)
    (folder / "published").touch()
else:
    for spare in spares:  # the route PUT /v1/bots/{bot}/live calls Registry.activate; rollback, /rollback
        registry.activate("race", spare)
        done["activations"] += 1
        time.sleep(random.random() * 0.01)
        registry.rollback("race")
        done["rollbacks"] += 1
        if (folder / "published").exists() and done["activations"] >= 10:
            break
print(json.dumps(done))
"""


def test_concurrent_publishes_activations_and_rollbacks_keep_every_switch(tmp_path: Path,
                                                                          tiny_model_dir: Path) -> None:
    registry = Registry(tmp_path / "reg")
    registry.publish(tiny_model_dir, bot="race")
    first = registry.version_dir("race", "v000001")
    record = (first / "PUBLISHED.json").read_bytes()

    def spare(number: int) -> str:
        # A version as activation sees it (its record); cheaper than publishing 130 models.
        version = f"v{number:06d}"
        (first.parent / version).mkdir()
        (first.parent / version / "PUBLISHED.json").write_bytes(record)
        return version

    for number in range(2, 12):  # ten earlier live versions to roll back to
        registry.activate("race", spare(number))
    initial = json.loads((registry.bot_dir("race") / "LIVE").read_bytes())
    assert len(initial["history"]) == 10
    pools = [[spare(100 + 40 * worker + i) for i in range(40)] for worker in range(3)]

    folder = tmp_path / "signals"
    folder.mkdir()
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, str(registry.root), role, json.dumps(pool),
                                 str(tiny_model_dir), str(folder)], stdout=subprocess.PIPE, text=True)
               for role, pool in [("publisher", []), *(("switcher", pool) for pool in pools)]]
    deadline = time.monotonic() + 120
    while len(list(folder.glob("ready-*"))) < len(workers) and time.monotonic() < deadline:
        time.sleep(0.01)
    (folder / "go").touch()
    reports = []
    for worker in workers:
        out, _ = worker.communicate(timeout=180)
        assert worker.returncode == 0, out
        reports.append(json.loads(out.strip().splitlines()[-1]))

    published = [v for r in reports for v in r["publishes"]]
    activations, rollbacks = sum(r["activations"] for r in reports), sum(r["rollbacks"] for r in reports)
    assert len(published) == 2 and activations == rollbacks >= 30
    live = json.loads((registry.bot_dir("race") / "LIVE").read_bytes())
    # Each publish and activation pushed the version it replaced; each rollback popped one. A lost
    # switch (two read-modify-writes of LIVE at once) leaves the history short.
    assert len(live["history"]) == len(initial["history"]) + len(published) + activations - rollbacks
    assert len(set(live["history"]) | {live["version"]}) == len(live["history"]) + 1  # no version twice
    # The history never shrank below its first ten (every worker activates before it rolls back): they stay.
    assert live["history"][:10] == initial["history"]


def test_lock_file_is_per_bot_and_left_for_the_next_switch(tmp_path: Path, tiny_model_dir: Path) -> None:
    registry = Registry(tmp_path / "reg")
    registry.publish(tiny_model_dir, bot="one")
    assert (registry.bot_dir("one") / "LIVE.lock").is_file()
    assert registry.bots() == ["one"]  # the lock file is no bot, and no version
    shutil.copytree(registry.version_dir("one", "v000001"), registry.version_dir("one", "v000002"))
    assert registry.activate("one", "v000002").was == "v000001"
