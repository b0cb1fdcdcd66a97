"""The browser explorer (`python -m stylegan_tf.explore`): the renderer's settings on a tiny StyleGAN2,
and the page in a real headless Chromium (Debian's chromium + chromedriver, driven by Selenium) on a
tiny StyleGAN3: it renders, a moved control changes the image, bad input is a message on the page,
and the server log shows no error.

The browser test is skipped when Chromium, its driver or Selenium is missing (`.ci/run` installs
them). Set EXPLORER_SCREENSHOT=path to keep a screenshot of the page."""

import dataclasses
import logging
import os
import shutil

import keras
import numpy as np
import pytest

import stylegan_tf  # noqa: F401  (registers the Keras classes)
from stylegan_tf import export, families, presets
from stylegan_tf.errors import UserError
from stylegan_tf.explore import renderer as explore_renderer
from stylegan_tf.explore.server import make_server, serve_in_thread


def _save(config, path, seed=0, noise_strength=None):
    keras.utils.set_random_seed(seed)
    G = families.build_generator(config, name="G")
    if noise_strength is not None:      # StyleGAN2's strengths start at 0: make the noise mode visible
        for conv in G.synthesis_network.conv_layers():
            conv.noise_strength.assign(noise_strength)
    return str(export.save_keras(G, path))


@pytest.fixture(scope="module")
def sg2_file(tmp_path_factory):
    return _save(presets.get("stylegan2-tiny").network, tmp_path_factory.mktemp("sg2") / "G.keras",
                 noise_strength=0.5)


@pytest.fixture(scope="module")
def sg3_file(tmp_path_factory):
    config = dataclasses.replace(presets.get("stylegan3-tiny").network, output_scale=4.0)
    return _save(config, tmp_path_factory.mktemp("sg3") / "G.keras")


def _pixels(data_url):
    import base64
    import io

    import PIL.Image

    assert data_url.startswith("data:image/png;base64,")
    with PIL.Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1]))) as image:
        return np.asarray(image.convert("RGB"), np.int32)


def test_renderer_settings_change_the_image(sg2_file):
    r = explore_renderer.Renderer()
    base = dict(network=sg2_file, seed=3, psi=1)
    image = _pixels(r.render(base)["image"])
    assert image.shape == (16, 16, 3)
    np.testing.assert_array_equal(_pixels(r.render(base)["image"]), image)            # deterministic
    for change in (dict(seed=4), dict(psi=0.3), dict(mix_seed=9, mix_layers="0-2"), dict(noise="random"),
                   dict(directions="sefa", direction=0, strength=4)):
        assert np.abs(_pixels(r.render({**base, **change})["image"]) - image).mean() > 0.5, change
    shown = r.render({**base, "layer": "b8", "channel": 2})
    assert shown["activation_shape"] == [8, 8, 16] and _pixels(shown["activation"]).shape == (8, 8, 3)
    info = r.info(sg2_file)
    assert info["family"] == "stylegan2" and info["activation_layers"] == ["b4", "b8", "b16"]
    assert not info["input_transform"] and info["noise_inputs"]


@pytest.mark.parametrize("settings, message", [
    (dict(psi=5), r"psi must be in \[-2.0, 2.0\]"),
    (dict(seed="x"), "seed must be an integer"),
    (dict(noise="loud"), "noise must be one of"),
    (dict(mix_seed=1, mix_layers="3-9"), r"mix_layers: layer indices must be in \[0, 6\)"),
    (dict(translate_x=0.1), "translate/rotate: only StyleGAN3 networks have an input transform"),
    (dict(layer="b99"), "layer: no synthesis layer 'b99'"),
    (dict(directions="missing.npz"), "directions: no such file"),
    (dict(network="no/such/G.keras"), "network: no such file or directory"),
])
def test_renderer_refuses_bad_settings_with_a_message(sg2_file, settings, message):
    with pytest.raises(UserError, match=message):
        explore_renderer.Renderer().render({"network": sg2_file, **settings})


def test_a_damaged_network_file_is_a_message(tmp_path):
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(UserError, match="bad.keras"):   # export names it, or the renderer does
        explore_renderer.Renderer().render(dict(network=str(bad)))


def _browser():
    """A headless Chromium through Debian's chromedriver, or a skip naming what is missing."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not chromium or not driver_path:
        pytest.skip("no Chromium / chromedriver installed (Debian: apt-get install chromium chromium-driver)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("selenium is not installed (requirements-test.txt)")
    os.environ.setdefault("SE_AVOID_STATS", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1100,820"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(driver_path), options=options)


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)


def test_page_in_a_headless_browser(sg3_file):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select, WebDriverWait

    driver = _browser()
    log = logging.getLogger("stylegan_tf.explore")
    records, level = _Records(), log.level
    log.addHandler(records)
    log.setLevel(logging.INFO)
    server = make_server("127.0.0.1", 0, defaults=dict(network=sg3_file, directions="sefa"))
    serve_in_thread(server)
    try:
        host, port = server.server_address[:2]
        assert host == "127.0.0.1"
        driver.get(f"http://{host}:{port}/")
        wait = WebDriverWait(driver, 60)
        image = driver.find_element(By.ID, "image")
        wait.until(lambda d: (image.get_attribute("src") or "").startswith("data:image/png"))
        wait.until(lambda d: "stylegan3" in d.find_element(By.ID, "about").text)

        def change(element_id, text, then=None):
            before = image.get_attribute("src")
            field = driver.find_element(By.ID, element_id)
            field.clear()
            field.send_keys(text)
            if then:
                field.send_keys(then)
            wait.until(lambda d: image.get_attribute("src") != before)
            assert driver.find_element(By.ID, "error").text == ""

        change("seed", "7")
        change("translate_x", "0.25")
        change("strength", "6")
        Select(driver.find_element(By.ID, "layer")).select_by_visible_text("L2_36_16")
        wait.until(lambda d: (d.find_element(By.ID, "activation").get_attribute("src") or "").startswith("data:"))
        assert "rendered in" in driver.find_element(By.ID, "status").text
        if os.environ.get("EXPLORER_SCREENSHOT"):
            driver.save_screenshot(os.environ["EXPLORER_SCREENSHOT"])

        error = driver.find_element(By.ID, "error")
        psi = driver.find_element(By.ID, "psi")
        psi.clear()
        psi.send_keys("5")
        wait.until(lambda d: "psi must be in" in error.text)
        network = driver.find_element(By.ID, "network")
        network.clear()
        network.send_keys("/no/such/network.keras", Keys.TAB)
        wait.until(lambda d: "/no/such/network.keras" in error.text)
        assert "no such file" in error.text
        assert "Traceback" not in driver.page_source
    finally:
        driver.quit()
        server.shutdown()
        server.server_close()
        log.removeHandler(records)
        log.setLevel(level)
    assert not [r for r in records.records if r.levelno >= logging.WARNING], \
        [r.getMessage() for r in records.records if r.levelno >= logging.WARNING]
    assert any("POST /api/render" in r.getMessage() for r in records.records)
