"""The StyleGAN2-ADA / StyleGAN3 dataset format (stylegan_tf.data.ada_format), the CIFAR-10 python
archive and the official --transform sources: every archive is built here, nothing downloads."""

import io
import json
import os
import pickle
import struct
import tarfile
import zipfile

import numpy as np
import PIL.Image
import pytest

from stylegan_tf.data import ada_convert, ada_format, records, sources
from stylegan_tf.data.builder import BuildOptions, build_dataset
from stylegan_tf.data.dataset import ImageDataset, open_dataset
from stylegan_tf.data.tool import main as tool_main
from stylegan_tf.errors import UserError


def _images(n, res=16, channels=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, res, res, channels), dtype=np.uint8)


def _png(image):
    buf = io.BytesIO()
    PIL.Image.fromarray(image[:, :, 0] if image.shape[2] == 1 else image).save(buf, format="png", compress_level=0)
    return buf.getvalue()


def make_ada(path, images, labels=None, as_zip=True):
    """An ADA dataset as the official dataset_tool writes it (names, PNGs, dataset.json), independently of
    the code under test."""
    names = [f"{i:08d}"[:5] + f"/img{i:08d}.png" for i in range(len(images))]
    files = {n: _png(im) for n, im in zip(names, images)}
    files["dataset.json"] = json.dumps({"labels": None if labels is None else
                                        [[n, lab] for n, lab in zip(names, labels)]}).encode()
    if as_zip:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
            for name, data in files.items():
                z.writestr(name, data)
    else:
        for name, data in files.items():
            os.makedirs(os.path.dirname(os.path.join(path, name)), exist_ok=True)
            with open(os.path.join(path, name), "wb") as f:
                f.write(data)
    return str(path)


def _batches(ds):
    out_images, out_labels = [], []
    for batch in ds:
        images, labels = batch if isinstance(batch, tuple) else (batch, None)
        out_images.append(images.numpy())
        if labels is not None:
            out_labels.append(labels.numpy())
    return np.concatenate(out_images), (np.concatenate(out_labels) if out_labels else None)


@pytest.mark.parametrize("as_zip", [True, False])
def test_ada_dataset_reads_images_levels_and_labels(tmp_path, as_zip):
    images, classes = _images(6), [3, 0, 1, 3, 2, 0]
    path = make_ada(tmp_path / ("d.zip" if as_zip else "d"), images, classes, as_zip)
    ds = open_dataset(path)
    assert isinstance(ds, ada_format.AdaDataset)
    assert (ds.resolution, ds.resolutions, ds.num_channels, ds.num_images, ds.label_size) == (16, [4, 8, 16], 3, 6, 4)
    np.testing.assert_array_equal(ds.labels(), np.eye(4, dtype=np.float32)[classes])
    got, labels = _batches(ds.make_tf_dataset(16, 3, shuffle_mb=0, repeat=False, deterministic=True))
    np.testing.assert_array_equal(got, images.astype(np.float32) / 127.5 - 1.0)
    np.testing.assert_array_equal(labels, np.eye(4, dtype=np.float32)[classes])
    # A lower level is the TFRecord writer's box chain of the stored image, exactly.
    got8, _ = _batches(ds.make_tf_dataset(8, 2, shuffle_mb=0, repeat=False, deterministic=True, labels=False))
    want8 = np.stack([records.build_levels(im.transpose(2, 0, 1))[1].transpose(1, 2, 0) for im in images])
    np.testing.assert_array_equal(got8, want8.astype(np.float32) / 127.5 - 1.0)
    np.testing.assert_array_equal(np.stack(list(ds.iter_images(8))), want8)
    # Shuffled streams are deterministic per seed; shards split the images; skip_images skips the stream.
    a = _batches(ds.make_tf_dataset(16, 4, seed=5, deterministic=True, mirror_augment=True).take(3))[0]
    b = _batches(ds.make_tf_dataset(16, 4, seed=5, deterministic=True, mirror_augment=True).take(3))[0]
    np.testing.assert_array_equal(a, b)
    skipped = _batches(ds.make_tf_dataset(16, 2, seed=5, deterministic=True, skip_images=2).take(5))[0]
    whole = _batches(ds.make_tf_dataset(16, 2, seed=5, deterministic=True).take(6))[0]
    np.testing.assert_array_equal(skipped, whole[2:12])
    shard, _ = _batches(ds.make_tf_dataset(16, 3, shuffle_mb=0, repeat=False, deterministic=True, num_shards=2,
                                           shard_index=1))
    np.testing.assert_array_equal(shard, images[1::2].astype(np.float32) / 127.5 - 1.0)
    assert ds.verify() == {16: 6, 8: 6, 4: 6}
    assert len(ds.fingerprint) == 20 and "StyleGAN2-ADA" in ds.describe()


