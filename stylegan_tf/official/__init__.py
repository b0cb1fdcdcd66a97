"""Published networks: the official variable names of every family, and (later) the pickles.

    from stylegan_tf.official import load_official_generator, load_official_discriminator
    load_official_generator(G, variables)      # variables: official name -> numpy array

Each family's weight map lives beside its networks (`stylegan_tf.networks.<family>.
official_weights`); these entry points dispatch on the network's `family`.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from stylegan_tf import families


def load_official_generator(G, variables: Mapping[str, np.ndarray], **kwargs) -> None:
    """Sets every weight of G from official variables; a `UserError` lists what does not fit."""
    families.get(G.family).official_module().load_official_generator(G, variables, **kwargs)


def load_official_discriminator(D, variables: Mapping[str, np.ndarray], **kwargs) -> None:
    """Sets every weight of D from official variables; a `UserError` lists what does not fit."""
    families.get(D.family).official_module().load_official_discriminator(D, variables, **kwargs)
