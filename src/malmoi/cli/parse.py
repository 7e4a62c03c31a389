"""``malmoi parse MODEL_DIR [TEXT | --input FILE]``: parse an utterance, or a file of them into JSON lines."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from malmoi.cli._common import EXIT_OK, Commands, UserError, now_option
from malmoi.outputs import check_file


def add_parser(commands: Commands) -> None:
    p = commands.add_parser("parse", help="parse text or a file of utterances")
    p.add_argument("model_dir")
    p.add_argument("text", nargs="?", help="an utterance; or use --input")
    p.add_argument("--input", help="file with one utterance per line, or JSON lines with a 'text' field")
    p.add_argument("--output", help="write JSON lines here (default: standard output)")
    p.add_argument("--batch-size", type=int, default=256)
    now_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import malmoi

    if (args.text is None) == (args.input is None):
        raise UserError("give either an utterance or --input FILE (not both)")
    if args.batch_size < 1:
        raise UserError("--batch-size must be at least 1")
    if args.output:
        if args.input and Path(args.input).exists() and Path(args.output).resolve() == Path(args.input).resolve():
            raise UserError(f"--output {args.output} is the --input file; writing would erase it before it is read")
        check_file(args.output, "--output", "parse results")
    model = malmoi.load(args.model_dir)
    if args.text is not None:
        print(json.dumps(model.parse(args.text, now=args.now).to_dict(), ensure_ascii=False, indent=2))
        return EXIT_OK
    out: TextIO = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115 - closed below
    count = 0
    try:
        batch: list[str] = []
        for text in read_utterances(args.input):
            batch.append(text)
            if len(batch) == args.batch_size:
                count += _write_batch(model, batch, out, args.now)
                batch = []
        if batch:
            count += _write_batch(model, batch, out, args.now)
    finally:
        if out is not sys.stdout:
            out.close()
    print(f"parsed {count} utterance(s)" + (f" into {args.output}" if args.output else ""), file=sys.stderr)
    return EXIT_OK


def read_utterances(path: str) -> Iterator[str]:
    """Plain lines, or JSON lines with a ``text`` field (decided by the first non-blank line)."""
    from malmoi.data._reading import MAX_LINE_CHARS

    try:
        handle = open(path, encoding="utf-8-sig")  # noqa: SIM115 - `with` below; here, to tell open errors apart
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from exc
    with handle:
        json_lines: bool | None = None
        try:
            # Bounded reads: a huge line is refused, not read whole into memory.
            for number, line in enumerate(iter(lambda: handle.readline(MAX_LINE_CHARS + 2), ""), 1):
                line = line.rstrip("\r\n")
                if len(line) > MAX_LINE_CHARS:
                    raise UserError(f"{path}:{number}: a line of more than {MAX_LINE_CHARS:,} characters; "
                                    "expected one utterance per line")
                if not line.strip():
                    continue
                if json_lines is None:
                    json_lines = line.lstrip().startswith("{")
                if not json_lines:
                    yield line
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise UserError(f"{path}:{number}: not valid JSON ({exc.msg}); "
                                    'expected one object per line like {"text": "..."}') from exc
                if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                    raise UserError(f"{path}:{number}: found {line[:60]!r}; "
                                    "expected an object with a string 'text' field")
                yield record["text"]
        except UnicodeDecodeError as exc:
            raise UserError(f"{path}: not UTF-8 text ({exc.reason}); re-save it as UTF-8") from exc


def _write_batch(model: Any, texts: list[str], out: TextIO, now: Any) -> int:
    for result in model.parse_batch(texts, now=now):
        out.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
    return len(texts)
