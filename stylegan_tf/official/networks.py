"""Published networks as Keras models: `load_pickle("x.pkl")` -> G, D and Gs (float32).

    from stylegan_tf.official import load_pickle
    nets = load_pickle("karras2019stylegan-ffhq-1024x1024.pkl")
    images = nets.Gs(z, truncation_psi=0.7)          # NHWC in [-1, 1]
    nets.family, nets.config, nets.G, nets.D

The file is read by `pickle_reader.read_pickle` (restricted: nothing in it runs). Its
layout tells the format: a TensorFlow tuple (G, D, Gs) of networks, or a PyTorch dict
with G, D and G_ema. The family is the first whose pickle module (`families.Family.pickle`)
recognises the build functions / classes (`G_style`+`D_basic`: stylegan1; `G_main`, ADA
`Generator`+`Discriminator` with a `b4` synthesis block: stylegan2; a `Generator` with a
`synthesis.input` Fourier-feature module: stylegan3), the
configuration from the static kwargs / init kwargs (checked against every variable's
shape by the family's importer), and the weights go in through the family's
official-weights module. Every problem is a `UserError` naming the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from stylegan_tf import families
from stylegan_tf.errors import UserError
from stylegan_tf.official.pickle_reader import PersistentObject, TFNetwork, read_pickle


@dataclass
class OfficialNetworks:
    """The three networks of an official pickle, as float32 Keras models."""

    G: Any                 # The trained generator.
    D: Any                 # The discriminator.
    Gs: Any                # The averaged generator (TF `Gs`, PyTorch `G_ema`): use this one to generate.
    family: str            # `stylegan_tf.families` key.
    config: Any            # The family's network config.
    source_format: str     # "tensorflow" or "pytorch".
    path: str = ""
    extra: dict = field(default_factory=dict)  # e.g. PyTorch `training_set_kwargs`.

    def parameter_counts(self) -> dict[str, int]:
        """Trainable parameters of G, D and Gs."""
        return {name: int(sum(np.prod(w.shape) for w in net.trainable_weights))
                for name, net in (("G", self.G), ("D", self.D), ("Gs", self.Gs))}

    def describe(self) -> str:
        counts = self.parameter_counts()
        c = self.config
        return (f"family {self.family} ({self.source_format} pickle), resolution {c.resolution}x{c.resolution}, "
                f"{c.num_channels} channels, label_size {c.label_size}\n"
                f"trainable parameters: G {counts['G']:,}, D {counts['D']:,}, Gs {counts['Gs']:,}")


@dataclass
class _Parsed:
    """What a family adapter extracts from a pickle before any network is built."""

    family: str
    config: Any
    G: dict[str, np.ndarray]
    D: dict[str, np.ndarray]
    Gs: dict[str, np.ndarray]
    generator_kwargs: dict = field(default_factory=dict)
    discriminator_kwargs: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


def _unavailable(family: str) -> UserError:
    return UserError(f"{family} pickles: the {family} family is not available in this version of stylegan_tf "
                     f"(its networks or official-weights importer are missing).")


def _recognise(source_format: str, *networks) -> tuple[str, Any, dict]:
    """(family, config, generator kwargs) from the first family whose pickle module recognises the
    networks (`families.Family.pickle`: `from_tensorflow` / `from_pytorch`)."""
    known = []
    for family in families.FAMILIES.values():
        try:
            module = family.pickle_module()
        except ImportError:
            continue
        recognise = getattr(module, f"from_{source_format}", None)
        if recognise is None:
            continue
        known.append(module.RECOGNISES)
        found = recognise(*networks)
        if found is not None:
            config, kwargs = found if isinstance(found, tuple) else (found, {})
            return family.name, config, kwargs
    names = " / ".join(getattr(n, "build_func_name", None) or n.class_name for n in networks)
    raise UserError(f"the {source_format} networks are {names}: not a known family ({'; '.join(known)}).")


def _parse_tensorflow(data: tuple) -> tuple[_Parsed, str]:
    G_net, D_net, Gs_net = data
    family, config, kwargs = _recognise("tensorflow", G_net, D_net)
    return _Parsed(family, config, G_net.all_variables(), D_net.all_variables(), Gs_net.all_variables(),
                   generator_kwargs=kwargs), "tensorflow"


def _parse_pytorch(data: dict) -> tuple[_Parsed, str]:
    G, D, G_ema = data["G"], data["D"], data["G_ema"]
    family, config, kwargs = _recognise("pytorch", G_ema, D)
    extra = {"training_set_kwargs": dict(data.get("training_set_kwargs") or {})}
    return _Parsed(family, config, G.state_dict(), D.state_dict(), G_ema.state_dict(), generator_kwargs=kwargs,
                   extra=extra), "pytorch"


def parse(data: Any) -> tuple[_Parsed, str]:
    """Family, config and name -> array dicts of an unpickled official file (raises `UserError`)."""
    if isinstance(data, tuple) and len(data) == 3 and all(isinstance(n, TFNetwork) for n in data):
        return _parse_tensorflow(data)
    if isinstance(data, dict) and all(isinstance(data.get(k), PersistentObject) for k in ("G", "D", "G_ema")):
        return _parse_pytorch(data)
    if isinstance(data, (tuple, list)):
        kinds = ", ".join(type(x).__name__ for x in data[:5])
        what = f"a {type(data).__name__} of {len(data)} ({kinds})"
    elif isinstance(data, dict):
        what = f"a dict with keys {sorted(map(str, data))[:8]}"
    else:
        what = f"a {type(data).__name__}"
    raise UserError(f"it holds {what}, not official networks: expected a TensorFlow tuple (G, D, Gs) of "
                    f"dnnlib Networks or a PyTorch dict with G, D and G_ema.")


def build_networks(parsed: _Parsed) -> tuple[Any, Any, Any]:
    """G, D, Gs float32 Keras models of the parsed family, with the pickle's weights."""
    family = families.get(parsed.family)
    try:
        official = family.official_module()
        G = families.build_generator(parsed.config, name="G", dtype="float32")
        Gs = families.build_generator(parsed.config, name="Gs", dtype="float32")
        D = families.build_discriminator(parsed.config, name="D", dtype="float32")
    except ImportError:
        raise _unavailable(parsed.family) from None
    for what, net, variables in (("G", G, parsed.G), ("Gs", Gs, parsed.Gs)):
        try:
            official.load_official_generator(net, variables, **parsed.generator_kwargs)
        except UserError as e:
            raise UserError(f"{what}: {e}") from None
    try:
        official.load_official_discriminator(D, parsed.D, **parsed.discriminator_kwargs)
    except UserError as e:
        raise UserError(f"D: {e}") from None
    return G, D, Gs


def load_pickle(path) -> OfficialNetworks:
    """G, D and Gs of an official network pickle (see the module docstring); `UserError` names the file."""
    path = os.fspath(path)
    data = read_pickle(path)
    try:
        parsed, source_format = parse(data)
        del data
        G, D, Gs = build_networks(parsed)
    except UserError as e:
        raise UserError(f"{path}: {e}") from None
    return OfficialNetworks(G=G, D=D, Gs=Gs, family=parsed.family, config=parsed.config,
                            source_format=source_format, path=path, extra=parsed.extra)
