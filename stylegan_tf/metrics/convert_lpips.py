"""One-off conversion of LPIPS' PyTorch weights to the `.npz` that `stylegan_tf.metrics.lpips` reads.

    pip install torch            # for this step only (plus numpy, scipy, tqdm in a separate environment);
                                 # stylegan_tf never imports torch otherwise
    python -m stylegan_tf.metrics.convert_lpips --lpips vgg.pth --vgg16 vgg16-397923af.pth --out lpips_vgg16.npz

Inputs:
- `vgg.pth`: LPIPS v0.1 linear weights (keys `lin{l}.model.{k}.weight`, [1, C, 1, 1]), from
  https://github.com/richzhang/PerceptualSimilarity/raw/master/lpips/weights/v0.1/vgg.pth
  (also inside the `lpips` pip package, `lpips/weights/v0.1/vgg.pth`).
- `vgg16-397923af.pth`: torchvision's ImageNet VGG16 (keys `features.{i}.weight` [out, in, 3, 3]
  and `.bias`), from https://download.pytorch.org/models/vgg16-397923af.pth (torch hub caches it in
  `~/.cache/torch/hub/checkpoints/`).
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Mapping, Sequence

import numpy as np

from stylegan_tf.errors import UserError
from stylegan_tf.metrics.lpips import VGG16_BLOCKS, conv_names

# Indices of the 13 convolutions in torchvision's `vgg16().features` (ReLUs and pools in between).
TORCHVISION_CONV_INDICES = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)
_LIN_KEY = re.compile(r"^(?:.*\.)?lin(\d)\.model\.\d+\.weight$")


def convert_state_dicts(lpips_state: Mapping[str, np.ndarray], vgg_state: Mapping[str, np.ndarray]
                        ) -> dict[str, np.ndarray]:
    """LPIPS + torchvision state dicts (numpy arrays) to the NPZ layout of `stylegan_tf.metrics.lpips`."""
    out: dict[str, np.ndarray] = {}
    for name, index in zip(conv_names(VGG16_BLOCKS), TORCHVISION_CONV_INDICES):
        key = f"features.{index}"
        if key + ".weight" not in vgg_state:
            raise UserError(f"--vgg16: no {key}.weight; expected torchvision's vgg16-397923af.pth state dict")
        kernel = np.asarray(vgg_state[key + ".weight"], np.float32)   # [out, in, kh, kw]
        out[f"vgg16/{name}/kernel"] = np.transpose(kernel, (2, 3, 1, 0))  # HWIO
        out[f"vgg16/{name}/bias"] = np.asarray(vgg_state[key + ".bias"], np.float32)
    for key, value in lpips_state.items():
        match = _LIN_KEY.match(key)
        if match:
            out[f"lin{match.group(1)}"] = np.asarray(value, np.float32).reshape(-1)
    missing = [f"lin{l}" for l in range(len(VGG16_BLOCKS)) if f"lin{l}" not in out]
    if missing:
        raise UserError(f"--lpips: no linear weights for {missing}; expected LPIPS v0.1 vgg.pth "
                        f"(keys lin0.model.1.weight ...)")
    return out


def _torch_state(path: str, option: str) -> dict[str, np.ndarray]:
    try:
        import torch
    except ImportError:
        raise UserError("This one-off conversion reads PyTorch files: `pip install torch` first.") from None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001  (torch raises many types)
        raise UserError(f"{option}: cannot read {path!r} as a PyTorch state dict ({error})") from error
    return {k: v.detach().cpu().numpy() for k, v in state.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stylegan_tf.metrics.convert_lpips", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lpips", required=True, help="LPIPS v0.1 linear weights, vgg.pth")
    parser.add_argument("--vgg16", required=True, help="torchvision VGG16 weights, vgg16-397923af.pth")
    parser.add_argument("--out", required=True, help="output .npz, e.g. lpips_vgg16.npz")
    args = parser.parse_args(argv)
    try:
        weights = convert_state_dicts(_torch_state(args.lpips, "--lpips"), _torch_state(args.vgg16, "--vgg16"))
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    np.savez(args.out, **weights)
    print(f"wrote {args.out} ({len(weights)} arrays)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
