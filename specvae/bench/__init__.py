"""The paper's image benchmarks (section 4.1-4.3): ``specvae bench mnist-split | mnist-split-3 | mnist-svhn | cub``.

- :mod:`specvae.bench.nets`: encoders and decoders of appendix A (tables A.2-A.7), named in model configs as
  ``"specvae.bench.nets:Class"``;
- :mod:`specvae.bench.oracle`: the digit classifiers that judge reconstructions, trained once and cached;
- :mod:`specvae.bench.metrics`: oracle accuracy of reconstructions, cross- and joint coherence;
- :mod:`specvae.bench.cca`: the CCA correlation of images and captions (CUB);
- :mod:`specvae.bench.run` (MNIST-Split, MNIST-Split-3) and :mod:`specvae.bench.pairs` (MNIST-SVHN, CUB): one
  function per benchmark, from data folder to run directory;
- :mod:`specvae.bench.paper`: the paper's published numbers; :mod:`specvae.bench.plots`: the PNG figures.

Importing this package imports nothing heavy; the modules import torch.
"""
