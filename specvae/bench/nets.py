"""Encoders and decoders of the image benchmarks (paper appendix A, tables A.2-A.7).

Importing this module registers three network families in the models' registry (:data:`FAMILIES`): a
:class:`~specvae.models.config.ModalityConfig` names them as ``encoder="split_image"`` etc. They follow the contract of
:mod:`specvae.models.nets`: an encoder is ``body -> (B, F)`` features plus the linear Gaussian head of
:class:`~specvae.models.nets.Encoder`; a decoder maps ``z`` of shape ``(..., L)`` to the likelihood's parameter with
the modality's shape (logits for Bernoulli pixels, ``(..., 32, vocabulary)`` logits for captions), folding the
leading sample dimensions into the batch.

The appendix tables were partly copied from one another (table A.2 says "Input in R^{3x32x32}" for a 14 x 28 MNIST
half); each class docstring says how a table was read. Options come from ``ModalityConfig.net_options``.
Tables A.3 (MNIST in MNIST-SVHN) and A.6 (CUB image features) are plain MLPs: the built-in ``"mlp"`` family.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from specvae.models.config import ModalityConfig
from specvae.models.nets import Encoder, register_networks


def conv_sizes(height: int, width: int, n: int) -> list[tuple[int, int]]:
    """Feature map sizes of ``n`` 4 x 4 convolutions of stride 2, padding 1: ``[(H, W), ..., (h_n, w_n)]``."""
    sizes = [(height, width)]
    for _ in range(n):
        h, w = sizes[-1]
        sizes.append(((h - 2) // 2 + 1, (w - 2) // 2 + 1))
    if min(sizes[-1]) < 1:
        raise ValueError(f"a {height} x {width} image is too small for {n} stride-2 convolutions")
    return sizes


def _fold(z: Tensor) -> tuple[Tensor, tuple[int, ...]]:
    return z.reshape(-1, z.shape[-1]), tuple(z.shape[:-1])


class ChannelsLast(nn.Module):
    """Lay a 4-d activation out channels-last: the same values, 1.2-2x faster convolutions on CPUs (and GPUs)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.contiguous(memory_format=torch.channels_last)


def _conv_stack(shape: tuple[int, int, int], channels: list[int]) -> tuple[list[nn.Module], int]:
    """4x4 stride-2 convolutions with ReLU over ``(C, H, W)`` images, flattened; returns the layers and the width."""
    c, h, w = shape
    layers: list[nn.Module] = [ChannelsLast()]
    for a, b in zip([c, *channels[:-1]], channels):
        layers += [nn.Conv2d(a, b, 4, 2, 1), nn.ReLU()]
    fh, fw = conv_sizes(h, w, len(channels))[-1]
    return layers + [nn.Flatten()], channels[-1] * fh * fw


class SplitImageEncoder(Encoder):
    """Tables A.2 (MNIST-Split, a 1 x 14 x 28 half) and A.7 (MNIST-Split-3, a 1 x 9 x 28 third).

    Three 4 x 4 convolutions of stride 2, padding 1 (the appendix's padding rule), 64, 128 and 256 channels, ReLU;
    the map (256 x 1 x 3 for both part sizes, 768 values) is flattened into "FC. 786 ReLU" and the Gaussian head.
    The tables' input "R^{3x32x32}" is a copy of the SVHN table: the input is the part's own ``1 x h x 28``.
    The reference code (sgalkina/poe-vaes) used 512 units in the fully connected layer; we keep the table's 786.
    ``net_options``: ``channels`` (default ``[64, 128, 256]``), ``hidden`` (default 786).
    """

    def __init__(self, cfg: ModalityConfig, latent_dim: int):
        opts = cfg.net_options
        channels = list(opts.get("channels", (64, 128, 256)))
        hidden = int(opts.get("hidden", 786))
        layers, flat = _conv_stack(cfg.shape, channels)
        layers += [nn.Linear(flat, hidden), nn.ReLU()]
        super().__init__(nn.Sequential(*layers), hidden, latent_dim)


