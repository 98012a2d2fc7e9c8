"""The HTML report of a ranking (``report.html``): what a chemist looks at first.

One self-contained file (inline CSS and SVG, no scripts, nothing fetched from the network) with a table of every
spectrum -- title, precursor m/z, retention time, candidates, top hit, its probability and the confidence that it is
right -- and one section per spectrum:

- the measured spectrum as a stick plot (the peaks as read from the file, not binned; intensities relative to the
  base peak; the precursor m/z marked);
- the best :data:`TOP` candidates with their structure drawn by RDKit, cross-entropy, probability, Tanimoto with the
  thresholded prediction, formula, ppm and identifiers;
- why the top hit beats the runner-up: the fingerprint bits in which the two differ that move the cross-entropy most,
  each named from the fingerprint definition, with the predicted probability and its contribution in nats
  (``-(c1 - c2) * logit(p)``: negative favours the top hit). The contributions of all differing bits sum to the
  cross-entropy difference of the two.

A report with more than :data:`PAGE_SIZE` spectra keeps the table in ``report.html`` and puts the sections on pages
``report/page-001.html``, ... (each self-contained as well), so that a browser opens any of them at once.
"""

from __future__ import annotations

import html
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from specvae.chem.bits import RANKING_EPS, clipped_log_probs

