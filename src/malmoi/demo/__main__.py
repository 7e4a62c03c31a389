"""``python -m malmoi.demo``: train the bundled demo bot if needed, then serve it with its web chat page.

The model is retrained only when the training data or training settings changed; edits to the
scenarios and answers in ``bot.yaml`` are copied into the saved model in a second. ``--no-serve``
prints sample answers and exits.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from malmoi.demo.generate import SAMPLE_QUESTIONS

# Configuration that only changes what the bot says, not what the network learns.
_DIALOGUE_KEYS = {"scenarios", "dialogue"}


def _bot_config(bot_dir: Path) -> Any:
    import yaml

    from malmoi.settings import BotConfig

    try:
        return BotConfig.model_validate(yaml.safe_load((bot_dir / "bot.yaml").read_text("utf-8")) or {})
    except Exception:  # training reports it with file and line
        return None


def _freshness(model_dir: Path, bot_dir: Path) -> tuple[str, Any]:
    """("train" | "update" | "ok", the loaded model or None)."""
    import malmoi

    saved = model_dir / "model.json"  # written by every save
    if not saved.exists():
        return "train", None
    newest_data = max((p.stat().st_mtime for p in (bot_dir / "data").rglob("*") if p.is_file()), default=0.0)
    if newest_data > saved.stat().st_mtime:
        return "train", None
    try:
        model = malmoi.load(model_dir)
    except malmoi.ModelLoadError:  # saved by another malmoi version
        return "train", None
    config = _bot_config(bot_dir)
    if config is None:
        return "train", None
    if config.model_dump(exclude=_DIALOGUE_KEYS) != model.config.model_dump(exclude=_DIALOGUE_KEYS):
        return "train", None
    if config.model_dump(include=_DIALOGUE_KEYS) != model.config.model_dump(include=_DIALOGUE_KEYS):
        model.config = config
        return "update", model
    return "ok", model


def _show_samples(model: Any) -> None:
    for question in SAMPLE_QUESTIONS:
        result = model.parse(question)
        entities = ", ".join(f"{e.entity}={e.value}" for e in result.entities) or "-"
        print(f"{question}\n   → {result.intent.name} ({result.intent.confidence:.2f})  entities: {entities}")
    try:
        from malmoi.dialogue import Dialogue
    except ImportError:
        return
    bot = Dialogue(model)
    print("\nA conversation:")
    for text in ("날씨 알려줘", "삼척"):
        print(f"  사용자: {text}\n  봇:     {bot.chat('demo', text).answer}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m malmoi.demo", description=__doc__)
    parser.add_argument("--bot", type=Path, default=Path("examples/demo-bot"))
    parser.add_argument("--model", type=Path, default=Path("models/demo"))
    parser.add_argument("--retrain", action="store_true")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--database-url", help="conversation state (default: sqlite file next to the model)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--no-serve", action="store_true", help="print sample answers and exit")
    args = parser.parse_args(argv)

    import malmoi

    if not (args.bot / "bot.yaml").exists():
        print(f"error: no demo bot at {args.bot}; run from the repository root.", file=sys.stderr)
        return 2
    state, model = ("train", None) if args.retrain else _freshness(args.model, args.bot)
    if state == "train":
        print(f"Training the demo bot from {args.bot} ...", file=sys.stderr)
        try:
            model = malmoi.train(args.bot)
        except malmoi.DataError as exc:
            print(exc, file=sys.stderr)
            return 1
        model.save(args.model)
        print(f"Saved the model to {args.model} ({model.report['train_seconds']} s).", file=sys.stderr)
    elif state == "update":
        assert model is not None
        model.save(args.model)
        print(f"Copied the scenarios and answers of {args.bot}/bot.yaml into {args.model}.", file=sys.stderr)
    print()
    _show_samples(model)
    if args.no_serve:
        print(f"\nTry your own: malmoi shell {args.model}   or serve it: malmoi serve {args.model}")
        return 0

    from pydantic import ValidationError

    from malmoi.errors import ModelLoadError
    from malmoi.serve.settings import ServeSettings, settings_problem

    database_url = args.database_url or f"sqlite:///{args.model.parent / (args.model.name + '-state.sqlite3')}"
    try:
        from malmoi.serve._server import StartError, run

        settings = ServeSettings(model_dir=args.model, host=args.host, port=args.port, database_url=database_url,
                                 workers=args.workers)
    except ImportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        print(f"error: {settings_problem(exc)}", file=sys.stderr)
        return 2
    url = f"http://{settings.shown_host}:{settings.port}/"
    print(f"\nThe demo bot is running. Open {url} in your browser to chat with it "
          f"(API docs: {url}docs). Ctrl-C stops it.\n", flush=True)
    del model  # each server worker loads its own
    try:
        run(settings)
    except (StartError, ModelLoadError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
