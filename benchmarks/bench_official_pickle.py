#!/usr/bin/env python3
"""Official 1024 pickles: time and peak memory to read, load and convert (prints figures; never a test).

Writes a StyleGAN v1 pickle with the official FFHQ 1024 variables (the layout of
karras2019stylegan-ffhq-1024x1024.pkl; random values, written by tests/official_pickles.py),
then times, in this process:

    read     `pickle_reader.read_pickle` (restricted unpickling of the ~300 MB file)
    load     `official.load_pickle` (read + build G, D, Gs at 1024 + import the weights)
    convert  `python -m stylegan_tf.convert` in a fresh process (Gs/G/D .keras + SavedModel of Gs)

and the peak resident memory of each process (`ru_maxrss`).

    python benchmarks/bench_official_pickle.py [--workdir DIR] [--no-savedmodel]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workdir", help="where to write the pickle and the conversion (default: a temp dir)")
    p.add_argument("--no-savedmodel", action="store_true", help="convert without the SavedModel")
    args = p.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench-pkl-"))
    work.mkdir(parents=True, exist_ok=True)

    from stylegan_tf import presets
    from tests import official_pickles

    cfg = presets.get("ffhq").network
    pkl = work / "v1-ffhq-1024.pkl"
    start = time.time()
    official_pickles.write_v1_pickle(pkl, cfg, seed=0, protocol=4)
    print(f"wrote {pkl} ({pkl.stat().st_size / 2**20:.0f} MiB) in {time.time() - start:.1f} s")

    from stylegan_tf.official import load_pickle
    from stylegan_tf.official.pickle_reader import read_pickle

    base = peak_mib()
    start = time.time()
    data = read_pickle(pkl)
    print(f"read_pickle:  {time.time() - start:6.1f} s")
    del data
    start = time.time()
    nets = load_pickle(pkl)
    print(f"load_pickle:  {time.time() - start:6.1f} s  ({nets.describe().splitlines()[1]})")
    print(f"peak RSS of this process: {peak_mib():.0f} MiB (before reading: {base:.0f} MiB)")
    del nets

    dest = work / "converted"
    cmd = [sys.executable, "-c",
           "import resource, sys; from stylegan_tf import convert; rc = convert.main(sys.argv[1:]); "
           "print(f'peak RSS of the convert process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}"
           " MiB'); sys.exit(rc)", str(pkl), str(dest), "--overwrite"]
    if args.no_savedmodel:
        cmd.append("--no-savedmodel")
    start = time.time()
    result = subprocess.run(cmd, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True)
    print(result.stdout.strip())
    if result.returncode:
        print(result.stderr[-3000:], file=sys.stderr)
        return result.returncode
    sizes = {p.name: sum(f.stat().st_size for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file())
             for p in dest.iterdir()}
    print(f"convert (fresh process, wall): {time.time() - start:.1f} s; sizes "
          + ", ".join(f"{k} {v / 2**20:.0f} MiB" for k, v in sorted(sizes.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
