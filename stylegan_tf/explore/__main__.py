"""`python -m stylegan_tf.explore`: serve the explorer page (see `stylegan_tf.explore`)."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Sequence

from stylegan_tf import cli
from stylegan_tf.errors import UserError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m stylegan_tf.explore",
                                     description="Explore a generator in the browser (a local web page).")
    parser.add_argument("--network", default="", help=f"the network the page opens with: {cli.NETWORK_KINDS}")
    parser.add_argument("--directions", default="", help="editing directions the page opens with: a .npz of "
                        "python -m stylegan_tf.edit, or 'sefa' (computed for the network)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine "
                        "only; the page can open any network file the server can read)")
    parser.add_argument("--port", type=int, default=8000, help="port (default: 8000; 0 = any free port)")
    parser.set_defaults(func=run)
    return parser


def run(args) -> int:
    from stylegan_tf.explore.server import make_server

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if args.network:
        cli.existing_path(args.network)
    try:
        server = make_server(args.host, args.port, dict(network=args.network, directions=args.directions))
    except OSError as error:
        raise UserError(f"--host/--port: cannot listen on {args.host}:{args.port}: {error}") from error
    host, port = server.server_address[:2]
    print(f"Explorer at http://{host}:{port}/  (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli.main(build_parser(), argv, interrupted="stopped")


if __name__ == "__main__":
    sys.exit(main())
