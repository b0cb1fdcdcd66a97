"""The dataset build: sources, bad inputs and their reasons, labels, shuffling, atomic publishing,
constant memory, --from-tfrecords, the FFHQ JSON and detection paths, and the command line."""

import json
import os
import signal
import subprocess
import sys
import time
import tracemalloc
import zipfile

import numpy as np
import PIL.Image
import pytest

from stylegan_tf.data import alignment, records, sources
from stylegan_tf.data.builder import BuildOptions, build_dataset
from stylegan_tf.data.dataset import ImageDataset
from stylegan_tf.data.synthetic import build_synthetic_dataset, synthetic_face
from stylegan_tf.errors import UserError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(REPO, "data_prep", "make_tfrecords.py")


def _rgb(seed: int, h: int = 32, w: int = 32) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _build(tmp_path, source, resolution=32, **kwargs) -> tuple:
    dest = str(tmp_path / kwargs.pop("dest_name", "ds"))
    options = BuildOptions(dest=dest, resolution=resolution, source=str(source), workers=kwargs.pop("workers", 1),
                           progress=False, **kwargs)
    return build_dataset(options), dest


def _report(dest: str) -> dict:
    with open(os.path.join(dest, "skipped.jsonl")) as f:
        return {row["key"]: row["reason"] for row in map(json.loads, f)}


def _stored(dest: str, resolution: int) -> dict:
    """key -> uint8 HWC image of one level, from inputs.txt and the reader."""
    keys = open(os.path.join(dest, "inputs.txt")).read().split("\n")[:-1]
    images = list(ImageDataset(dest).iter_images(resolution))
    assert len(keys) == len(images)
    return dict(zip(keys, images))


