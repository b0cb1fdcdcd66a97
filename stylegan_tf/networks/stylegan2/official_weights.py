"""Loading official StyleGAN2 weights (TF names or stylegan2-ada-pytorch names) into our networks.

Two naming schemes, detected from the names:

- TF (NVlabs/stylegan2, stylegan2-ada TF): `G_mapping/Dense{i}/{weight,bias}`,
  `G_mapping/LabelEmbed/*`, `G_synthesis/4x4/Const/const` [1,C,4,4],
  `G_synthesis/{R}x{R}/{Conv,Conv0_up,Conv1,ToRGB}/{weight,mod_weight,mod_bias,noise_strength,bias}`,
  `G_synthesis/{R}x{R}/Skip/weight`, `G_synthesis/noise{i}` [1,1,R,R], `dlatent_avg`; `lod` is
  accepted and ignored. The pickle-collected form `mapping/...`, `synthesis/...` (and a
  leading `G/`) is accepted too. D: `{R}x{R}/{FromRGB,Conv0,Conv1_down,Skip}/*`,
  `4x4/{Conv,Dense0}/*`, `Output/*` (a leading `D/` and `lod` accepted).
- ADA (stylegan2-ada-pytorch state_dict): `mapping.fc{i}.*`, `mapping.w_avg`,
  `synthesis.b{R}.{const,conv0,conv1,torgb,skip}.*`, `b{R}.{fromrgb,conv0,conv1,skip}.*`,
  `b4.{conv,fc,out}.*`; the `*.resample_filter` buffers are checked against the config's
  filter and not stored.

Conversions (facts 1.11/1.12, ADA `legacy.py`): our kernels are HWIO and use the TF
up-conv semantics, so TF kernels load unchanged and ADA kernels [O,I,k,k] are transposed,
flipped back spatially for G's `conv0` and `skip` (legacy.py flips them); our affine bias
holds ADA's `mod_bias + 1`; const and noise maps go NCHW -> NHWC; D's `fc` reads the NHWC
flatten, so the rows of the official (NCHW-flatten) Dense0 are permuted.

Conditional networks, one convention per official source (`StyleGAN2Config.conditioning`):

- "stylegan2-tf" (NVlabs/stylegan2 TF): G `G_mapping/LabelConcat/weight` [c, z] (not
  equalized), concatenated to z and normalised together; D `Output/{weight [C, c], bias [c]}`,
  score = sum(out * labels).
- "ada-tf" (stylegan2-ada TF `D_main` with its default mapping_layers 0, and the ADA pickles
  legacy.py converts from it): G `G_mapping/LabelEmbed/*` [c, w] (ADA `mapping.embed.*`); D
  `LabelEmbed/*` [c, cmap] (ADA `mapping.embed.*`), normalised = cmap; `Output` [C, cmap].
- "ada" (stylegan2-ada-pytorch, StyleGAN3): G as "ada-tf"; D `mapping.embed.*` and
  `mapping.fc{0..7}.*` (lr multiplier 0.01), TF names `LabelEmbed/*`, `Mapping{i}/*`.

(For "ada" the TF names are those of TF-ADA `D_main` built with mapping_layers=8 and
mapping_lrmul=0.01; its defaults, 0 and 0.1, are "ada-tf".) "stylegan2-tf" has no
stylegan2-ada-pytorch names: legacy.py cannot convert it either (it has no `LabelConcat` and
its D head is a cmap projection); importing ADA names into such a network is a `UserError`.

Every official variable must be consumed and every weight of ours set, or a `UserError`
lists what is missing, unexpected or misshaped.
"""

from __future__ import annotations

import math
import re
from typing import Mapping

import numpy as np

from stylegan_tf.errors import UserError
from stylegan_tf.official.weight_plan import WeightPlan, apply_plan, same


def _nchw_to_nhwc(x):
    return np.transpose(x, (0, 2, 3, 1))


def _oihw_to_hwio(x):
    return np.transpose(x, (2, 3, 1, 0))


def _flip(convert):
    return lambda x: convert(x)[::-1, ::-1]


def _rows_from_nchw_flatten(x, channels):
    """Rows of a dense [C*16, out] reading an NCHW flatten, reordered for the NHWC flatten."""
    return x.reshape(channels, 4, 4, -1).transpose(1, 2, 0, 3).reshape(x.shape)


def _our_weights(model):
    """(path below the model's own scope, variable) for every weight but random-generator state."""
    out = []
    for v in model.weights:
        if "seed_generator_state" in v.path:
            continue
        out.append((v.path.split("/", 1)[1], v))
    return out


_G_LAYERS = {"conv0": "Conv0_up", "conv1": "Conv1", "torgb": "ToRGB", "skip": "Skip"}
_D_LAYERS = {"fromrgb": "FromRGB", "conv0": "Conv0", "conv1": "Conv1_down", "skip": "Skip", "conv": "Conv"}


def _unsupported(what, path):
    raise UserError(f"The official-weight importer has no official name for the {what} weight {path!r} "
                    "(not supported yet).")


