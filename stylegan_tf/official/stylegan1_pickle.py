"""The configuration of an official StyleGAN (v1) pickle, from its networks' static kwargs.

The official training loop builds `G_style` / `D_basic` with only what differs from
the build functions' defaults in `static_kwargs` (published networks: num_channels,
resolution, label_size), and `G_style` passes its kwargs on to `G_mapping` and
`G_synthesis`. So the config is the official defaults (which `NetworkConfig`'s
defaults are), overridden by the union of G's, its components' and D's kwargs;
D's defaults (`num_channels=1, resolution=32`) never apply, as the official loop
always passes both. Values our networks do not implement (another nonlinearity, no
equalized learning rate, another blur filter) are a `UserError` naming them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from stylegan_tf.config import NetworkConfig
from stylegan_tf.errors import UserError

GENERATOR_FUNC, DISCRIMINATOR_FUNC = "G_style", "D_basic"
RECOGNISES = "StyleGAN v1: TensorFlow G_style / D_basic (ProGAN's G_paper is not supported)"

# Official kwarg -> NetworkConfig field.
_FIELDS = {
    "num_channels": "num_channels", "resolution": "resolution", "label_size": "label_size",
    "fmap_base": "fmap_base", "fmap_decay": "fmap_decay", "fmap_max": "fmap_max",
    "latent_size": "latent_size", "dlatent_size": "dlatent_size", "mapping_layers": "mapping_layers",
    "mapping_fmaps": "mapping_fmaps", "mapping_lrmul": "mapping_lrmul", "normalize_latents": "normalize_latents",
    "const_input_layer": "const_input", "use_styles": "use_styles", "use_noise": "use_noise",
    "use_pixel_norm": "use_pixel_norm", "use_instance_norm": "use_instance_norm",
    "mbstd_group_size": "mbstd_group_size", "mbstd_num_features": "mbstd_num_features",
    "truncation_psi": "truncation_psi", "truncation_cutoff": "truncation_cutoff",
    "dlatent_avg_beta": "w_avg_beta", "style_mixing_prob": "style_mixing_prob",
}
# Kwargs that change nothing in the weights or the function at inference.
_IGNORED = {"randomize_noise", "dtype", "structure", "is_template_graph", "force_clean_graph", "dlatent_broadcast",
            "truncation_psi_val", "truncation_cutoff_val", "is_training", "is_validation"}
# Kwargs whose only supported value is the official default.
_REQUIRED = {"nonlinearity": "lrelu", "mapping_nonlinearity": "lrelu", "use_wscale": True}
_FUSED_SCALE = {"auto": "auto", True: "always", False: "never"}


def _merge(kwargs_list: list[tuple[str, dict]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    source: dict[str, str] = {}
    for where, kwargs in kwargs_list:
        for key, value in kwargs.items():
            if key in merged and merged[key] != value:
                raise UserError(f"static kwarg {key!r} is {merged[key]!r} in {source[key]} but {value!r} in {where}")
            merged[key], source[key] = value, where
    return merged


def network_config(G_net, D_net) -> tuple[NetworkConfig, dict[str, Any]]:
    """(NetworkConfig, importer kwargs) of the official networks `G_net` (G_style) and `D_net` (D_basic)."""
    parts = [("G", G_net.static_kwargs)]
    parts += [(f"G/{c.name}", c.static_kwargs) for c in G_net.components.values()]
    parts.append(("D", D_net.static_kwargs))
    kwargs = _merge(parts)
    fields: dict[str, Any] = {}
    unsupported = []
    for key, value in kwargs.items():
        if key in _FIELDS:
            fields[_FIELDS[key]] = value
        elif key in _REQUIRED:
            if value != _REQUIRED[key]:
                unsupported.append(f"{key}={value!r} (only {_REQUIRED[key]!r})")
        elif key == "blur_filter":
            if value is None or list(value) == []:
                fields["blur"] = False
            elif list(value) == [1, 2, 1]:
                fields["blur"] = True
            else:
                unsupported.append(f"blur_filter={value!r} (only [1, 2, 1] or None)")
        elif key == "fused_scale":
            if value not in _FUSED_SCALE:
                unsupported.append(f"fused_scale={value!r} (only 'auto', True, False)")
            else:
                fields["fused_scale"] = _FUSED_SCALE[value]
        elif key not in _IGNORED:
            unsupported.append(f"{key}={value!r:.60} (unknown)")
    if unsupported:
        raise UserError(f"the StyleGAN networks use options this library does not implement: {', '.join(unsupported)}")
    for name in ("resolution", "num_channels"):
        if name not in D_net.static_kwargs and name not in G_net.static_kwargs:
            raise UserError(f"the networks' static kwargs do not give {name!r}, which the official loop always "
                            f"passes")
    try:
        config = dataclasses.replace(NetworkConfig(), **fields)
        if config.truncation_cutoff is None:  # Official None = every layer.
            config = dataclasses.replace(config, truncation_cutoff=config.num_layers)
        config = config.validate()
    except (TypeError, ValueError) as e:
        raise UserError(f"static kwargs give no valid StyleGAN configuration: {e}") from None
    return config, {"official_fused_scale": config.fused_scale}


def from_tensorflow(G_net, D_net):
    """(config, generator kwargs) of a v1 TF pickle, or None when its build functions are another family's."""
    if (G_net.build_func_name, D_net.build_func_name) != (GENERATOR_FUNC, DISCRIMINATOR_FUNC):
        return None
    return network_config(G_net, D_net)
