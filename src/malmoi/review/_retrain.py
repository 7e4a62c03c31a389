"""Retrain a bot from its (reviewed) data and publish the candidate only if nothing regresses.

The candidate and the live version are measured on the bot's test data with the typed
:class:`~malmoi.evaluate.Evaluation`; each figure of the candidate may be at most ``tolerance``
worse than the live version's: intent accuracy, in-domain accuracy, fallback recall and
false-fallback rate (with out-of-domain test data), entity F1 (with entities in the test data),
and the F1 of every intent with at least ``min_support`` test utterances. Everything is kept in
the run folder, whatever the decision: the candidate model, both reports, their comparison
(``malmoi compare``'s text and JSON) and ``decision.json``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from malmoi.evaluate import Evaluation, evaluate
from malmoi.outputs import marked, seal
from malmoi.review._answers import ReviewError

__all__ = ["Check", "RetrainResult", "regressions", "retrain"]

DEFAULT_TOLERANCE = 0.01
# Below this many test utterances an intent's F1 moves by 1/n with one utterance: too noisy to gate on.
DEFAULT_MIN_SUPPORT = 20


@dataclass(frozen=True)
class Check:
    """One figure of the live version and of the candidate; ``higher_is_better`` says its direction."""

    metric: str
    live: float
    candidate: float
    higher_is_better: bool
    tolerance: float

    @property
    def change(self) -> float:
        return self.candidate - self.live

    @property
    def regressed(self) -> bool:
        worse = -self.change if self.higher_is_better else self.change
        return worse > self.tolerance + 1e-12

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "change": self.change, "regressed": self.regressed}

    def __str__(self) -> str:
        return (f"{self.metric} {self.live:.4f} -> {self.candidate:.4f} ({self.change:+.4f}; "
                f"{'higher' if self.higher_is_better else 'lower'} is better, tolerance {self.tolerance:g})")


def regressions(live: Evaluation, candidate: Evaluation, *, tolerance: float = DEFAULT_TOLERANCE,
                min_support: int = DEFAULT_MIN_SUPPORT) -> list[Check]:
    """Every gated figure of the two evaluations (same test data); ``[c for c in checks if c.regressed]``."""
    checks = [
        Check("intent accuracy", live.intent_accuracy, candidate.intent_accuracy, True, tolerance),
        Check("in-domain accuracy", live.in_domain_accuracy, candidate.in_domain_accuracy, True, tolerance),
    ]
    lf, cf = live.fallback, candidate.fallback
    if lf.ood_recall is not None and cf.ood_recall is not None:
        checks.append(Check("fallback recall", lf.ood_recall, cf.ood_recall, True, tolerance))
    checks.append(Check("false-fallback rate", lf.false_fallback_rate, cf.false_fallback_rate, False, tolerance))
    if any(r.gold_spans for r in live.records):
        checks.append(Check("entity F1", live.entity.f1, candidate.entity.f1, True, tolerance))
    for name, scores in sorted(live.per_intent.items()):
        if scores.support >= min_support and name in candidate.per_intent:
            checks.append(Check(f"F1 of intent {name}", scores.f1, candidate.per_intent[name].f1, True, tolerance))
    return checks


@dataclass
class RetrainResult:
    bot: str
    run_dir: Path
    live_version: str | None
    checks: list[Check] = field(default_factory=list)
    published: str | None = None
    comparison: str = ""

    @property
    def refused(self) -> list[Check]:
        return [c for c in self.checks if c.regressed]


def _reports(evaluation: Evaluation, model: Any, model_dir: Path, test_dir: Path) -> dict[str, Any]:
    from malmoi.report import report_data

    return report_data(evaluation, model, model_dir=model_dir, data_dir=test_dir)


def _write_report(data: dict[str, Any], path: Path) -> Path:
    """The HTML report when plotly is installed, else its data as JSON (``malmoi compare`` reads HTML)."""
    try:
        import plotly  # noqa: F401
    except ImportError:
        path = path.with_suffix(".json")
        path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
        return path
    from malmoi.report import write_report

    return write_report(path, data)


def retrain(
    bot_dir: str | Path,
    *,
    registry: Any,
    bot: str,
    test_dir: str | Path | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    min_support: int = DEFAULT_MIN_SUPPORT,
    run_dir: str | Path | None = None,
    progress: bool = False,
    say: Callable[[str], None] = lambda message: None,
) -> RetrainResult:
    """Train a candidate from ``bot_dir``, compare it with the live version of ``bot`` on the test
    data, and publish it (with a snapshot of ``bot_dir``) unless a figure regresses.

    Args:
        registry: a :class:`malmoi.bots.Registry`.
        test_dir: a bot directory of held-out test utterances (default ``BOT_DIR/test``).
        run_dir: where the candidate, the reports and the decision go (default
            ``REGISTRY/candidates/BOT/<UTC time>``).

    Raises:
        ReviewError: no test data, or test data the model cannot be measured on.
        DataError: the bot's data is invalid (training would fail).
    """
    import malmoi
    from malmoi.data import load_bot
    from malmoi.report import compare, format_comparison

    bot_dir = Path(bot_dir)
    test_dir = Path(test_dir) if test_dir is not None else bot_dir / "test"
    if not (test_dir / "bot.yaml").is_file():
        raise ReviewError(f"no test data at {test_dir}: retrain compares models on held-out utterances the bot "
                          f"never trains on; make {test_dir} a bot directory (bot.yaml with `name:` and "
                          "`min_examples_per_intent: 1`, data/intents/, data/ood/), or give --test DIR")
    _, test = load_bot(test_dir)
    live = registry.live_path(bot)
    # The live version is loaded before the candidate trains: a registry that cannot give it
    # fails now, not after minutes of training.
    live_model = _load_live(registry, bot, live) if live is not None else None
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    run = Path(run_dir) if run_dir is not None else registry.root / "candidates" / bot / stamp
    run.mkdir(parents=True, exist_ok=True)
    result = RetrainResult(bot=bot, run_dir=run, live_version=live[0] if live else None)

    say(f"training a candidate from {bot_dir} ...")
    started = time.monotonic()
    candidate = malmoi.train(bot_dir, progress=progress)
    candidate_dir = candidate.save(run / "candidate")
    say(f"trained in {time.monotonic() - started:.0f} s; evaluating on {test_dir} "
        f"({len(test.examples)} utterances, {len(test.ood)} out of domain)")
    new = evaluate(candidate, test.examples, test.ood)
    new_report = _reports(new, candidate, candidate_dir, test_dir)
    _write_report(new_report, run / "candidate.html")
    decision: dict[str, Any] = {"bot": bot, "bot_dir": str(bot_dir), "test_dir": str(test_dir),
                                "candidate": str(candidate_dir), "live_version": result.live_version,
                                "tolerance": tolerance, "min_support": min_support, "decided_at": stamp}
    if live is not None and live_model is not None:
        old = evaluate(live_model, test.examples, test.ood)
        old_report = _reports(old, live_model, live[1], test_dir)
        _write_report(old_report, run / "live.html")
        comparison = compare(old_report, new_report)
        result.comparison = format_comparison(comparison, examples=5)
        (run / "compare.txt").write_text(result.comparison + "\n", "utf-8")
        (run / "compare.json").write_text(json.dumps(comparison, ensure_ascii=False, indent=1), "utf-8")
        result.checks = regressions(old, new, tolerance=tolerance, min_support=min_support)
        decision["checks"] = [c.to_dict() for c in result.checks]
    if result.refused:
        decision["published"] = None
        decision["refused"] = [str(c) for c in result.refused]
    else:
        info = registry.publish(candidate_dir, bot=bot, data=bot_dir)
        result.published = info.version
        decision["published"] = info.version
    (run / "decision.json").write_text(json.dumps(marked(decision), ensure_ascii=False, indent=1), "utf-8")
    seal(run, "retrain run")
    return result


def _load_live(registry: Any, bot: str, live: tuple[str, Path]) -> Any:
    """The live version's model, or a ReviewError that says how to repair the registry (never where to train)."""
    from malmoi.errors import ModelLoadError
    from malmoi.model.model import Model

    version, folder = live
    repair = (f"nothing was trained. Make a version that loads live with `malmoi rollback --bot {bot} --to VERSION` "
              f"(`malmoi versions --bot {bot}` lists them), then run retrain again")
    if not (folder / "model.json").is_file():
        raise ReviewError(f"the live version {version} of {bot} is missing from the registry {registry.root} "
                          f"(no {folder.name}/model.json); {repair}")
    try:
        return Model.load(folder)
    except ModelLoadError as exc:
        raise ReviewError(f"the live version {version} of {bot} cannot be loaded ({exc}); {repair}") from None
