"""Semantic editing in W: finding directions and moving latents along them (any family).

Three ways to find a direction d in W (unit vectors, [w_dim]):

- `sefa(G, layers)`: closed-form factorisation (SeFa; Shen & Zhou, "Closed-Form Factorization of
  Latent Semantics in GANs", CVPR 2021, sec. 3.2). The style affines of the chosen layers are
  stacked into A [sum of their output widths, w_dim]; the directions are the eigenvectors of
  A^T A with the largest eigenvalues (the unit d that change the styles most, |A d|^2). As the
  authors' reference code (genforce/sefa `factorize_weight`), each row of A (the weight vector of
  one style channel) is first scaled to unit length, so wide layers and large weights do not
  dominate; `normalize=False` gives the paper's plain A^T A. The affines are found and measured
  by `stylegan_tf.probes.style_affines` (every affine reading a chosen w row: StyleGAN2's toRGB
  affines included).
- `ganspace(G)`: principal axes of w = mapping(z) over sampled z (GANSpace; Härkönen et al.,
  NeurIPS 2020, sec. 2: PCA in W of StyleGAN/StyleGAN2), ordered by variance.
- `interfacegan(w, labels)`: the unit normal of a linear classifier separating w with a binary
  attribute from w without it (InterFaceGAN; Shen et al., CVPR 2020, sec. 2.2, which uses a
  linear SVM). Here an L2-regularised logistic regression fitted with scipy's L-BFGS (scipy is
  already a dependency; a linear SVM's hyperplane and this one agree on separable data up to
  the regularisation), pointing from label 0 to label 1.

Editing (`apply_direction`): w' = w + alpha * d on the chosen layers (all by default), other layers
unchanged, as SeFa and InterFaceGAN's layer-wise editing. `edit_images` renders seeds or projected
photos at several strengths (rows = latents, columns = strengths): the figure of
`python -m stylegan_tf.edit figure`. Directions are saved as `.npz` (`save_directions`, atomic) with
the method, the layers they were computed for and their scores (eigenvalues, variances, accuracy).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from stylegan_tf.errors import UserError

METHODS = ("sefa", "ganspace", "interfacegan")


# Finding directions ---------------------------------------------------------------------------
def _fix_signs(vectors: np.ndarray) -> np.ndarray:
    """Eigenvectors have no sign: make each row's largest-magnitude entry positive (reproducible files)."""
    index = np.argmax(np.abs(vectors), axis=1)
    return vectors * np.sign(vectors[np.arange(len(vectors)), index])[:, None]


def style_matrix(G, layers: Sequence[int] | None = None, normalize: bool = True) -> np.ndarray:
    """SeFa's A [sum of output widths, w_dim] (float64): the style affines reading w rows `layers`
    (None: all), stacked; with `normalize`, each row scaled to unit length (rows of zeros dropped)."""
    from stylegan_tf import probes

    affines = probes.style_affines(G)
    chosen = set(range(int(G.num_layers)) if layers is None else layers)
    matrix = np.concatenate([a.matrix for a in affines if a.w_index in chosen] or [np.zeros((0, G.config.w_dim))])
    if normalize:
        norms = np.linalg.norm(matrix, axis=1)
        matrix = matrix[norms > 0] / norms[norms > 0, None]
    if not len(matrix):
        raise UserError(f"--layers: no style affine with non-zero weights reads layers {sorted(chosen)}.")
    return matrix