_NO_ADA_NAMES = ("a conditional network with conditioning='stylegan2-tf' (TF stylegan2's LabelConcat G and "
                 "per-label Output D) has no stylegan2-ada-pytorch names: the official legacy.py cannot convert "
                 "it either; import its TF names (G_mapping/LabelConcat/weight, Output/weight)")


def _generator_plans(G) -> tuple[WeightPlan, WeightPlan, dict[str, str]]:
    """(TF plan, ADA plan, {scheme: why it cannot name this network}) for G."""
    tf, ada = WeightPlan(), WeightPlan()
    refused = {}
    for path, v in _our_weights(G):
        shape = tuple(v.shape)
        if path == "mapping/label_embedding":  # TF stylegan2 `LabelConcat`: a plain N(0, 1) [c, z] matrix.
            tf.add("G_mapping/LabelConcat/weight", v, shape)
            refused["ada"] = _NO_ADA_NAMES
            continue
        if path == "w_avg":
            tf.add("dlatent_avg", v, shape)
            ada.add("mapping.w_avg", v, shape)
            continue
        m = re.fullmatch(r"mapping/(dense(\d+)|embed)/(kernel|bias)", path)
        if m:
            tf_layer = f"Dense{m[2]}" if m[2] is not None else "LabelEmbed"
            ada_layer = f"fc{m[2]}" if m[2] is not None else "embed"
            tf.add(f"G_mapping/{tf_layer}/{'weight' if m[3] == 'kernel' else 'bias'}", v, shape)
            if m[3] == "kernel":
                ada.add(f"mapping.{ada_layer}.weight", v, shape[::-1], np.transpose)
            else:
                ada.add(f"mapping.{ada_layer}.bias", v, shape)
            continue
        m = re.fullmatch(r"synthesis/b(\d+)/const", path)
        if m:
            nchw = (1, shape[3], shape[1], shape[2])
            tf.add(f"G_synthesis/{m[1]}x{m[1]}/Const/const", v, nchw, _nchw_to_nhwc)
            ada.add(f"synthesis.b{m[1]}.const", v, nchw[1:], lambda x: _nchw_to_nhwc(x[None]))
            continue
        m = re.fullmatch(r"synthesis/b(\d+)/(conv0|conv1|torgb|skip)/(weight|bias|noise_strength|noise_const|"
                         r"affine/kernel|affine/bias)", path)
        if not m:
            _unsupported("generator", path)
        res, layer, what = int(m[1]), m[2], m[3]
        scope = f"G_synthesis/{res}x{res}/" + ("Conv" if (res == 4 and layer == "conv1") else _G_LAYERS[layer])
        prefix = f"synthesis.b{res}.{layer}."
        if what == "weight":
            tf.add(scope + "/weight", v, shape)
            up = layer in ("conv0", "skip")
            ada.add(prefix + "weight", v, (shape[3], shape[2], shape[0], shape[1]),
                    _flip(_oihw_to_hwio) if up else _oihw_to_hwio)
        elif what in ("bias", "noise_strength"):
            tf.add(f"{scope}/{what}", v, shape)
            ada.add(prefix + what, v, shape)
        elif what == "noise_const":
            index = 0 if res == 4 else 2 * int(math.log2(res)) - (5 if layer == "conv0" else 4)
            tf.add(f"G_synthesis/noise{index}", v, (1, 1, shape[1], shape[2]), _nchw_to_nhwc)
            ada.add(prefix + "noise_const", v, shape[1:3], lambda x: x[None, :, :, None])
        elif what == "affine/kernel":
            tf.add(scope + "/mod_weight", v, shape)
            ada.add(prefix + "affine.weight", v, shape[::-1], np.transpose)
        else:
            tf.add(scope + "/mod_bias", v, shape, lambda x: x + 1.0)
            ada.add(prefix + "affine.bias", v, shape)
    tf.ignored.add("lod")
    return tf, ada, refused


