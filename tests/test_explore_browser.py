"""The explorer page in a real browser: headless Chromium driven by selenium.

Needs Debian's ``chromium`` and ``chromium-driver`` (apt-get install chromium
chromium-driver) and ``pip install selenium``; skips, naming what is missing, without them.
Set BPTT_SHOTS=DIR to keep the screenshots it takes.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from microgradrnn import viz
from microgradrnn.app.seqmodel import PerStepModel
from microgradrnn.viz.relabel import drawing

webdriver = pytest.importorskip(
    "selenium.webdriver", reason="selenium is not installed (pip install selenium)")
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
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
    loss.backward(retain_graph=True, record_flow=True)
    static = drawing(viz.draw_cells(loss, loss_at=T, fold=False, arrows="gradient"))
    return ex, path, static


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="bptt-chromium-")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                 "--window-size=1500,950"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def shot(driver, tmp_path: Path, name: str) -> None:
    folder = Path(os.environ.get("BPTT_SHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(folder / name))
    assert (folder / name).stat().st_size > 20_000


def current_id(driver) -> str | None:
    found = driver.find_elements(By.CSS_SELECTOR, "g.node.current")
    assert len(found) <= 1
    return found[0].get_attribute("id") if found else None


def classed(driver, selector: str) -> set[str]:
    return {e.get_attribute("id") for e in driver.find_elements(By.CSS_SELECTOR, selector)}


def sentence(data: dict, root: dict, pos: int) -> str:
    """What the side panel says at step ``pos`` (> 1) of the walk of ``root``."""
    keys, edges = data["keys"], data["edges"]
    node, roads, _, _, _, (total, parts), _ = root["walk"][pos - 1]

    def direct(e: int) -> bool:  # a carry or the cell state: no weight between two states
        roles = {keys[edges[e][end]]["tags"]["role"] for end in ("src", "dst")}
        return edges[e]["bare"] and not roles & {"x", "y", "loss", None}

    def via(e: int) -> str:
        return (" through " + ", ".join(edges[e]["through"]) if edges[e]["through"] else
                " directly (no weight on the way)" if direct(e) else "")

    words = " and ".join(f"{root['edges'][e][3]} from {keys[edges[e]['dst']]['name']}{via(e)}"
                         for e in roads)
    text = f"Step {pos}: {keys[node]['name']} receives {words} — it now holds {total}"
    if len(parts) > 1:
        terms = []
        for j, (e, part) in enumerate(parts):
            neg = part.startswith("−")
            twin = any(f != e and edges[f]["dst"] == edges[e]["dst"] for f, _ in parts)
            how = (" through " + ", ".join(edges[e]["through"]) if edges[e]["through"]
                   else " directly") if twin else ""
            term = f"{part.lstrip('−')} (from {keys[edges[e]['dst']]['name']}{how})"
            terms.append(("−" if neg else "") + term if j == 0 else
                         (" − " if neg else " + ") + term)
        text += " = " + "".join(terms)
    return text + "."


def test_walk_root_switch_inspect_and_screenshots(page, browser, tmp_path):
    ex, path, static = page
    data = ex.data
    keys = data["keys"]
    browser.get(path.as_uri())
    assert browser.execute_script("return typeof D") == "object"  # the script ran
    body = browser.find_element(By.TAG_NAME, "body")
    root = data["roots"][0]
    n = len(root["walk"])
    assert current_id(browser) is None  # the overview: nothing highlighted yet
    assert browser.find_element(By.ID, "counter").text == f"overview ({n} steps)"
    shot(browser, tmp_path, "explorer-L-overview.png")

    # step to the first moment a node's second road arrives: the sum of two shares
    N = next(p for p, s in enumerate(root["walk"], 1) if len(s[5][1]) > 1)
    for _ in range(N):
        body.send_keys(Keys.ARROW_RIGHT)
    node = root["walk"][N - 1][0]
    assert current_id(browser) == keys[node]["id"]
    assert browser.find_element(By.ID, "counter").text == f"step {N} of {n}"
    story = browser.find_element(By.ID, "step-text").text
    assert story == sentence(data, root, N)
    assert " = " in story and "(from " in story
    fresh = {data["edges"][e]["g"] for e in root["walk"][N - 1][1]}
    assert classed(browser, "g.edge.fresh") == fresh
    # edges whose gradient has not arrived yet are faded; the ones that have are not
    waiting = {data["edges"][i]["g"] for i, e in enumerate(root["edges"])
               if e[2] is not None and e[2] > N - 1}
    assert classed(browser, "g.edge.waiting") == waiting
    assert browser.find_element(By.CSS_SELECTOR, "#inspect .big").text == keys[node]["name"]
    shot(browser, tmp_path, "explorer-L-step.png")
    body.send_keys(Keys.ARROW_LEFT)
    assert current_id(browser) == keys[root["walk"][N - 2][0]]["id"]
    body.send_keys(Keys.END)
    assert current_id(browser) == keys[root["walk"][-1][0]]["id"]
    assert "That is all of" in browser.find_element(By.ID, "story").text
    shot(browser, tmp_path, "explorer-L-end.png")

    # the root L_T: the slider, from the keyboard
    slider = browser.find_element(By.ID, "root")
    slider.send_keys(Keys.END)
    assert browser.find_element(By.ID, "rootname").text.startswith(f"L{chr(0x2080 + T)}")
    root = data["roots"][-1]
    # the picture now shows what draw_cells(loss_at=T) draws: the heading and the numbers
    heading = browser.execute_script(
        "return [...document.querySelectorAll('#graph0 > text')].map(t => t.textContent)")
    assert f"gradients of L{chr(0x2080 + T)} only" in " ".join(heading)
    for k in keys:
        if k["tags"]["role"] in ("h", "c") and k["tags"]["t"] == 1:
            got = browser.execute_script(
                "return [...document.getElementById(arguments[0]).querySelectorAll('text')]"
                ".map(t => t.textContent)", k["id"])
            assert [w.replace("\xa0", " ") for w in got] == static.runs[k["id"]]
    body.send_keys(Keys.HOME)
    for _ in range(2):
        body.send_keys(Keys.ARROW_RIGHT)
    assert current_id(browser) == keys[root["walk"][1][0]]["id"]
    assert browser.find_element(By.ID, "step-text").text == sentence(data, root, 2)
    unreached = classed(browser, "g.node.unreached")
    expected = {k["id"] for i, k in enumerate(keys) if not root["grads"][i]
                and browser.find_elements(By.ID, k["id"])}
    assert unreached == expected and unreached  # y_1..y_{T-1}, L_1..: not reached by L_T
    # the plot: one point per h_k^(l) that L_T reaches, the current one ringed
    points = browser.find_elements(By.CSS_SELECTOR, "#plot circle")
    assert len(points) == 2 * T
    shot(browser, tmp_path, "explorer-LT-step2.png")

    # a middle L_t, played with the space bar and paused again
    browser.execute_script(
        "const s = document.getElementById('root'); s.value = arguments[0];"
        "s.dispatchEvent(new Event('input'))", T // 2 + 1)
    assert browser.find_element(By.ID, "counter").text.startswith("overview")
    body.send_keys(" ")
    time.sleep(1.6)
    body.send_keys(" ")
    played = browser.find_element(By.ID, "counter").text
    assert played.startswith("step ") and browser.find_element(By.ID, "play").text == "▶ play"
    shot(browser, tmp_path, "explorer-Lmid-played.png")

    # inspect: a shared weight's gradient per step, an edge, a node by the keyboard
    w = next(i for i, w in enumerate(data["weights"]) if w["name"] == "Wₕₕ⁽¹⁾")
    browser.find_elements(By.CSS_SELECTOR, "#weights button")[w].click()
    chart = browser.find_element(By.ID, "wchart")
    assert chart.text.startswith("Wₕₕ⁽¹⁾") and len(chart.find_elements(By.TAG_NAME, "rect")) == T
    edge = next(e for e in data["edges"] if "Wₓₕ⁽²⁾" in e["through"])
    browser.execute_script("document.getElementById(arguments[0]).dispatchEvent("
                           "new Event('click'))", edge["g"])
    assert browser.find_element(By.CSS_SELECTOR, "#inspect .big").text == (
        f"{keys[edge['src']]['name']} → {keys[edge['dst']]['name']}")
    assert browser.find_element(By.ID, "wchart").text.startswith("Wₓₕ⁽²⁾")
    y1 = next(k for k in keys if k["name"] == "y₁")  # hovering shows a node
    target = browser.find_element(By.ID, y1["id"])
    browser.execute_script("arguments[0].scrollIntoView({block: 'center', inline: 'center'})",
                           target)
    ActionChains(browser).move_to_element(target).perform()
    assert browser.find_element(By.CSS_SELECTOR, "#inspect .big").text == "y₁"
    assert "op linear; tags t=1, role=y; shape (1, 1)" in browser.find_element(
        By.ID, "inspect").text
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