def test_float_labels_and_no_labels(tmp_path):
    vectors = [[0.5, -1.0], [2.0, 0.25], [0.0, 1.0]]
    ds = open_dataset(make_ada(tmp_path / "f.zip", _images(3, 8), vectors))
    np.testing.assert_array_equal(ds.labels(), np.asarray(vectors, np.float32))
    plain = open_dataset(make_ada(tmp_path / "p.zip", _images(3, 8, channels=1)))
    assert (plain.has_labels, plain.num_channels) == (False, 1)


def test_round_trips_are_pixel_and_byte_exact(tmp_path, capsys):
    images, classes = _images(5, 16, seed=1), [1, 0, 2, 2, 1]
    original = make_ada(tmp_path / "orig.zip", images, classes)
    # ADA -> TFRecords (command line): records in file order, every level, one-hot labels.
    assert tool_main(["--from-ada", original, "--dest", str(tmp_path / "t1"), "--no-progress"]) == 0
    t1 = ImageDataset(str(tmp_path / "t1"))
    np.testing.assert_array_equal(np.stack(list(t1.iter_images(16))), images)
    np.testing.assert_array_equal(t1.labels(), np.eye(3, dtype=np.float32)[classes])
    assert t1.verify() == {16: 5, 8: 5, 4: 5}
    # TFRecords -> ADA: the same pixels and labels in the official layout.
    assert tool_main(["--to-ada", str(tmp_path / "t1"), "--dest", str(tmp_path / "z1.zip"), "--no-progress"]) == 0
    with zipfile.ZipFile(tmp_path / "z1.zip") as z, zipfile.ZipFile(original) as o:
        assert z.namelist() == o.namelist()
        for name in o.namelist()[:-1]:
            np.testing.assert_array_equal(np.asarray(PIL.Image.open(io.BytesIO(z.read(name)))),
                                          np.asarray(PIL.Image.open(io.BytesIO(o.read(name)))))
        assert json.loads(z.read("dataset.json")) == json.loads(o.read("dataset.json"))
    # And again: records and zips byte for byte.
    ada_convert.ada_to_tfrecords(str(tmp_path / "z1.zip"), str(tmp_path / "t2"))
    for name in sorted(os.listdir(tmp_path / "t1")):
        if name.endswith((".tfrecords", ".labels")):
            assert (tmp_path / "t1" / name).read_bytes() == (tmp_path / "t2" / name.replace("t1", "t2")).read_bytes()
    ada_convert.tfrecords_to_ada(str(tmp_path / "t2"), str(tmp_path / "z2.zip"))
    assert (tmp_path / "z1.zip").read_bytes() == (tmp_path / "z2.zip").read_bytes()
    # A folder destination, a lower level, and nothing overwritten without --overwrite.
    ada_convert.tfrecords_to_ada(str(tmp_path / "t1"), str(tmp_path / "folder"), resolution=8)
    low = open_dataset(str(tmp_path / "folder"))
    assert (low.resolution, low.num_images) == (8, 5)
    np.testing.assert_array_equal(np.stack(list(low.iter_images())), np.stack(list(t1.iter_images(8))))
    with pytest.raises(UserError, match="--overwrite"):
        ada_convert.tfrecords_to_ada(str(tmp_path / "t1"), str(tmp_path / "z1.zip"))
    assert not [p for p in os.listdir(tmp_path) if ".partial-" in p]


# --- CIFAR-10 ---------------------------------------------------------------------------------------


