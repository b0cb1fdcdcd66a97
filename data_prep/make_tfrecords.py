#!/usr/bin/env python3
"""Builds a StyleGAN training dataset from a checkout: `python data_prep/make_tfrecords.py --help`.

A thin wrapper: the tool is `stylegan_tf.data.tool` (installed as `stylegan-dataset`); see docs/datasets.md.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from stylegan_tf.data.tool import main as _main  # noqa: E402

COMMAND = ("python", "data_prep/make_tfrecords.py")


def main(argv=None) -> int:
    return _main(argv, COMMAND)


if __name__ == "__main__":
    sys.exit(main())
