"""MNIST-SVHN (paper section 4.2): ``specvae bench mnist-svhn``, built like :mod:`specvae.bench.mnist_split`.

MNIST and SVHN training images are paired by digit with MMVAE's rule (:func:`pair_by_label`, 30
random partners per image and class); the list of pairs is the training set. ``supervision`` keeps that share of
the pairs (seeded) paired; every other pair contributes its MNIST image to the MNIST-only stream and its SVHN image
to the SVHN-only stream. Validation images (5,000 MNIST, 5,000 SVHN) are held out of both training sets before
pairing; validation and test pairs use one partner per image. Metrics (MMVAE's): cross-coherence MNIST -> SVHN and
SVHN -> MNIST (the target oracle's accuracy on reconstructions) and joint coherence of 1,000 prior samples.

Model selection (also for CUB): the best epoch has the highest mean of the three coherences on the validation split. The
paper selected on joint coherence alone, which uses no validation data at all (prior samples), so we add the two
cross-coherences measured on the validation pairs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from specvae.bench import metrics
from specvae.bench.common import PNG_FILE, BenchOptions, IndexedSteps, image_fetch, limit, train_and_test, write_summary
from specvae.bench.nets import SVHN
from specvae.bench.oracle import mnist_oracle, svhn_oracle
from specvae.errors import InputError
from specvae.models import ModalityConfig, ModelConfig
from specvae.training import checkpoint as ckpt
from specvae.training.loop import TrainConfig, check_run_directory, resolve_device

SELECT = ("val_coherence", "max")


def _subfolder(data: Path, name: str) -> Path:
    return data / name if (data / name).is_dir() else data


def mnist_svhn_model_config(model: str, latent_dim: int = 20) -> ModelConfig:
    """Tables A.3 (MNIST: 784-400-L MLP) and A.4 (SVHN: CNN), Bernoulli pixels, latent 20; VAEVAE's joint network
    projects each modality's features to 400 values (the width of the reference code's joint layer)."""
    mnist = ModalityConfig("mnist", (1, 28, 28), "bernoulli", encoder_widths=(400,), decoder_widths=(400,))
    svhn = ModalityConfig("svhn", (3, 32, 32), "bernoulli", encoder=SVHN, decoder=SVHN)
    return ModelConfig(model=model, modalities=(mnist, svhn), latent_dim=latent_dim, joint_width=400)


def pair_split(labels_a, labels_b, repeats: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from specvae.datasets.images import pair_by_label

    ia, ib = pair_by_label(labels_a, labels_b, repeats=repeats, seed=seed)
    order = np.random.default_rng([seed, 3]).permutation(len(ia))  # pair_by_label groups by digit
    return ia[order], ib[order]


def pair_streams(ia: np.ndarray, ib: np.ndarray, names: tuple[str, str], supervision: float, seed: int):
    """A share ``supervision`` of the pairs stays paired; the others feed one unpaired stream per modality."""
    perm = np.random.default_rng([seed, 1]).permutation(len(ia))
    k = round(supervision * len(ia))
    if supervision > 0 and k == 0:
        raise InputError(f"supervision {supervision:g} of {len(ia)} training pairs leaves no pair; raise it")
    kept, rest = np.sort(perm[:k]), np.sort(perm[k:])
    a, b = names
    return {"paired": {a: ia[kept], b: ib[kept]}, a: {a: ia[rest]}, b: {b: ib[rest]}}


def run_mnist_svhn(data: str | Path, out: str | Path, *, opts: BenchOptions = BenchOptions(),
                   config: TrainConfig = TrainConfig(epochs=50, batch_size=256, lr=1e-3),
                   repeats: int = 30) -> dict[str, Any]:
    """Train and test one model on MNIST-SVHN (see the module); ``data`` holds the MNIST IDX files and SVHN's
    ``train_32x32.mat`` / ``test_32x32.mat`` (or subfolders ``mnist/`` and ``svhn/``)."""
    from specvae.bench.plots import first_per_digit, pair_grid
    from specvae.datasets.images import read_mnist, read_svhn, validation_split

    data, out = Path(data), Path(out)
    device = resolve_device(opts.gpu)
    check_run_directory(out, opts.resume, opts.overwrite)
    mnist_dir, svhn_dir = _subfolder(data, "mnist"), _subfolder(data, "svhn")
    m_train, m_test = read_mnist(mnist_dir, "train"), read_mnist(mnist_dir, "test")
    s_train, s_test = read_svhn(svhn_dir, "train"), read_svhn(svhn_dir, "test")
    m_tr, m_va = validation_split(len(m_train), min(opts.n_validation, len(m_train) // 5), seed=0)
    s_tr, s_va = validation_split(len(s_train), min(opts.n_validation, len(s_train) // 5), seed=0)
    m_oracle, m_rec = mnist_oracle(mnist_dir, min(opts.n_validation, len(m_train) // 5), opts.oracle, device,
                                   opts.progress)
    s_oracle, s_rec = svhn_oracle(svhn_dir, min(opts.n_validation, len(s_train) // 5), opts.oracle, device,
                                  opts.progress)
    ia, ib = pair_split(m_train.labels[m_tr], s_train.labels[s_tr], repeats, config.seed)
    n_pairs = limit(len(ia), opts.train_limit)
    ia, ib = ia[:n_pairs], ib[:n_pairs]
    va_a, va_b = pair_split(m_train.labels[m_va], s_train.labels[s_va], 1, config.seed)
    te_a, te_b = pair_split(m_test.labels, s_test.labels, 1, config.seed)
    va_a, va_b = va_a[: limit(len(va_a), opts.eval_limit)], va_b[: limit(len(va_b), opts.eval_limit)]
    te_a, te_b = te_a[: limit(len(te_a), opts.eval_limit)], te_b[: limit(len(te_b), opts.eval_limit)]
    model_config = (ckpt.model_config(out) if opts.resume
                    else mnist_svhn_model_config(opts.model))
    m_images = torch.as_tensor(m_train.images[m_tr]).to(device)
    s_images = torch.as_tensor(s_train.images[s_tr]).to(device)
    source = IndexedSteps(pair_streams(ia, ib, ("mnist", "svhn"), opts.supervision, config.seed),
                          {"mnist": image_fetch(m_images), "svhn": image_fetch(s_images)}, config.batch_size,
                          config.seed)
    oracles = {"mnist": m_oracle, "svhn": s_oracle}

    def coherences(model, mx, sx, ml, sl, prefix):
        out = {f"{prefix}_cross_mnist_to_svhn": metrics.cross_coherence(model, s_oracle, "mnist", "svhn", mx, ml,
                                                                        device),
               f"{prefix}_cross_svhn_to_mnist": metrics.cross_coherence(model, m_oracle, "svhn", "mnist", sx, sl,
                                                                        device),
               f"{prefix}_joint": metrics.joint_coherence(model, oracles, 1000, config.seed, device)}
        out[f"{prefix}_coherence"] = float(np.mean(list(out.values())))
        return out

    val = (m_train.images[m_va][va_a], s_train.images[s_va][va_b], m_train.labels[m_va][va_a],
           s_train.labels[s_va][va_b])
    test = (m_test.images[te_a], s_test.images[te_b], m_test.labels[te_a], s_test.labels[te_b])
    run_info = {"task": "bench-mnist-svhn", "bench": "mnist-svhn", "supervision": opts.supervision,
                "streams": source.sizes(), "pair_repeats": repeats,
                "data": {"path": str(data), "n_train_pairs": int(n_pairs), "n_validation": len(va_a),
                         "n_test": len(te_a)}, "oracles": {"mnist": m_rec, "svhn": s_rec}}
    summary, net = train_and_test(model_config, source, lambda m: coherences(m, *val, "val"),
                                  lambda m: coherences(m, *test, "test"), SELECT, out, run_info, config, opts, device)
    summary["test"] = {k.removeprefix("test_"): v for k, v in summary["test"].items()}
    summary.update(bench="mnist-svhn", supervision=opts.supervision, streams=source.sizes(),
                   oracles={k: {f: r.get(f) for f in ("val_accuracy", "test_accuracy", "path")}
                            for k, r in (("mnist", m_rec), ("svhn", s_rec))})
    write_summary(out, summary)
    rows = first_per_digit(test[2])
    mx, sx = (torch.as_tensor(a[rows]).float().div(255).to(device) for a in test[:2])
    with torch.no_grad():
        z = torch.randn(len(rows), model_config.latent_dim, generator=torch.Generator().manual_seed(0)).to(device)
        recons = {"svhn from mnist": net.predict({"mnist": mx}, ["svhn"])["svhn"],
                  "mnist from svhn": net.predict({"svhn": sx}, ["mnist"])["mnist"],
                  "prior: mnist": metrics.decode_mean(net, "mnist", z),
                  "prior: svhn": metrics.decode_mean(net, "svhn", z)}
    pair_grid({"mnist": mx, "svhn": sx}, recons, out / PNG_FILE)
    return summary


__all__ = ["mnist_svhn_model_config", "pair_streams", "run_mnist_svhn"]
