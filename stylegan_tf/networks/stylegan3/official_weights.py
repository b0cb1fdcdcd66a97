"""Loading the official StyleGAN3 `state_dict` (NVlabs/stylegan3, PyTorch) into our networks.

Official names (G / G_ema; a leading "G." or "G_ema." is accepted):

    mapping.fc{i}.{weight [out, in], bias}, mapping.embed.{weight, bias} (conditional), mapping.w_avg
    synthesis.input.{weight [C, C], affine.weight [4, w_dim], affine.bias [4], transform [3, 3],
                     freqs [C, 2], phases [C]}
    synthesis.L{i}_{size}_{ch}.{weight [O, I, k, k], bias [O], magnitude_ema [], affine.weight [I, w_dim],
                                affine.bias [I], up_filter [taps], down_filter [taps] or [taps, taps]}

Values carry over unscaled (both store raw weights and scale them at run time, weight gain
lr_mul / sqrt(fan_in), bias gain lr_mul); only layouts change: dense [out, in] -> [in, out],
conv [O, I, k, k] -> [k, k, I, O], the input's bias-free linear [out, in] -> [in, out]. The
filters are not weights here (they are designed from the config): the file's filters
must equal ours, which checks that the architecture was read right. The discriminator
is the StyleGAN2 one, loaded by `stylegan_tf.networks.stylegan2.official_weights`
(conditional: `mapping.embed.*`, `mapping.fc{0..7}.*`, its "ada" conditioning).

Every official variable must be consumed and every weight of ours set, or a `UserError`
lists what is missing, unexpected or misshaped.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from stylegan_tf.errors import UserError
from stylegan_tf.networks.stylegan3.config import StyleGAN3Config

PREFIXES = ("G_ema.", "G.")


def config_from_init_kwargs(kwargs: Mapping[str, Any], d_kwargs: Mapping[str, Any] | None = None) -> StyleGAN3Config:
    """A `StyleGAN3Config` from the official `Generator` constructor kwargs (pickle `_init_kwargs`).

    Config R is conv_kernel 1 with radial filters; its channel_base / channel_max are the
    doubled official values (`train.py`), stored here halved. Other combinations of these
    two options are not one of the paper's configs and are rejected.
    """
    k = dict(kwargs)
    synthesis = {**k, **dict(k.get("synthesis_kwargs") or {})}
    mapping = dict(k.get("mapping_kwargs") or {})
    conv_kernel = int(synthesis.get("conv_kernel", 3))
    radial = bool(synthesis.get("use_radial_filters", False))
    if (conv_kernel, radial) not in ((3, False), (1, True)):
        raise UserError(f"StyleGAN3 generator with conv_kernel={conv_kernel}, use_radial_filters={radial}: "
                        "only config T (3, False) and config R (1, True) are supported")
    cfg = "r" if radial else "t"
    scale = 2 if cfg == "r" else 1
    channel_base, channel_max = int(synthesis.get("channel_base", 32768)), int(synthesis.get("channel_max", 512))
    if channel_base % scale or channel_max % scale:
        raise UserError(f"StyleGAN3-R generator with odd channel_base={channel_base} / channel_max={channel_max}")
    d = dict(d_kwargs or {})
    epilogue = dict(d.get("epilogue_kwargs") or {})
    clamp = synthesis.get("conv_clamp", 256)
    fields = dict(
        cfg=cfg, resolution=int(k["img_resolution"]), num_channels=int(k.get("img_channels", 3)),
        label_size=int(k.get("c_dim", 0)), latent_size=int(k.get("z_dim", 512)), w_dim=int(k.get("w_dim", 512)),
        mapping_layers=int(mapping.get("num_layers", 2)), mapping_fmaps=int(k.get("w_dim", 512)),
        mapping_lrmul=float(mapping.get("lr_multiplier", 0.01)), w_avg_beta=float(mapping.get("w_avg_beta", 0.998)),
        channel_base=channel_base // scale, channel_max=channel_max // scale,
        synthesis_layers=int(synthesis.get("num_layers", 14)), num_critical=int(synthesis.get("num_critical", 2)),
        first_cutoff=float(synthesis.get("first_cutoff", 2)),
        first_stopband=float(synthesis.get("first_stopband", 2**2.1)),
        last_stopband_rel=float(synthesis.get("last_stopband_rel", 2**0.3)),
        margin_size=int(synthesis.get("margin_size", 10)), output_scale=float(synthesis.get("output_scale", 0.25)),
        filter_size=int(synthesis.get("filter_size", 6)), lrelu_upsampling=int(synthesis.get("lrelu_upsampling", 2)),
        num_fp16_res=int(synthesis.get("num_fp16_res", 4)),
        conv_clamp=None if clamp is None else float(clamp),
        magnitude_ema_beta=float(synthesis.get("magnitude_ema_beta", 0.999)))
    if d:
        if int(d.get("channel_base", channel_base // scale)) != channel_base // scale or \
                int(d.get("channel_max", channel_max // scale)) != channel_max // scale:
            raise UserError(f"The discriminator's channel_base/channel_max ({d.get('channel_base')}/"
                            f"{d.get('channel_max')}) differ from the generator's --cbase/--cmax "
                            f"({channel_base // scale}/{channel_max // scale}): not supported")
        fields["mbstd_group_size"] = int(epilogue.get("mbstd_group_size", 4))
        fields["mbstd_num_features"] = int(epilogue.get("mbstd_num_channels", 1))
        _check_conditional_discriminator(d, fields["label_size"], min(channel_base // scale // 4, channel_max // scale))
    return StyleGAN3Config(**fields).validate()


def _check_conditional_discriminator(d: Mapping[str, Any], label_size: int, channels_4: int) -> None:
    """D's c_dim must be G's; a conditional D must have the official label mapping (SG3 `train.py`
    leaves D's mapping_kwargs empty: ADA's `MappingNetwork(z_dim=0)`, 8 layers, lr multiplier 0.01,
    cmap_dim = channels(4)), which is our StyleGAN2 D's "ada" conditioning."""
    from stylegan_tf.official.stylegan2_pickle import ada_discriminator_conditioning

    if int(d.get("c_dim", label_size)) != label_size:
        raise UserError(f"The discriminator's c_dim={d.get('c_dim')!r} differs from the generator's {label_size}")
    if not label_size:
        return
    unsupported: list[str] = []
    if ada_discriminator_conditioning(dict(d), channels_4, unsupported) != "ada" and not unsupported:
        unsupported.append("D.mapping_kwargs num_layers=0 (a StyleGAN3 D has the official 8-layer label mapping)")
    if unsupported:
        raise UserError(f"The conditional discriminator's label mapping is not the official one: "
                        f"{', '.join(unsupported)}")