def _discriminator_plans(D) -> tuple[WeightPlan, WeightPlan, dict[str, str]]:
    """(TF plan, ADA plan, {scheme: why it cannot name this network}) for D."""
    tf, ada = WeightPlan(), WeightPlan()
    refused = {}
    if D.config.label_size and D.config.conditioning == "stylegan2-tf":
        refused["ada"] = _NO_ADA_NAMES
    for path, v in _our_weights(D):
        shape = tuple(v.shape)
        m = re.fullmatch(r"mapping/(dense(\d+)|embed)/(kernel|bias)", path)
        if m:  # The label mapping of the cmap head: TF-ADA `LabelEmbed`, `Mapping{i}`; ADA `mapping.*`.
            tf_layer = f"Mapping{m[2]}" if m[2] is not None else "LabelEmbed"
            ada_layer = f"mapping.fc{m[2]}" if m[2] is not None else "mapping.embed"
            if m[3] == "kernel":
                tf.add(f"{tf_layer}/weight", v, shape)
                ada.add(f"{ada_layer}.weight", v, shape[::-1], np.transpose)
            else:
                tf.add(f"{tf_layer}/bias", v, shape)
                ada.add(f"{ada_layer}.bias", v, shape)
            continue
        m = re.fullmatch(r"b4/(fc|out)/(kernel|bias)", path)
        if m:
            scope = "4x4/Dense0" if m[1] == "fc" else "Output"
            if m[2] == "bias":
                tf.add(scope + "/bias", v, shape)
                ada.add(f"b4.{m[1]}.bias", v, shape)
                continue
            convert = same
            if m[1] == "fc":
                channels = shape[0] // 16
                convert = lambda x, c=channels: _rows_from_nchw_flatten(x, c)  # noqa: E731
            tf.add(scope + "/weight", v, shape, convert)
            ada.add(f"b4.{m[1]}.weight", v, shape[::-1], lambda x, f=convert: f(np.transpose(x)))
            continue
        m = re.fullmatch(r"b(\d+)/(fromrgb|conv0|conv1|skip|conv)/(weight|bias)", path)
        if not m:
            _unsupported("discriminator", path)
        res, layer, what = m[1], m[2], m[3]
        name = f"{res}x{res}/{_D_LAYERS[layer]}/{what}"
        if what == "weight":
            tf.add(name, v, shape)
            ada.add(f"b{res}.{layer}.weight", v, (shape[3], shape[2], shape[0], shape[1]), _oihw_to_hwio)
        else:
            tf.add(name, v, shape)
            ada.add(f"b{res}.{layer}.bias", v, shape)
    tf.ignored.add("lod")
    return tf, ada, refused


def _plan(plans, scheme: str, what: str) -> WeightPlan:
    tf, ada, refused = plans
    if scheme in refused:
        raise UserError(f"Official {what} weights with stylegan2-ada-pytorch names: {refused[scheme]}.")
    return tf if scheme == "tf" else ada


def _is_ada(variables: Mapping[str, np.ndarray]) -> bool:
    """ADA state_dict names are dotted and slash-free; TF names are slash-scoped."""
    return any("." in name and "/" not in name for name in variables)


def _tf_generator_names(variables):
    out = {}
    for name, value in variables.items():
        name = name[2:] if name.startswith("G/") else name
        name = re.sub(r"^(mapping|synthesis)/", r"G_\1/", name)
        out[name] = value
    return out


def _drop_resample_filters(variables, config, what):
    """ADA's `*.resample_filter` buffers: checked against the config's filter, then dropped."""
    taps = np.asarray(config.resample_filter, np.float64)
    expected = np.outer(taps, taps) / np.outer(taps, taps).sum()
    out = {}
    for name, value in variables.items():
        if name.endswith(".resample_filter"):
            value = np.asarray(value, np.float64)
            if value.shape != expected.shape or not np.allclose(value, expected, atol=1e-6):
                raise UserError(f"Official {what} weights: {name} is not this config's resample_filter "
                                f"{list(config.resample_filter)} (normalised outer product). "
                                f"Received: {value.tolist()}")
            continue
        out[name] = value
    return out


def load_official_generator(G, variables: Mapping[str, np.ndarray]) -> None:
    """Sets every weight of the StyleGAN2 `G` from TF or stylegan2-ada-pytorch names (auto-detected).

    Args:
        G: a StyleGAN2 `Generator` whose config matches the official network.
        variables: official name -> array (see the module docstring).
    """
    plans = _generator_plans(G)
    if _is_ada(variables):
        apply_plan(_plan(plans, "ada", "generator"), _drop_resample_filters(variables, G.config, "generator"),
                   "generator (ADA names)")
    else:
        apply_plan(_plan(plans, "tf", "generator"), _tf_generator_names(variables), "generator")


def load_official_discriminator(D, variables: Mapping[str, np.ndarray]) -> None:
    """Sets every weight of the StyleGAN2 `D` from TF or stylegan2-ada-pytorch names (auto-detected);
    conditional heads as the module docstring's table."""
    plans = _discriminator_plans(D)
    if _is_ada(variables):
        apply_plan(_plan(plans, "ada", "discriminator"),
                   _drop_resample_filters(variables, D.config, "discriminator"), "discriminator (ADA names)")
    else:
        apply_plan(_plan(plans, "tf", "discriminator"),
                   {(k[2:] if k.startswith("D/") else k): v for k, v in variables.items()}, "discriminator")


def official_generator_shapes(G, scheme: str = "tf") -> dict[str, tuple[int, ...]]:
    """Official names and shapes (official layout) that `load_official_generator` consumes;
    scheme "tf" (default) or "ada" (without the resample_filter buffers)."""
    return _plan(_generator_plans(G), _scheme(scheme), "generator").shapes()


def official_discriminator_shapes(D, scheme: str = "tf") -> dict[str, tuple[int, ...]]:
    """Official names and shapes that `load_official_discriminator` consumes ("tf" or "ada")."""
    return _plan(_discriminator_plans(D), _scheme(scheme), "discriminator").shapes()


def _scheme(scheme: str) -> str:
    if scheme not in ("tf", "ada"):
        raise UserError(f"scheme must be 'tf' or 'ada'. Received: scheme={scheme!r}")
    return scheme