def sefa(G, layers: Sequence[int] | None = None, num: int | None = None,
         normalize: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """SeFa directions [num, w_dim] float32 (top eigenvectors of A^T A) and their eigenvalues [num]."""
    matrix = style_matrix(G, layers, normalize)
    values, vectors = np.linalg.eigh(matrix.T @ matrix)
    order = np.argsort(values)[::-1][:num]
    return _fix_signs(vectors[:, order].T).astype(np.float32), values[order]


def sample_w(G, num_samples: int, seed: int = 0, class_index: int | None = None,
             batch_size: int = 1024) -> np.ndarray:
    """w = mapping(z) [num_samples, w_dim] (row 0 of each w) for z ~ N(0, I) from `seed`."""
    from stylegan_tf.sampling import class_labels

    if num_samples < 2:
        raise UserError(f"--samples must be at least 2. Received: --samples={num_samples}")
    rnd = np.random.RandomState(seed)
    out = []
    for start in range(0, num_samples, batch_size):
        n = min(batch_size, num_samples - start)
        z = rnd.randn(n, int(G.config.latent_size)).astype(np.float32)
        labels = class_labels(G, class_index, n)
        w = G.mapping(z, labels) if labels is not None else G.mapping(z)
        out.append(np.asarray(w, np.float32)[:, 0])
    return np.concatenate(out)


def ganspace(G, num: int | None = None, num_samples: int = 10000, seed: int = 0,
             class_index: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """GANSpace directions [num, w_dim] float32 (principal axes of sampled w) and the variance of w
    along each [num] (so sqrt gives one standard deviation in W units)."""
    return pca(sample_w(G, num_samples, seed, class_index), num)


def pca(samples: np.ndarray, num: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Principal axes [num, D] float32 of samples [N, D] by variance, and the variances [num]."""
    x = np.asarray(samples, np.float64)
    x = x - x.mean(axis=0)
    _, singular, vt = np.linalg.svd(x, full_matrices=False)
    return _fix_signs(vt[:num]).astype(np.float32), (singular[:num] ** 2) / (len(x) - 1)


def interfacegan(w: np.ndarray, labels: np.ndarray, l2: float = 1e-2) -> tuple[np.ndarray, float, float]:
    """InterFaceGAN direction: (unit normal [w_dim] float32 of a logistic-regression boundary between
    labels 0 and 1, pointing to 1; its offset b (boundary: d . w + b = 0); training accuracy).

    w: [N, w_dim] or [N, L, w_dim] (row 0 used); labels: [N] of 0/1, both present.
    """
    from scipy.optimize import minimize

    w = np.asarray(w, np.float64)
    x = w[:, 0] if w.ndim == 3 else w
    y = np.asarray(labels).reshape(-1)
    if len(y) != len(x):
        raise UserError(f"--labels: {len(y)} labels for {len(x)} latents.")
    if not np.isin(y, (0, 1)).all() or len(np.unique(y)) != 2:
        raise UserError("--labels: labels must be 0 or 1, and both must occur. "
                        f"Received values: {sorted(set(np.unique(y).tolist()))}")
    sign = 2.0 * y - 1.0
    n, dim = x.shape

    def loss(params):
        v, b = params[:dim], params[dim]
        margin = sign * (x @ v + b)
        value = np.logaddexp(0.0, -margin).mean() + 0.5 * l2 * v @ v
        p = -sign * np.exp(-np.logaddexp(0.0, margin))    # d loss_i / d (x_i . v + b)
        return value, np.concatenate([x.T @ p / n + l2 * v, [p.mean()]])

    result = minimize(loss, np.zeros(dim + 1), jac=True, method="L-BFGS-B")
    v, b = result.x[:dim], result.x[dim]
    norm = np.linalg.norm(v)
    if norm == 0:
        raise UserError("--labels: the classifier found no direction (the labels do not depend on w).")
    accuracy = float(((x @ v + b > 0) == (y == 1)).mean())
    return (v / norm).astype(np.float32), float(b / norm), accuracy


def read_labels(path: str, option: str = "--labels") -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray]:
    """(seeds [N] or None, w [N, ...] or None, labels [N]) from a CSV of `seed,label` lines (a header
    line is allowed) or an `.npz` with `w` and `labels`."""
    if not os.path.isfile(path):
        raise UserError(f"{option}: no such file. Received: {option}={path!r}")
    if path.endswith(".npz"):
        try:
            with np.load(path) as data:
                if "w" not in data or "labels" not in data:
                    raise UserError(f"{option}: {path!r} needs arrays 'w' and 'labels'. Found: {sorted(data.files)}")
                return None, np.asarray(data["w"], np.float32), np.asarray(data["labels"])
        except (OSError, ValueError) as error:
            if isinstance(error, UserError):
                raise
            raise UserError(f"{option}: cannot read {path!r} as .npz: {error}") from error
    seeds, labels = [], []
    with open(path, newline="") as f:
        for number, row in enumerate(csv.reader(f), 1):
            if not row or row[0].strip().startswith("#"):
                continue
            try:
                seed, label = int(row[0]), int(row[1])
            except (ValueError, IndexError):
                if number == 1:
                    continue    # a header line
                raise UserError(f"{option}: line {number} of {path!r} is not 'seed,label' (integers). "
                                f"Received: {','.join(row)!r}") from None
            seeds.append(seed)
            labels.append(label)
    if not seeds:
        raise UserError(f"{option}: {path!r} has no 'seed,label' lines.")
    return np.asarray(seeds, np.int64), None, np.asarray(labels)


# Applying a direction -------------------------------------------------------------------------
def apply_direction(w: np.ndarray, direction: np.ndarray, strength: float,
                    layers: Sequence[int] | None = None) -> np.ndarray:
    """w' = w + strength * direction on rows `layers` (None: all) of w [N, L, D]; float32 copy."""
    w = np.array(w, np.float32)
    direction = np.asarray(direction, np.float32).reshape(-1)
    if direction.shape[0] != w.shape[-1]:
        raise UserError(f"--direction has {direction.shape[0]} values; this network's w has {w.shape[-1]}.")
    rows = slice(None) if layers is None else list(layers)
    w[:, rows] += float(strength) * direction
    return w


def edit_images(G, w: np.ndarray, noise: np.ndarray, direction: np.ndarray, strengths: Sequence[float],
                layers: Sequence[int] | None = None, batch_size: int = 8) -> np.ndarray:
    """Images uint8 [N, S, H, W, C]: each w [N, L, D] (flat noise [N, noise_size]) moved by each strength."""
    from stylegan_tf.sampling import synthesize

    edited = np.stack([apply_direction(w, direction, a, layers) for a in strengths], axis=1)   # [N, S, L, D]
    images = synthesize(G, edited.reshape((-1,) + w.shape[1:]), np.repeat(noise, len(strengths), axis=0),
                        batch_size)
    return images.reshape((len(w), len(strengths)) + images.shape[1:])


def edit_figure(images: np.ndarray, row_names: Sequence[str], strengths: Sequence[float], title: str,
                zoom: int = 1):
    """The editing figure (PIL): rows = latents, columns = strengths."""
    from stylegan_tf.figures import annotated_grid

    return annotated_grid([list(row) for row in images], list(row_names), [f"{a:+g}" for a in strengths],
                          title=title, zoom=zoom)


# Files ----------------------------------------------------------------------------------------
def save_directions(path, directions: np.ndarray, method: str, layers: Sequence[int] | None,
                    scores: np.ndarray, **extra) -> Path:
    """Writes directions [K, w_dim] with `method`, `layers` (the w rows they were computed for / are
    meant for; empty = all) and `scores` [K] as `.npz`, atomically."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}. Received: {method!r}")
    path = Path(path)
    if path.suffix != ".npz":
        raise UserError(f"--out: directions are saved as .npz. Received: --out={str(path)!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}.npz")
    try:
        np.savez(tmp, directions=np.asarray(directions, np.float32).reshape(-1, np.shape(directions)[-1]),
                 method=np.asarray(method), layers=np.asarray([] if layers is None else list(layers), np.int64),
                 scores=np.asarray(scores, np.float64).reshape(-1), **extra)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_directions(path, w_dim: int | None = None, option: str = "--directions") -> dict:
    """A directions file as a dict: `directions` [K, w_dim] float32, `method`, `layers` (list, None = all),
    `scores` [K]. A missing or malformed file, or one for another w_dim, is a `UserError`."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise UserError(f"{option}: no such file. Received: {option}={path!r}")
    try:
        with np.load(path, allow_pickle=False) as data:
            if "directions" not in data:
                raise UserError(f"{option}: {path!r} has no 'directions' array (not a file of "
                                f"python -m stylegan_tf.edit). Found: {sorted(data.files)}")
            directions = np.asarray(data["directions"], np.float32)
            method = str(data["method"]) if "method" in data else "unknown"
            layers = [int(i) for i in data["layers"]] if "layers" in data else []
            scores = np.asarray(data["scores"]) if "scores" in data else np.zeros(len(directions))
    except UserError:
        raise
    except (OSError, ValueError) as error:
        raise UserError(f"{option}: cannot read {path!r} as .npz: {error}") from error
    if directions.ndim == 1:
        directions = directions[None]
    if directions.ndim != 2 or (w_dim is not None and directions.shape[1] != w_dim):
        raise UserError(f"{option}: {path!r} holds directions of shape {directions.shape}; this network needs "
                        f"[K, {w_dim}] (they were found for another network).")
    return dict(directions=directions, method=method, layers=layers or None, scores=scores)


def pick_direction(directions: dict, index: int, option: str = "--index") -> np.ndarray:
    """Direction `index` of a loaded file, as a unit vector."""
    count = len(directions["directions"])
    if not 0 <= index < count:
        raise UserError(f"{option} must be in [0, {count}) for this file. Received: {option}={index}")
    d = directions["directions"][index].astype(np.float64)
    return (d / max(np.linalg.norm(d), 1e-12)).astype(np.float32)
