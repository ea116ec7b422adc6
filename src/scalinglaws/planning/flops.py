"""FLOP accounting from a transformer's architecture.

6 N D ignores attention and the output layer; at small scale these shift the
compute-optimal allocation noticeably (Porian et al. 2024, REFERENCE.md §5).
The counts follow Kaplan et al. (2020, Table 1), with the feed-forward width
``ffn_ratio * d_model`` and the (un)embedding counted explicitly:

- non-embedding parameters: ``n_layers * (4 d^2 + 2 ffn_ratio d^2)`` (attention
  Q, K, V, O and the two feed-forward matrices; biases and norms ignored);
- embedding parameters: ``vocab * d`` (input) and, unless tied, ``vocab * d`` (output);
- forward FLOPs per token: ``2 N_nonembed + 2 n_layers n_ctx d`` (attention
  scores QK^T and the weighted sum AV, each ``n_ctx d`` multiply-adds per layer,
  averaged over positions with a causal mask they halve: we count the full
  window as Kaplan does) ``+ 2 d vocab`` (output layer);
- training FLOPs per token: 3x forward (backward pass ~2x forward).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError


@dataclass(frozen=True)
class FlopCount:
    """Parameters and training FLOPs per token of one architecture."""

    n_layers: int
    d_model: int
    vocab: int
    context: int
    ffn_ratio: float
    tied_embeddings: bool
    params_non_embedding: float
    params_embedding: float
    flops_per_token: float

    @property
    def params_total(self) -> float:
        return self.params_non_embedding + self.params_embedding

    @property
    def six_n(self) -> float:
        """The usual 6 N approximation (non-embedding N), for comparison."""
        return 6.0 * self.params_non_embedding

    def training_flops(self, tokens: float) -> float:
        if not (isinstance(tokens, (int, float)) and 0 < tokens < float("inf")):
            shown = f"{tokens:g}" if isinstance(tokens, (int, float)) else repr(tokens)
            raise InputError(f"--tokens must be a positive number of training tokens, got {shown}")
        return self.flops_per_token * tokens

    def to_dict(self) -> dict[str, object]:
        return {
            "n_layers": self.n_layers, "d_model": self.d_model, "vocab": self.vocab, "context": self.context,
            "ffn_ratio": self.ffn_ratio, "tied_embeddings": self.tied_embeddings,
            "params_non_embedding": self.params_non_embedding, "params_embedding": self.params_embedding,
            "params_total": self.params_total, "flops_per_token": self.flops_per_token, "six_n": self.six_n,
            "ratio_to_six_n": self.flops_per_token / self.six_n,
            "accounting": "Kaplan et al. 2020 Table 1 + output layer: 3 x (2 N + 2 n_layers n_ctx d_model + 2 d_model vocab)",
        }


def transformer_flops(*, n_layers: int, d_model: int, vocab: int, context: int, ffn_ratio: float = 4.0, tied_embeddings: bool = False) -> FlopCount:
    """Parameters and training FLOPs per token of a decoder-only transformer.

    Examples
    --------
    >>> count = transformer_flops(n_layers=24, d_model=2048, vocab=50304, context=2048)
    >>> round(count.params_non_embedding / 1e9, 3)
    1.208
    >>> round(count.flops_per_token / count.six_n, 3)
    1.169
    """
    for name, value in (("--layers", n_layers), ("--d-model", d_model), ("--vocab", vocab), ("--context", context)):
        if not isinstance(value, int) or value < 1:
            raise InputError(f"{name} must be a positive integer, got {value!r}")
    if not ffn_ratio > 0:
        raise InputError(f"--ffn-ratio must be > 0, got {ffn_ratio!r}")
    d = float(d_model)
    non_embedding = n_layers * (4.0 * d * d + 2.0 * ffn_ratio * d * d)
    embedding = vocab * d * (1.0 if tied_embeddings else 2.0)
    forward = 2.0 * non_embedding + 2.0 * n_layers * context * d + 2.0 * d * vocab
    return FlopCount(n_layers, d_model, vocab, context, float(ffn_ratio), tied_embeddings, non_embedding, embedding, 3.0 * forward)
