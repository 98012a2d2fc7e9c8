"""MNIST IDX and SVHN .mat readers on tiny files in the exact formats, on the real MNIST files, and image parts."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch
from image_builders import write_idx, write_mnist, write_svhn

from specvae.datasets.images import (
    join_rows,
    mnist_digest,
    pair_by_label,
    part_rows,
    read_idx,
    read_mnist,
    read_svhn,
    split_rows,
    validation_split,
)
from specvae.errors import InputError


@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip(tmp_path, compress):
    data = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = write_idx(tmp_path / "x-idx3-ubyte", data, compress)
    np.testing.assert_array_equal(read_idx(path, expected_dims=3), data)


@pytest.mark.parametrize("content, message", [
    (b"\x01\x02\x08\x01\x00\x00\x00\x01\x05", "bad magic number"),
    (b"\x00\x00\x0d\x01\x00\x00\x00\x01\x05", "data type 0x0d"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x05\x01\x02", "truncated or corrupt"),
    (b"\x00\x00\x08\x03\x00\x00", "truncated IDX header"),
])
def test_idx_errors_name_the_problem(tmp_path, content, message):
    path = tmp_path / "bad"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        read_idx(path)


def test_idx_dimension_check_catches_swapped_files(tmp_path):
    path = write_idx(tmp_path / "labels", np.zeros(5, dtype=np.uint8))
    with pytest.raises(InputError, match="1 dimensions, expected 3"):
        read_idx(path, expected_dims=3)


def test_broken_gzip_is_reported(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x03abc")[:-6])
    with pytest.raises(InputError, match="cannot decompress"):
        read_idx(path)


def test_read_mnist_folder(tmp_path):
    write_mnist(tmp_path, n_train=20, n_test=8, compress=False)
    train, test = read_mnist(tmp_path, "train"), read_mnist(tmp_path, "test")
    assert train.images.shape == (20, 1, 28, 28) and train.images.dtype == np.uint8
    assert test.labels.shape == (8,) and test.labels.dtype == np.int64
    assert len(mnist_digest(tmp_path)) == 64


def test_missing_mnist_file_says_what_to_download(tmp_path):
    write_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte.*MNIST IDX files"):
        read_mnist(tmp_path, "test")
    with pytest.raises(FileNotFoundError, match="no MNIST folder"):
        read_mnist(tmp_path / "nowhere")


def test_real_mnist(shared_data):
    train, test = read_mnist(shared_data / "mnist", "train"), read_mnist(shared_data / "mnist", "test")
    assert train.images.shape == (60000, 1, 28, 28) and test.images.shape == (10000, 1, 28, 28)
    assert np.bincount(train.labels).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(test.labels)[[0, 1, 9]].tolist() == [980, 1135, 1009]


@pytest.mark.parametrize("n_parts, rows", [(2, 14), (3, 9)])
def test_parts_and_join(n_parts, rows):
    x = torch.arange(2 * 28 * 28, dtype=torch.float32).reshape(2, 1, 28, 28)
    parts = split_rows(x, n_parts)
    assert [p.shape for p in parts] == [(2, 1, rows, 28)] * n_parts
    torch.testing.assert_close(parts[0][..., 0, :], x[..., 0, :])
    full = join_rows(parts, 28)
    assert full.shape == x.shape
    covered = rows * n_parts
    torch.testing.assert_close(full[..., :covered, :], x[..., :covered, :])
    assert (full[..., covered:, :] == 0).all()  # MNIST-Split-3 drops row 27 and puts zeros back
    assert part_rows(28, 3) == [slice(0, 9), slice(9, 18), slice(18, 27)]


def test_svhn_mat_reader(tmp_path):
    from scipy.io import loadmat

    write_svhn(tmp_path, n_train=7, n_test=3)
    raw = loadmat(str(tmp_path / "train_32x32.mat"))
    train = read_svhn(tmp_path, "train")
    assert train.images.shape == (7, 3, 32, 32) and train.images.dtype == np.uint8
    np.testing.assert_array_equal(train.labels, raw["y"].ravel() % 10)  # 10 means digit 0
    np.testing.assert_array_equal(train.images[4, 1], raw["X"][:, :, 1, 4])  # (H, W, C, N) -> (N, C, H, W)
    assert len(read_svhn(tmp_path, "test")) == 3


def test_svhn_errors(tmp_path):
    from scipy.io import savemat

    with pytest.raises(FileNotFoundError, match="ufldl.stanford.edu"):
        read_svhn(tmp_path, "train")
    savemat(str(tmp_path / "train_32x32.mat"), {"X": np.zeros((28, 28, 1, 2), np.uint8), "y": np.ones((2, 1))})
    with pytest.raises(InputError, match="32 x 32 x 3 x N"):
        read_svhn(tmp_path, "train")
    savemat(str(tmp_path / "test_32x32.mat"), {"X": np.zeros((32, 32, 3, 2), np.uint8), "y": np.zeros((2, 1))})
    with pytest.raises(InputError, match="1..10"):
        read_svhn(tmp_path, "test")


def test_pair_by_label_pairs_same_digits():
    a = np.array([0, 1, 1, 2, 0, 1, 3])
    b = np.array([1, 0, 1, 1, 2, 2, 0, 0])
    ia, ib = pair_by_label(a, b, repeats=3, seed=1)
    assert (a[ia] == b[ib]).all()
    # per label: min(count_a, count_b) items, each repeated 3 times; digit 3 has no partner
    assert len(ia) == 3 * (2 + 3 + 1)
    assert set(np.unique(ib)) <= set(range(len(b)))
    again = pair_by_label(a, b, repeats=3, seed=1)
    np.testing.assert_array_equal(ia, again[0])


def test_validation_split_is_disjoint_and_seeded():
    tr, va = validation_split(100, 10, seed=0)
    assert len(va) == 10 and len(tr) == 90 and not set(tr) & set(va)
    np.testing.assert_array_equal(va, validation_split(100, 10, seed=0)[1])
