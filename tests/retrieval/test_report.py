"""The HTML report of ``rank`` (:mod:`specvae.retrieval.report`): structure checked with ``html.parser``."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest
from rank_helpers import OraclePredictor

pytest.importorskip("specvae.ingest", reason="needs specvae.ingest for reading spectra")

CANDIDATES = ("SMILES,id,name\nNc1ccccc1C(=O)O,CID:227,anthranilic acid\nNc1ccc(cc1)C(=O)O,CID:978,4-aminobenzoic "
              "acid\nOc1ccccc1C(N)=O,CID:65,salicylamide\nCCO,x5,ethanol <&> \"quoted\"\n")


def mgf(n):
    blocks = []
    for i in range(n):
        peaks = "".join(f"{120.0444 + j:.4f} {100 - 10 * j}\n" for j in range(3))
        blocks.append(f"BEGIN IONS\nTITLE=spectrum {i} <b>\nPEPMASS=138.0550\nCHARGE=1+\nRTINSECONDS={60 + i}\n{peaks}"
                      "END IONS\n")
    return "".join(blocks)


class Outline(HTMLParser):
    """Counts what the tests look for: sections, inline SVGs by class, links, scripts and external resources."""

    def __init__(self):
        super().__init__()
        self.sections, self.svgs, self.links, self.external, self.text = [], [], [], [], []
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section" and a.get("class") == "spectrum":
            self.sections.append(a["id"])
        elif tag == "svg":
            self.svgs.append(a.get("class"))
        elif tag == "a":
            self.links.append(a.get("href"))
        elif tag == "script":
            self.scripts += 1
        for key in ("src", "href"):
            if str(a.get(key, "")).startswith(("http:", "https:", "//")):
                self.external.append(a[key])

    def handle_data(self, data):
        self.text.append(data)


def parse(path):
    outline = Outline()
    outline.feed(path.read_text(encoding="utf-8"))
    outline.close()
    return outline


@pytest.fixture
def ranked(tmp_path):
    from specvae.retrieval.ranking import rank_spectra

    (tmp_path / "q.mgf").write_text(mgf(3))
    (tmp_path / "c.csv").write_text(CANDIDATES)
    oracle = OraclePredictor(["Nc1ccccc1C(=O)O"], fingerprint="specvae")
    rank_spectra(tmp_path / "q.mgf", oracle, tmp_path / "out", candidates=tmp_path / "c.csv", mass_check=False)
    return tmp_path / "out"


def test_one_section_per_spectrum_with_plot_structures_and_named_bits(ranked):
    page = parse(ranked / "report.html")
    text = " ".join(page.text)
    assert len(page.sections) == 3 and len(set(page.sections)) == 3
    assert page.links == [f"#{s}" for s in page.sections], "the overview links to each section"
    assert page.svgs.count("spectrum") == 3, "one stick plot per spectrum"
    assert page.svgs.count("structure") == 3 * 4, "every candidate drawn (four candidates, top five shown)"
    assert page.scripts == 0 and not page.external, "self-contained: no scripts, nothing from the network"
    assert "spectrum 0 <b>" in text and "ethanol <&> \"quoted\"" in text, "titles and names escaped, not markup"
    assert "Why the top hit beats the runner-up" in text and "favours the top hit" in text
    assert "PubChem " in text or "Laggner " in text or "Klekota-Roth " in text, "bits named from the definition"
    assert "60 s" in text, "the retention time as the file gives it"


def test_stick_plot_shows_the_peaks_as_read():
    from specvae.retrieval.report import spectrum_svg

    svg = spectrum_svg(np.array([50.123, 120.0444, 1500.5]), np.array([10.0, 200.0, 50.0]), precursor_mz=138.055)
    assert svg.count("<line") - svg.count("stroke=\"#333\"") == 3 + 1, "three peaks and the precursor"
    assert "m/z 1500.5000, 25.0 %" in svg, "not binned: a peak beyond the model's m/z grid is drawn too"
    assert "no peaks" in spectrum_svg(None, None)


def test_contributions_sum_to_the_cross_entropy_difference():
    from specvae.retrieval.report import contributions
    from specvae.retrieval.scoring import score_bits

    rng = np.random.default_rng(0)
    p = rng.uniform(0.01, 0.99, 40)
    a, b = (rng.random((2, 40)) < 0.4).astype(np.uint8)
    differ, contrib = contributions(p, a, b)
    assert np.array_equal(differ, np.flatnonzero(a != b))
    assert contrib.sum() == pytest.approx(float(np.diff(score_bits(p, np.stack([b, a])))[0]))


def test_many_spectra_are_paged(tmp_path, monkeypatch):
    from specvae.retrieval.ranking import rank_spectra

    (tmp_path / "q.mgf").write_text(mgf(5))
    (tmp_path / "c.csv").write_text(CANDIDATES)
    monkeypatch.setattr("specvae.retrieval.report.PAGE_SIZE", 2)
    rank_spectra(tmp_path / "q.mgf", OraclePredictor(["CCO"]), tmp_path / "out", candidates=tmp_path / "c.csv",
                 mass_check=False)
    index = parse(tmp_path / "out" / "report.html")
    assert not index.sections and len(index.links) == 3 + 5, "three page links and one link per spectrum"
    pages = sorted((tmp_path / "out" / "report").iterdir())
    assert [p.name for p in pages] == ["page-001.html", "page-002.html", "page-003.html"]
    found = [parse(p) for p in pages]
    assert [len(p.sections) for p in found] == [2, 2, 1]
    for link in index.links[3:]:
        name, anchor = link.split("#")
        assert anchor in parse(tmp_path / "out" / name).sections, link


def test_a_headless_browser_opens_the_report(ranked, tmp_path):
    browser = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome", "firefox")
                    if shutil.which(b)), None)
    if browser is None:
        pytest.skip("no headless browser (chromium, google-chrome or firefox) installed on this machine")
    if "firefox" in browser:
        command = [browser, "--headless", "--screenshot", str(tmp_path / "shot.png"), (ranked / "report.html").as_uri()]
    else:
        command = [browser, "--headless", "--disable-gpu", "--no-sandbox", "--dump-dom",
                   (ranked / "report.html").as_uri()]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    if "firefox" not in browser:
        assert result.stdout.count('class="spectrum"') >= 3
