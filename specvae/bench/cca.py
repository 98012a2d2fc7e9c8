"""CCA coherence of images and captions for CUB (paper section 4.3; MMVAE's ``analyse_cub.py``).

MMVAE measures how well an image (2048-d ResNet-101 features) and a caption agree by canonical correlation
analysis: projections ``W_x`` (images) and ``W_y`` (sentence embeddings) are fitted once on the training pairs,
and the agreement of a new pair is ``corr(x, y) = cos(W_x^T (x - mean_x), W_y^T (y - mean_y))``, averaged over
pairs. Sentences are embedded as the SIF average of word vectors (weights ``a / (a + p(word))``, ``a = 1e-3``)
minus the projection on the first principal component of the training sentences.

Two deliberate differences from MMVAE, both documented in ``docs/benchmarks-images.md``:

- word vectors: MMVAE trains FastText (gensim, 300-d, window 3) on the training captions; we take the truncated
  SVD of the positive pointwise mutual information matrix of word co-occurrences (window 3) of the same captions,
  with NumPy/SciPy only (:class:`SentenceEmbedder`);
- CCA: MMVAE solves the generalised eigenproblem with unit-norm eigenvectors; we whiten each view (a small ridge
  keeps the covariances invertible) and take the SVD of the whitened cross-covariance, so every canonical
  variate has unit variance (:func:`fit_cca`). The canonical correlations are the same; the cosine weights the
  k = 40 dimensions equally.

Our numbers are therefore comparable between models trained here, not digit for digit with MMVAE's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from specvae.datasets.cub import EOS, PAD


@dataclass
class CCA:
    """Fitted CCA: view means, projections ``(d_x, k)`` / ``(d_y, k)``, canonical correlations ``(k,)``."""

    mean_x: np.ndarray
    mean_y: np.ndarray
    w_x: np.ndarray
    w_y: np.ndarray
    correlations: np.ndarray


def _inverse_sqrt(cov: np.ndarray, ridge: float) -> np.ndarray:
    cov = cov + ridge * max(np.trace(cov) / len(cov), 1e-12) * np.eye(len(cov))
    values, vectors = np.linalg.eigh(cov)
    return (vectors / np.sqrt(np.clip(values, 1e-12, None))) @ vectors.T


def fit_cca(x, y, k: int = 40, ridge: float = 1e-4) -> CCA:
    """CCA of paired rows ``x`` ``(N, d_x)`` and ``y`` ``(N, d_y)`` with ``k`` components (MMVAE: 40)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(x) != len(y) or len(x) < 2:
        raise ValueError(f"CCA needs the same number (>= 2) of rows in both views, got {len(x)} and {len(y)}")
    mx, my = x.mean(0), y.mean(0)
    xc, yc = x - mx, y - my
    n = len(x) - 1
    kx, ky = _inverse_sqrt(xc.T @ xc / n, ridge), _inverse_sqrt(yc.T @ yc / n, ridge)
    u, s, vt = np.linalg.svd(kx @ (xc.T @ yc / n) @ ky, full_matrices=False)
    k = min(k, len(s))
    return CCA(mx, my, kx @ u[:, :k], ky @ vt[:k].T, s[:k])


def cca_correlation(cca: CCA, x, y) -> float:
    """Mean cosine similarity of the projected, centred pairs (rows of ``x`` and ``y``)."""
    px = (np.asarray(x, dtype=np.float64) - cca.mean_x) @ cca.w_x
    py = (np.asarray(y, dtype=np.float64) - cca.mean_y) @ cca.w_y
    norms = np.linalg.norm(px, axis=1) * np.linalg.norm(py, axis=1)
    return float(np.mean(np.sum(px * py, axis=1) / np.clip(norms, 1e-12, None)))


def eos_mask(tokens: np.ndarray) -> np.ndarray:
    """``(N, T)`` bool: the positions up to and including each row's first ``<eos>`` (all, where it has none)."""
    tokens = np.asarray(tokens)
    is_eos = tokens == EOS
    first = np.where(is_eos.any(1), is_eos.argmax(1), tokens.shape[1] - 1)
    return np.arange(tokens.shape[1])[None] <= first[:, None]


class SentenceEmbedder:
    """SIF sentence embeddings over PPMI-SVD word vectors, fitted on training captions (see the module)."""

    def __init__(self, train_tokens: np.ndarray, vocab_size: int, dim: int = 300, window: int = 3, a: float = 1e-3):
        train_tokens = np.asarray(train_tokens)
        mask = eos_mask(train_tokens)
        counts = np.bincount(train_tokens[mask], minlength=vocab_size).astype(np.float64)
        self.weights = a / (a + counts / counts.sum())
        self.vectors = self._word_vectors(train_tokens, mask, vocab_size, dim, window)
        raw = self._average(train_tokens)
        _, _, vt = np.linalg.svd(raw - raw.mean(0), full_matrices=False)
        self.pc = vt[0]

    @staticmethod
    def _word_vectors(tokens, mask, vocab_size: int, dim: int, window: int) -> np.ndarray:
        from scipy.sparse import coo_matrix

        keep = mask & (tokens != PAD)
        a_all, b_all = [], []
        for d in range(1, window + 1):
            ok = keep[:, :-d] & keep[:, d:]
            a_all.append(tokens[:, :-d][ok])
            b_all.append(tokens[:, d:][ok])
        a, b = np.concatenate(a_all), np.concatenate(b_all)
        co = coo_matrix((np.ones(2 * len(a)), (np.r_[a, b], np.r_[b, a])), shape=(vocab_size,) * 2).toarray()
        total, marg = co.sum(), co.sum(1)
        with np.errstate(divide="ignore", invalid="ignore"):
            pmi = np.log(co * total / np.outer(marg, marg))
        ppmi = np.where(np.isfinite(pmi) & (pmi > 0), pmi, 0.0)
        u, s, _ = np.linalg.svd(ppmi, full_matrices=False)
        dim = min(dim, len(s))
        return u[:, :dim] * np.sqrt(s[:dim])

    def _average(self, tokens: np.ndarray, chunk: int = 4096) -> np.ndarray:
        out = []
        for start in range(0, len(tokens), chunk):
            t = tokens[start:start + chunk]
            w = self.weights[t] * eos_mask(t)  # (n, T)
            out.append(np.einsum("nt,ntd->nd", w, self.vectors[t]) / w.astype(bool).sum(1, keepdims=True))
        return np.concatenate(out) if out else np.zeros((0, self.vectors.shape[1]))

    def __call__(self, tokens: np.ndarray) -> np.ndarray:
        """``(N, dim)`` embeddings of rows of word indices (probabilities ``(N, 32, V)`` are argmax-ed first)."""
        tokens = np.asarray(tokens)
        if tokens.ndim == 3:
            tokens = tokens.argmax(-1)
        emb = self._average(tokens)
        return emb - np.outer(emb @ self.pc, self.pc)


__all__ = ["CCA", "SentenceEmbedder", "cca_correlation", "eos_mask", "fit_cca"]
