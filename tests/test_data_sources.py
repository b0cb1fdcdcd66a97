"""Every `--source` is a `sources.Source` (files, the synthetic faces): the builds it gives are the
ones written before the synthetic faces became a Source, byte for byte (digests recorded then)."""

import hashlib
import json
import os

import numpy as np
import PIL.Image
import pytest

from stylegan_tf.data import sources, synthetic_faces
from stylegan_tf.data.builder import BuildOptions, build_dataset
from stylegan_tf.data.synthetic import build_synthetic_dataset
from stylegan_tf.errors import UserError


def fingerprint(dest: str, png_dir: str | None = None) -> str:
    """sha256 over every file of a dataset (dataset.json without its time, tool and absolute paths) and,
    with `png_dir`, the pixels of the --save-aligned PNGs (the encoder's bytes may vary by version)."""
    digest = hashlib.sha256()
    for name in sorted(os.listdir(dest)):
        with open(os.path.join(dest, name), "rb") as f:
            data = f.read()
        if name == "dataset.json":
            info = json.loads(data)
            for key in ("created", "tool"):
                info.pop(key)
            info["source"]["path"] = os.path.basename(info["source"]["path"])
            data = json.dumps(info, sort_keys=False).encode()
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    for name in sorted(os.listdir(png_dir)) if png_dir else []:
        digest.update(name.encode() + np.asarray(PIL.Image.open(os.path.join(png_dir, name))).tobytes())
    return digest.hexdigest()


def _photos(folder) -> None:
    os.makedirs(folder)
    rng = np.random.default_rng(7)
    for i in range(6):
        h, w = 24 + 4 * i, 40 - 2 * i
        PIL.Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(os.path.join(folder, f"p{i}.png"))


BUILDS = {
    "demo": lambda tmp: (build_synthetic_dataset(str(tmp / "ds"), resolution=32, num_images=64, seed=0), None),
    "demo_seeded_sharded": lambda tmp: (build_synthetic_dataset(str(tmp / "ds"), resolution=16, num_images=30,
                                                                seed=3, shards=3), None),
    "cli_synthetic": lambda tmp: (build_dataset(BuildOptions(
        dest=str(tmp / "ds"), resolution=16, source="synthetic:faces", num_images=21, synthetic_seed=5,
        max_images=17, save_aligned=str(tmp / "png"), workers=1, progress=False)), str(tmp / "png")),
    "folder": lambda tmp: (_photos(tmp / "photos"), build_dataset(BuildOptions(
        dest=str(tmp / "ds"), resolution=16, source=str(tmp / "photos"), crop="pad", allow_upscale=True,
        save_aligned=str(tmp / "png"), workers=1, progress=False)))[1:] + (str(tmp / "png"),),
}

# Digests of the builds above, written by the builder before the synthetic faces became a Source.
BEFORE = {
    "demo": "76a99c29e85e11970431609dc15752ed0a2359bf88186ae10efffc8e42f1b6d5",
    "demo_seeded_sharded": "278092a8f1de5ce156bd99a3198c87a38784350ad0469d315063ad1f64c03717",
    "cli_synthetic": "076fd07cc5b79401ce88e834b821d7811938970251b5c5607dad9dd80a817e3f",
    "folder": "bed8626a53c97ce60f33d30b6e7eb1585cd94e7e0a7937b81ce8646224887ed2",
}


@pytest.mark.parametrize("name", sorted(BUILDS))
def test_builds_are_byte_identical_to_those_before_the_source_protocol(tmp_path, name):
    summary, png_dir = BUILDS[name](tmp_path)
    assert fingerprint(summary.dest, png_dir) == BEFORE[name]


def test_open_source_gives_each_kind_its_source(tmp_path):
    _photos(tmp_path / "photos")
    folder = sources.open_source(str(tmp_path / "photos"))
    assert isinstance(folder, sources.FileSource)
    assert folder.keys() == [f"p{i}.png" for i in range(6)]
    assert folder.image("p2.png").shape == (32, 36, 3)
    assert folder.info() == {"path": str(tmp_path / "photos"), "kind": "folder"}

    faces = sources.open_source("synthetic:faces", num_images=12, seed=4, resolution=8)
    assert isinstance(faces, synthetic_faces.SyntheticSource)
    assert faces.keys() == [f"{i:02d}" for i in range(12)]
    np.testing.assert_array_equal(faces.image("07"), synthetic_faces.synthetic_face(8, 7, seed=4))
    assert faces.info() == {"path": "synthetic:faces", "kind": "synthetic", "num_images": 12, "seed": 4}


def test_a_file_source_pickles_without_its_open_zip(tmp_path):
    import pickle
    import zipfile

    _photos(tmp_path / "photos")
    with zipfile.ZipFile(tmp_path / "photos.zip", "w") as archive:
        archive.write(tmp_path / "photos" / "p0.png", "p0.png")
    source = sources.open_source(str(tmp_path / "photos.zip"))
    first = source.image("p0.png")
    copy = pickle.loads(pickle.dumps(source))
    np.testing.assert_array_equal(copy.image("p0.png"), first)
    assert copy.info()["kind"] == "zip"


def test_a_synthetic_source_refuses_one_channel(tmp_path):
    with pytest.raises(UserError, match="--channels"):
        build_dataset(BuildOptions(dest=str(tmp_path / "ds"), resolution=8, source="synthetic:faces", num_images=2,
                                   channels=1, progress=False))
