"""Datasets: what the models train on, and the rules that make the data trustworthy.

- :mod:`~specvae.datasets.spectra`: an ingested dataset (Parquet) as tensors, paired / spectrum-only / fingerprint-only
  streams; :mod:`~specvae.datasets.batching`: the semi-supervised step (one batch of every stream, seeded);
- :mod:`~specvae.datasets.splits`: structure-disjoint splits by InChIKey first block and exclusion lists;
- :mod:`~specvae.datasets.images`, :mod:`~specvae.datasets.cub`: MNIST, SVHN and CUB for the image benchmarks;
- :mod:`~specvae.datasets.manifests`: checks of local copies of external datasets (``specvae data verify``).

Importing this package imports none of its modules.
"""
