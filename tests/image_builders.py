"""Tiny files in the exact formats of the image benchmarks' downloads (MNIST IDX, SVHN .mat, MMVAE's CUB files).

The real files cannot be downloaded where the tests run; these writers produce small files laid out byte for byte
like them, so that the readers are tested on the formats rather than on our own assumptions.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

WORDS = ["this", "bird", "has", "a", "small", "red", "beak", "and", "black", "wings", "with", "white", "spots", "on",
         "its", "breast", "the", "belly", "is", "yellow", "grey", "brown", "short", "long", "pointed", "crown", "tail",
         "feathers"]


def write_idx(path: Path, array: np.ndarray, compress: bool = False) -> Path:
    """An IDX file: ``00 00 08 ndim``, big-endian uint32 sizes, unsigned bytes (gzip-compressed if asked)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    data = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    path = Path(path)
    if compress:
        path = path.with_name(path.name + ".gz")
        with gzip.open(path, "wb") as fh:
            fh.write(data)
    else:
        path.write_bytes(data)
    return path


def digit_images(labels: np.ndarray, seed: int = 0, size: int = 28) -> np.ndarray:
    """``(N, size, size)`` uint8 images whose content depends on the label: a bar whose row and column encode it."""
    rng = np.random.default_rng(seed)
    out = (rng.random((len(labels), size, size)) * 30).astype(np.uint8)
    for i, label in enumerate(labels):
        r = 2 + (label % 5) * 5
        c = 4 if label < 5 else 16
        out[i, r:r + 4, c:c + 8] = 255
    return out


def write_mnist(directory: Path, n_train: int = 120, n_test: int = 40, compress: bool = True, seed: int = 0) -> Path:
    """A folder with the four MNIST IDX files under their standard names, holding synthetic digits."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        write_idx(directory / f"{split}-images-idx3-ubyte", digit_images(labels, seed), compress)
        write_idx(directory / f"{split}-labels-idx1-ubyte", labels, compress)
    return directory


def write_svhn(directory: Path, n_train: int = 60, n_test: int = 30, seed: int = 0) -> Path:
    """``train_32x32.mat`` / ``test_32x32.mat`` as SVHN ships them: ``X`` 32 x 32 x 3 x N uint8, ``y`` N x 1 uint8
    with labels 1..10 (10 = digit 0), MATLAB 5 format."""
    from scipy.io import savemat

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train), ("test", n_test)):
        digits = rng.integers(0, 10, n)
        gray = digit_images(digits, seed, 32)  # (N, 32, 32)
        x = np.stack([gray, 255 - gray, gray // 2], axis=-1)  # (N, 32, 32, 3)
        savemat(str(directory / f"{split}_32x32.mat"),
                {"X": np.ascontiguousarray(np.transpose(x, (1, 2, 3, 0))), "y": np.where(digits == 0, 10, digits)
                 .astype(np.uint8)[:, None]})
    return directory


def caption(rng: np.random.Generator) -> str:
    words = list(rng.choice(WORDS, size=int(rng.integers(5, 14))))
    return " ".join(words[:3]) + ", " + " ".join(words[3:]) + "."


def write_cub(directory: Path, n_train: int = 12, n_test: int = 6, dim: int = 2048, seed: int = 0,
              features: str = "ft") -> Path:
    """MMVAE's CUB layout: ``cub/text_{trainval,test}classes.txt`` (10 lower-case captions per image, one per line,
    image order) and ``cub/resnet101_2048/{train,test}.ft`` (a ``torch.save``d float tensor N x 2048), or ``.npy``
    files with ``features="npy"``. Image features depend on the words of the image's captions."""
    import torch

    root = Path(directory) / "cub"
    (root / "resnet101_2048").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    proj = rng.normal(size=(len(WORDS), dim))
    for split, text, n in (("train", "text_trainvalclasses.txt", n_train), ("test", "text_testclasses.txt", n_test)):
        lines, feats = [], []
        for _ in range(n):
            caps = [caption(rng) for _ in range(10)]
            lines += caps
            bag = np.zeros(len(WORDS))
            for c in caps:
                for w in c.replace(",", "").replace(".", "").split():
                    bag[WORDS.index(w)] += 1
            feats.append(np.maximum(bag @ proj / 10 + rng.normal(size=dim) * 0.1, 0))
        (root / text).write_text("\n".join(lines) + "\n")
        mat = np.asarray(feats, dtype=np.float32)
        if features == "npy":
            np.save(root / "resnet101_2048" / f"{split}.npy", mat)
        else:
            torch.save(torch.from_numpy(mat), root / "resnet101_2048" / f"{split}.ft")
    return Path(directory)
