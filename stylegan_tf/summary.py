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


def _family_rows(network):
    """Rows of the (name, layer, output shape) triples of a network's `summary_layers()` (families
    after v1; default: one row per child layer), then a row of its own weights outside them (w_avg)."""
    if hasattr(network, "summary_layers"):
        parts = network.summary_layers()
    else:
        parts = [(layer.name, layer, "-") for layer in network._flatten_layers(include_self=False, recursive=False)]
    rows = [_row(name, layer, shape) for name, layer, shape in parts]
    listed = {id(w) for _, layer, _ in parts for w in layer.weights}
    rest = [w for w in network.weights if id(w) not in listed and "seed_generator" not in w.path]
    if rest:
        rows.append((", ".join(w.name for w in rest), _count([w for w in rest if w.trainable]),
                     _count([w for w in rest if not w.trainable]), ", ".join(str(list(w.shape)) for w in rest)))
    return rows


def generator_rows(G) -> list[tuple[str, int, int, str]]:
    if getattr(G, "family", "stylegan1") != "stylegan1":
        return _family_rows(G)
    c = G.config
    rows = []
    mapping = G.mapping_network
    if mapping.label_embedding is not None:
        rows.append(("mapping/label_embedding", int(np.prod(mapping.label_embedding.shape)), 0,
                     f"[N, {c.latent_size}]"))
    for layer in mapping.dense_layers:
        rows.append(_row(f"mapping/{layer.name}", layer, f"[N, {layer.units}]"))
    rows.append(("mapping/broadcast", 0, 0, f"[N, {c.num_layers}, {c.w_dim}]"))
    syn = G.synthesis_network
    rows.append(_row("synthesis/4x4", syn.input_block, f"[N, 4, 4, {c.nf(1)}]"))
    for block in syn.blocks:
        res = 2**block.res_log2
        rows.append(_row(f"synthesis/{res}x{res}", block, f"[N, {res}, {res}, {block.channels}]"))
    for r, to_rgb in zip(range(2, c.resolution_log2 + 1), syn.to_rgb):
        rows.append(_row(f"synthesis/to_rgb_{2**r}", to_rgb, f"[N, {2**r}, {2**r}, {c.num_channels}]"))
    rows.append(("w_avg, lod", 0, c.w_dim + 1, f"[{c.w_dim}], []"))
    return rows


def discriminator_rows(D) -> list[tuple[str, int, int, str]]:
    if getattr(D, "family", "stylegan1") != "stylegan1":
        return _family_rows(D)
    c = D.config
    rows = []
    for r, layer in zip(range(2, c.resolution_log2 + 1), D.from_rgb):
        rows.append(_row(f"from_rgb_{2**r}", layer, f"[N, {2**r}, {2**r}, {c.nf(r - 1)}]"))
    for block in reversed(D.blocks):
        res = 2**block.res_log2
        rows.append(_row(f"{res}x{res}", block, f"[N, {res // 2}, {res // 2}, {block.out_channels}]"))
    rows.append(_row("4x4 (mbstd, conv, dense0, dense1)", D.head, f"[N, {max(c.label_size, 1)}]"))
    rows.append(("lod", 0, 1, "[]"))
    return rows


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
        format_table(f"Generator ({c.resolution}x{c.resolution}, {c.num_layers} style layers)", generator_rows(G)),
        f"Generator trainable parameters: {mapping + synthesis:,} (mapping {mapping:,}; synthesis {synthesis:,})",
        "",
        format_table("Discriminator", discriminator_rows(D)),
        f"Discriminator trainable parameters: {_count(D.trainable_weights):,}",
    ]
    return "\n".join(parts)
