"""CUB image features and captions (paper section 4.3): ``specvae bench cub``.

Each of the 10 captions of an image is one pair (MMVAE). ``supervision`` keeps that share of the training *images*
paired with their captions; the other images join the image-only stream, their captions the caption-only stream. 500
training images are held out for validation. Metrics: CCA correlation (fitted on the training pairs) of image ->
caption, caption -> image, prior samples, and the ground truth pairs (:mod:`specvae.bench.cca`). The best epoch has the
highest mean of the three coherences on the validation split (the paper selected on joint coherence alone, which uses
no validation data).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from specvae.bench import metrics
from specvae.bench.common import PNG_FILE, BenchOptions, IndexedSteps, limit, train_and_test, write_summary
from specvae.bench.mnist_svhn import SELECT
from specvae.bench.nets import CAPTION
from specvae.errors import InputError
from specvae.models import ModalityConfig, ModelConfig
from specvae.training import checkpoint as ckpt
from specvae.training.loop import TrainConfig, check_run_directory, resolve_device


def cub_model_config(model: str, vocab_size: int, latent_dim: int = 64) -> ModelConfig:
    """Tables A.6 (image features: 2048-1024-512-256 MLP, ELU; Laplace likelihood, scale 0.01, weight 0.002 as in
    MMVAE) and A.5 (captions: CNN, categorical over the vocabulary), latent 64; joint projections of 512."""
    image = ModalityConfig("image", (2048,), "laplace", encoder_widths=(1024, 512, 256),
                           decoder_widths=(256, 512, 1024), activation="elu",
                           likelihood_options={"scale": 0.01, "weight": 0.002})
    caption = ModalityConfig("caption", (32,), "categorical", encoder=CAPTION, decoder=CAPTION,
                             net_options={"vocab_size": vocab_size})
    return ModelConfig(model=model, modalities=(image, caption), latent_dim=latent_dim, joint_width=512)


def run_cub(data: str | Path, out: str | Path, *, opts: BenchOptions = BenchOptions(n_validation=500),
            config: TrainConfig = TrainConfig(epochs=200, batch_size=100, lr=1e-4)) -> dict[str, Any]:
    """Train and test one model on CUB image features and captions (see the module and :mod:`specvae.bench.cca`)."""
    from specvae.bench.cca import SentenceEmbedder, cca_correlation, fit_cca
    from specvae.bench.plots import caption_sheet
    from specvae.datasets.cub import CAPTIONS_PER_IMAGE, load_cub
    from specvae.datasets.images import validation_split

    data, out = Path(data), Path(out)
    device = resolve_device(opts.gpu)
    check_run_directory(out, opts.resume, opts.overwrite)
    train, test, vocab = load_cub(data)
    n_img = len(train.features)
    tr_img, va_img = validation_split(n_img, min(opts.n_validation, n_img // 5), seed=0)
    tr_img = tr_img[: limit(len(tr_img), opts.train_limit)]

    def caps_of(imgs):  # the caption rows of images
        return (imgs[:, None] * CAPTIONS_PER_IMAGE + np.arange(CAPTIONS_PER_IMAGE)).ravel()

    tr_cap = caps_of(tr_img)
    embed = SentenceEmbedder(train.tokens[tr_cap], len(vocab))
    cca = fit_cca(train.features[tr_cap // CAPTIONS_PER_IMAGE], embed(train.tokens[tr_cap]), k=40)
    model_config = (ckpt.model_config(out) if opts.resume
                    else cub_model_config(opts.model, len(vocab)))
    features = torch.as_tensor(train.features).to(device)
    tokens = torch.as_tensor(train.tokens).to(device)
    perm = np.random.default_rng([config.seed, 1]).permutation(len(tr_img))
    k = round(opts.supervision * len(tr_img))
    if opts.supervision > 0 and k == 0:
        raise InputError(f"supervision {opts.supervision:g} of {len(tr_img)} training images leaves no pair")
    kept, rest = np.sort(tr_img[perm[:k]]), np.sort(tr_img[perm[k:]])
    streams = {"paired": {"image": caps_of(kept) // CAPTIONS_PER_IMAGE, "caption": caps_of(kept)},
               "image": {"image": rest}, "caption": {"caption": caps_of(rest)}}
    fetch = {"image": lambda r: features[torch.as_tensor(r, device=device)],
             "caption": lambda r: tokens[torch.as_tensor(r, device=device)]}
    source = IndexedSteps(streams, fetch, config.batch_size, config.seed)

    @torch.no_grad()
    def coherences(model, feats, toks, prefix, batch=500):
        model.eval()
        img_t = torch.as_tensor(feats, device=device)
        cap_t = torch.as_tensor(toks, device=device)
        i2t = np.concatenate([model.predict({"image": img_t[i:i + batch]}, ["caption"])["caption"].argmax(-1).cpu()
                              for i in range(0, len(img_t), batch)])
        t2i = np.concatenate([model.predict({"caption": cap_t[i:i + batch]}, ["image"])["image"].float().cpu()
                              for i in range(0, len(cap_t), batch)])
        z = torch.randn(1000, model_config.latent_dim, generator=torch.Generator().manual_seed(config.seed))
        gen_img = metrics.decode_mean(model, "image", z.to(device)).float().cpu().numpy()
        gen_cap = metrics.decode_mean(model, "caption", z.to(device)).argmax(-1).cpu().numpy()
        emb_caps = embed(toks)
        out = {f"{prefix}_cross_image_to_caption": cca_correlation(cca, feats, embed(i2t)),
               f"{prefix}_cross_caption_to_image": cca_correlation(cca, t2i, emb_caps),
               f"{prefix}_joint": cca_correlation(cca, gen_img, embed(gen_cap))}
        out[f"{prefix}_coherence"] = float(np.mean(list(out.values())))
        out[f"{prefix}_ground_truth"] = cca_correlation(cca, np.repeat(feats, CAPTIONS_PER_IMAGE, 0)[: len(toks)],
                                                        emb_caps)
        return out

    va_img = va_img[: limit(len(va_img), opts.eval_limit)]
    te_img = np.arange(limit(len(test.features), opts.eval_limit))
    run_info = {"task": "bench-cub", "bench": "cub", "supervision": opts.supervision, "streams": source.sizes(),
                "vocabulary": len(vocab), "cca_correlations": cca.correlations[:5].round(4).tolist(),
                "data": {"path": str(data), "n_train_images": len(tr_img), "n_validation_images": len(va_img),
                         "n_test_images": len(te_img)}}
    summary, net = train_and_test(
        model_config, source, lambda m: coherences(m, train.features[va_img], train.tokens[caps_of(va_img)], "val"),
        lambda m: coherences(m, test.features[te_img], test.tokens[caps_of(te_img)], "test"), SELECT, out, run_info,
        config, opts, device)
    summary["test"] = {k.removeprefix("test_"): v for k, v in summary["test"].items()}
    summary.update(bench="cub", supervision=opts.supervision, streams=source.sizes(), vocabulary=len(vocab))
    write_summary(out, summary)
    with torch.no_grad():
        shown = te_img[:8]
        pred = net.predict({"image": torch.as_tensor(test.features[shown], device=device)}, ["caption"])["caption"]
    lines = []
    for i, row in enumerate(shown):
        lines += [f"image {row}: caption   {vocab.decode(test.tokens[row * CAPTIONS_PER_IMAGE])}",
                  f"{'':>{len(str(row)) + 7}}from image {vocab.decode(pred[i].argmax(-1).cpu().numpy())}", ""]
    caption_sheet(lines, out / PNG_FILE)
    return summary


__all__ = ["cub_model_config", "run_cub"]
