"""The multimodal VAEs: SVAE, VAEVAE, VAEVAE*, SVAE*, MMVAE, for any number of modalities, and the supervised
reference network (``mlp``) they are measured against.

:data:`MODELS` is the only registry: model name -> (architecture, loss). Build a model with :func:`build_model`.
"""

from __future__ import annotations

from specvae.models.base import MultimodalVAE
from specvae.models.config import ModalityConfig, ModelConfig, canonical_model_name, spectra_model_config
from specvae.models.mlp import SupervisedMLP
from specvae.models.mmvae import MMVAE
from specvae.models.svae import SVAE
from specvae.models.vaevae import VAEVAE

MODELS: dict[str, tuple[type[MultimodalVAE] | type[SupervisedMLP], str]] = {
    "svae": (SVAE, "svae"),
    "vaevae": (VAEVAE, "vaevae"),
    "vaevae_star": (VAEVAE, "svae"),  # VAEVAE architecture, SVAE loss
    "svae_star": (SVAE, "vaevae"),  # SVAE architecture, VAEVAE loss
    "mmvae": (MMVAE, "vaevae"),  # the loss kind is unused: MMVAE has its own objective
    "mlp": (SupervisedMLP, "supervised"),  # not generative: spectrum -> fingerprint, the reference to beat
}
SUPERVISED = frozenset({"mlp"})  # models that learn from paired data only


def build_model(config: ModelConfig) -> MultimodalVAE | SupervisedMLP:
    """A freshly initialised model for ``config``."""
    cls, loss_kind = MODELS[canonical_model_name(config.model)]
    return cls(config, loss_kind=loss_kind)


def count_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())


__all__ = ["MODELS", "MMVAE", "SUPERVISED", "SVAE", "SupervisedMLP", "VAEVAE", "ModalityConfig", "ModelConfig",
           "MultimodalVAE", "build_model",
           "count_parameters", "spectra_model_config"]
