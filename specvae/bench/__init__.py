"""The paper's image benchmarks (section 4.1-4.3): ``specvae bench mnist-split | mnist-split-3 | mnist-svhn | cub``.

- :mod:`specvae.bench.nets`: encoders and decoders of appendix A (tables A.2-A.7); importing it registers their
  families (``split_image``, ``svhn``, ``caption``) in the models' network registry;
- :mod:`specvae.bench.oracle`: the digit classifiers that judge reconstructions, trained once and cached;
- :mod:`specvae.bench.metrics`: oracle accuracy of reconstructions, cross- and joint coherence;
- :mod:`specvae.bench.cca`: the CCA correlation of images and captions (CUB);
- one module per benchmark, each one function from the data folder to a run directory:
  :mod:`specvae.bench.mnist_split` (MNIST-Split, MNIST-Split-3), :mod:`specvae.bench.mnist_svhn`,
  :mod:`specvae.bench.cub`, over the shared parts in :mod:`specvae.bench.common`;
- :mod:`specvae.bench.paper`: the paper's published numbers; :mod:`specvae.bench.plots`: the PNG figures.

Importing this package imports nothing heavy; the modules import torch.
"""
