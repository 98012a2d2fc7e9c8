"""SVAE: the product-of-experts VAE of the paper (section 3.1-3.2; section 3.5 for n modalities).

Each modality i has n experts, all networks on x_i with the architecture of modality i's encoder:
q_i^i(z|x_i), its own expert, and q_i^k(z|x_i) for every other modality k, which stands in for k when x_k is
missing (q*_k(z|x_i) in eq. 4-5). Posteriors (without normalisation constants, eq. 15-17, 33-37):

    all observed:        q(z|x_1..x_n) = prod_j q_j^j(z|x_j)
    subset S observed:   q^i(z|x_S)    = prod_{j in S} q_j^j(z|x_j) * prod_{k not in S} q_i^k(z|x_i),  i in S
    two modalities:      q(z|x1) = q_1^1(z|x1) q_1^2(z|x1),  q(z|x2) = q_2^2(z|x2) q_2^1(z|x2)

Every expert takes part in the unimodal posterior of its input modality, so paired and unpaired samples alike
update all of SVAE's encoders: the property that distinguishes it from VAEVAE (section 3.3).
With ``loss_kind="vaevae"`` this is SVAE* (SVAE architecture, VAEVAE loss).

``shared_expert_body`` (not in the paper, off by default): the n experts on one modality share a single body network
and differ only in their Gaussian heads. The posteriors are formed as above; a modality's input passes through one
body instead of n, which makes a wide first layer n times cheaper in weights and time.
"""

from __future__ import annotations

from torch import nn

from specvae.models.base import MultimodalVAE, Subset
from specvae.models.config import ModelConfig
from specvae.models.experts import product_of_experts
from specvae.models.nets import Encoder, build_encoder


def expert_key(source: str, target: str) -> str:
    """Module name of the expert on modality ``source`` standing in for ``target``."""
    return f"{source}__{target}"


class SVAE(MultimodalVAE):
    def __init__(self, config: ModelConfig, loss_kind: str = "svae"):
        super().__init__(config, loss_kind)
        if not config.shared_expert_body:
            self.experts = nn.ModuleDict({expert_key(m.name, t): build_encoder(m, config.latent_dim)
                                          for m in config.modalities for t in self.names})
            return
        self.bodies, self.experts = nn.ModuleDict(), nn.ModuleDict()
        for m in config.modalities:
            first = build_encoder(m, config.latent_dim)
            self.bodies[m.name], first.body = first.body, nn.Identity()  # the experts below are heads only
            for t in self.names:
                head = first if t == self.names[0] else Encoder(nn.Identity(), first.feature_dim, config.latent_dim)
                head.logvar_bound = first.logvar_bound
                self.experts[expert_key(m.name, t)] = head

    def encode_subsets(self, inputs, subsets):
        cache, features = {}, {}

        def expert(source, target):
            key = expert_key(source, target)
            if key not in cache:
                x = inputs[source]
                if self.config.shared_expert_body:
                    if source not in features:
                        features[source] = self.bodies[source](x)
                    x = features[source]
                cache[key] = self.experts[key](x)
            return cache[key]

        prior = self.config.prior_expert
        out = {}
        for s in subsets:
            own = [expert(j, j) for j in self.names if j in s]
            missing = [k for k in self.names if k not in s]
            if not missing:
                out[s] = [product_of_experts(own, prior)]
            else:
                out[s] = [product_of_experts(own + [expert(i, k) for k in missing], prior)
                          for i in self.names if i in s]
        return out


__all__ = ["SVAE", "Subset", "expert_key"]
