"""``malmoi review list | answer | log``: the messages a bot fell back on or was unsure of, grouped, and
their answers written into the bot's data (docs/review.md). ``malmoi retrain`` learns from them."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from malmoi.cli._common import EXIT_OK, Commands, IntermixedParser, UserError, database_url_option, open_registry


def add_parser(commands: Commands) -> None:
    p = commands.add_parser("review", help="messages the bot fell back on or was unsure of: list them grouped, "
                            "answer them into the bot's data")
    actions = p.add_subparsers(dest="action", required=True, parser_class=IntermixedParser)

    def common(r: argparse.ArgumentParser) -> None:
        r.add_argument("bot_dir", help="the bot directory the bot is trained from: answers go into its data/")
        database_url_option(r, "the server's message log (its --database-url; default "
                            "sqlite:///malmoi-state.sqlite3)")
        r.add_argument("--model", help="the model that parses the messages again (for its guesses); or --registry")
        r.add_argument("--registry", help="use the live version of --bot in this registry as the model")
        r.add_argument("--bot", help="the bot's name in the message log (default: the model's bot name)")

    r = actions.add_parser("list", help="list the messages to review, grouped by similarity, with the model's guesses")
    common(r)
    r.add_argument("--below", type=float, default=0.5,
                   help="also list messages answered with a confidence under this (default 0.5); fallbacks always")
    r.add_argument("--similarity", type=float, default=0.6,
                   help="cosine of sentence vectors from which messages share a group (default 0.6)")
    r.add_argument("--limit", type=int, default=2000, help="newest logged messages read (default 2000)")
    r.add_argument("--json", action="store_true", help="print the groups as JSON")
    r.set_defaults(func=review_list)

    r = actions.add_parser("answer", help="answer messages: an intent (with entities) or out of domain")
    common(r)
    r.add_argument("--message", action="append", required=True, metavar="ID",
                   help="message id(s) from `malmoi review list`, repeatable or comma-separated (one text)")
    what = r.add_mutually_exclusive_group(required=True)
    what.add_argument("--intent", help="the intent the message(s) should have")
    what.add_argument("--ood", action="store_true", help="out of domain: the bot should fall back")
    r.add_argument("--entities", metavar="MARKUP", help="the text with entities marked: '내일 [부산](LOCATION) 날씨'")
    r.add_argument("--reviewer", default=os.environ.get("USER") or "cli", help="who answers (default $USER)")
    r.set_defaults(func=review_answer)

    r = actions.add_parser("log", help="every answer written so far, with its provenance")
    r.add_argument("bot_dir")
    r.set_defaults(func=review_log)


def _setup(args: argparse.Namespace) -> tuple[Any, Any, str, Any]:
    """The model, the message log, the bot's name in it and the bot directory's answers."""
    from malmoi.review import ReviewLedger

    ledger = ReviewLedger(args.bot_dir)
    if (args.model is None) == (args.registry is None):
        raise UserError("give the model that parses the messages: --model MODEL_DIR, or --registry DIR --bot NAME")
    if args.registry is not None:
        if not args.bot:
            raise UserError("--registry needs --bot NAME")
        live = open_registry(args).live_path(args.bot)
        if live is None:
            raise UserError(f"{args.bot} is not published in {args.registry}")
        model_dir = live[1]
    else:
        model_dir = args.model
    import malmoi

    model = malmoi.load(model_dir)
    bot = args.bot or model.config.name
    try:  # a --database-url that does not work is named by the error mapper (malmoi.cli._common.run)
        from malmoi.dialogue.store import StateStore

        store = StateStore(args.database_url)
    except ImportError as exc:
        raise UserError(str(exc)) from exc
    return model, store, bot, ledger


def review_list(args: argparse.Namespace) -> int:
    from malmoi.review import review_groups

    if not 0 < args.similarity <= 1:
        raise UserError("--similarity is a cosine between 0 and 1")
    if args.limit < 1:
        raise UserError("--limit must be at least 1")
    model, store, bot, ledger = _setup(args)
    try:
        groups = review_groups(store, model, bot=bot, ledger=ledger, below=args.below, similarity=args.similarity,
                               limit=args.limit)
    finally:
        store.close()
    if args.json:
        print(json.dumps([g.to_dict() for g in groups], ensure_ascii=False, indent=1))
        return EXIT_OK
    if not groups:
        print(f"Nothing to review for {bot}: no unreviewed message fell back or was under {args.below}.")
        return EXIT_OK
    for group in groups:
        guesses = ", ".join(f"{g.intent} {g.confidence:.2f}" for g in group.guesses)
        print(f"group {group.id}: {group.messages} message(s); guesses {guesses}")
        for item in group.items:
            p = item.pending
            ids = ",".join(map(str, p.message_ids[:8])) + (",..." if len(p.message_ids) > 8 else "")
            answered = "fallback" if p.fallback else f"{p.logged_intent} {p.logged_confidence:.2f}"
            top = ", ".join(f"{g.intent} {g.confidence:.2f}" for g in item.guesses)
            print(f"  [{ids}] {item.markup}   (answered {answered}; now {top})")
    total = sum(g.messages for g in groups)
    print(f"\n{total} message(s) in {sum(len(g.items) for g in groups)} text(s), {len(groups)} group(s). Answer with "
          f"`malmoi review answer {args.bot_dir} --message ID --intent NAME` (or --ood).", file=sys.stderr)
    return EXIT_OK


def review_answer(args: argparse.Namespace) -> int:
    from malmoi.review import answers_from_requests

    try:
        ids = [int(i) for part in args.message for i in part.split(",") if i.strip()]
    except ValueError:
        raise UserError("--message takes message ids (numbers) from `malmoi review list`") from None
    if args.ood and args.entities:
        raise UserError("--entities goes with --intent; an out-of-domain message has no entities")
    model, store, bot, ledger = _setup(args)
    try:
        request = {"message_ids": ids, "intent": args.intent, "out_of_domain": args.ood, "markup": args.entities}
        answers = answers_from_requests(store, model, bot, [request], reviewer=f"cli:{args.reviewer}")
    finally:
        store.close()
    written = ledger.record(answers)
    for answer in answers:
        what = "out of domain" if answer.out_of_domain else f"intent {answer.intent}: {answer.markup}"
        print(f"{answer.text!r} -> {what}")
    shown = ", ".join(str(p) for p in written) or "no data file changed"
    print(f"written: {shown}; recorded in {ledger.path}", file=sys.stderr)
    return EXIT_OK


def review_log(args: argparse.Namespace) -> int:
    from malmoi.review import ReviewLedger

    ledger = ReviewLedger(args.bot_dir)
    answers = ledger.answers()
    for a in answers:
        what = "out of domain" if a.out_of_domain else f"{a.intent}: {a.markup}"
        print(f"{a.reviewed_at}  {a.reviewer}  messages {','.join(map(str, a.message_ids))}  "
              f"model {a.model_version}  {what}")
    print(f"{len(answers)} answer(s) in {ledger.path}", file=sys.stderr)
    return EXIT_OK
