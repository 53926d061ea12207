"""Small numpy heads over sentence embeddings: dense layers, ReLU between, softmax or sigmoid out.

A head is a `.npz` file: `W0`, `b0`, `W1`, `b1`… (weights as [out, in]), an
optional temperature `T`, the `labels` of its outputs, the `embedder` version it
was trained on, its own `version`, and `output` ("softmax" for one label among
several, "sigmoid" for independent yes/no outputs). The heads Cercle ships are
in `weights/`; `weights/README.md` says where each comes from and how it was made.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from .base import Vectors

WEIGHTS_DIR = Path(__file__).parent / "weights"


class HeadMismatch(ValueError):
    """A head trained on another embedder's space: its outputs would be noise."""


@dataclass(frozen=True)
class Head:
    layers: tuple[tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]], ...]
    labels: tuple[str, ...]
    embedder: str
    version: str
    output: str = "softmax"
    temperature: float = 1.0

    @classmethod
    def load(cls, path: Path | io.BytesIO) -> Head:
        with np.load(path, allow_pickle=False) as data:
            count = sum(1 for key in data.files if key.startswith("W"))
            layers = tuple(
                (data[f"W{i}"].astype(np.float32), data[f"b{i}"].astype(np.float32))
                for i in range(count)
            )
            return cls(
                layers=layers,
                labels=tuple(str(label) for label in data["labels"]),
                embedder=str(data["embedder"]),
                version=str(data["version"]),
                output=str(data["output"]) if "output" in data.files else "softmax",
                temperature=float(data["T"]) if "T" in data.files else 1.0,
            )

    @classmethod
    def from_bytes(cls, data: bytes) -> Head:
        return cls.load(io.BytesIO(data))

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        self.save(buffer)
        return buffer.getvalue()

    def save(self, path: Path | io.BytesIO) -> None:
        arrays: dict[str, npt.NDArray[np.generic]] = {}
        for i, (weights, bias) in enumerate(self.layers):
            arrays[f"W{i}"] = weights.astype(np.float16)
            arrays[f"b{i}"] = bias.astype(np.float32)
        np.savez_compressed(
            path,
            labels=np.array(self.labels),
            embedder=np.array(self.embedder),
            version=np.array(self.version),
            output=np.array(self.output),
            T=np.array(self.temperature),
            **arrays,  # type: ignore[arg-type]  # numpy's stub types **kwds as ArrayLike
        )

    def check(self, embedder_version: str) -> None:
        if embedder_version != self.embedder:
            raise HeadMismatch(
                f"head {self.version} was trained on {self.embedder}, not {embedder_version}"
            )

    def probabilities(self, vectors: Vectors) -> npt.NDArray[np.float32]:
        """[n, len(labels)] probabilities for `vectors` ([n, dim])."""
        z = np.asarray(vectors, dtype=np.float32)
        last = len(self.layers) - 1
        for i, (weights, bias) in enumerate(self.layers):
            z = z @ weights.T + bias
            if i < last:
                z = np.maximum(z, 0.0)
        z = z / self.temperature
        out: npt.NDArray[np.float32]
        if self.output == "sigmoid":
            out = (1.0 / (1.0 + np.exp(-z))).astype(np.float32)
        else:
            e = np.exp(z - z.max(axis=1, keepdims=True))
            out = (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
        return out


def shipped(name: str) -> Path:
    """Path of a head shipped with Cercle."""
    return WEIGHTS_DIR / f"{name}.npz"
