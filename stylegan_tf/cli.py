"""What every command line shares: the `main` wrapper, list parsing, the `--network` argument.

A command module (`generate`, `project`, `convert`, `metrics/__main__`, `data/tool`) builds an
`argparse` parser whose (sub)commands carry their handler (`set_defaults(func=handler)`), and its
`main(argv)` is `cli.main(build_parser(), argv)`: the handler runs, a `UserError` is printed as one
line (`error: ...`) with exit status 2 instead of a trace, as the official tools' `click` errors.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Callable, Sequence

from stylegan_tf.errors import UserError

NETWORK_KINDS = ("a .keras generator, a SavedModel directory, a training run directory / checkpoint, "
                 "or an official network pickle")


def main(parser: argparse.ArgumentParser | Callable[[], argparse.ArgumentParser],
         argv: Sequence[str] | None = None, prefix: str = "error", interrupted: str | None = None) -> int:
    """Parses `argv` and runs `args.func(args)`; returns its exit status (an int; anything else,
    e.g. the list of files written, is 0).

    A `UserError` (also one raised while building the parser, if `parser` is a factory) prints
    `prefix: message` on stderr and returns 2; with `interrupted`, Ctrl-C prints `prefix: interrupted`
    and returns 130."""
    try:
        args = (parser if isinstance(parser, argparse.ArgumentParser) else parser()).parse_args(argv)
        status = args.func(args)
        return status if isinstance(status, int) else 0
    except UserError as error:
        print(f"{prefix}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if interrupted is None:
            raise
        print(f"{prefix}: {interrupted}", file=sys.stderr)
        return 130


def print_written(paths: Sequence, folder, limit: int = 10) -> None:
    """Prints the first `limit` files a command wrote, then how many more there are in `folder`."""
    for path in list(paths)[:limit]:
        print(path)
    if len(paths) > limit:
        print(f"... and {len(paths) - limit} more files in {folder}")


def existing_path(path, option: str = "--network", expected: str = NETWORK_KINDS) -> str:
    """`path` when it exists, else a `UserError` naming `option` and what it expects."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise UserError(f"{option}: no such file or directory. Expected {expected}. Received: {option}={path!r}")
    return path


def parse_int_list(text: str, option: str) -> list[int]:
    """'0-99,200' -> [0, ..., 99, 200]; ranges are inclusive (official `num_range`)."""
    values: list[int] = []
    try:
        for part in str(text).split(","):
            part = part.strip()
            if not part:
                continue
            head, sep, tail = part.partition("-") if not part.startswith("-") else (part, "", "")
            if sep:
                start, stop = int(head), int(tail)
                if stop < start:
                    raise ValueError
                values.extend(range(start, stop + 1))
            else:
                values.append(int(part))
    except ValueError:
        raise UserError(f"{option} must be a comma-separated list of integers and inclusive ranges like "
                        f"0-99,200. Received: {option}={text!r}") from None
    if not values:
        raise UserError(f"{option} names no value. Received: {option}={text!r}")
    return values


def parse_seeds(text: str, option: str = "--seeds") -> list[int]:
    """Seeds as ranges and lists: '0-99,200'. Seeds must be in [0, 2**32) (numpy RandomState)."""
    seeds = parse_int_list(text, option)
    if any(not 0 <= s < 2**32 for s in seeds):
        raise UserError(f"{option}: seeds must be in [0, 2**32). Received: {option}={text!r}")
    return seeds


def parse_floats(text: str, option: str) -> list[float]:
    """'1,0.7,-0.5' -> [1.0, 0.7, -0.5]."""
    try:
        values = [float(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise UserError(f"{option} must be a comma-separated list of numbers. Received: {option}={text!r}") from None
    if not values:
        raise UserError(f"{option} names no value. Received: {option}={text!r}")
    return values


def parse_layers(text: str, num_layers: int, option: str = "--layers") -> list[int]:
    """Layer indices as ranges and lists ('0-3', '4,5'), each in [0, num_layers)."""
    layers = parse_int_list(text, option)
    bad = [i for i in layers if not 0 <= i < num_layers]
    if bad:
        raise UserError(f"{option}: layer indices must be in [0, {num_layers}) for this network. "
                        f"Received: {option}={text!r}")
    return sorted(set(layers))