def _dense(x: np.ndarray) -> np.ndarray:
    return np.transpose(x)


def _conv(x: np.ndarray) -> np.ndarray:
    return np.transpose(x, (2, 3, 1, 0))


def _same(x: np.ndarray) -> np.ndarray:
    return x


def generator_weight_map(G) -> list[tuple[str, Any, Any]]:
    """(official name, our variable, converter) for every weight of a StyleGAN3 generator."""
    m, syn = G.mapping_network, G.synthesis_network
    entries = []
    for i, layer in enumerate(m.dense_layers):
        entries += [(f"mapping.fc{i}.weight", layer.kernel, _dense), (f"mapping.fc{i}.bias", layer.bias, _same)]
    if m.embed is not None:
        entries += [("mapping.embed.weight", m.embed.kernel, _dense), ("mapping.embed.bias", m.embed.bias, _same)]
    entries.append(("mapping.w_avg", G.w_avg, _same))
    first = syn.input_layer
    entries += [("synthesis.input.weight", first.weight, _dense),
                ("synthesis.input.affine.weight", first.affine.kernel, _dense),
                ("synthesis.input.affine.bias", first.affine.bias, _same),
                ("synthesis.input.transform", first.transform, _same),
                ("synthesis.input.freqs", first.freqs, _same),
                ("synthesis.input.phases", first.phases, _same)]
    for layer in syn.layers_:
        p = f"synthesis.{layer.name}."
        entries += [(p + "weight", layer.weight, _conv), (p + "bias", layer.bias, _same),
                    (p + "magnitude_ema", layer.magnitude_ema, _same),
                    (p + "affine.weight", layer.affine.kernel, _dense), (p + "affine.bias", layer.affine.bias, _same)]
    return entries


def _designed_filters(G) -> dict[str, np.ndarray]:
    filters = {}
    for layer in G.synthesis_network.layers_:
        for kind, f in (("up_filter", layer.up_filter), ("down_filter", layer.down_filter)):
            if f is not None:
                filters[f"synthesis.{layer.name}.{kind}"] = f
    return filters


def _strip_prefix(variables: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    for prefix in PREFIXES:
        if variables and all(name.startswith(prefix) for name in variables):
            return {name[len(prefix):]: value for name, value in variables.items()}
    return dict(variables)


def load_official_generator(G, variables: Mapping[str, np.ndarray], source: str = "the official weights") -> None:
    """Sets every weight of a StyleGAN3 G from an official `state_dict` (name -> numpy array)."""
    variables = _strip_prefix(variables)
    problems, values = [], []
    entries = generator_weight_map(G)
    for name, variable, convert in entries:
        if name not in variables:
            problems.append(f"missing {name}")
            continue
        value = convert(np.asarray(variables[name], np.float32))
        if tuple(value.shape) != tuple(variable.shape):
            problems.append(f"{name}: shape {tuple(np.shape(variables[name]))} does not fit ours "
                            f"{tuple(variable.shape)} (after conversion)")
            continue
        values.append((variable, value))
    filters = _designed_filters(G)
    for name, f in filters.items():
        theirs = variables.get(name)
        if theirs is None:
            problems.append(f"missing {name}")
        elif np.shape(theirs) != f.shape:
            problems.append(f"{name}: the file's filter has shape {np.shape(theirs)}, the config gives {f.shape}")
        elif not np.allclose(np.asarray(theirs, np.float64), f, atol=1e-6):
            problems.append(f"{name}: the file's filter differs from the one designed from the config")
    known = {name for name, _, _ in entries} | set(filters)
    problems += [f"unexpected {name}" for name in sorted(set(variables) - known)]
    if problems:
        shown = "; ".join(problems[:12]) + (f"; ... ({len(problems)} problems)" if len(problems) > 12 else "")
        raise UserError(f"{source} do not fit this StyleGAN3 generator "
                        f"({G.config.cfg.upper()}, {G.config.resolution}x{G.config.resolution}): {shown}")
    for variable, value in values:
        variable.assign(value)


def load_official_discriminator(D, variables: Mapping[str, np.ndarray], **kwargs) -> None:
    """The StyleGAN3 discriminator is the StyleGAN2 one: its importer loads it."""
    from stylegan_tf.networks.stylegan2 import official_weights
    official_weights.load_official_discriminator(D, variables, **kwargs)
