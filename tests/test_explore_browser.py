"""The explorer page in a real browser: headless Chromium driven by selenium.

Needs Debian's ``chromium`` and ``chromium-driver`` (apt-get install chromium
chromium-driver) and ``pip install selenium``; skips, naming what is missing, without them.
"""

from __future__ import annotations

import shutil
import tempfile

import numpy as np
import pytest

from microgradrnn import viz
from microgradrnn.app.seqmodel import PerStepModel

webdriver = pytest.importorskip(
    "selenium.webdriver", reason="selenium is not installed (pip install selenium)")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
if not (CHROMIUM and DRIVER):
    pytest.skip("no headless browser: apt-get install chromium chromium-driver",
                allow_module_level=True)

T = 5


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    model = PerStepModel("lstm", inputs=2, hidden=3, layers=2, seed=0)
    rng = np.random.default_rng(1)
    loss, _ = model.losses(rng.normal(size=(T, 1, 2)), rng.normal(size=(T, 1, 1)))
    ex = viz.explore(loss)
    path = ex.save(tmp_path_factory.mktemp("page") / "bptt.html")
    return ex, path


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="bptt-chromium-")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                 "--window-size=1500,950"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def current_id(driver) -> str | None:
    found = driver.find_elements(By.CSS_SELECTOR, "g.node.current")
    assert len(found) <= 1
    return found[0].get_attribute("id") if found else None


def test_walk_root_switch_and_screenshot(page, browser, tmp_path):
    ex, path = page
    browser.get(path.as_uri())
    assert browser.execute_script("return typeof D") == "object"  # the script ran
    body = browser.find_element(By.TAG_NAME, "body")
    assert current_id(browser) is None  # the overview: nothing highlighted yet
    keys = ex.data["keys"]
    walk = ex.data["roots"][0]["walk"]
    n = 3
    for _ in range(n):
        body.send_keys(Keys.ARROW_RIGHT)
    assert current_id(browser) == keys[walk[n - 1]]["id"]
    text = browser.find_element(By.ID, "story").text
    name = keys[walk[n - 1]]["name"]
    assert text.startswith(f"Step {n}: {name} receives ")
    grad = ex.data["roots"][0]["gradText"][walk[n - 1]]
    assert f"It now holds ‖∂L/∂{name}‖ = {grad}" in text
    assert browser.find_element(By.ID, "counter").text == f"step {n} of {len(walk)}"
    browser.save_screenshot(str(tmp_path / "step3.png"))
    body.send_keys(Keys.ARROW_LEFT)
    assert current_id(browser) == keys[walk[n - 2]]["id"]

    slider = browser.find_element(By.ID, "root")
    slider.send_keys(Keys.END)  # the last root: L_T alone
    assert browser.find_element(By.ID, "rootname").text.startswith(f"L{chr(0x2080 + T)}")
    root = ex.data["roots"][-1]
    body.send_keys(Keys.ARROW_RIGHT)
    assert current_id(browser) == keys[root["walk"][0]]["id"]
    body.send_keys(Keys.ARROW_RIGHT)
    assert current_id(browser) == keys[root["walk"][1]]["id"]
    text = browser.find_element(By.ID, "story").text
    assert f"‖∂{root['name']}/∂{keys[root['walk'][1]]['name']}‖" in text
    # steps after T are not reached by L_T... every node of step 1 is, of a later loss not
    unreached = {e.get_attribute("id") for e in
                 browser.find_elements(By.CSS_SELECTOR, "g.node.unreached")}
    expected = {k["id"] for i, k in enumerate(keys) if root["grads"][i] is None
                and browser.find_elements(By.ID, k["id"])}
    assert unreached == expected and unreached
    assert browser.save_screenshot(str(tmp_path / "lT.png"))
