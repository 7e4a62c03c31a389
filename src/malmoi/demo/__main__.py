"""``python -m malmoi.demo``: train the bundled demo bot if needed, then answer sample questions."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from malmoi.demo.generate import SAMPLE_QUESTIONS


def _is_stale(model_dir: Path, bot_dir: Path) -> bool:
    weights = model_dir / "weights.safetensors"
    if not weights.exists():
        return True
    newest_data = max(p.stat().st_mtime for p in bot_dir.rglob("*") if p.is_file())
    return newest_data > weights.stat().st_mtime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m malmoi.demo", description=__doc__)
    parser.add_argument("--bot", type=Path, default=Path("examples/demo-bot"))
    parser.add_argument("--model", type=Path, default=Path("models/demo"))
    parser.add_argument("--retrain", action="store_true")
    args = parser.parse_args(argv)

    import malmoi

    if not (args.bot / "bot.yaml").exists():
        print(f"error: no demo bot at {args.bot}; run from the repository root.", file=sys.stderr)
        return 2
    if args.retrain or _is_stale(args.model, args.bot):
        print(f"Training the demo bot from {args.bot} ...", file=sys.stderr)
        try:
            model = malmoi.train(args.bot)
        except malmoi.DataError as exc:
            print(exc, file=sys.stderr)
            return 1
        model.save(args.model)
        print(f"Saved the model to {args.model} ({model.report['train_seconds']} s).", file=sys.stderr)
    else:
        model = malmoi.load(args.model)
    print()
    for question in SAMPLE_QUESTIONS:
        result = model.parse(question)
        entities = ", ".join(f"{e.entity}={e.value}" for e in result.entities) or "-"
        print(f"{question}\n   → {result.intent.name} ({result.intent.confidence:.2f})  entities: {entities}")
    print(f"\nTry your own: malmoi shell {args.model}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
