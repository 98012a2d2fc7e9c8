"""Encoder and decoder networks, built from a :class:`~specvae.models.config.ModalityConfig`.

Every encoder has the same contract, so that models can combine any of them:

- ``body(x) -> (B, F)`` features, ``feature_dim = F`` (VAEVAE's joint network reuses copies of the body);
- ``head(h) -> Gaussian`` with ``(B, L)`` mean and log-variance (the "FC. L, FC. L" rows of appendix A);
- ``forward(x) = head(body(x))``.

A decoder maps ``z`` with any leading dimensions ``(..., L)`` to the likelihood's parameter with the modality's
shape ``(..., *shape)``.

Network families are looked up by name in the registry :data:`ENCODERS` / :data:`DECODERS` (a config names a family,
never code to import). This module registers ``"mlp"``; a higher layer registers its own families with
:func:`register_networks` when it is imported (``specvae.bench.nets``: the image benchmarks' networks), so that the
models never import it. A network class is called as ``cls(modality_config, latent_dim)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from specvae.errors import InputError
from specvae.models.config import ModalityConfig
from specvae.models.experts import Gaussian, bound_logvar

ACTIVATIONS = {"relu": nn.ReLU, "elu": nn.ELU, "leaky_relu": nn.LeakyReLU, "gelu": nn.GELU}


def activation(name: str) -> nn.Module:
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}") from None


def mlp(widths: Sequence[int], batchnorm: bool, act: str, last_activation: bool = True, dropout: float = 0.0,
        sparse_input: bool = False) -> nn.Sequential:
    """``Linear -> [BatchNorm1d] -> activation [-> Dropout]`` for each consecutive pair of ``widths``.

    ``dropout`` follows every activation; ``sparse_input`` makes the first layer a :class:`SparseLinear`.
    """
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        last = i == len(widths) - 2
        layers.append(SparseLinear(a, b) if sparse_input and i == 0 else nn.Linear(a, b))
        if not last or last_activation:
            if batchnorm:
                layers.append(nn.BatchNorm1d(b))
            layers.append(activation(act))
            if dropout:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class SparseLinear(nn.Module):
    """A fully connected layer for inputs that are mostly zeros (binned spectra: about 1 % of the bins are occupied).

    The same function as :class:`torch.nn.Linear`, computed as a weighted sum of the weight rows of the non-zero
    inputs (:func:`torch.nn.functional.embedding_bag`): the cost follows the number of peaks, not the 11,000 bins, so
    a wide first layer is affordable on a CPU. The weight is stored ``(in_features, out_features)``.
    """

    def __init__(self, in_features: int, out_features: int):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(torch.empty(in_features, out_features))
        self.bias = nn.Parameter(torch.empty(out_features))
        bound = 1 / in_features**0.5  # nn.Linear's default initialisation
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        rows, cols = x.nonzero(as_tuple=True)  # (nnz,) each, row-major: rows sorted
        offsets = torch.searchsorted(rows, torch.arange(x.shape[0], device=x.device))  # (B,) start of each row
        out = F.embedding_bag(cols, self.weight, offsets, mode="sum", per_sample_weights=x[rows, cols].to(
            self.weight.dtype), include_last_offset=False)  # (B, out)
        return out + self.bias


class Encoder(nn.Module):
    """Base encoder: a ``body`` producing ``feature_dim`` features and a linear Gaussian ``head``."""

    logvar_bound = 0.0  # set by build_encoder from the modality's config (every encoder family alike)

    def __init__(self, body: nn.Module, feature_dim: int, latent_dim: int):
        super().__init__()
        self.body = body
        self.feature_dim = feature_dim
        self.mu = nn.Linear(feature_dim, latent_dim)
        self.logvar = nn.Linear(feature_dim, latent_dim)

    def head(self, h: Tensor) -> Gaussian:
        # float32 from here on: the product of experts and KL terms lose too much in bfloat16
        return Gaussian(self.mu(h).float(), bound_logvar(self.logvar(h).float(), self.logvar_bound))

    def forward(self, x: Tensor) -> Gaussian:
        return self.head(self.body(x))


class MLPEncoder(Encoder):
    """Fully connected encoder (tables A.8, A.9): input flattened, hidden ``encoder_widths``."""

    def __init__(self, cfg: ModalityConfig, latent_dim: int):
        widths = (cfg.size, *cfg.encoder_widths)
        body = nn.Sequential(nn.Flatten(), mlp(widths, cfg.batchnorm, cfg.activation, dropout=cfg.dropout,
                                               sparse_input=cfg.sparse_input))
        super().__init__(body, widths[-1], latent_dim)


class MLPDecoder(nn.Module):
    """Fully connected decoder: ``latent -> decoder_widths -> prod(shape)``, reshaped to the modality's shape.

    BatchNorm (when configured) needs a 2-d input, so extra leading sample dimensions are folded into the batch.
    """

    def __init__(self, cfg: ModalityConfig, latent_dim: int):
        super().__init__()
        self.shape = tuple(cfg.shape)
        self.net = mlp((latent_dim, *cfg.decoder_widths, cfg.size), cfg.batchnorm, cfg.activation,
                       last_activation=False)

    def forward(self, z: Tensor) -> Tensor:
        lead = z.shape[:-1]
        out = self.net(z.reshape(-1, z.shape[-1]))  # (N, prod(shape))
        return out.reshape(*lead, *self.shape)


ENCODERS: dict[str, type] = {"mlp": MLPEncoder}
DECODERS: dict[str, type] = {"mlp": MLPDecoder}


def register_networks(family: str, encoder: type | None = None, decoder: type | None = None) -> None:
    """Make a network family available to model configs as ``encoder=family`` / ``decoder=family``."""
    if encoder is not None:
        ENCODERS[family] = encoder
    if decoder is not None:
        DECODERS[family] = decoder


def _resolve(table: dict[str, type], name: str, kind: str) -> type:
    try:
        return table[name]
    except KeyError:
        raise InputError(f"unknown {kind} network {name!r}; known: {', '.join(sorted(table))} (the image "
                         "benchmarks' families are known once specvae.bench.nets is imported)") from None


def build_encoder(cfg: ModalityConfig, latent_dim: int) -> Encoder:
    encoder = _resolve(ENCODERS, cfg.encoder, "encoder")(cfg, latent_dim)
    encoder.logvar_bound = cfg.logvar_bound
    return encoder


def build_decoder(cfg: ModalityConfig, latent_dim: int) -> nn.Module:
    return _resolve(DECODERS, cfg.decoder, "decoder")(cfg, latent_dim)


class JointEncoder(nn.Module):
    """VAEVAE's joint encoder q(z | x_S) for a subset S of modalities (appendix A).

    For each modality in S: a fresh copy of its encoder body, then a fully connected layer with ReLU; the features
    are concatenated and a last fully connected layer gives the latent mean and log-variance.
    """

    def __init__(self, cfgs: Sequence[ModalityConfig], latent_dim: int, width: int = 0):
        super().__init__()
        self.names = [c.name for c in cfgs]
        bodies, projections, total = {}, {}, 0
        for c in cfgs:
            enc = build_encoder(c, latent_dim)
            w = width or enc.feature_dim
            bodies[c.name] = enc.body
            projections[c.name] = nn.Sequential(nn.Linear(enc.feature_dim, w), nn.ReLU())
            total += w
        self.bodies = nn.ModuleDict(bodies)
        self.projections = nn.ModuleDict(projections)
        self.mu = nn.Linear(total, latent_dim)
        self.logvar = nn.Linear(total, latent_dim)
        self.logvar_bound = max(c.logvar_bound for c in cfgs)

    def forward(self, inputs: dict[str, Tensor]) -> Gaussian:
        h = torch.cat([self.projections[n](self.bodies[n](inputs[n])) for n in self.names], dim=-1)
        return Gaussian(self.mu(h).float(), bound_logvar(self.logvar(h).float(), self.logvar_bound))
