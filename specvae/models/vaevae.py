"""VAEVAE (Wu & Goodman's variant b): unimodal encoders plus separate joint encoder networks (paper section 3.3).

For n modalities there is one encoder q(z|x_i) per modality and one joint network q(z|x_S) for every subset S of
two or more modalities (section 3.5: 2^n - 1 networks in all). The joint networks see only paired data, so they do
not learn from unpaired samples. With ``loss_kind="svae"`` this is VAEVAE* (VAEVAE architecture, SVAE loss).
"""

from __future__ import annotations

import itertools

from torch import nn

from specvae.models.base import MultimodalVAE
from specvae.models.config import ModelConfig
from specvae.models.nets import JointEncoder, build_encoder


def joint_key(names) -> str:
    return "__".join(names)


class VAEVAE(MultimodalVAE):
    def __init__(self, config: ModelConfig, loss_kind: str = "vaevae"):
        super().__init__(config, loss_kind)
        mods = config.modalities
        self.encoders = nn.ModuleDict({m.name: build_encoder(m, config.latent_dim) for m in mods})
        self.joint = nn.ModuleDict({
            joint_key([m.name for m in combo]): JointEncoder(combo, config.latent_dim, config.joint_width)
            for r in range(2, len(mods) + 1) for combo in itertools.combinations(mods, r)
        })

    def encode_subsets(self, inputs, subsets):
        out = {}
        for s in subsets:
            names = [n for n in self.names if n in s]
            if len(names) == 1:
                out[s] = [self.encoders[names[0]](inputs[names[0]])]
            else:
                out[s] = [self.joint[joint_key(names)](inputs)]
        return out
