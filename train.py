#!/usr/bin/env python
"""Train a StyleGAN from a checkout: `python train.py --help` (the command is `stylegan_tf.train`)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stylegan_tf.train import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