def _py2_batch_pickle(data: np.ndarray, labels: list[int]) -> bytes:
    """A data batch as Python 2's cPickle wrote CIFAR-10 (protocol 2, str keys and raw data as BINSTRING)."""
    def s(text: bytes) -> bytes:
        return b"U" + bytes([len(text)]) + text

    def k(v: int) -> bytes:
        return b"K" + bytes([v]) if v < 256 else b"M" + struct.pack("<H", v)

    array = (b"cnumpy.core.multiarray\n_reconstruct\n" + b"cnumpy\nndarray\n" + k(0) + b"\x85" + s(b"b") + b"\x87R"
             + b"(" + k(1) + k(data.shape[0]) + k(data.shape[1]) + b"\x86"
             + b"cnumpy\ndtype\n" + s(b"u1") + b"\x89\x88\x87R"
             + b"(" + k(3) + s(b"|") + b"NNN" + b"J\xff\xff\xff\xff" * 2 + k(0) + b"tb"
             + b"\x89" + b"T" + struct.pack("<I", data.size) + data.tobytes() + b"tb")
    label_list = b"](" + b"".join(k(v) for v in labels) + b"e"
    return b"\x80\x02}(" + s(b"data") + array + s(b"labels") + label_list + s(b"batch_label") + s(b"x") + b"u."


def make_cifar(path, batches, py2=True, extra=None):
    with tarfile.open(path, "w:gz") as tar:
        def add(name, data):
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for b, (data, labels) in enumerate(batches, 1):
            add(f"data_batch_{b}", _py2_batch_pickle(data, labels) if py2 and b == 1 else
                pickle.dumps({b"data": data, b"labels": labels}, protocol=2))
        add("batches.meta", pickle.dumps({b"label_names": [f"c{i}".encode() for i in range(10)]}, protocol=2))
        for name, data in (extra or {}).items():
            add(name, data)
    return str(path)


def test_cifar10_archive_is_a_source_with_labels(tmp_path):
    rng = np.random.default_rng(3)
    chw = [rng.integers(0, 256, (3, 3, 32, 32), dtype=np.uint8) for _ in range(2)]
    labels = [[4, 9, 0], [1, 1, 7]]
    archive = make_cifar(tmp_path / "cifar-10-python.tar.gz", [(c.reshape(3, -1), lab) for c, lab in zip(chw, labels)])
    images, got_labels, classes, keys = sources.read_cifar10(archive)
    np.testing.assert_array_equal(images, np.concatenate(chw).transpose(0, 2, 3, 1))
    assert got_labels.tolist() == labels[0] + labels[1] and classes == tuple(f"c{i}" for i in range(10))
    assert keys[0] == "data_batch_1/00000" and keys[3] == "data_batch_2/00000"
    build_dataset(BuildOptions(dest=str(tmp_path / "cifar"), resolution=32, source=archive, shuffle=False, workers=1,
                               progress=False))
    ds = ImageDataset(str(tmp_path / "cifar"))
    np.testing.assert_array_equal(np.stack(list(ds.iter_images(32))), images)
    np.testing.assert_array_equal(ds.labels(), np.eye(10, dtype=np.float32)[labels[0] + labels[1]])
    assert ds.label_classes == tuple(f"c{i}" for i in range(10))


