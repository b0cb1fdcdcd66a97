"""Per-network layer tables and parameter counts (what `train.py --dry-run` prints).

Rows follow the official network printout: one row per block, with trainable
parameters, non-trainable state (fixed noise, w_avg, lod) and the output shape at
the full resolution (NHWC, batch dimension N).
"""

from __future__ import annotations

import numpy as np


def _count(weights) -> int:
    return int(sum(np.prod(w.shape) for w in weights))


def _row(name, layer, shape):
    nontrainable = [w for w in layer.non_trainable_weights if "seed_generator" not in w.path]
    return name, _count(layer.trainable_weights), _count(nontrainable), shape


def rows(network) -> list[tuple[str, int, int, str]]:
    """(name, parameters, state, output shape) rows of a network: its `summary_layers()` (name, layer,
    output shape) triples (default: one row per child layer), then a row of its own weights outside
    them (w_avg, lod, a label embedding)."""
    if hasattr(network, "summary_layers"):
        parts = network.summary_layers()
    else:
        parts = [(layer.name, layer, "-") for layer in network._flatten_layers(include_self=False, recursive=False)]
    out = [_row(name, layer, shape) for name, layer, shape in parts]
    listed = {id(w) for _, layer, _ in parts for w in layer.weights}
    rest = [w for w in network.weights if id(w) not in listed and "seed_generator" not in w.path]
    if rest:
        out.append((", ".join(w.name for w in rest), _count([w for w in rest if w.trainable]),
                    _count([w for w in rest if not w.trainable]), ", ".join(str(list(w.shape)) for w in rest)))
    return out



def format_table(title: str, rows: list[tuple[str, int, int, str]]) -> str:
    width = max(len(r[0]) for r in rows) + 2
    lines = [title, f"{'Layer':<{width}}{'Params':>12}{'State':>11}   Output shape", "-" * (width + 40)]
    for name, params, state, shape in rows:
        lines.append(f"{name:<{width}}{params:>12,}{state:>11,}   {shape}")
    lines.append("-" * (width + 40))
    lines.append(f"{'Total':<{width}}{sum(r[1] for r in rows):>12,}{sum(r[2] for r in rows):>11,}")
    return "\n".join(lines)


def describe_networks(G, D) -> str:
    """Both tables and the totals, as printed by `train.py --dry-run`."""
    c = G.config
    mapping = _count(G.mapping_network.trainable_weights)
    synthesis = _count(G.synthesis_network.trainable_weights)
    parts = [
        format_table(f"Generator ({c.resolution}x{c.resolution}, {c.num_layers} style layers)", rows(G)),
        f"Generator trainable parameters: {mapping + synthesis:,} (mapping {mapping:,}; synthesis {synthesis:,})",
        "",
        format_table("Discriminator", rows(D)),
        f"Discriminator trainable parameters: {_count(D.trainable_weights):,}",
    ]
    return "\n".join(parts)
