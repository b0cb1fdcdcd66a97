"""Datasets: the official multi-resolution TFRecord format, building it, reading it.

Modules (each one concept; TensorFlow is imported only where it is needed, never by
importing this package):

- `records`   the official record format, level file names, exact 2x2 box levels.
- `alignment` FFHQ face alignment (the official `recreate_aligned_images` steps, fast).
- `alignment_reference` the same steps written plainly with PIL/SciPy: the oracle of
  the tests and the baseline of `benchmarks/bench_dataset.py`.
- `detect`    MTCNN face detection giving the five points the alignment needs.
- `sources`   inputs: image folders and zips, the FFHQ landmark JSON, image decoding.
- `builder`   the streaming, parallel dataset build behind `data_prep/make_tfrecords.py`.
- `tool`      the dataset tool's command line (`stylegan-dataset`, `data_prep/make_tfrecords.py`).
- `synthetic` procedural toy faces for the training demo (no downloads).
- `dataset`   the `tf.data` input pipeline (`ImageDataset`).
"""

_LAZY = {
    "ImageDataset": "stylegan_tf.data.dataset",
    "open_dataset": "stylegan_tf.data.dataset",
    "BuildOptions": "stylegan_tf.data.builder",
    "build_dataset": "stylegan_tf.data.builder",
    "build_synthetic_dataset": "stylegan_tf.data.synthetic",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    """The main entry points, imported on first use (importing this package stays light)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'stylegan_tf.data' has no attribute {name!r}")
