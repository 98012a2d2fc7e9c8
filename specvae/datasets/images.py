"""Image data for the benchmarks of the paper (section 4.1-4.2): MNIST from IDX files, SVHN from ``.mat`` files.

Nothing is downloaded: every reader takes a local directory the user filled (see ``docs/benchmarks-images.md`` and
``specvae data list``) and checks what it reads, with an error that names the file and the fix.

- :func:`read_mnist` reads the four IDX files (gzip or raw, standard names with ``-`` or ``.`` before ``idx``) into
  ``uint8`` arrays, checking magic numbers, dimensions and file sizes.
- :func:`split_rows` cuts images into horizontal parts: halves (MNIST-Split, 2 x 14 rows) or thirds (MNIST-Split-3,
  3 x 9 rows of rows 0-26; row 27, blank in practically every MNIST digit, is dropped as in the reference code and
  put back as zeros by :func:`join_rows`).
- :func:`read_svhn` reads ``train_32x32.mat`` / ``test_32x32.mat`` (``X``: 32 x 32 x 3 x N ``uint8``, ``y``: N x 1
  with labels 1..10, 10 meaning digit 0) into ``(N, 3, 32, 32)`` images and 0..9 labels.
- :func:`pair_by_label` pairs MNIST and SVHN images showing the same digit, as MMVAE's ``make-mnist-svhn-idx.py``.
- :func:`validation_split` carves a seeded validation set out of a training set (the test split stays untouched).
"""

from __future__ import annotations

import gzip
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from specvae.errors import InputError

log = logging.getLogger("specvae.datasets")

MNIST_FILES = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}
MNIST_HELP = ("put the four MNIST IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
              "t10k-labels-idx1-ubyte, gzip-compressed or not) in one folder and pass it with --data; "
              "see `specvae data list` (manifest mnist)")
SVHN_FILES = {"train": "train_32x32.mat", "test": "test_32x32.mat"}
SVHN_HELP = ("download train_32x32.mat and test_32x32.mat (format 2, 'cropped digits') from "
             "http://ufldl.stanford.edu/housenumbers/ into one folder; see `specvae data list` (manifest svhn)")
_IDX_TYPES = {0x08: np.uint8}


@dataclass
class ImageSet:
    """Images ``(N, C, H, W)`` (``uint8``, 0-255) with their digit labels ``(N,)`` (``int64``, 0-9)."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, rows: np.ndarray) -> ImageSet:
        return ImageSet(self.images[rows], self.labels[rows])


# --- MNIST ---------------------------------------------------------------------------------------------------------

def find_mnist_file(directory: Path, split: str, kind: str) -> Path:
    """The IDX file for ``(split, kind)`` in ``directory``: ``NAME``, ``NAME.gz`` or the ``.idx`` spelling."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(2, f"no MNIST folder here; {MNIST_HELP}", str(directory))
    base = MNIST_FILES[(split, kind)]
    for name in (base, base.replace("-idx", ".idx")):
        for candidate in (directory / name, directory / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    raise FileNotFoundError(2, f"{base}[.gz] is missing; {MNIST_HELP}", str(directory / base))


def read_idx(path: str | Path, expected_dims: int | None = None) -> np.ndarray:
    """An IDX file (gzip or raw) as a NumPy array; header, magic number and size are checked.

    The IDX format: two zero bytes, a type byte (``0x08`` = unsigned byte), the number of dimensions, then one
    big-endian ``uint32`` per dimension, then the data in C order.
    """
    path = Path(path)
    with open(path, "rb") as fh:
        gzipped = fh.read(2) == b"\x1f\x8b"
    try:
        if gzipped:
            with gzip.open(path, "rb") as fh:
                data = fh.read()
        else:
            data = path.read_bytes()
    except (OSError, EOFError) as exc:
        raise InputError(f"{path}: cannot decompress ({exc}); download the file again") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise InputError(f"{path}: not an IDX file (bad magic number {data[:4].hex() or 'empty'}); {MNIST_HELP}")
    dtype, ndim = data[2], data[3]
    if dtype not in _IDX_TYPES:
        raise InputError(f"{path}: IDX data type 0x{dtype:02x} is not supported (only 0x08, unsigned byte)")
    if expected_dims is not None and ndim != expected_dims:
        raise InputError(f"{path}: IDX file has {ndim} dimensions, expected {expected_dims} "
                         f"(magic 0x{0x800 + expected_dims:x}); are images and labels swapped?")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise InputError(f"{path}: truncated IDX header")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape)) + header
    if len(data) != expected:
        raise InputError(f"{path}: {len(data)} bytes, but its header {shape} needs {expected}; the file is "
                         "truncated or corrupt")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def read_mnist(directory: str | Path, split: str = "train") -> ImageSet:
    """MNIST ``split`` ("train": 60,000 images, "test": 10,000) as ``(N, 1, 28, 28)`` ``uint8`` images."""
    if split not in ("train", "test"):
        raise InputError(f"MNIST split must be 'train' or 'test', got {split!r}")
    images = read_idx(find_mnist_file(directory, split, "images"), expected_dims=3)
    labels = read_idx(find_mnist_file(directory, split, "labels"), expected_dims=1)
    if len(images) != len(labels):
        raise InputError(f"MNIST {split}: {len(images)} images but {len(labels)} labels in {directory}")
    if labels.size and labels.max() > 9:
        raise InputError(f"MNIST {split}: label {labels.max()} out of range 0-9 in {directory}")
    return ImageSet(images[:, None].copy(), labels.astype(np.int64))


