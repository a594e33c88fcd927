"""The benchmark's workloads and the implementations run on each (shared by the parent and the children).

Shape legend: B batch, T time, I input features, H hidden units, G = gates × H.
Training step = forward + loss mean(y²) + backward + SGD step, float32, 2 threads.
"""

from __future__ import annotations

from dataclasses import dataclass, asdict

GATES = {"lstm": 4, "gru": 3, "elman": 1}


@dataclass(frozen=True)
class Workload:
    name: str        # row label in the report, e.g. "W1 LSTM"
    cell: str        # "lstm" | "gru" | "elman"
    variant: str     # "plain" | "ln" (LayerNorm-LSTM) | "rd" (recurrent dropout 0.25)
    B: int
    T: int
    I: int
    H: int
    mode: str = "train"   # "train" | "stream" (B=1, one step per call, inference)

    def train_flops(self) -> float:
        """GEMM flops of one training step: forward 2·T·B·G·(I+H), backward twice that (dx/dh and dW)."""
        G = GATES[self.cell] * self.H
        fwd = 2.0 * self.T * self.B * G * (self.I + self.H)
        return 3.0 * fwd if self.mode == "train" else fwd

    def as_dict(self) -> dict:
        return asdict(self)


WORKLOADS = [
    Workload("W1 LSTM", "lstm", "plain", B=64, T=100, I=32, H=128),
    Workload("W2 LSTM H512", "lstm", "plain", B=64, T=100, I=32, H=512),
    Workload("W3 GRU", "gru", "plain", B=64, T=100, I=32, H=128),
    Workload("W5 LSTM T1000", "lstm", "plain", B=16, T=1000, I=32, H=128),
    Workload("W4 stream LSTM", "lstm", "plain", B=1, T=1, I=32, H=128, mode="stream"),
    Workload("W1 LN-LSTM", "lstm", "ln", B=64, T=100, I=32, H=128),
    Workload("W5 LN-LSTM", "lstm", "ln", B=16, T=1000, I=32, H=128),
    Workload("W1 RD-LSTM 0.25", "lstm", "rd", B=64, T=100, I=32, H=128),
    Workload("W5 RD-LSTM 0.25", "lstm", "rd", B=16, T=1000, I=32, H=128),
    Workload("W1 Elman", "elman", "plain", B=64, T=100, I=32, H=128),
    Workload("W5 Elman", "elman", "plain", B=16, T=1000, I=32, H=128),
]
QUICK_WORKLOADS = ["W1 LSTM", "W3 GRU", "W4 stream LSTM"]

# Implementations. "interp": which Python runs the case ("torch" = this interpreter, "peers" = the
# peers' venv when present). env: extra environment for the child.
TUNED_MALLOC = {"MALLOC_MMAP_THRESHOLD_": "4294967296", "MALLOC_TRIM_THRESHOLD_": "4294967296"}


@dataclass(frozen=True)
class Impl:
    key: str
    label: str
    interp: str = "torch"
    onednn: bool = True
    tuned_malloc: bool = False
    is_ours: bool = False


IMPLS = [
    Impl("rnnkit", "rnnkit (default path)", is_ours=True),
    Impl("rnnkit_compiled", "rnnkit compiled kernel (forced)", is_ours=True),
    Impl("rnnkit_python", "rnnkit Python kernel (forced)", is_ours=True),
    Impl("native", "torch.nn native (default malloc)"),
    Impl("native_tuned", "torch.nn native (tuned malloc)", tuned_malloc=True),
    Impl("native_nodnn", "torch.nn native, oneDNN off", onednn=False),
    Impl("native_nodnn_tuned", "torch.nn native, oneDNN off, tuned malloc", onednn=False, tuned_malloc=True),
    Impl("native_cell", "torch.nn.LSTMCell (streaming only)"),
    Impl("naive", "naive per-step PyTorch loop"),
    Impl("keras", "Keras 3 (TensorFlow)", interp="peers"),
    Impl("jax", "JAX lax.scan + jit", interp="peers"),
]
QUICK_IMPLS = ["rnnkit", "rnnkit_compiled", "native", "native_tuned", "naive"]

IMPL_BY_KEY = {impl.key: impl for impl in IMPLS}
WORKLOAD_BY_NAME = {w.name: w for w in WORKLOADS}


def static_not_applicable(impl: Impl, w: Workload) -> str | None:
    """Cases known to be n/a without starting a process (the rest are probed in the child)."""
    if impl.key.startswith("native") and impl.key != "native_cell" and w.variant != "plain":
        return f"torch.nn has no {w.variant!r} variant"
    if impl.key == "native_cell" and w.mode != "stream":
        return "streaming only"
    if w.mode == "stream" and impl.key in ("native_nodnn_tuned", "native_tuned"):
        return "malloc tuning not run for streaming"
    if impl.key == "keras" and w.variant == "ln":
        return "Keras has no LayerNorm-LSTM layer"
    return None
