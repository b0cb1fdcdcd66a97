"""The configuration of an official StyleGAN3 pickle (NVlabs/stylegan3), from its init kwargs.

A StyleGAN3 pickle is a dict G / D / G_ema of persistent modules like ADA's; its
`Generator` has a Fourier-feature `synthesis.input` (`SynthesisInput`). The config is
`stylegan3.official_weights.config_from_init_kwargs(G_ema, D)`; the discriminator is
the StyleGAN2 residual one (official `train.py`), so D's `architecture` must be 'resnet'.
Conditional pickles: G's `mapping.embed`, and D's official label mapping (empty
`mapping_kwargs`: 8 layers at lr 0.01, cmap_dim channels(4); our StyleGAN2 D's "ada"
conditioning); another D label mapping, or a D `c_dim` other than G's, is a `UserError`.
"""

from __future__ import annotations

from stylegan_tf.errors import UserError

_REQUIRED = ("z_dim", "w_dim", "img_resolution", "img_channels")
RECOGNISES = "StyleGAN3: PyTorch Generator with a Fourier-feature synthesis input (NVlabs/stylegan3)"


def is_stylegan3(G_ema) -> bool:
    """Whether the PyTorch generator module has the StyleGAN3 Fourier-feature synthesis input."""
    synthesis = G_ema.children().get("synthesis")
    return synthesis is not None and "input" in synthesis.children()


def config_from_pytorch(G_ema, D):
    """`StyleGAN3Config` of the official `Generator` (G_ema) and `Discriminator` modules."""
    what = "StyleGAN3 pickle (stylegan3 family)"
    g, d = G_ema.init_kwargs, D.init_kwargs
    missing = [k for k in _REQUIRED if k not in g]
    if missing:
        raise UserError(f"{what}: the Generator's init kwargs lack {missing} (the official code always "
                        f"passes them)")
    if D.class_name != "Discriminator" or d.get("architecture", "resnet") != "resnet":
        raise UserError(f"{what}: the discriminator is {D.class_name!r} with architecture "
                        f"{d.get('architecture')!r}; only the official residual Discriminator is supported")
    from stylegan_tf.networks.stylegan3.official_weights import config_from_init_kwargs
    try:
        return config_from_init_kwargs(g, d)
    except UserError as e:
        raise UserError(f"{what}: {e}") from None
    except (TypeError, ValueError) as e:
        raise UserError(f"{what}: the init kwargs give no valid StyleGAN3 configuration: {e}") from None


def from_pytorch(G_ema, D):
    """The config of a StyleGAN3 pickle, or None when G_ema has no Fourier-feature synthesis input."""
    return config_from_pytorch(G_ema, D) if is_stylegan3(G_ema) else None