def files_digest(paths) -> str:
    """sha256 over the contents of ``paths`` (in the given order): the key of cached oracles."""
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def mnist_digest(directory: str | Path) -> str:
    return files_digest([find_mnist_file(directory, s, k) for s, k in MNIST_FILES])


# --- parts of an image ---------------------------------------------------------------------------------------------

def part_rows(height: int, n_parts: int) -> list[slice]:
    """Row slices of ``n_parts`` equal horizontal parts; rows left over at the bottom are dropped (28 = 3 x 9 + 1)."""
    if n_parts < 1 or height < n_parts:
        raise InputError(f"cannot cut {height} rows into {n_parts} parts")
    size = height // n_parts
    return [slice(i * size, (i + 1) * size) for i in range(n_parts)]


def split_rows(images, n_parts: int) -> list:
    """Cut ``(..., H, W)`` images (NumPy or torch) into ``n_parts`` equal horizontal parts, top first."""
    return [images[..., s, :] for s in part_rows(images.shape[-2], n_parts)]


def join_rows(parts, height: int = 28):
    """Stack parts (top first) back into ``(..., height, W)`` images, zero rows where parts do not reach."""
    import torch

    full = torch.cat(list(parts), dim=-2)
    missing = height - full.shape[-2]
    if missing < 0:
        raise InputError(f"parts have {full.shape[-2]} rows, more than the image height {height}")
    if missing:
        full = torch.cat([full, full.new_zeros(*full.shape[:-2], missing, full.shape[-1])], dim=-2)
    return full


# --- SVHN ----------------------------------------------------------------------------------------------------------

def read_svhn(directory: str | Path, split: str = "train") -> ImageSet:
    """SVHN cropped digits (``{split}_32x32.mat``) as ``(N, 3, 32, 32)`` ``uint8`` images, labels 0-9."""
    from scipy.io import loadmat

    if split not in SVHN_FILES:
        raise InputError(f"SVHN split must be one of {', '.join(SVHN_FILES)}, got {split!r}")
    path = Path(directory) / SVHN_FILES[split]
    if not path.is_file():
        raise FileNotFoundError(2, f"{SVHN_FILES[split]} is missing; {SVHN_HELP}", str(path))
    try:
        mat = loadmat(str(path), variable_names=["X", "y"])
    except (ValueError, OSError, NotImplementedError) as exc:
        raise InputError(f"{path}: not a readable MATLAB file ({exc}); {SVHN_HELP}") from None
    if "X" not in mat or "y" not in mat:
        raise InputError(f"{path}: expected variables X and y, found {sorted(k for k in mat if not k.startswith('_'))}")
    x, y = mat["X"], np.asarray(mat["y"]).reshape(-1)
    if x.ndim != 4 or x.shape[:3] != (32, 32, 3):
        raise InputError(f"{path}: X has shape {x.shape}, expected 32 x 32 x 3 x N (format 2, cropped digits)")
    if x.shape[3] != len(y):
        raise InputError(f"{path}: {x.shape[3]} images but {len(y)} labels")
    if len(y) and (y.min() < 1 or y.max() > 10):
        raise InputError(f"{path}: labels must lie in 1..10 (10 = digit 0), found {y.min()}..{y.max()}")
    images = np.ascontiguousarray(np.transpose(x, (3, 2, 0, 1))).astype(np.uint8)  # (N, 3, 32, 32)
    return ImageSet(images, (y.astype(np.int64) % 10))


def pair_by_label(labels_a: np.ndarray, labels_b: np.ndarray, repeats: int = 30, max_per_class: int = 10000,
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs ``(ia, ib)`` of items with the same label, as MMVAE pairs MNIST with SVHN.

    For every label, the first ``n = min(count_a, count_b, max_per_class)`` items of each set (in index order) are
    taken, and ``repeats`` times a fresh random permutation of each is appended: each of those items appears
    ``repeats`` times, each time next to a random item of the same label. MMVAE used ``repeats=30``,
    ``max_per_class=10000``; our random generator is ``numpy.random.default_rng(seed)``, so the pairs are not the
    very pairs of MMVAE's released index files, but follow the same rule.
    """
    labels_a, labels_b = np.asarray(labels_a), np.asarray(labels_b)
    rng = np.random.default_rng(seed)
    out_a, out_b = [], []
    for label in np.unique(labels_a):
        ia, ib = np.flatnonzero(labels_a == label), np.flatnonzero(labels_b == label)
        n = min(len(ia), len(ib), max_per_class)
        if n == 0:
            continue
        ia, ib = ia[:n], ib[:n]
        for _ in range(repeats):
            out_a.append(ia[rng.permutation(n)])
            out_b.append(ib[rng.permutation(n)])
    if not out_a:
        raise InputError("no label occurs in both image sets: nothing to pair")
    return np.concatenate(out_a), np.concatenate(out_b)


def validation_split(n: int, n_validation: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(train_rows, validation_rows)``: a seeded random choice of ``n_validation`` of ``n`` rows, both sorted."""
    if not 0 <= n_validation < n:
        raise InputError(f"cannot hold out {n_validation} validation items from {n}")
    perm = np.random.default_rng([seed, 7]).permutation(n)
    return np.sort(perm[n_validation:]), np.sort(perm[:n_validation])


__all__ = ["ImageSet", "files_digest", "join_rows", "mnist_digest", "pair_by_label", "part_rows", "read_idx",
           "read_mnist", "read_svhn", "split_rows", "validation_split"]