def test_cifar10_pickles_never_run_code(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    data = np.zeros((1, 3072), np.uint8)
    evil = pickle.dumps({b"data": data, b"labels": [0], b"x": Evil()}, protocol=2)
    archive = str(tmp_path / "cifar-10-python.tar.gz")
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
        info.size = len(evil)
        tar.addfile(info, io.BytesIO(evil))
    with pytest.raises(UserError, match=r"data_batch_1: refused to load the global (posix|os)\.system"):
        sources.read_cifar10(archive)
    assert not marker.exists()
    (tmp_path / "b").mkdir()
    bad = make_cifar(tmp_path / "b" / "cifar-10-python.tar.gz", [(np.zeros((2, 100), np.uint8), [0, 1])], py2=False)
    with pytest.raises(UserError, match=r"data_batch_1: 'data' must be uint8 \[N, 3072\]"):
        sources.read_cifar10(bad)
    (tmp_path / "c").mkdir()
    empty = tmp_path / "c" / "cifar-10-python.tar.gz"
    with tarfile.open(empty, "w:gz"):
        pass
    with pytest.raises(UserError, match="no cifar-10-batches-py/data_batch_1"):
        sources.read_cifar10(str(empty))


# --- The official transforms ------------------------------------------------------------------------


def _reference(image, transform, width, height):
    """PIL written out plainly, following the official make_transform's steps."""
    h, w = image.shape[:2]
    if transform == "center-crop":
        s = min(h, w)
        top, left = (h - s) // 2, (w - s) // 2
        return np.asarray(PIL.Image.fromarray(image[top:top + s, left:left + s]).resize((width, height),
                                                                                         PIL.Image.LANCZOS))
    ch = int(np.round(width * h / w))
    if w < width or ch < height:
        return None
    top = (h - ch) // 2
    content = np.asarray(PIL.Image.fromarray(image[top:top + ch]).resize((width, height), PIL.Image.LANCZOS))
    canvas = np.zeros((width, width, 3), np.uint8)
    canvas[(width - height) // 2:(width - height) // 2 + height] = content
    return canvas


def test_transforms_match_the_reference_and_build(tmp_path):
    rng = np.random.default_rng(5)
    photos = {"a.png": rng.integers(0, 256, (36, 45, 3), dtype=np.uint8),
              "b.png": rng.integers(0, 256, (41, 26, 3), dtype=np.uint8),
              "c.png": rng.integers(0, 256, (20, 12, 3), dtype=np.uint8)}  # too narrow for 16x12 wide
    for transform, (w, h) in (("center-crop", (16, 16)), ("center-crop-wide", (16, 12))):
        for image in photos.values():
            got, want = sources.apply_transform(image, transform, w, h), _reference(image, transform, w, h)
            assert (got is None) == (want is None)
            if want is not None:
                np.testing.assert_array_equal(got, want)
    folder = tmp_path / "photos"
    folder.mkdir()
    for name, image in photos.items():
        PIL.Image.fromarray(image).save(folder / name)
    assert tool_main(["--source", str(folder), "--transform", "center-crop-wide", "--resolution", "16x12",
                      "--dest", str(tmp_path / "wide"), "--no-shuffle", "--workers", "1", "--no-progress"]) == 0
    ds = ImageDataset(str(tmp_path / "wide"))
    np.testing.assert_array_equal(np.stack(list(ds.iter_images(16))),
                                  np.stack([_reference(photos[n], "center-crop-wide", 16, 12) for n in ("a.png", "b.png")]))
    skipped = [json.loads(line) for line in (tmp_path / "wide" / "skipped.jsonl").read_text().splitlines()]
    assert [(s["key"], s["reason"]) for s in skipped] == [("c.png", "too_small")]
    with pytest.raises(UserError, match="must be square"):
        BuildOptions(dest=str(tmp_path / "x"), resolution=16, source=str(folder), transform="center-crop",
                     transform_height=8).validate()


# --- Bad inputs ---------------------------------------------------------------------------------------


def test_bad_ada_datasets_are_user_errors(tmp_path):
    (tmp_path / "junk.zip").write_bytes(b"not a zip at all")
    with pytest.raises(UserError, match="junk.zip is not a readable zip"):
        open_dataset(str(tmp_path / "junk.zip"))
    with zipfile.ZipFile(tmp_path / "empty.zip", "w") as z:
        z.writestr("readme.txt", "x")
    with pytest.raises(UserError, match="holds no image files"):
        open_dataset(str(tmp_path / "empty.zip"))
    with zipfile.ZipFile(tmp_path / "wide.zip", "w") as z:
        z.writestr("00000/img00000000.png", _png(np.zeros((8, 16, 3), np.uint8)))
    with pytest.raises(UserError, match="is 16x8: the images of an ADA dataset must be square"):
        open_dataset(str(tmp_path / "wide.zip"))
    path = make_ada(tmp_path / "nolabel.zip", _images(2, 8), [0, 1])
    with zipfile.ZipFile(path, "a") as z:
        z.writestr("00000/img00000002.png", _png(_images(1, 8)[0]))
    with pytest.raises(UserError, match="dataset.json has no label for 1 image.*img00000002.png"):
        open_dataset(path)
    with zipfile.ZipFile(tmp_path / "badjson.zip", "w") as z:
        z.writestr("a.png", _png(_images(1, 8)[0]))
        z.writestr("dataset.json", "{labels: oops")
    with pytest.raises(UserError, match="dataset.json is not valid JSON"):
        open_dataset(str(tmp_path / "badjson.zip"))
    mixed = make_ada(tmp_path / "mixed.zip", _images(2, 8))
    with zipfile.ZipFile(mixed, "a") as z:
        z.writestr("00000/img00000009.png", _png(_images(1, 16)[0]))
    ds = open_dataset(mixed)
    with pytest.raises(UserError, match="img00000009.png is 16x16; the dataset's images are 8x8"):
        ds.verify()
    with pytest.raises(UserError, match="img00000009.png"):
        with ds.translate_errors():
            _batches(ds.make_tf_dataset(8, 1, shuffle_mb=0, repeat=False, deterministic=True))
