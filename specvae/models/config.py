"""Model configuration: frozen dataclasses that round-trip through JSON, plus the paper's spectra presets.

A trained run stores ``ModelConfig.to_dict()`` in its ``config.json``; :func:`ModelConfig.from_dict` rebuilds the
identical architecture (unknown keys and wrong types are errors, never silently ignored).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from specvae import schema
from specvae.errors import InputError

MODEL_NAMES = ("svae", "vaevae", "vaevae_star", "svae_star", "mmvae", "mlp")
LIKELIHOODS = ("gaussian", "bernoulli", "laplace", "categorical", "multinomial")  # see specvae.models.likelihoods
_ALIASES = {"vaevae*": "vaevae_star", "svae*": "svae_star", "vaevae-star": "vaevae_star", "svae-star": "svae_star"}


def canonical_model_name(name: str) -> str:
    """``"VAEVAE*"`` / ``"vaevae-star"`` -> ``"vaevae_star"``; raises for unknown names."""
    key = _ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in MODEL_NAMES:
        raise InputError(f"unknown model {name!r}; choose one of svae, vaevae, vaevae_star (VAEVAE*), "
                         "svae_star (SVAE*), mmvae, mlp (supervised reference)")
    return key


@dataclass(frozen=True)
class ModalityConfig:
    """One modality: its data shape, likelihood and encoder/decoder networks.

    ``encoder``/``decoder`` name a network family in :mod:`specvae.models.nets` (``"mlp"`` by default; the image
    benchmarks register convolutional ones); ``*_widths`` are the hidden layer widths; ``net_options`` passes
    family-specific settings; ``likelihood_options`` e.g. ``{"low": 0, "high": 4.615}`` (Gaussian clamp),
    ``{"scale": 0.01}`` (Laplace) or ``{"weight": 0.002}``.
    """

    name: str
    shape: tuple[int, ...]
    likelihood: str = "bernoulli"
    encoder: str = "mlp"
    decoder: str = "mlp"
    encoder_widths: tuple[int, ...] = ()
    decoder_widths: tuple[int, ...] = ()
    batchnorm: bool = False
    activation: str = "relu"
    likelihood_options: dict[str, Any] = field(default_factory=dict)
    net_options: dict[str, Any] = field(default_factory=dict)
    dropout: float = 0.0  # after every hidden activation of the encoder (the paper uses none)
    sparse_input: bool = False  # first encoder layer computed from the non-zero inputs only (same function, faster)
    logvar_bound: float = 0.0  # > 0: the encoders' log-variance squashed into (-b, b) (b * tanh(. / b)); paper: 0 (off)

    def __post_init__(self):
        if self.likelihood not in LIKELIHOODS:
            raise InputError(f"unknown likelihood {self.likelihood!r} for modality {self.name!r}; choose one of "
                             f"{', '.join(LIKELIHOODS)}")
        if self.logvar_bound < 0:
            raise InputError(f"logvar_bound must not be negative (0 switches it off), got {self.logvar_bound:g}")

    @property
    def size(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True)
class ModelConfig:
    """A multimodal VAE: which model, its modalities and latent size.

    ``model``: ``svae``, ``vaevae``, ``vaevae_star`` (VAEVAE architecture, SVAE loss), ``svae_star`` (SVAE
    architecture, VAEVAE loss) or ``mmvae``. ``prior_expert`` adds N(0, I) to every product of experts (off by
    default, following the paper's eq. 3-5). ``joint_width``: width of the per-modality layer of VAEVAE's joint
    encoder (appendix A gives none; ``0`` means the modality encoder's feature width). ``iwae_samples``: K of MMVAE's
    importance-weighted bound.
    """

    model: str = "svae"
    modalities: tuple[ModalityConfig, ...] = ()
    latent_dim: int = 300
    prior_expert: bool = False
    joint_width: int = 0
    iwae_samples: int = 10
    kl_weight: float = 1.0  # beta on every KL term; the paper's objective is 1
    cross_reconstruction: float = 0.0  # weight of decoding each modality from the other's posterior; paper: 0 (off)
    cross_from_mean: bool = False  # decode the cross terms from the posterior mean (as predict does), not a sample
    shared_expert_body: bool = False  # SVAE: a modality's experts share one body, each its own head; paper: separate

    def __post_init__(self):
        object.__setattr__(self, "model", canonical_model_name(self.model))
        names = [m.name for m in self.modalities]
        if len(names) < 2:
            raise InputError("a multimodal VAE needs at least two modalities")
        if len(set(names)) != len(names):
            raise InputError(f"modality names must be unique, got {names}")
        if self.model in ("vaevae_star", "svae_star") and len(names) != 2:
            raise InputError(f"{self.model} is defined for two modalities only (paper, Algorithm 1)")
        if self.latent_dim < 1:
            raise InputError(f"latent_dim must be positive, got {self.latent_dim}")
        if self.kl_weight < 0 or self.cross_reconstruction < 0:
            raise InputError("kl_weight and cross_reconstruction must not be negative")
        if self.cross_reconstruction and len(names) != 2:
            raise InputError("cross_reconstruction is defined for two modalities only")
        if self.shared_expert_body and self.model not in ("svae", "svae_star"):
            raise InputError("shared_expert_body is an option of SVAE's experts (svae, svae_star)")

    def modality(self, name: str) -> ModalityConfig:
        for m in self.modalities:
            if m.name == name:
                return m
        raise KeyError(name)

    def replace(self, **changes) -> ModelConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        data = dict(data)
        mods = tuple(_from_dict(ModalityConfig, m) for m in data.pop("modalities", ()))
        return _from_dict(cls, {**data, "modalities": mods})


def _from_dict(cls, data: dict[str, Any]):
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(data) - set(fields)
    if unknown:
        raise InputError(f"unknown {cls.__name__} key(s): {', '.join(sorted(unknown))}")
    kwargs = {}
    for key, value in data.items():
        if key in ("shape", "encoder_widths", "decoder_widths"):
            value = tuple(int(v) for v in value)
        kwargs[key] = value
    return cls(**kwargs)


# --- the spectra <-> fingerprint presets (paper appendix A, tables A.8 and A.9) ------------------------------------

SPECTRA_PRESETS: dict[str, dict[str, Any]] = {
    # Tables A.8/A.9, latent 300: about half a billion parameters for SVAE; a GPU model.
    "paper": dict(latent_dim=300, spectrum_encoder=(10000, 5000, 2048), spectrum_decoder=(3000, 5000, 10000),
                  fingerprint_encoder=(1024, 1000), fingerprint_decoder=(500, 1024)),
    # For CPUs: wide spectrum encoders made cheap by a sparse first layer (binned spectra are ~1 % occupied), the
    # rest narrow (about 35 M parameters for SVAE, most of them in the two spectrum experts' first layers).
    "cpu": dict(latent_dim=64, spectrum_encoder=(1024, 1024), spectrum_decoder=(128, 256),
                fingerprint_encoder=(256, 128), fingerprint_decoder=(128, 256), sparse_input=True),
    # The same shape as the paper's, narrow enough to train on a laptop CPU (about 10 M parameters for SVAE).
    "small": dict(latent_dim=64, spectrum_encoder=(256, 128), spectrum_decoder=(128, 256),
                  fingerprint_encoder=(256, 128), fingerprint_decoder=(128, 256)),
    # For tests only.
    "tiny": dict(latent_dim=8, spectrum_encoder=(32, 16), spectrum_decoder=(16, 32),
                 fingerprint_encoder=(16,), fingerprint_decoder=(16,)),
}


# Values every preset may override (``specvae train --set KEY=VALUE``), with the paper's choice as the default.
SPECTRA_DEFAULTS: dict[str, Any] = dict(
    prior_expert=False,
    spectrum_weight=1.0,  # multiplies log p(spectrum | z) wherever it appears
    fingerprint_weight=1.0,  # multiplies log p(fingerprint | z); the reference code weighted this term
    dropout=0.0,  # after every hidden activation of both encoders
    sparse_input=False,  # the spectrum encoder's first layer computed from the occupied bins (same function)
    batchnorm=True,  # in the spectrum encoder and decoder (tables A.8/A.9)
    kl_weight=1.0,
    cross_reconstruction=0.0,
    cross_from_mean=False,  # the cross term decoded from the posterior mean, the code that prediction uses
    spectrum_likelihood="gaussian",  # the paper's unit-variance Gaussian; or multinomial (a bag of weighted bins)
    logvar_bound=0.0,  # > 0 bounds every encoder's log-variance to (-b, b); the paper leaves it unbounded
    shared_expert_body=False,  # SVAE: one body per modality under its experts' heads; the paper: one network each
)
SPECTRA_KEYS = ("latent_dim", "spectrum_encoder", "spectrum_decoder", "fingerprint_encoder", "fingerprint_decoder",
                *SPECTRA_DEFAULTS)


def resolve_preset(preset: str, on_gpu: bool) -> str:
    """``auto`` -> ``paper`` on a GPU, ``cpu`` on a CPU; any other name is returned as it is."""
    if preset == "auto":
        return "paper" if on_gpu else "cpu"
    return preset


def spectra_model_config(model: str = "svae", n_bits: int = 2149, preset: str = "paper", **overrides) -> ModelConfig:
    """The spectrum <-> fingerprint model of the paper (section 4.4, appendix A) at a named width preset.

    The spectrum modality is a unit-variance Gaussian on the 11000 log-intensity bins with the mean clamped to
    ``[0, ln 101]``; the fingerprint modality is Bernoulli over ``n_bits`` bits. ``overrides`` take the keys of
    :data:`SPECTRA_KEYS`.
    """
    if preset not in SPECTRA_PRESETS:
        raise InputError(f"unknown preset {preset!r}; choose auto or one of {', '.join(SPECTRA_PRESETS)}")
    unknown = set(overrides) - set(SPECTRA_KEYS)
    if unknown:
        raise InputError(f"unknown model setting(s) {', '.join(sorted(unknown))}; known: {', '.join(SPECTRA_KEYS)}")
    p = {**SPECTRA_DEFAULTS, **SPECTRA_PRESETS[preset], **overrides}
    for key in ("spectrum_encoder", "spectrum_decoder", "fingerprint_encoder", "fingerprint_decoder"):
        p[key] = (p[key],) if isinstance(p[key], int) else p[key]  # --set spectrum_encoder=1024: one layer
    if p["spectrum_likelihood"] not in ("gaussian", "multinomial"):
        raise InputError(f"spectrum_likelihood must be gaussian or multinomial, got {p['spectrum_likelihood']!r}")
    clamp = {"low": 0.0, "high": schema.MAX_LOG_INTENSITY} if p["spectrum_likelihood"] == "gaussian" else {}
    spectrum = ModalityConfig(
        name="spectrum", shape=(schema.N_BINS,), likelihood=p["spectrum_likelihood"],
        encoder_widths=tuple(p["spectrum_encoder"]), decoder_widths=tuple(p["spectrum_decoder"]),
        batchnorm=bool(p["batchnorm"]), dropout=float(p["dropout"]), sparse_input=bool(p["sparse_input"]),
        likelihood_options={**clamp, **_weight(p["spectrum_weight"])}, logvar_bound=float(p["logvar_bound"]),
    )
    fingerprint = ModalityConfig(
        name="fingerprint", shape=(n_bits,), likelihood="bernoulli",
        encoder_widths=tuple(p["fingerprint_encoder"]), decoder_widths=tuple(p["fingerprint_decoder"]),
        dropout=float(p["dropout"]), likelihood_options=_weight(p["fingerprint_weight"]),
        logvar_bound=float(p["logvar_bound"]),
    )
    return ModelConfig(model=model, modalities=(spectrum, fingerprint), latent_dim=int(p["latent_dim"]),
                       prior_expert=bool(p["prior_expert"]), kl_weight=float(p["kl_weight"]),
                       cross_reconstruction=float(p["cross_reconstruction"]),
                       cross_from_mean=bool(p["cross_from_mean"]),
                       shared_expert_body=bool(p["shared_expert_body"]))


def _weight(value: float) -> dict[str, float]:
    """Likelihood options for a weight (none at the default 1, so configs stay as they were)."""
    if float(value) < 0:
        raise InputError(f"spectrum_weight and fingerprint_weight must not be negative, got {float(value):g}")
    return {} if float(value) == 1.0 else {"weight": float(value)}