class SplitImageDecoder(nn.Module):
    """Tables A.2 / A.7 decoder: ``FC. L, FC. 512, FC. 112`` (ReLU), then transposed convolutions to the part.

    The tables list two transposed convolutions (56 channels stride 1, 28 channels stride 2) that end at 28
    channels, not at an image; we add the output layer (1 channel, stride 2, logits) and choose the spatial sizes
    that mirror the encoder: the 112 features are a 1 x 1 map, the stride-1 layer's kernel is the encoder's
    second-last map (3 x 7 for a half, 2 x 7 for a third) instead of 4 x 4, and the two 4 x 4 stride-2 layers
    (padding 1) double it, with an output padding of one row where the encoder rounded down (3 -> 7 -> 14 rows for
    a half, 2 -> 4 -> 9 for a third). ``net_options``: ``fc`` (default ``[L, 512, 112]``), ``up_channels``
    (default ``[56, 28]``).
    """

    def __init__(self, cfg: ModalityConfig, latent_dim: int):
        super().__init__()
        opts = cfg.net_options
        fc = [latent_dim, *opts.get("fc", (latent_dim, 512, 112))]
        up = list(opts.get("up_channels", (56, 28)))
        c, h, w = cfg.shape
        self.shape = tuple(cfg.shape)
        sizes = conv_sizes(h, w, len(up) + 1)[:-1][::-1]  # e.g. [(3, 7), (7, 14), (14, 28)]
        layers: list[nn.Module] = []
        for a, b in zip(fc[:-1], fc[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        # the stride-1 transposed convolution of a 1 x 1 map with an (h, w) kernel, written as the linear layer it is
        layers += [nn.Linear(fc[-1], up[0] * sizes[0][0] * sizes[0][1]), nn.ReLU(),
                   nn.Unflatten(1, (up[0], *sizes[0])), ChannelsLast()]
        self.fc = nn.Sequential(*layers)
        convs: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(up, [*up[1:], c])):
            (hi, wi), (ho, wo) = sizes[i], sizes[i + 1]
            convs.append(nn.ConvTranspose2d(a, b, 4, 2, 1, output_padding=(ho - 2 * hi, wo - 2 * wi)))
            if i < len(up) - 1:  # the last layer gives logits
                convs.append(nn.ReLU())
        self.up = nn.Sequential(*convs)

    def forward(self, z: Tensor) -> Tensor:
        flat, lead = _fold(z)
        x = self.up(self.fc(flat))  # (N, c, h, w) logits
        return x.reshape(*lead, *self.shape)


class SVHNEncoder(Encoder):
    """Table A.4 encoder for 3 x 32 x 32 SVHN digits (MMVAE's): 4 x 4 convolutions of stride 2, padding 1, with
    32, 64, 128 channels and ReLU, to a 128 x 4 x 4 map.

    The table's head is two 4 x 4 convolutions to L channels on that 4 x 4 map: exactly a linear layer on the 2048
    flattened values, which is what :class:`~specvae.models.nets.Encoder`'s head is. ``net_options``: ``channels``.
    """

    def __init__(self, cfg: ModalityConfig, latent_dim: int):
        channels = list(cfg.net_options.get("channels", (32, 64, 128)))
        layers, flat = _conv_stack(cfg.shape, channels)
        super().__init__(nn.Sequential(*layers), flat, latent_dim)


class SVHNDecoder(nn.Module):
    """Table A.4 decoder: ``z`` as an L x 1 x 1 map, 4 x 4 transposed convolutions 128 (stride 1, to 4 x 4), 64,
    32 and 3 (stride 2, padding 1) channels with ReLU between; returns 3 x 32 x 32 logits (the table's sigmoid is
    the Bernoulli likelihood's). ``net_options``: ``channels`` (default ``[128, 64, 32]``).
    """

    def __init__(self, cfg: ModalityConfig, latent_dim: int):
        super().__init__()
        channels = list(cfg.net_options.get("channels", (128, 64, 32)))
        self.shape = tuple(cfg.shape)
        layers: list[nn.Module] = [nn.ConvTranspose2d(latent_dim, channels[0], 4, 1, 0), nn.ReLU()]
        for a, b in zip(channels[:-1], channels[1:]):
            layers += [nn.ConvTranspose2d(a, b, 4, 2, 1), nn.ReLU()]
        layers.append(nn.ConvTranspose2d(channels[-1], self.shape[0], 4, 2, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        flat, lead = _fold(z)
        return self.net(flat[:, :, None, None]).reshape(*lead, *self.shape)


class CaptionEncoder(Encoder):
    """Table A.5 encoder for captions of 32 word indices (MMVAE's CNN sentence model).

    A word embedding, read as a 1 x 32 x E image; 4 x 4 convolutions of stride 2 (32, 64, 128 channels), then
    1 x 4 convolutions of stride 1 x 2, padding 0 x 1 (256, 512 channels), each with BatchNorm2d and ReLU, to a
    512 x 4 x 4 map. The table's embedding width 256 would leave a 4 x 8 map where its 4 x 4 head needs 4 x 4; MMVAE
    used E = 128, and so do we. The head's 4 x 4 convolutions on the 4 x 4 map are the linear head on the 8192
    flattened values. ``net_options``: ``vocab_size`` (required: 1590 for MMVAE's vocabulary), ``embedding``
    (default 128), ``channels`` (default ``[32, 64, 128, 256, 512]``).
    """

    def __init__(self, cfg: ModalityConfig, latent_dim: int):
        opts = cfg.net_options
        vocab, emb = int(opts["vocab_size"]), int(opts.get("embedding", 128))
        channels = list(opts.get("channels", (32, 64, 128, 256, 512)))
        (length,) = cfg.shape
        layers: list[nn.Module] = []
        h, w = length, emb
        for i, (a, b) in enumerate(zip([1, *channels[:-1]], channels)):
            kernel, stride, pad = ((4, 4), (2, 2), (1, 1)) if i < 3 else ((1, 4), (1, 2), (0, 1))
            layers += [nn.Conv2d(a, b, kernel, stride, pad), nn.BatchNorm2d(b), nn.ReLU()]
            h, w = (h + 2 * pad[0] - kernel[0]) // stride[0] + 1, (w + 2 * pad[1] - kernel[1]) // stride[1] + 1
        body = nn.Sequential(_Embed(vocab, emb), *layers, nn.Flatten())
        super().__init__(body, channels[-1] * h * w, latent_dim)


class _Embed(nn.Module):
    def __init__(self, vocab: int, dim: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab, dim)

    def forward(self, tokens: Tensor) -> Tensor:
        return self.embedding(tokens.long()).unsqueeze(1)  # (B, 1, length, E)


class CaptionDecoder(nn.Module):
    """Table A.5 decoder: ``z`` as an L x 1 x 1 map; a 4 x 4 transposed convolution to 512 x 4 x 4; 1 x 4 ones of
    stride 1 x 2, padding 0 x 1 (256, 128 channels); 4 x 4 ones of stride 2, padding 1 (64, 32, 1 channels), with
    BatchNorm2d and ReLU (ReLU only after the last), to a 1 x 32 x E map; then the transposed word embedding: a
    linear layer E -> vocabulary giving logits ``(..., 32, vocabulary)``. MMVAE tied that layer to the encoder's
    embedding; here decoder and encoder are separate modules (SVAE has several caption encoders), so it is untied.
    """

    def __init__(self, cfg: ModalityConfig, latent_dim: int):
        super().__init__()
        opts = cfg.net_options
        vocab, emb = int(opts["vocab_size"]), int(opts.get("embedding", 128))
        channels = list(opts.get("channels", (32, 64, 128, 256, 512)))[::-1]  # 512, 256, 128, 64, 32
        (self.length,) = cfg.shape
        layers: list[nn.Module] = [nn.ConvTranspose2d(latent_dim, channels[0], 4, 1, 0), nn.BatchNorm2d(channels[0]),
                                   nn.ReLU()]
        for i, (a, b) in enumerate(zip(channels, [*channels[1:], 1])):
            kernel, stride, pad = ((1, 4), (1, 2), (0, 1)) if i < 2 else ((4, 4), (2, 2), (1, 1))
            layers.append(nn.ConvTranspose2d(a, b, kernel, stride, pad))
            layers += [nn.BatchNorm2d(b), nn.ReLU()] if b != 1 else [nn.ReLU()]
        self.net = nn.Sequential(*layers)
        self.emb = emb
        self.to_vocab = nn.Linear(emb, vocab)

    def forward(self, z: Tensor) -> Tensor:
        flat, lead = _fold(z)
        x = self.net(flat[:, :, None, None])  # (N, 1, 32, E)
        if x.shape[-2:] != (self.length, self.emb):
            raise ValueError(f"caption decoder made a {tuple(x.shape[-2:])} map, expected ({self.length}, {self.emb})")
        return self.to_vocab(x.squeeze(1)).reshape(*lead, self.length, -1)


# family name -> (encoder, decoder), registered below. Run directories written before the registry named the
# classes by import path ("specvae.bench.nets:SplitImageEncoder"); those names stay registered so that they load.
SPLIT_IMAGE, SVHN, CAPTION = "split_image", "svhn", "caption"
FAMILIES = {SPLIT_IMAGE: (SplitImageEncoder, SplitImageDecoder), SVHN: (SVHNEncoder, SVHNDecoder),
            CAPTION: (CaptionEncoder, CaptionDecoder)}
for _family, (_encoder, _decoder) in FAMILIES.items():
    register_networks(_family, _encoder, _decoder)
    register_networks(f"specvae.bench.nets:{_encoder.__name__}", encoder=_encoder)
    register_networks(f"specvae.bench.nets:{_decoder.__name__}", decoder=_decoder)

__all__ = ["CAPTION", "FAMILIES", "SPLIT_IMAGE", "SVHN", "CaptionDecoder", "CaptionEncoder", "SVHNDecoder",
           "SVHNEncoder", "SplitImageDecoder", "SplitImageEncoder", "conv_sizes"]
