"""``malmoi shell MODEL_DIR``: type utterances and see how the model parses them."""

from __future__ import annotations

import argparse

from malmoi.cli._common import EXIT_OK, Commands


def add_parser(commands: Commands) -> None:
    p = commands.add_parser("shell", help="type utterances and see how the model parses them")
    p.add_argument("model_dir")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import malmoi

    model = malmoi.load(args.model_dir)
    print(f"malmoi shell — model '{model.config.name}'. Type an utterance; Ctrl-D or 'exit' to quit.")
    while True:
        try:
            text = input("> ")
        except EOFError:
            print()
            return EXIT_OK
        if text.strip() in {"exit", "quit", ":q"}:
            return EXIT_OK
        if not text.strip():
            continue
        result = model.parse(text)
        ranking = ", ".join(f"{s.name} {s.confidence:.2f}" for s in result.intent_ranking[:3])
        print(f"  intent: {result.intent.name}{'  (fallback)' if result.fallback else ''}   [{ranking}]")
        for e in result.entities:
            print(f"  {e.entity}: {e.value!r} [{e.start}:{e.end}]")
