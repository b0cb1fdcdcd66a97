"""Published networks: the official pickles and the official variable names of every family.

    from stylegan_tf.official import load_pickle
    nets = load_pickle("x.pkl")                # nets.G, nets.D, nets.Gs, nets.family, nets.config

    from stylegan_tf.official import load_official_generator, load_official_discriminator
    load_official_generator(G, variables)      # variables: official name -> numpy array

`load_pickle` reads TensorFlow (v1, StyleGAN2) and PyTorch (stylegan2-ada-pytorch)
pickles without either framework and without running anything they contain
(`stylegan_tf.official.pickle_reader`); see `stylegan_tf.official.networks`.

Each family's weight map lives beside its networks (`stylegan_tf.networks.<family>.
official_weights`); these entry points dispatch on the network's `family`.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from stylegan_tf import families
from stylegan_tf.official.networks import OfficialNetworks, load_pickle  # noqa: F401


def load_official_generator(G, variables: Mapping[str, np.ndarray], **kwargs) -> None:
    """Sets every weight of G from official variables; a `UserError` lists what does not fit."""
    families.get(G.family).official_module().load_official_generator(G, variables, **kwargs)


def load_official_discriminator(D, variables: Mapping[str, np.ndarray], **kwargs) -> None:
    """Sets every weight of D from official variables; a `UserError` lists what does not fit."""
    families.get(D.family).official_module().load_official_discriminator(D, variables, **kwargs)
