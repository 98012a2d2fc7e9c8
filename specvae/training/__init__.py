"""Training: the one visible loop (:mod:`~specvae.training.loop`), spectra training on an ingested dataset
(:mod:`~specvae.training.spectra`, ``specvae train``) and run directories (:mod:`~specvae.training.checkpoint`).

Importing this package imports nothing; the modules import torch.
"""
