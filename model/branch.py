"""A fine-tuned copy of the embedding model's top layers: a second ending for the same encoder.

The toxicity head needs more than a frozen sentence embedding (a linear model on it stopped at
0.75 macro-F1 on OLID), but a second encoder would double the cost per post and a fine-tuned
MiniLM would not fit in the package. So the shared encoder runs once; its lower layers' output
goes both through its own top layers (the sentence embedding every head and the claim matcher
use) and through these fine-tuned copies (the toxicity head's features). Two layers cost a third
of the encoder again and 7 MB in half precision.

The layers are written out here in plain torch (the BERT layer is a few lines) rather than
borrowed from transformers, whose internal layer interface changes between releases; a test
checks that, given the original weights, they reproduce the encoder's own output.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

_PARTS = (
    "attention.self.query",
    "attention.self.key",
    "attention.self.value",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
)
_NORMS = ("attention.output.LayerNorm", "output.LayerNorm")
_DROPOUT = 0.1  # BERT's own, while fine-tuning


class Layer(nn.Module):
    def __init__(self, hidden: int, heads: int, intermediate: int, eps: float) -> None:
        super().__init__()
        self.heads = heads
        self.query, self.key, self.value = (nn.Linear(hidden, hidden) for _ in range(3))
        self.attention_out = nn.Linear(hidden, hidden)
        self.attention_norm = nn.LayerNorm(hidden, eps=eps)
        self.intermediate = nn.Linear(hidden, intermediate)
        self.out = nn.Linear(intermediate, hidden)
        self.out_norm = nn.LayerNorm(hidden, eps=eps)

    def linears(self) -> list[nn.Linear]:
        return [self.query, self.key, self.value, self.attention_out, self.intermediate, self.out]

    def forward(self, x: torch.Tensor, additive_mask: torch.Tensor) -> torch.Tensor:
        b, t, h = x.shape

        def split(y: torch.Tensor) -> torch.Tensor:
            return y.view(b, t, self.heads, h // self.heads).transpose(1, 2)

        drop = _DROPOUT if self.training else 0.0
        attended = nn.functional.scaled_dot_product_attention(
            split(self.query(x)), split(self.key(x)), split(self.value(x)), attn_mask=additive_mask, dropout_p=drop
        )
        attended = attended.transpose(1, 2).reshape(b, t, h)
        x = self.attention_norm(nn.functional.dropout(self.attention_out(attended), drop) + x)
        y: torch.Tensor = self.out_norm(
            nn.functional.dropout(self.out(nn.functional.gelu(self.intermediate(x))), drop) + x
        )
        return y


class TopLayers(nn.Module):
    """The last `len(layers)` BERT layers and mean pooling: hidden states in, one vector a text out."""

    def __init__(self, count: int, hidden: int, heads: int, intermediate: int, eps: float) -> None:
        super().__init__()
        self.layers = nn.ModuleList(Layer(hidden, heads, intermediate, eps) for _ in range(count))

    @classmethod
    def copy_of(cls, bert: Any, count: int) -> TopLayers:
        """Initialised from the last `count` layers of a transformers BertModel."""
        c = bert.config
        top = cls(count, c.hidden_size, c.num_attention_heads, c.intermediate_size, c.layer_norm_eps)
        state = bert.state_dict()
        first = c.num_hidden_layers - count
        top.load_state_dict(
            {k: torch.as_tensor(v) for k, v in _rename(state, first, count).items()},
        )
        return top

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """`hidden`: (batch, tokens, width) from the layer below; `mask`: (batch, tokens) of 0/1."""
        additive = (1.0 - mask[:, None, None, :].to(hidden.dtype)) * torch.finfo(hidden.dtype).min
        for layer in self.layers:
            hidden = layer(hidden, additive)
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        pooled: torch.Tensor = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return pooled

    def shape(self) -> dict[str, Any]:
        """What `from_arrays` needs besides the arrays (kept in the artifact's meta)."""
        first: Layer = self.layers[0]  # type: ignore[assignment]
        return {
            "count": len(self.layers),
            "hidden": first.query.in_features,
            "heads": first.heads,
            "intermediate": first.intermediate.out_features,
            "eps": first.attention_norm.eps,
        }

    def arrays(self) -> dict[str, NDArray[np.float16]]:
        """Half precision for the package; the arithmetic stays in fp32."""
        return {f"branch.{k}": v.detach().numpy().astype(np.float16) for k, v in self.state_dict().items()}

    @classmethod
    def from_arrays(cls, data: Any, count: int, hidden: int, heads: int, intermediate: int, eps: float) -> TopLayers:
        top = cls(count, hidden, heads, intermediate, eps)
        top.load_state_dict(
            {k: torch.as_tensor(np.asarray(data[f"branch.{k}"], dtype=np.float32)) for k in top.state_dict()}
        )
        return top.eval()


def _rename(state: dict[str, Any], first: int, count: int) -> dict[str, Any]:
    """transformers' parameter names for layers first..first+count-1 -> ours."""
    ours = ["query", "key", "value", "attention_out", "intermediate", "out"]
    out: dict[str, Any] = {}
    for i in range(count):
        prefix = f"encoder.layer.{first + i}."
        for part, name in zip(_PARTS, ours, strict=True):
            out[f"layers.{i}.{name}.weight"] = state[f"{prefix}{part}.weight"]
            out[f"layers.{i}.{name}.bias"] = state[f"{prefix}{part}.bias"]
        for part, name in zip(_NORMS, ("attention_norm", "out_norm"), strict=True):
            out[f"layers.{i}.{name}.weight"] = state[f"{prefix}{part}.weight"]
            out[f"layers.{i}.{name}.bias"] = state[f"{prefix}{part}.bias"]
    return out


def lower_states(embedder: Any, texts: Sequence[str], layers: int) -> list[torch.Tensor]:
    """Each text's hidden states below the top `layers` layers, without padding (computed once;
    fine-tuning then runs only the top layers, a third of the encoder's cost per step)."""
    states: list[torch.Tensor] = [torch.empty(0) for _ in texts]
    for order, hidden, mask in embedder.lower_states(texts, layers):
        for row, i in enumerate(order):
            states[i] = hidden[row, : int(mask[row].sum())].clone()
    return states


def _padded(states: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    hidden = nn.utils.rnn.pad_sequence(list(states), batch_first=True)
    lengths = torch.as_tensor([len(s) for s in states])
    return hidden, (torch.arange(hidden.shape[1])[None, :] < lengths[:, None]).long()


def vectors(branch: TopLayers, states: Sequence[torch.Tensor], batch: int = 64) -> NDArray[np.float32]:
    """The branch's pooled vector for every text, in order."""
    branch.eval()
    order = sorted(range(len(states)), key=lambda i: len(states[i]))
    out = np.zeros((len(states), branch.shape()["hidden"]), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(order), batch):
            chunk = order[start : start + batch]
            out[chunk] = branch(*_padded([states[i] for i in chunk])).numpy()
    return out


def fine_tune(
    branch: TopLayers,
    states: Sequence[torch.Tensor],
    labels: NDArray[np.float32],
    seed: int,
    epochs: int = 1,
    lr: float = 5e-5,
    head_lr: float = 2e-3,
    batch: int = 32,
    bf16: bool = False,
    progress: Callable[[int, int, float], None] | None = None,
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Train the branch and one linear output per category on its pooled vector with AdamW;
    returns the outputs as (hidden, categories) weights and a bias.

    `labels` may hold NaN where a text's data set says nothing about a category (DynaHate's
    "not hate" is not "not insulting"): those cells carry no loss, so sets labelled for different
    things train one model without teaching it false negatives. The outputs start from zero and
    learn faster than the pretrained layers (`head_lr`); both warm up over the first 5 % of steps
    and decay linearly. Batches hold texts of similar length; their order comes from the seed.
    `progress(step, steps, mean loss)` is called every 100 steps."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    known = torch.as_tensor(~np.isnan(labels), dtype=torch.float32)
    y = torch.as_tensor(np.nan_to_num(labels, nan=0.0), dtype=torch.float32)
    classifier = nn.Linear(branch.shape()["hidden"], labels.shape[1])
    nn.init.zeros_(classifier.weight)
    nn.init.zeros_(classifier.bias)
    optimiser = torch.optim.AdamW(
        [{"params": list(branch.parameters()), "lr": lr}, {"params": list(classifier.parameters()), "lr": head_lr}],
        weight_decay=0.01,
    )
    plan = [_length_batches(states, rng, batch) for _ in range(epochs)]
    steps = sum(len(p) for p in plan)
    warm = max(1, steps // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm)))
    )
    branch.train()
    done, running = 0, 0.0
    for members in (m for epoch in plan for m in epoch):
        optimiser.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = classifier(branch(*_padded([states[i] for i in members])))
        cells = nn.functional.binary_cross_entropy_with_logits(logits.float(), y[members], reduction="none")
        loss = (cells * known[members]).sum() / known[members].sum().clamp(min=1.0)
        loss.backward()  # type: ignore[no-untyped-call]  # torch leaves Tensor.backward unannotated
        optimiser.step()
        schedule.step()
        done, running = done + 1, running + loss.item()
        if progress is not None and done % 100 == 0:
            progress(done, steps, running / 100)
            running = 0.0
    branch.eval()
    return (
        classifier.weight.detach().numpy().T.astype(np.float32),
        classifier.bias.detach().numpy().astype(np.float32),
    )


def _length_batches(states: Sequence[torch.Tensor], rng: np.random.Generator, batch: int) -> list[list[int]]:
    """One epoch's batches in a seeded order, each of texts of similar length (sorted within
    chunks of 50 batches, so padding stays small but the order is still random)."""
    shuffled = rng.permutation(len(states))
    batches: list[list[int]] = []
    for start in range(0, len(shuffled), batch * 50):
        chunk = sorted(shuffled[start : start + batch * 50].tolist(), key=lambda i: len(states[i]))
        batches += [chunk[i : i + batch] for i in range(0, len(chunk), batch)]
    return [batches[b] for b in rng.permutation(len(batches)).tolist()]