TOP = 5  # candidates shown per spectrum
BITS = 6  # bits shown on either side of "why the top hit beats the runner-up"
PAGE_SIZE = 100  # spectra per page
PAGES = "report"  # the folder of the further pages, beside report.html

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5em auto;max-width:72em;color:#222;
padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;margin:0 0 .3em}h3{font-size:1em;margin:.8em 0 .3em}
table{border-collapse:collapse;font-size:.85em;margin:.3em 0}th,td{border-bottom:1px solid #ddd;padding:.25em .5em;
text-align:left;vertical-align:middle}th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
section.spectrum{border:1px solid #ccc;border-radius:6px;padding:.8em 1em;margin:1.2em 0}
.meta{color:#555;font-size:.9em}.low{color:#a33}.good{color:#275}.answer{background:#eef8ee}
.smiles{font-family:monospace;font-size:.8em;word-break:break-all;max-width:22em}
.note{color:#555;font-size:.85em;max-width:60em}svg.structure{background:#fff}
nav{margin:.5em 0}nav a{margin-right:.6em}
"""


def _e(value) -> str:
    return html.escape("" if value is None else str(value))


def _num(value, fmt: str = "{:.3g}") -> str:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return ""
    return "" if not np.isfinite(value) else fmt.format(value)


@lru_cache(maxsize=4096)
def structure_svg(smiles: str, width: int = 220, height: int = 160) -> str:
    """An inline SVG drawing of ``smiles`` by RDKit (empty when RDKit cannot read it)."""
    from rdkit import Chem, RDLogger
    from rdkit.Chem.Draw import rdMolDraw2D

    RDLogger.DisableLog("rdApp.*")
    mol = Chem.MolFromSmiles(smiles) if smiles else None
    if mol is None:
        return ""
    drawer = rdMolDraw2D.MolDraw2DSVG(width, height)
    drawer.drawOptions().clearBackground = False
    rdMolDraw2D.PrepareAndDrawMolecule(drawer, mol)
    drawer.FinishDrawing()
    text = drawer.GetDrawingText()
    text = text[text.index("<svg"):]
    return text.replace("<svg ", '<svg class="structure" role="img" aria-label="structure" ', 1)


def spectrum_svg(mz: np.ndarray | None, intensity: np.ndarray | None, precursor_mz: float | None = None,
                 width: int = 560, height: int = 190) -> str:
    """A stick plot of the peaks as read (intensity relative to the base peak, %), the precursor m/z dashed."""
    mz = np.asarray(mz if mz is not None else [], dtype=float)
    intensity = np.asarray(intensity if intensity is not None else [], dtype=float)
    keep = np.isfinite(mz) & np.isfinite(intensity) & (intensity > 0)
    mz, intensity = mz[keep], intensity[keep]
    left, right, top, bottom = 44, 12, 14, 30
    w, h = width - left - right, height - top - bottom
    hi = max([*mz, precursor_mz or 0, 10.0]) * 1.05
    x = lambda m: left + w * m / hi  # noqa: E731
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="spectrum" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="MS/MS spectrum">',
             f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="#333"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" stroke="#333"/>']
    step = _tick_step(hi)
    for t in np.arange(0, hi, step):
        parts.append(f'<line x1="{x(t):.1f}" y1="{top + h}" x2="{x(t):.1f}" y2="{top + h + 4}" stroke="#333"/>'
                     f'<text x="{x(t):.1f}" y="{top + h + 15}" font-size="10" text-anchor="middle">{t:g}</text>')
    for v in (0, 50, 100):
        y = top + h - h * v / 100
        parts.append(f'<text x="{left - 5}" y="{y + 3:.1f}" font-size="10" text-anchor="end">{v}</text>')
    parts.append(f'<text x="{left + w / 2}" y="{height - 3}" font-size="10" text-anchor="middle">m/z</text>'
                 f'<text x="10" y="{top + h / 2}" font-size="10" text-anchor="middle" '
                 f'transform="rotate(-90 10 {top + h / 2})">rel. intensity (%)</text>')
    if precursor_mz:
        parts.append(f'<line x1="{x(precursor_mz):.1f}" y1="{top}" x2="{x(precursor_mz):.1f}" y2="{top + h}" '
                     f'stroke="#c33" stroke-dasharray="3,3"><title>precursor m/z {precursor_mz:.4f}</title></line>')
    if len(mz):
        rel = 100 * intensity / intensity.max()
        for m, r in zip(mz, rel):
            parts.append(f'<line x1="{x(m):.1f}" y1="{top + h}" x2="{x(m):.1f}" y2="{top + h - h * r / 100:.1f}" '
                         f'stroke="#1f4e99" stroke-width="1.2"><title>m/z {m:.4f}, {r:.1f} %</title></line>')
        for i in np.argsort(-rel)[:5]:
            parts.append(f'<text x="{x(mz[i]):.1f}" y="{top + h - h * rel[i] / 100 - 3:.1f}" font-size="9" '
                         f'text-anchor="middle" fill="#1f4e99">{mz[i]:.2f}</text>')
    else:
        parts.append(f'<text x="{left + w / 2}" y="{top + h / 2}" font-size="11" text-anchor="middle">no peaks</text>')
    parts.append("</svg>")
    return "".join(parts)


def _tick_step(hi: float) -> float:
    raw = hi / 6
    magnitude = 10 ** np.floor(np.log10(raw))
    return float(next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw))


def contributions(probs: np.ndarray, first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For the bits where fingerprints ``first`` and ``second`` (0/1) differ: their indices and each bit's
    contribution (nats) to ``cross_entropy(first) - cross_entropy(second)`` (negative: favours ``first``)."""
    log_p, log_q = clipped_log_probs(np.asarray(probs, dtype=np.float64), RANKING_EPS)
    differ = np.flatnonzero(first != second)
    return differ, -(first[differ].astype(float) - second[differ]) * (log_p - log_q)[differ]


class ReportWriter:
    """Writes ``path`` (and, past :data:`PAGE_SIZE` spectra, pages in ``report/`` beside it) one spectrum at a time.

    ``names``: the fingerprint's bit names (:func:`specvae.chem.fingerprints.bit_names`); ``model``: what ranked
    (shown in the header); ``answers``: label -> first InChIKey block of the right answer, for evaluations.
    """

    def __init__(self, path: str | Path, names: list[str] | None, title: str = "specvae ranking", model: str = "",
                 answers: dict[str, str] | None = None, page_size: int | None = None):
        self.path, self.names, self.title, self.model = Path(path), names, title, model
        self.answers = answers or {}
        self.page_size = page_size or PAGE_SIZE
        self.rows: list[tuple[int, str, str]] = []  # the overview table: page, anchor, row (href to fill in)
        self.sections: list[str] = []  # of the current page
        self.pages = 0  # pages written to files

    def _page_name(self, number: int) -> str:
        return f"{PAGES}/page-{number:03d}.html"

    def add(self, item, row: dict, adducts=()) -> None:
        """One spectrum: ``item`` a :class:`~specvae.retrieval.ranking.Ranked`, ``row`` its summary row."""
        n = len(self.rows)
        page = n // self.page_size + 1
        anchor = f"s{n}"
        if len(self.sections) == self.page_size:
            self._flush()
        s = item.spectrum
        confidence = row.get("confidence")
        low = str(row.get("status", "")).startswith("low confidence")
        self.rows.append((page, anchor,
            f'<tr><td class="num">{n + 1}</td><td><a href="{{href}}">{_e(s.label)}</a></td>'
            f'<td class="num">{_num(s.precursor_mz, "{:.4f}")}</td><td>{_e(s.retention_time)}</td>'
            f'<td class="num">{_e(row.get("n_candidates"))}</td>'
            f'<td>{_e(self._top_name(item))}</td><td class="num">{_num(row.get("top_probability"))}</td>'
            f'<td class="num{" low" if low else ""}">{_e(confidence or "")}</td><td>{_e(row.get("status"))}</td></tr>'))
        self.sections.append(self._section(item, row, adducts, anchor))

    @staticmethod
    def _top_name(item) -> str:
        r = item.ranking
        if r is None or not len(r):
            return ""
        i = int(r.order[0])
        return r.candidates.names[i] or r.candidates.ids[i] or r.candidates.structures[i].formula

    def _section(self, item, row: dict, adducts, anchor: str) -> str:
        s = item.spectrum
        meta = [f"record {s.record}"]
        for label, value in (("title", s.title), ("precursor m/z", _num(s.precursor_mz, "{:.4f}")),
                             ("retention time", s.retention_time), ("scan", s.scan), ("ion mode", s.ion_mode),
                             ("adducts", row.get("adducts")), ("candidates", row.get("n_candidates"))):
            if value not in (None, ""):
                meta.append(f"{label} {_e(value)}")
        confidence = row.get("confidence")
        verdict = ""
        if confidence:
            c = float(confidence)
            verdict = (f'<p>Confidence that the top hit is right: <b class="{"good" if c >= 0.5 else "low"}">'
                       f'{c:.2f}</b></p>')
        parts = [f'<section class="spectrum" id="{anchor}"><h2>{_e(s.label)}</h2>',
                 f'<div class="meta">{" · ".join(meta)}</div>', spectrum_svg(s.mz, s.intensity, s.precursor_mz),
                 verdict, f'<p class="meta">status: {_e(row.get("status"))}'
                 + (f'; {_e(row.get("notes"))}' if row.get("notes") else "") + "</p>"]
        ranking = item.ranking
        if ranking is not None and len(ranking):
            parts.append(self._candidates(item, adducts))
            if len(ranking) > 1:
                parts.append(self._why(item))
        parts.append("</section>")
        return "".join(parts)

    def _candidates(self, item, adducts) -> str:
        ranking = item.ranking
        answer = self.answers.get(item.spectrum.label)
        table = ranking.table(TOP, item.spectrum.precursor_mz, adducts)
        out = ['<h3>Top candidates</h3><table class="candidates"><tr><th>rank</th><th>structure</th><th>name / id</th>'
               '<th>cross-entropy (nats, lower is better)</th><th>probability</th><th>Tanimoto</th><th>formula</th>'
               '<th>adduct, ppm</th><th>SMILES, InChIKey</th></tr>']
        for _, r in table.iterrows():
            right = answer is not None and str(r["inchikey"]).startswith(answer)
            out.append(f'<tr class="{"answer" if right else ""}"><td class="num">{_num(r["rank"], "{:g}")}'
                       f'{" (answer)" if right else ""}</td><td>{structure_svg(r["smiles"])}</td>'
                       f'<td>{_e(r["name"])}<br><span class="meta">{_e(r["id"])}</span></td>'
                       f'<td class="num">{_num(r["cross_entropy_nats"], "{:.2f}")}</td>'
                       f'<td class="num">{_num(r["probability"])}</td><td class="num">{_num(r["tanimoto"], "{:.2f}")}'
                       f'</td><td>{_e(r["formula"])}</td><td>{_e(r["adduct"])} {_num(r["ppm"], "{:+.1f}")}</td>'
                       f'<td class="smiles">{_e(r["smiles"])}<br>{_e(r["inchikey"])}</td></tr>')
        out.append("</table>")
        if answer is not None:
            rank = ranking.rank_of(answer)
            out.append(f'<p class="meta">right answer ({_e(answer)}): '
                       + (f"rank {rank:g} of {len(ranking)}" if rank is not None else "not among the candidates")
                       + "</p>")
        return "".join(out)

    def _why(self, item) -> str:
        ranking = item.ranking
        if ranking.packed is None:
            return ""
        first, second = int(ranking.order[0]), int(ranking.order[1])
        n_bits = len(item.probs)
        bits = np.unpackbits(ranking.packed[[first, second]], axis=1)[:, :n_bits]
        differ, contrib = contributions(item.probs, bits[0], bits[1])
        total = float(ranking.cross_entropy[first] - ranking.cross_entropy[second])
        latent = (f'They are ranked by the latent score (difference '
                  f'{float(ranking.scores[first] - ranking.scores[second]):+.2f} nats); the bits below explain the '
                  f'cross-entropy. ') if ranking.latent else ''
        out = [f'<h3>Why the top hit beats the runner-up</h3><p class="note">{latent}The two fingerprints differ in '
               f'{len(differ)} bits; their contributions sum to the cross-entropy difference '
               f'{total:+.2f} nats (negative favours the top hit). The substructures that matter most:</p>']
        if not len(differ):
            return out[0].replace("The substructures that matter most:", "They have the same fingerprint: the "
                                  "spectrum cannot tell them apart.")
        order = np.argsort(contrib)
        chosen = [*order[:BITS][contrib[order[:BITS]] < 0], *order[::-1][:BITS][contrib[order[::-1][:BITS]] > 0]]
        out.append('<table class="bits"><tr><th>substructure (fingerprint bit)</th><th>predicted probability</th>'
                   '<th>in top hit</th><th>in runner-up</th><th>contribution (nats)</th><th></th></tr>')
        for j in chosen:
            k = int(differ[j])
            name = self.names[k] if self.names and k < len(self.names) else f"bit {k}"
            favours = contrib[j] < 0
            out.append(f'<tr><td>{_e(name)}</td><td class="num">{item.probs[k]:.3f}</td>'
                       f'<td>{"yes" if bits[0, k] else "no"}</td><td>{"yes" if bits[1, k] else "no"}</td>'
                       f'<td class="num">{contrib[j]:+.2f}</td><td class="{"good" if favours else "low"}">'
                       f'{"favours the top hit" if favours else "favours the runner-up"}</td></tr>')
        out.append("</table>")
        return "".join(out)

    def _document(self, body: str, title: str) -> str:
        return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
                f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>'
                f"<body>{body}</body></html>\n")

    def _flush(self) -> None:
        """Write the current page's sections to their own file."""
        self.pages += 1
        path = self.path.parent / self._page_name(self.pages)
        path.parent.mkdir(parents=True, exist_ok=True)
        nav = f'<nav><a href="../{_e(self.path.name)}">all spectra</a></nav>'
        _write(path, self._document(f"<h1>{_e(self.title)}: page {self.pages}</h1>{nav}{''.join(self.sections)}{nav}",
                                    f"{self.title}, page {self.pages}"))
        self.sections = []

    def close(self) -> None:
        """Write the overview (and the last page)."""
        inline = self.pages == 0
        if not inline and self.sections:
            self._flush()
        head = (f"<h1>{_e(self.title)}</h1>" + (f'<p class="meta">model: {_e(self.model)}</p>' if self.model else "")
                + '<p class="note">Candidates are ranked by the cross-entropy between their fingerprint and the one '
                "predicted from the spectrum (nats; lower is better). <b>probability</b>: how the model's belief is "
                "shared among this spectrum's candidates (sums to 1, assuming the answer is among them). "
                "<b>confidence</b>: the estimated chance that the top hit is right, fitted on held-out spectra "
                "(docs/ranking.md).</p>")
        table = ('<table class="overview"><tr><th>#</th><th>spectrum</th><th>precursor m/z</th><th>retention time</th>'
                 "<th>candidates</th><th>top hit</th><th>probability</th><th>confidence</th><th>status</th></tr>"
                 + "".join(text.replace("{href}", f"#{anchor}" if inline else f"{self._page_name(page)}#{anchor}")
                           for page, anchor, text in self.rows) + "</table>")
        pages = "" if inline else "<nav>pages: " + "".join(
            f'<a href="{self._page_name(i)}">{i}</a>' for i in range(1, self.pages + 1)) + "</nav>"
        body = head + pages + table + ("".join(self.sections) if inline else "")
        _write(self.path, self._document(body, self.title))


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
