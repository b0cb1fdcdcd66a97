"""The configuration of an official StyleGAN2 pickle: TF static kwargs or ADA init kwargs.

TF (NVlabs/stylegan2, version >= 4; stylegan2-ada TF, version 5, `G_synthesis` / `D_main`
with their own defaults, see `_tf_ada_kwargs`): `G_main` passes its kwargs on to `G_mapping` and
`G_synthesis_stylegan2`, so G's config is the official defaults overridden by the union
of G's and its components' kwargs; `D_stylegan2` has its own (its `architecture` is
D's). Values shared by G and D (resolution, channels, fmap_*, resample kernel) must
agree, as `StyleGAN2Config` holds one of each. `channel_base = 2 * fmap_base` (ADA
`legacy.py`). Minibatch stddev keeps the TF `mbstd_group_size` (default 4, group
min(4, N)); ADA's `legacy.py` conversion uses the whole batch instead (facts 2.3).

ADA (stylegan2-ada-pytorch, a dict G / D / G_ema of persistent modules): the config
comes from G_ema's and D's `_init_kwargs` (`z_dim`, `w_dim`, `img_resolution`,
`mapping_kwargs`, `synthesis_kwargs`, D's `channel_base`, `architecture`,
`epilogue_kwargs`, ...). Deviation: ADA's `mbstd_group_size=None` (whole batch) is
taken as 4, which is the same for batches <= 4. Truncation psi defaults to 1 as ADA's
`Generator.forward`.

Conditional networks (`StyleGAN2Config.conditioning`, see
`stylegan_tf.networks.stylegan2.official_weights`): a TF `G_main` / `D_stylegan2` pair with
label_size > 0 is "stylegan2-tf" (G `LabelConcat`, D per-label `Output`). An ADA
`Discriminator` with c_dim > 0 is "ada" when its `mapping_kwargs` are the official defaults
(8 layers, lr multiplier 0.01; what ADA's and StyleGAN3's train.py build) and "ada-tf" when
they have num_layers 0 (what legacy.py writes for a converted TF-ADA D, whose default
mapping_layers is 0); other label mappings, and a `cmap_dim` other than channels(4), are
refused. Unconditional networks keep the default "ada" (the field is then unused).

Values our networks do not implement are a `UserError` naming them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from stylegan_tf.errors import UserError
from stylegan_tf.official.stylegan1_pickle import _merge

MIN_VERSION = 4  # Official legacy.py rejects older TF networks (StyleGAN2 writes 4, TF-ADA 5).
SYNTHESIS_FUNC, MAPPING_FUNC, DISCRIMINATOR_FUNC = "G_synthesis_stylegan2", "G_mapping", "D_stylegan2"
ADA_SYNTHESIS_FUNC, ADA_DISCRIMINATOR_FUNC = "G_synthesis", "D_main"  # stylegan2-ada TF (training/networks.py).

# TF kwarg -> StyleGAN2Config field (G side).
_TF_G_FIELDS = {
    "num_channels": "num_channels", "resolution": "resolution", "label_size": "label_size",
    "latent_size": "latent_size", "dlatent_size": "w_dim", "mapping_layers": "mapping_layers",
    "mapping_fmaps": "mapping_fmaps", "mapping_lrmul": "mapping_lrmul", "fmap_max": "channel_max",
    "architecture": "architecture_g", "truncation_psi": "truncation_psi", "truncation_cutoff": "truncation_cutoff",
    "dlatent_avg_beta": "w_avg_beta", "style_mixing_prob": "style_mixing_prob",
}
_TF_D_FIELDS = {
    "num_channels": "num_channels", "resolution": "resolution", "label_size": "label_size",
    "fmap_max": "channel_max", "architecture": "architecture_d", "mbstd_group_size": "mbstd_group_size",
    "mbstd_num_features": "mbstd_num_features",
}
# Kwargs with no effect on the weights or the inference function.
_TF_IGNORED = {"randomize_noise", "dtype", "is_template_graph", "is_training", "is_validation", "return_dlatents",
               "truncation_psi_val", "truncation_cutoff_val", "dlatent_broadcast", "components", "num_fp16_res",
               "conv_clamp"}
# Kwargs whose only supported value is the official default.
_TF_REQUIRED = {"nonlinearity": "lrelu", "mapping_nonlinearity": "lrelu", "fmap_decay": 1.0, "fmap_min": 1,
                "normalize_latents": True, "mapping_func": MAPPING_FUNC, "synthesis_func": SYNTHESIS_FUNC}
_TF_FUSED = {True: "always", False: "never"}
# Official defaults (G_synthesis_stylegan2, D_stylegan2) of the kwargs G and D share.
_TF_SHARED_DEFAULTS = {"fmap_base": 16 << 10, "fmap_max": 512, "resample_kernel": [1, 3, 3, 1]}


def _family_config():
    from stylegan_tf.networks.stylegan2.config import StyleGAN2Config
    return StyleGAN2Config


def _build(fields: dict, unsupported: list[str], what: str):
    if unsupported:
        raise UserError(f"the StyleGAN2 networks use options this library does not implement: "
                        f"{', '.join(unsupported)}")
    try:
        return dataclasses.replace(_family_config()(), **fields).validate()
    except (TypeError, ValueError) as e:
        raise UserError(f"{what} give no valid StyleGAN2 configuration: {e}") from None


def _check_filter(value, fields, key, unsupported, name):
    try:
        taps = tuple(int(t) if float(t).is_integer() else float(t) for t in value)
    except (TypeError, ValueError):
        unsupported.append(f"{name}={value!r:.60} (a list of filter taps)")
        return
    if key in fields and fields[key] != taps:
        unsupported.append(f"{name}={list(taps)} differing between G and D ({list(fields[key])})")
    fields[key] = taps


def _put(fields: dict, field: str, value, unsupported: list[str], name: str) -> None:
    """Sets a config field, reporting a value that differs between the networks."""
    if field in fields and fields[field] != value:
        unsupported.append(f"{name}={value!r} but {fields[field]!r} in the other network")
    fields[field] = value


def _require(value, required, unsupported: list[str], name: str) -> None:
    if value != required:
        unsupported.append(f"{name}={value!r} (only {required!r})")


# stylegan2-ada TF (G_synthesis / D_main) kwargs beyond StyleGAN2's: -> config field, required value, ignored.
_TF_ADA_FIELDS = {"num_fp16_res": "num_fp16_res", "conv_clamp": "conv_clamp"}
_TF_ADA_REQUIRED = {"use_noise": True, "use_pagan": False, "score_size": 1, "score_max": 1,
                    "use_spectral_norm": False, "adaptive_dropout": 0, "fmap_const": None}
_TF_ADA_IGNORED = {"freeze_layers", "augment_strength", "pagan_num", "pagan_fade"}


def _tf_side(kwargs: dict, table: dict, fields: dict, unsupported: list[str], where: str,
             tf_ada: bool = False) -> None:
    if tf_ada:
        table = {**table, **_TF_ADA_FIELDS}
    for key, value in kwargs.items():
        if tf_ada and key in _TF_ADA_REQUIRED:
            _require(value, _TF_ADA_REQUIRED[key], unsupported, f"{where}.{key}")
        elif tf_ada and key in _TF_ADA_IGNORED:
            pass
        elif key in table:
            _put(fields, table[key], value, unsupported, f"{where}.{key}")
        elif key in _TF_REQUIRED:
            _require(value, _TF_REQUIRED[key], unsupported, key)
        elif key == "fmap_base":
            pass  # Checked for G and D together below.
        elif key == "resample_kernel":
            _check_filter(value, fields, "resample_filter", unsupported, key)
        elif key == "fused_modconv" and where != "D":
            if value not in _TF_FUSED:
                unsupported.append(f"fused_modconv={value!r} (only True or False)")
            else:
                fields["fused_modconv"] = _TF_FUSED[value]
        elif key not in _TF_IGNORED:
            unsupported.append(f"{key}={value!r:.60} ({where}: unknown)")


def _tf_ada_kwargs(g_kwargs: dict, d_kwargs: dict, unsupported: list[str]) -> str | None:
    """stylegan2-ada TF defaults that differ from NVlabs/stylegan2's, and D_main's label mapping
    (popped from `d_kwargs`) -> the conditioning (None when unconditional).

    G_mapping: mapping_fmaps None = dlatent_size; `LabelEmbed` has label_fmaps (None = latent_size)
    units, ours w_dim. G_synthesis: num_fp16_res 0. D_main: mbstd_group_size None = the whole
    batch, read as 4 (as the ADA path); mapping_layers 0 (its default) is "ada-tf", 8 at
    mapping_lrmul 0.01 is "ada" (ADA's own D); mapping_fmaps must be the default nf(0)."""
    if g_kwargs.get("mapping_fmaps") is None:
        g_kwargs["mapping_fmaps"] = g_kwargs.get("dlatent_size", 512)
    g_kwargs.setdefault("num_fp16_res", 0)
    label_fmaps = g_kwargs.pop("label_fmaps", None)
    embed = g_kwargs.get("latent_size", 512) if label_fmaps is None else label_fmaps
    if g_kwargs.get("label_size") and embed != g_kwargs.get("dlatent_size", 512):
        unsupported.append(f"G.label_fmaps={label_fmaps!r} (LabelEmbed with {embed} units; only dlatent_size)")
    if d_kwargs.get("mbstd_group_size", None) is None:
        d_kwargs["mbstd_group_size"] = 4
    layers = d_kwargs.pop("mapping_layers", 0)
    lrmul = d_kwargs.pop("mapping_lrmul", 0.1)
    fmaps = d_kwargs.pop("mapping_fmaps", None)
    if not d_kwargs.get("label_size"):
        return None
    nf0 = min(int(d_kwargs.get("fmap_base", 16384)), int(d_kwargs.get("fmap_max", 512)))
    if fmaps is not None and fmaps != nf0:
        unsupported.append(f"D.mapping_fmaps={fmaps!r} (only None = nf(0) = {nf0})")
    if layers == 0:
        return "ada-tf"
    if layers == 8 and lrmul == 0.01:
        return "ada"
    unsupported.append(f"D.mapping_layers={layers!r} with mapping_lrmul={lrmul!r} (only 0 layers, D_main's "
                       f"default, or 8 at 0.01, ADA's Discriminator)")
    return None


def config_from_tensorflow(G_net, D_net):
    """`StyleGAN2Config` of the official TF networks `G_net` (G_main) and `D_net`: NVlabs/stylegan2
    (G_synthesis_stylegan2 / D_stylegan2) or stylegan2-ada TF (G_synthesis / D_main)."""
    for net in (G_net, D_net, *G_net.components.values()):
        if net.version is not None and int(net.version) < MIN_VERSION:
            raise UserError(f"network {net.name!r} is version {net.version}: StyleGAN2 networks are version "
                            f">= {MIN_VERSION} (older ones cannot be read, as in the official legacy.py)")
    funcs = {k: c.build_func_name for k, c in G_net.components.items()}
    tf_ada = funcs.get("synthesis") == ADA_SYNTHESIS_FUNC
    synthesis_func, discriminator_func = ((ADA_SYNTHESIS_FUNC, ADA_DISCRIMINATOR_FUNC) if tf_ada
                                          else (SYNTHESIS_FUNC, DISCRIMINATOR_FUNC))
    if D_net.build_func_name != discriminator_func:
        raise UserError(f"G_main's synthesis is {funcs.get('synthesis')!r} but D is built by "
                        f"{D_net.build_func_name!r}, not {discriminator_func!r}")
    if funcs != {"mapping": MAPPING_FUNC, "synthesis": synthesis_func}:
        raise UserError(f"G_main's components are {funcs}: only mapping={MAPPING_FUNC!r}, "
                        f"synthesis={SYNTHESIS_FUNC!r} (configs e/f) or {ADA_SYNTHESIS_FUNC!r} "
                        f"(stylegan2-ada) are supported")
    g_kwargs = _merge([("G", G_net.static_kwargs)]
                      + [(f"G/{c.name}", c.static_kwargs) for c in G_net.components.values()])
    d_kwargs = dict(D_net.static_kwargs)
    for name in ("resolution", "num_channels"):
        if name not in g_kwargs or name not in d_kwargs:
            raise UserError(f"the networks' static kwargs do not give {name!r} for both G and D, as the official "
                            f"loop passes it")
    for name, default in _TF_SHARED_DEFAULTS.items():  # Both networks' values, defaults included, must agree.
        g_kwargs.setdefault(name, default)
        d_kwargs.setdefault(name, default)
    fields: dict[str, Any] = {}
    unsupported: list[str] = []
    conditioning = _tf_ada_kwargs(g_kwargs, d_kwargs, unsupported) if tf_ada else None
    _tf_side(g_kwargs, _TF_G_FIELDS, fields, unsupported, "G", tf_ada)
    _tf_side(d_kwargs, _TF_D_FIELDS, fields, unsupported, "D", tf_ada)
    if g_kwargs["fmap_base"] != d_kwargs["fmap_base"]:
        unsupported.append(f"fmap_base={d_kwargs['fmap_base']!r} in D but {g_kwargs['fmap_base']!r} in G")
    fields["channel_base"] = 2 * g_kwargs["fmap_base"]
    if fields.get("label_size"):  # NVlabs/stylegan2: G_mapping's LabelConcat, D_stylegan2's per-label Output.
        fields["conditioning"] = conditioning or "stylegan2-tf"
    return _build(fields, unsupported, "the static kwargs")


# stylegan2-ada-pytorch ------------------------------------------------------------------------------
_ADA_REQUIRED = {"activation": "lrelu", "use_noise": True, "embed_features": None}
_ADA_IGNORED = {"fp16_channels_last", "channels_last", "freeze_layers", "use_fp16", "cmap_dim", "num_ws"}
# ADA Discriminator label mapping (`mapping_kwargs`): num_layers -> conditioning (lr multiplier required).
_ADA_D_MAPPINGS = {8: ("ada", 0.01), 0: ("ada-tf", None)}


def ada_discriminator_conditioning(d_kwargs: dict, channels_4: int, unsupported: list[str]) -> str:
    """The `conditioning` of a conditional ADA/StyleGAN3 `Discriminator` from its init kwargs:
    "ada" for the official default label mapping (`MappingNetwork(z_dim=0, ...)`: 8 layers, lr
    multiplier 0.01), "ada-tf" for legacy.py's conversion of a TF-ADA D (num_layers 0). Anything
    else (another depth or lr multiplier, feature counts other than cmap_dim, another activation,
    cmap_dim other than channels(4) = our cmap) goes to `unsupported`."""
    mapping = dict(d_kwargs.get("mapping_kwargs") or {})
    layers = mapping.pop("num_layers", 8)
    lrmul = mapping.pop("lr_multiplier", 0.01)
    cmap_dim = d_kwargs.get("cmap_dim")
    if cmap_dim is not None and cmap_dim != channels_4:
        unsupported.append(f"D.cmap_dim={cmap_dim!r} (only None = channels(4) = {channels_4})")
    for key, value in mapping.items():
        if key in ("embed_features", "layer_features"):
            if value is not None and value != channels_4:
                unsupported.append(f"D.mapping_kwargs.{key}={value!r} (only None = cmap_dim)")
        elif key == "activation":
            _require(value, "lrelu", unsupported, f"D.mapping_kwargs.{key}")
        else:
            unsupported.append(f"D.mapping_kwargs.{key}={value!r:.60} (unknown)")
    if layers not in _ADA_D_MAPPINGS or _ADA_D_MAPPINGS[layers][1] not in (None, lrmul):
        unsupported.append(f"D.mapping_kwargs num_layers={layers!r}, lr_multiplier={lrmul!r} (only the official "
                           f"default 8 layers at 0.01, or 0 layers as legacy.py converts TF-ADA)")
        return "ada"
    return _ADA_D_MAPPINGS[layers][0]


def _ada_kwargs(kwargs: dict, where: str, known: dict, fields: dict, unsupported: list[str]) -> None:
    """Copies `kwargs` into `fields` through `known` (ADA name -> field), checking the rest."""
    for key, value in kwargs.items():
        if key in known:
            _put(fields, known[key], value, unsupported, f"{where}.{key}")
        elif key == "resample_filter":
            _check_filter(value, fields, "resample_filter", unsupported, f"{where}.{key}")
        elif key in _ADA_REQUIRED:
            _require(value, _ADA_REQUIRED[key], unsupported, f"{where}.{key}")
        elif key not in _ADA_IGNORED:
            unsupported.append(f"{where}.{key}={value!r:.60} (unknown)")


def config_from_pytorch(G, D):
    """`StyleGAN2Config` of stylegan2-ada-pytorch's `Generator` (G_ema) and `Discriminator` modules."""
    g, d = G.init_kwargs, D.init_kwargs
    fields: dict[str, Any] = {"truncation_psi": 1.0}
    unsupported: list[str] = []
    g_top = {k: v for k, v in g.items() if k not in ("mapping_kwargs", "synthesis_kwargs")}
    _ada_kwargs(g_top, "G", {"z_dim": "latent_size", "c_dim": "label_size", "w_dim": "w_dim",
                             "img_resolution": "resolution", "img_channels": "num_channels"}, fields, unsupported)
    mapping = dict(g.get("mapping_kwargs") or {})
    if mapping.get("layer_features") is None:
        mapping.pop("layer_features", None)
    _ada_kwargs(mapping, "G.mapping_kwargs", {"num_layers": "mapping_layers", "layer_features": "mapping_fmaps",
                                              "lr_multiplier": "mapping_lrmul", "w_avg_beta": "w_avg_beta"},
                fields, unsupported)
    fields.setdefault("mapping_fmaps", fields.get("w_dim", 512))  # ADA: layer_features None = w_dim.
    synthesis = dict(g.get("synthesis_kwargs") or {})
    _ada_kwargs(synthesis, "G.synthesis_kwargs", {"channel_base": "channel_base", "channel_max": "channel_max",
                                                  "architecture": "architecture_g", "num_fp16_res": "num_fp16_res",
                                                  "conv_clamp": "conv_clamp"}, fields, unsupported)
    # ADA defaults where a kwarg is absent (they differ from StyleGAN2Config's for these two).
    fields.setdefault("num_fp16_res", 0)
    fields.setdefault("channel_base", 32768)
    d_top = {k: v for k, v in d.items() if k not in ("block_kwargs", "mapping_kwargs", "epilogue_kwargs")}
    d_top.setdefault("channel_base", 32768)
    d_top.setdefault("num_fp16_res", 0)
    _ada_kwargs(d_top, "D", {"c_dim": "label_size", "img_resolution": "resolution", "img_channels": "num_channels",
                             "architecture": "architecture_d", "channel_base": "channel_base",
                             "channel_max": "channel_max", "num_fp16_res": "num_fp16_res",
                             "conv_clamp": "conv_clamp"}, fields, unsupported)
    _ada_kwargs(dict(d.get("block_kwargs") or {}), "D.block_kwargs", {}, fields, unsupported)
    epilogue = dict(d.get("epilogue_kwargs") or {})
    if epilogue.get("mbstd_group_size", 4) is None:
        epilogue["mbstd_group_size"] = 4  # Whole batch in ADA; 4 here (see the module docstring).
    _ada_kwargs(epilogue, "D.epilogue_kwargs", {"mbstd_group_size": "mbstd_group_size",
                                                "mbstd_num_channels": "mbstd_num_features"}, fields, unsupported)
    if fields.get("label_size"):  # D's label mapping: ignored when unconditional (legacy.py always passes it).
        channels_4 = min(int(fields["channel_base"]) // 4, int(fields.get("channel_max", 512)))
        fields["conditioning"] = ada_discriminator_conditioning(d, channels_4, unsupported)
    for name in ("resolution", "num_channels", "latent_size", "w_dim"):
        if name not in fields:
            raise UserError(f"the Generator's init kwargs lack {name!r} (z_dim, w_dim, img_resolution, "
                            f"img_channels are always passed by the official code)")
    return _build(fields, unsupported, "the init kwargs")


RECOGNISES = ("StyleGAN2: TensorFlow G_main / D_stylegan2 (stylegan2, stylegan2-ada TF), PyTorch Generator / "
              "Discriminator with a b4 synthesis block (stylegan2-ada-pytorch)")


def from_tensorflow(G_net, D_net):
    """(config, generator kwargs) of a TF StyleGAN2 pickle, or None when G is not `G_main`."""
    if G_net.build_func_name != "G_main":
        return None
    return config_from_tensorflow(G_net, D_net), {}


def from_pytorch(G_ema, D):
    """The config of an ADA pickle, or None when the modules are not ADA's Generator / Discriminator
    (a StyleGAN2 synthesis network starts with the constant block `b4`)."""
    synthesis = G_ema.children().get("synthesis")
    if (G_ema.class_name, D.class_name) != ("Generator", "Discriminator") or synthesis is None \
            or "b4" not in synthesis.children():
        return None
    return config_from_pytorch(G_ema, D)