def test_every_bad_input_is_skipped_with_its_reason(tmp_path):
    src = tmp_path / "photos"
    (src / "sub").mkdir(parents=True)
    PIL.Image.fromarray(_rgb(0, 40, 48)).save(src / "good.png")
    PIL.Image.fromarray(_rgb(1)).save(src / "sub" / "nested.jpg", quality=95)
    PIL.Image.fromarray(_rgb(2, 8, 8)).save(src / "tiny.png")
    PIL.Image.fromarray(_rgb(3, 64, 64)).save(src / "cut.png")
    data = (src / "cut.png").read_bytes()
    (src / "cut.png").write_bytes(data[: len(data) // 2])
    (src / "notes.txt").write_text("not an image")
    (src / "empty.png").write_bytes(b"")
    os.symlink(src / "missing.png", src / "dangling.png")
    (src / ".hidden.png").write_bytes(b"ignored")

    summary, dest = _build(tmp_path, src)
    expected = {"tiny.png": "too_small", "cut.png": "truncated", "notes.txt": "not_an_image",
                "empty.png": "not_an_image", "dangling.png": "unreadable"}
    assert _report(dest) == expected
    assert summary.num_images == 2 and summary.num_inputs == 7
    info = json.load(open(os.path.join(dest, "dataset.json")))
    assert info["skipped"]["by_reason"] == {"not_an_image": 2, "too_small": 1, "truncated": 1, "unreadable": 1}
    assert info["num_images"] == 2 and info["inputs"] == {"total": 7, "processed": 7, "used": 2, "skipped": 5}
    assert sorted(_stored(dest, 32)) == ["good.png", "sub/nested.jpg"]
    text = summary.format()
    assert "too_small" in text and "skipped.jsonl" in text


def test_pixel_formats_and_exif_orientation(tmp_path):
    src = tmp_path / "modes"
    src.mkdir()
    base = _rgb(5)
    PIL.Image.fromarray(base[:, :, 0]).save(src / "gray.png")
    PIL.Image.fromarray(np.dstack([base, np.full((32, 32), 7, np.uint8)])).save(src / "rgba.png")
    PIL.Image.fromarray(base).convert("P", palette=PIL.Image.Palette.ADAPTIVE).save(src / "palette.gif")
    PIL.Image.fromarray(base).convert("CMYK").save(src / "cmyk.tif")
    PIL.Image.fromarray(base[:, :, 1].astype(np.uint16) * 257).save(src / "deep.png")  # 16-bit gray
    tall = np.zeros((32, 64, 3), np.uint8)
    tall[:16, :, 0] = 255  # red top half
    tall[16:, :, 2] = 255  # blue bottom half
    exif = PIL.Image.Exif()
    exif[0x0112] = 6       # displayed rotated 90 degrees clockwise
    PIL.Image.fromarray(tall).save(src / "rotated.png", exif=exif)

    summary, dest = _build(tmp_path, src)
    assert summary.num_images == 6 and not summary.skipped
    got = _stored(dest, 32)
    np.testing.assert_array_equal(got["gray.png"], np.repeat(base[:, :, :1], 3, axis=2))
    np.testing.assert_array_equal(got["rgba.png"], base)                 # alpha dropped
    np.testing.assert_array_equal(got["deep.png"], np.repeat(base[:, :, 1:2], 3, axis=2))  # 16 -> 8 bits, scaled
    np.testing.assert_array_equal(got["cmyk.tif"], np.asarray(PIL.Image.open(src / "cmyk.tif").convert("RGB")))
    assert got["palette.gif"].shape == (32, 32, 3)
    upright = np.rot90(tall, k=-1)                                       # 64 tall x 32 wide, red on the right
    np.testing.assert_array_equal(got["rotated.png"], upright[16:48])    # centre crop


def test_round_trip_exact_pixels_and_box_levels(tmp_path):
    src = tmp_path / "imgs"
    src.mkdir()
    inputs = {f"a{i}.png": _rgb(10 + i) for i in range(5)}
    inputs.update({f"b{i}.png": _rgb(20 + i, 64, 64) for i in range(3)})  # 2x the target: official box chain
    for name, image in inputs.items():
        PIL.Image.fromarray(image).save(src / name)
    summary, dest = _build(tmp_path, src, shards=2)
    assert summary.num_images == 8
    dataset = ImageDataset(dest)
    keys = open(os.path.join(dest, "inputs.txt")).read().split()
    # The training pipeline, in record order, gives back the exact pixels.
    batches = dataset.make_tf_dataset(32, 4, shuffle_mb=0, repeat=False, deterministic=True)
    pixels = np.concatenate([np.rint((b.numpy() + 1.0) * 127.5) for b in batches]).astype(np.uint8)
    assert pixels.shape == (8, 32, 32, 3)
    for key, image in zip(keys, pixels):
        top = inputs[key]
        if top.shape[0] == 64:
            top = np.rint(top.astype(np.float64).reshape(32, 2, 32, 2, 3).mean(axis=(1, 3))).astype(np.uint8)
        np.testing.assert_array_equal(image, top)
    for res in (16, 8, 4):
        for key, image in _stored(dest, res).items():
            full = inputs[key].astype(np.float64)
            f = full.shape[0] // res
            np.testing.assert_array_equal(image, np.rint(full.reshape(res, f, res, f, 3).mean(axis=(1, 3))))


def test_shuffle_is_the_official_order(tmp_path):
    src = tmp_path / "imgs"
    src.mkdir()
    names = [f"{i:03d}.png" for i in range(12)]
    for i, name in enumerate(names):
        PIL.Image.fromarray(_rgb(i)).save(src / name)
    _, dest = _build(tmp_path, src)
    order = np.arange(12)
    np.random.RandomState(123).shuffle(order)  # official TFRecordExporter.choose_shuffled_order
    assert open(os.path.join(dest, "inputs.txt")).read().split() == [names[i] for i in order]
    _, dest2 = _build(tmp_path, src, dest_name="ds2", shuffle_seed=7)
    assert open(os.path.join(dest2, "inputs.txt")).read().split() != [names[i] for i in order]
    _, dest3 = _build(tmp_path, src, dest_name="ds3", shuffle=False)
    assert open(os.path.join(dest3, "inputs.txt")).read().split() == names


def test_parallel_zip_build_equals_serial_folder_build(tmp_path):
    src = tmp_path / "imgs"
    src.mkdir()
    with zipfile.ZipFile(tmp_path / "imgs.zip", "w") as archive:
        for i in range(20):
            PIL.Image.fromarray(_rgb(i, 40, 36)).save(src / f"{i:02d}.png")
            archive.write(src / f"{i:02d}.png", f"{i:02d}.png")
        archive.writestr("readme.md", "not an image")
    (src / "readme.md").write_text("not an image")
    serial, dest_a = _build(tmp_path, src, dest_name="serial", workers=1)
    parallel, dest_b = _build(tmp_path, tmp_path / "imgs.zip", dest_name="parallel", workers=2)
    assert serial.num_images == parallel.num_images == 20
    assert _report(dest_b) == {"readme.md": "not_an_image"}
    for name in os.listdir(dest_a):
        if name.endswith(".tfrecords"):
            assert open(os.path.join(dest_a, name), "rb").read() == \
                open(os.path.join(dest_b, name.replace("serial", "parallel")), "rb").read()


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_labels_become_the_official_one_hot_file(tmp_path, fmt):
    src = tmp_path / "imgs"
    src.mkdir()
    classes = {"cat0.png": "cat", "dog0.png": "dog", "cat1.png": "cat", "bird.png": "bird"}
    for i, name in enumerate([*classes, "unlabelled.png"]):
        PIL.Image.fromarray(_rgb(i)).save(src / name)
    if fmt == "json":
        (tmp_path / "labels.json").write_text(json.dumps(classes))
        labels_file = tmp_path / "labels.json"
    else:
        (tmp_path / "labels.csv").write_text("file,class\n" + "".join(f"{k},{v}\n" for k, v in classes.items()))
        labels_file = tmp_path / "labels.csv"
    summary, dest = _build(tmp_path, src, labels=str(labels_file))
    assert summary.num_images == 4 and _report(dest) == {"unlabelled.png": "label_missing"}
    dataset = ImageDataset(dest)
    assert dataset.label_size == 3 and dataset.label_classes == ("bird", "cat", "dog")
    onehot = np.load(os.path.join(dest, "ds-rxx.labels"))
    assert onehot.dtype == np.float32 and onehot.shape == (4, 3)
    keys = open(os.path.join(dest, "inputs.txt")).read().split()
    names = ("bird", "cat", "dog")
    assert [names[i] for i in onehot.argmax(axis=1)] == [classes[k] for k in keys]
    images, labels = next(iter(dataset.make_tf_dataset(32, 4, shuffle_mb=0, deterministic=True)))
    np.testing.assert_array_equal(labels.numpy(), onehot)


def test_strict_fails_at_the_first_skip_and_publishes_nothing(tmp_path):
    src = tmp_path / "imgs"
    src.mkdir()
    PIL.Image.fromarray(_rgb(0)).save(src / "ok.png")
    (src / "bad.png").write_bytes(b"\x89PNG garbage")
    with pytest.raises(UserError, match="--strict: input bad.png was skipped \\(not_an_image"):
        _build(tmp_path, src, strict=True)
    assert not os.path.exists(tmp_path / "ds")
    assert [p for p in os.listdir(tmp_path) if "partial" in p] == []


def test_existing_dataset_needs_overwrite(tmp_path):
    build_synthetic_dataset(str(tmp_path / "ds"), resolution=8, num_images=4)
    with pytest.raises(UserError, match="already holds a dataset; pass --overwrite"):
        build_synthetic_dataset(str(tmp_path / "ds"), resolution=8, num_images=4)
    summary = build_synthetic_dataset(str(tmp_path / "ds"), resolution=16, num_images=5, overwrite=True)
    assert summary.num_images == 5 and ImageDataset(str(tmp_path / "ds")).resolution == 16


def test_bad_options_name_the_option(tmp_path):
    with pytest.raises(UserError, match="--resolution must be a power of two"):
        BuildOptions(dest=str(tmp_path / "d"), resolution=48, source=str(tmp_path)).validate()
    with pytest.raises(UserError, match="--landmarks"):
        BuildOptions(dest=str(tmp_path / "d"), resolution=32, source=str(tmp_path), alignment="ffhq-json").validate()
    with pytest.raises(UserError, match="--source .* does not exist"):
        build_dataset(BuildOptions(dest=str(tmp_path / "d"), resolution=32, source=str(tmp_path / "nope")))


def test_synthetic_builds_are_deterministic(tmp_path):
    a = build_synthetic_dataset(str(tmp_path / "a"), resolution=16, num_images=30, seed=3)
    b = build_synthetic_dataset(str(tmp_path / "b"), resolution=16, num_images=30, seed=3)
    fa = [f["sha256"] for lv in a.info["levels"] for f in lv["files"]]
    fb = [f["sha256"] for lv in b.info["levels"] for f in lv["files"]]
    assert fa == fb
    first = next(ImageDataset(str(tmp_path / "a")).iter_images(16))
    np.testing.assert_array_equal(first, synthetic_face(16, 0, seed=3))
    # exist_ok keeps a matching dataset (the training demo's second run) and rebuilds nothing.
    stamp = os.stat(tmp_path / "a" / "dataset.json").st_mtime_ns
    again = build_synthetic_dataset(str(tmp_path / "a"), resolution=16, num_images=30, seed=3, exist_ok=True)
    assert again.num_images == 30 and os.stat(tmp_path / "a" / "dataset.json").st_mtime_ns == stamp
    with pytest.raises(UserError, match="already holds a dataset"):
        build_synthetic_dataset(str(tmp_path / "a"), resolution=16, num_images=31, seed=3, exist_ok=True)


def test_peak_memory_does_not_grow_with_the_number_of_images(tmp_path):
    # Toy faces are drawn on the fly; if the build held its images, 1000 of them at 64x64 (their
    # serialised levels are ~16 KB each) would add ~14 MB over 150. The parent only holds names.
    def peak(n: int) -> int:
        tracemalloc.start()
        build_synthetic_dataset(str(tmp_path / f"m{n}"), resolution=64, num_images=n)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    small, large = peak(150), peak(1000)
    assert large - small < 2 * 2**20, (small, large)


def test_from_tfrecords_cuts_and_reshards_copying_records(tmp_path):
    build_synthetic_dataset(str(tmp_path / "src"), resolution=32, num_images=10, seed=1)
    summary = build_dataset(BuildOptions(dest=str(tmp_path / "cut"), resolution=16, shards=3, progress=False,
                                         from_tfrecords=str(tmp_path / "src"), max_images=7))
    assert summary.num_images == 7
    source, cut = ImageDataset(str(tmp_path / "src")), ImageDataset(str(tmp_path / "cut"))
    assert cut.resolutions == [4, 8, 16] and len(cut.level(16).files) == 3
    for res in (16, 8, 4):
        original = list(source.iter_raw_records(res))[:7]
        assert list(cut.iter_raw_records(res)) == original  # byte-identical, same order


def test_ffhq_json_alignment_and_landmark_problems(tmp_path):
    photos = tmp_path / "in-the-wild-images"
    photos.mkdir()
    photo = np.asarray(PIL.Image.fromarray(_rgb(7, 60, 50)).resize((200, 240), PIL.Image.Resampling.BICUBIC))
    for name in ("00000.png", "00001.png", "00002.png", "00003.png"):
        PIL.Image.fromarray(photo).save(photos / name)
    ring = np.array([[-3, 0], [-1, -1], [1, -1], [3, 0], [1, 1], [-1, 1]], float)
    lm = np.zeros((68, 2))
    lm[36:42], lm[42:48] = [80, 100] + ring, [120, 100] + ring
    lm[48], lm[54] = [85, 140], [115, 140]

    def entry(path, landmarks):
        return {"in_the_wild": {"file_path": f"in-the-wild-images/{path}", "face_landmarks": landmarks}}

    meta = {"0": entry("00000.png", lm.tolist()), "1": entry("00001.png", lm[:60].tolist()),
            "2": entry("00002.png", None), "3": {"image": {}}, "4": entry("99999.png", lm.tolist())}
    (tmp_path / "ffhq-dataset-v2.json").write_text(json.dumps(meta, indent=1))
    summary, dest = _build(tmp_path, photos, resolution=16, alignment="ffhq-json", align_size=64,
                           landmarks=str(tmp_path / "ffhq-dataset-v2.json"))
    assert summary.num_images == 1
    assert _report(dest) == {"00001.png": "landmarks_malformed", "00002.png": "landmarks_malformed",
                             "00003.png": "landmarks_missing", "ffhq-dataset-v2.json#3": "landmarks_malformed"}
    info = json.load(open(os.path.join(dest, "dataset.json")))
    assert info["source"]["landmark_entries"] == 5 and info["source"]["landmark_entries_without_image"] == 1
    aligned = alignment.align(photo, lm, output_size=64)
    expected = records.build_levels(np.ascontiguousarray(aligned.transpose(2, 0, 1)))[2]
    np.testing.assert_array_equal(_stored(dest, 16)["00000.png"], expected.transpose(1, 2, 0))


def test_landmark_json_streams_across_chunk_boundaries(tmp_path):
    meta = {str(i): {"in_the_wild": {"file_path": f"w/{i:05d}.png", "face_landmarks": [[i + 0.25, 1e-3]] * 68}}
            for i in range(30)}
    path = tmp_path / "meta.json"
    path.write_text(json.dumps(meta))
    parsed = dict(sources.iter_json_object(str(path), chunk_chars=7))
    assert parsed == meta
    path.write_text(json.dumps(meta)[:-40])
    with pytest.raises(UserError, match="meta.json"):
        list(sources.iter_json_object(str(path), chunk_chars=64))


def test_detect_alignment_on_a_real_photo_and_no_face(tmp_path):
    pytest.importorskip("mtcnn")
    skimage_data = pytest.importorskip("skimage.data")
    src = tmp_path / "photos"
    src.mkdir()
    PIL.Image.fromarray(skimage_data.astronaut()).save(src / "astronaut.png")
    PIL.Image.fromarray(np.full((120, 160, 3), 90, np.uint8)).save(src / "wall.png")
    summary, dest = _build(tmp_path, src, resolution=32, alignment="detect", align_size=64, min_face_size=40,
                           save_aligned=str(tmp_path / "aligned"))
    assert summary.num_images == 1 and _report(dest) == {"wall.png": "no_face"}
    assert os.listdir(tmp_path / "aligned") == ["00000000.png"]
    png = np.asarray(PIL.Image.open(tmp_path / "aligned" / "00000000.png"))
    np.testing.assert_array_equal(png, _stored(dest, 32)["astronaut.png"])


def _run_cli(*args, **kwargs):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.Popen([sys.executable, SCRIPT, *args], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def test_killed_build_leaves_no_complete_looking_dataset_and_rerun_works(tmp_path):
    dest = tmp_path / "toy"
    args = ["--source", "synthetic:faces", "--num-images", "4000", "--resolution", "32", "--dest", str(dest),
            "--workers", "1", "--no-progress"]
    proc = _run_cli(*args)
    deadline = time.time() + 90
    partial = None
    while time.time() < deadline and proc.poll() is None:
        found = [p for p in os.listdir(tmp_path) if p.startswith("toy.partial-")]
        partial = tmp_path / found[0] if found else None
        if partial is not None and any(f.endswith(".tfrecords") and os.path.getsize(partial / f) > 0
                                       for f in os.listdir(partial)):
            break  # records are being written: interrupt the build now
        time.sleep(0.02)
    assert proc.poll() is None, "the build finished before it could be interrupted"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert partial is not None
    assert not dest.exists()
    assert not (partial / "dataset.json").exists() and (partial / "BUILD_INCOMPLETE").exists()
    with pytest.raises(UserError, match="unfinished build"):
        ImageDataset(str(partial))
    rerun = _run_cli(*args)  # the same command again
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert "Wrote 4000 images" in out
    assert not partial.exists()
    assert ImageDataset(str(dest)).num_images == 4000


def test_cli_errors_exit_2_with_the_option_named(tmp_path, capsys):
    sys.path.insert(0, os.path.join(REPO, "data_prep"))
    try:
        import make_tfrecords
    finally:
        sys.path.pop(0)
    code = make_tfrecords.main(["--source", str(tmp_path), "--dest", str(tmp_path / "d"), "--resolution", "100"])
    assert code == 2 and "--resolution must be a power of two" in capsys.readouterr().err
    code = make_tfrecords.main(["--inspect", str(tmp_path)])
    assert code == 2 and "is not a dataset" in capsys.readouterr().err
