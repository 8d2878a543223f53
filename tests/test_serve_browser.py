"""The page of `dynlp serve`, used as a person would: headless Chromium, driven by Playwright.

It picks the tagger, tags a sentence and checks the tags shown against `dynlp tag`'s; picks
the language model, samples and scores; checks each model's card and dev curve against its
files; and saves a screenshot of each.  Needs Debian's
`chromium` (Playwright's own browser download is never used); it skips without it only when
CI is unset (`.ci/run` installs it).
"""
import os
import re
import shutil
import subprocess
import sys

import pytest

from dynlp.data.confidence import read_confidences

from serve_helpers import Server, need_serve_extra

need_serve_extra()
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# The flags a closed network needs: no background connections, no first-run work.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip("playwright not installed")
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing in CI (.ci/run installs it)")
        pytest.skip("chromium not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def page(browser, small_models, curve_models, tmp_path_factory):
    server = Server([small_models / "lm", small_models / "tagger", curve_models / "lm-epochs",
                     curve_models / "tagger-epochs", curve_models / "trigram"],
                    tmp_path_factory.mktemp("browser"), "--workers", "1")
    page = browser.new_page(viewport={"width": 1000, "height": 640})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(server.url + "/")
    page.server = server
    yield page
    page.close()
    server.stop()
    assert errors == [], errors  # no JavaScript error on the way


SENTENCES = "The dog sat on the mat.\nA cat saw it, and ran!"


def test_the_page_tags_as_dynlp_tag_does(page, small_models, tmp_path):
    (tmp_path / "in.txt").write_text(SENTENCES + "\n")
    offline = subprocess.run([sys.executable, "-m", "dynlp.cli", "tag", "-m",
                              str(small_models / "tagger"), "--input", "text",
                              str(tmp_path / "in.txt")], capture_output=True, text=True,
                             check=True).stdout
    words = [line.split("\t") for line in offline.splitlines() if line[:1].isdigit()]

    page.select_option("#model", "tagger")
    page.fill("#tag-text", SENTENCES)
    page.click("#tag-run")
    page.wait_for_selector("#tag-output .word")
    chips = page.query_selector_all("#tag-output .word")
    assert [c.query_selector(".form").inner_text() for c in chips] == [w[1] for w in words]
    assert [c.get_attribute("data-tag") for c in chips] == [w[3] for w in words]  # UPOS
    assert len(page.query_selector_all("#tag-output .sentence")) == 2
    hover = chips[0].get_attribute("title")  # the other columns
    assert f"XPOS: {words[0][4]}" in hover
    # Each column's probability and alternatives, as `dynlp tag --n-best 3` writes them.
    sure = subprocess.run([sys.executable, "-m", "dynlp.cli", "tag", "-m",
                           str(small_models / "tagger"), "--input", "text", "--n-best", "3",
                           str(tmp_path / "in.txt")], capture_output=True, text=True,
                          check=True).stdout
    misc = [line.split("\t")[9] for line in sure.splitlines() if line[:1].isdigit()]
    for chip, cell in zip(chips, misc):
        p, alternatives = read_confidences(cell, "upos")  # 3 decimals; the page shows 2
        line = next(t for t in chip.get_attribute("title").split("\n") if t.startswith("UPOS"))
        shown = re.fullmatch(r"UPOS: (\S+) ([0-9.]+)(?: \(or (.*)\))?", line)
        assert shown[1] == chip.get_attribute("data-tag")
        assert abs(float(shown[2]) - p) < 0.006
        others = [pair.rsplit(" ", 1) for pair in (shown[3] or "").split(", ") if pair]
        assert [tag for tag, _ in others] == [tag for tag, _ in alternatives]
        assert all(abs(float(q) - r) < 0.006 for (_, q), (_, r) in zip(others, alternatives))
        if abs(p - 0.9) > 0.001:
            assert ("unsure" in chip.get_attribute("class")) == (p < 0.9)
    page.screenshot(path=str(tmp_path / "tagger.png"))
    assert (tmp_path / "tagger.png").stat().st_size > 1000


def test_the_page_samples_and_scores(page, tmp_path):
    page.select_option("#model", "lm")
    assert page.is_visible("#lm") and not page.is_visible("#tagger")
    page.fill("#prefix", "the dog")
    page.fill("#n", "2")
    page.click("#sample-run")
    page.wait_for_selector("#samples .sample")
    samples = [s.inner_text() for s in page.query_selector_all("#samples .sample")]
    assert len(samples) == 2 and all(s.startswith("the dog") for s in samples)

    page.fill("#score-text", "the cat sat on the mat")
    page.click("#score-run")
    page.wait_for_selector("#score-output .token")
    tokens = page.query_selector_all("#score-output .token")
    assert [t.inner_text() for t in tokens] == "the cat sat on the mat </s>".split()
    status, reply = page.server.post("/models/lm/score", {"lines": ["the cat sat on the mat"]})
    shown = [float(t.get_attribute("data-log-prob")) for t in tokens]
    assert shown == pytest.approx([t["log_prob"] for t in reply["tokens"][0]], abs=1e-6)
    page.screenshot(path=str(tmp_path / "lm.png"))


@pytest.mark.parametrize("name, metric", [("tagger-epochs", "dev_upos"), ("lm-epochs", "dev_ppl")])
def test_the_card_shows_one_point_per_epoch_and_the_parameter_count(page, curve_models, tmp_path,
                                                                    name, metric):
    from test_serve import metrics_lines, parameters_built

    page.select_option("#model", name)
    page.wait_for_selector("#curve-chart polyline", state="attached")  # flat: no height
    values = [m[metric] for m in metrics_lines(curve_models / name)]
    points = [tuple(map(float, p.split(","))) for p in
              page.get_attribute("#curve-chart polyline", "points").split()]
    assert len(points) == len(values) > 1
    assert len(page.query_selector_all("#curve-chart circle")) == len(values)
    xs, ys = zip(*points)
    assert list(xs) == sorted(xs) and len(set(xs)) == len(xs)  # one per epoch, left to right
    for i in range(len(values)):  # a higher figure is drawn higher (a smaller y)
        for j in range(len(values)):
            assert (values[i] > values[j]) == (ys[i] < ys[j] - 1e-6), (values, ys)
    shown = page.inner_text("#card-parameters")
    assert shown == f"{parameters_built(curve_models / name):,}"
    label = "dev UPOS accuracy" if metric == "dev_upos" else "dev perplexity"
    assert page.inner_text("#curve-caption").startswith(label)
    page.screenshot(path=str(tmp_path / "card.png"))


def test_a_model_without_epochs_has_no_curve(page):
    page.select_option("#model", "trigram")
    assert "no training curve" in page.inner_text("#curve-caption")
    assert page.query_selector("#curve-chart polyline") is None
    assert "n-gram language model" in page.inner_text("#card-kind")
    assert "none" in page.inner_text("#card-parameters")


def test_an_error_is_shown_not_thrown(page):
    page.select_option("#model", "tagger")
    page.fill("#tag-text", "   ")
    page.click("#tag-run")
    page.wait_for_selector("#error:not([hidden])")
    assert "empty" in page.inner_text("#error")
