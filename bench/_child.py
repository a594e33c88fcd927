"""Run one benchmark case in this (fresh) process and print one ``@@RESULT {json}`` line.

Usage (the parent, bench/run.py, does this): python bench/_child.py '<json spec>'
spec: {"impl": key, "workload": {Workload fields} | null, "repeats": int, "min_repeat_s": float, "threads": int}

Each repeat times n steps (n chosen so a repeat lasts >= min_repeat_s) and records what the rest of the
machine did meanwhile: other processes' CPU time (busy jiffies in /proc/stat minus our own CPU time)
and hypervisor steal. Peak memory is this process's ru_maxrss.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import sys
import time
import traceback

THREADS = 2   # intra-op threads; the spec's "threads" sets it
LR = 0.01
HZ = os.sysconf("SC_CLK_TCK")


class NotAvailable(Exception):
    """The implementation has no such module or option (reported as 'n/a', never a failure)."""


# ---------------------------------------------------------------------------------------------------
# machine-load bookkeeping


def _proc_stat() -> tuple[float, float]:
    """(busy seconds, steal seconds) summed over all CPUs since boot."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq) / HZ, steal / HZ


def _self_cpu() -> float:
    t = os.times()
    return t.user + t.system


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure(step, repeats: int, min_repeat_s: float, warmup_s: float = 0.5) -> dict:
    """First call, warm-up, then ``repeats`` timed repeats of n calls; seconds per call."""
    base_rss = _rss_mb()
    t0 = time.perf_counter()
    step()
    first = time.perf_counter() - t0
    # warm-up: at least 2 calls and warmup_s seconds
    t0, n = time.perf_counter(), 0
    while n < 2 or time.perf_counter() - t0 < warmup_s:
        step()
        n += 1
    per_call = (time.perf_counter() - t0) / n
    n_iter = max(1, int(min_repeat_s / max(per_call, 1e-9)) + 1)
    times, others, steals, faults = [], [], [], []
    for _ in range(repeats):
        busy0, steal0 = _proc_stat()
        cpu0 = _self_cpu()
        flt0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        t0 = time.perf_counter()
        for _ in range(n_iter):
            step()
        dt = time.perf_counter() - t0
        busy1, steal1 = _proc_stat()
        cpu1 = _self_cpu()
        flt1 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        times.append(dt / n_iter)
        # other processes' CPU, in cores busy on average during the repeat (jiffy resolution: ±0.01 s)
        others.append(max(0.0, (busy1 - busy0) - (cpu1 - cpu0)) / dt)
        steals.append((steal1 - steal0) / dt)
        faults.append((flt1 - flt0) / n_iter)
    median = statistics.median(times)
    return {
        "median_s": median,
        "times_s": times,
        "spread": (max(times) - min(times)) / median,
        "n_iter": n_iter,
        "repeats": repeats,
        "first_call_s": first,
        "first_call_overhead_s": max(0.0, first - median),
        "others_cores": statistics.median(others),
        "others_cores_max": max(others),
        "steal_cores": statistics.median(steals),
        "minor_faults_per_call": statistics.median(faults),
        "base_rss_mb": base_rss,
    }


# ---------------------------------------------------------------------------------------------------
# PyTorch implementations


def _torch():
    import torch

    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    return torch


def _rnnkit():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if repo not in sys.path:
        sys.path.insert(0, repo)
    import rnnkit  # noqa: F401
    import rnnkit.nn

    return rnnkit


def _native_module(torch, w):
    cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "elman": torch.nn.RNN}[w["cell"]]
    return cls(w["I"], w["H"])


def _rnnkit_layer(w):
    rnnkit = _rnnkit()
    nn = rnnkit.nn
    if w["variant"] == "ln":
        if not hasattr(nn, "LayerNormLSTM"):
            raise NotAvailable("rnnkit.nn.LayerNormLSTM does not exist yet")
        return nn.LayerNormLSTM(w["I"], w["H"])
    name = {"lstm": "LSTM", "gru": "GRU", "elman": "RNN"}[w["cell"]]
    if not hasattr(nn, name):
        raise NotAvailable(f"rnnkit.nn.{name} does not exist yet")
    if w["variant"] == "rd":
        try:
            return getattr(nn, name)(w["I"], w["H"], recurrent_dropout=0.25)
        except TypeError as e:
            raise NotAvailable(f"rnnkit.nn.{name} has no recurrent_dropout= ({e})") from None
    return getattr(nn, name)(w["I"], w["H"])


class _KernelModule:
    """Parameters laid out like torch.nn's, run through one sequence kernel function (forced path)."""

    def __init__(self, torch, w, fn):
        ref = _native_module(torch, w)
        self.params = [ref.weight_ih_l0, ref.weight_hh_l0, ref.bias_ih_l0, ref.bias_hh_l0]
        if w["variant"] == "ln":   # γ/β_ih (4H), γ/β_hh (4H), γ/β_c (H): ones and zeros, as the naive loop
            G, H = 4 * w["H"], w["H"]
            for n in (G, G, H):
                self.params += [torch.nn.Parameter(torch.ones(n)), torch.nn.Parameter(torch.zeros(n))]
        self.cell, self.fn, self.H = w["cell"], fn, w["H"]
        self.variant = w["variant"]
        self.torch = torch

    def parameters(self):
        return self.params

    def __call__(self, x, state=None):
        torch = self.torch
        B = x.shape[1]
        if state is None:
            h0 = x.new_zeros(B, self.H)
            state = (h0, h0) if self.cell == "lstm" else h0
        kw = {}
        if self.variant == "rd":   # one recurrent-dropout mask per sequence (Gal & Ghahramani 2016)
            kw["recurrent_mask"] = torch.bernoulli(x.new_full((B, self.H), 0.75)) / 0.75
        if self.cell == "lstm":
            y, h, c = self.fn(x, state[0], state[1], *self.params, None, False, **kw)
            return y, (h, c)
        if self.cell == "gru":
            return self.fn(x, state, *self.params, None, False, **kw)
        return self.fn(x, state, *self.params, None, False, "tanh", **kw)


def _kernel_fn(w, compiled: bool):
    _rnnkit()
    name = {"lstm": "lstm_sequence", "gru": "gru_sequence", "elman": "elman_sequence"}[w["cell"]]
    if w["variant"] == "ln":
        name = "layer_norm_" + name
    if compiled:
        try:
            import rnnkit.kernels.compiled as mod
        except ImportError as e:
            raise NotAvailable(f"rnnkit.kernels.compiled missing ({e})") from None
        if not hasattr(mod, name):
            raise NotAvailable(f"rnnkit.kernels.compiled.{name} does not exist yet")
        if not mod.is_available():
            raise NotAvailable("compiled backend failed to build (fell back)")
    else:
        import rnnkit.kernels as mod

        if not hasattr(mod, name):
            raise NotAvailable(f"rnnkit.kernels.{name} does not exist yet")
    return getattr(mod, name)


class _NaiveLoop:
    """What a user writes for a custom cell: per-step matmuls and elementwise ops, autograd does BPTT."""

    def __init__(self, torch, w):
        I, H, cell, variant = w["I"], w["H"], w["cell"], w["variant"]
        G = {"lstm": 4, "gru": 3, "elman": 1}[cell] * H
        k = 1.0 / H**0.5
        P = lambda *s: torch.nn.Parameter(torch.empty(*s).uniform_(-k, k))  # noqa: E731
        self.W_ih, self.W_hh, self.b_ih, self.b_hh = P(G, I), P(G, H), P(G), P(G)
        self.params = [self.W_ih, self.W_hh, self.b_ih, self.b_hh]
        if variant == "ln":   # Ba et al. 2016: LN on W_x x, on W_h h and on c, learned gains and biases
            one = lambda n: torch.nn.Parameter(torch.ones(n))  # noqa: E731
            zero = lambda n: torch.nn.Parameter(torch.zeros(n))  # noqa: E731
            self.ln = [(one(G), zero(G)), (one(G), zero(G)), (one(H), zero(H))]
            self.params += [p for pair in self.ln for p in pair]
        self.torch, self.cell, self.variant, self.H = torch, cell, variant, H

    def parameters(self):
        return self.params

    def __call__(self, x, state=None):
        torch, F = self.torch, self.torch.nn.functional
        T, B, _ = x.shape
        H = self.H
        h = x.new_zeros(B, H) if state is None else state[0]
        c = x.new_zeros(B, H) if state is None else state[1]
        keep = None
        if self.variant == "rd":   # one recurrent-dropout mask per sequence (Gal & Ghahramani 2016)
            keep = torch.bernoulli(x.new_full((B, H), 0.75)) / 0.75
        ys = []
        for t in range(T):
            h_in = h if keep is None else h * keep
            if self.cell == "lstm":
                if self.variant == "ln":
                    (gx, bx), (gh, bh), (gc, bc) = self.ln
                    gates = (F.layer_norm(x[t] @ self.W_ih.t(), (4 * H,), gx, bx)
                             + F.layer_norm(h_in @ self.W_hh.t(), (4 * H,), gh, bh) + self.b_ih)
                else:
                    gates = x[t] @ self.W_ih.t() + self.b_ih + h_in @ self.W_hh.t() + self.b_hh
                i, f, g, o = gates.chunk(4, 1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                c_out = F.layer_norm(c, (H,), gc, bc) if self.variant == "ln" else c
                h = torch.sigmoid(o) * torch.tanh(c_out)
            elif self.cell == "gru":
                a = x[t] @ self.W_ih.t() + self.b_ih
                r_ = h_in @ self.W_hh.t() + self.b_hh
                ar, az, an = a.chunk(3, 1)
                rr, rz, rn = r_.chunk(3, 1)
                r = torch.sigmoid(ar + rr)
                z = torch.sigmoid(az + rz)
                n = torch.tanh(an + r * rn)
                h = (1 - z) * n + z * h
            else:
                h = torch.tanh(x[t] @ self.W_ih.t() + self.b_ih + h_in @ self.W_hh.t() + self.b_hh)
            ys.append(h)
        return torch.stack(ys), (h, c)


def build_torch_train(impl: str, w: dict):
    torch = _torch()
    T, B, I = w["T"], w["B"], w["I"]
    if impl == "native_cell":
        raise NotAvailable("torch.nn.LSTMCell is only run for streaming")
    if impl.startswith("native"):
        if w["variant"] != "plain":
            raise NotAvailable(f"torch.nn has no {w['variant']!r} {w['cell']}")
        model = _native_module(torch, w)
        run = lambda x: model(x)[0]  # noqa: E731
        params = list(model.parameters())
    elif impl == "naive":
        model = _NaiveLoop(torch, w)
        run = lambda x: model(x)[0]  # noqa: E731
        params = model.parameters()
    elif impl == "rnnkit":
        model = _rnnkit_layer(w)
        model.train()
        run = lambda x: model(x)[0]  # noqa: E731
        params = list(model.parameters())
    elif impl in ("rnnkit_compiled", "rnnkit_python"):
        model = _KernelModule(torch, w, _kernel_fn(w, compiled=impl == "rnnkit_compiled"))
        run = lambda x: model(x)[0]  # noqa: E731
        params = model.parameters()
    else:
        raise NotAvailable(f"unknown impl {impl}")
    x = torch.randn(T, B, I)
    opt = torch.optim.SGD(params, lr=LR)

    def step():
        y = run(x)
        loss = y.pow(2).mean()
        opt.zero_grad(set_to_none=False)
        loss.backward()
        opt.step()

    return step


def build_torch_stream(impl: str, w: dict):
    torch = _torch()
    I, H = w["I"], w["H"]
    x_t = torch.randn(1, I)
    torch.set_grad_enabled(False)
    if impl.startswith("native") and impl != "native_cell":
        model = _native_module(torch, w)
        state = [None]
        x3 = x_t[None]

        def step():
            y, state[0] = model(x3, state[0])
    elif impl == "native_cell":
        model = torch.nn.LSTMCell(I, H)
        state = [None]

        def step():
            state[0] = model(x_t, state[0])
    elif impl == "naive":
        model = _NaiveLoop(torch, w)
        state = [None]
        x3 = x_t[None]

        def step():
            y, state[0] = model(x3, state[0])
    elif impl == "rnnkit":
        model = _rnnkit_layer(w)
        model.eval()
        if not hasattr(model, "step"):
            raise NotAvailable("rnnkit layer has no .step()")
        state = [None]

        def step():
            y, state[0] = model.step(x_t, state[0])
    elif impl == "rnnkit_compiled":   # the compiled streaming step forced: one call, all layers
        _rnnkit()
        from rnnkit.kernels.compiled import stream

        if not stream.compiled_step():
            raise NotAvailable("compiled backend failed to build (fell back)")
        cell = {"lstm": stream.LSTM, "gru": stream.GRU, "elman": stream.ELMAN}[w["cell"]]
        weights = _KernelModule(torch, w, None).parameters()
        state = [None]

        def step():
            y, state[0] = stream.stream_step(cell, x_t, state[0], weights, 1)
    elif impl == "rnnkit_python":
        model = _KernelModule(torch, w, _kernel_fn(w, compiled=False))
        state = [None]
        x3 = x_t[None]

        def step():
            y, state[0] = model(x3, state[0])
    else:
        raise NotAvailable(f"unknown impl {impl}")
    return step


def gemm_peak(repeats: int) -> dict:
    """float32 GEMM peak of this machine with 2 threads: the best median over a few square sizes."""
    torch = _torch()
    best = None
    for n in (512, 1024, 2048):
        a, b = torch.randn(n, n), torch.randn(n, n)
        c = torch.empty(n, n)
        r = measure(lambda: torch.mm(a, b, out=c), repeats, 0.3)
        r["gflops"] = 2 * n**3 / r["median_s"] / 1e9
        r["n"] = n
        if best is None or r["gflops"] > best["gflops"]:
            best = r
    return best


# ---------------------------------------------------------------------------------------------------
# Keras 3 (TensorFlow backend) and JAX


def build_keras(w: dict):
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import numpy as np
        import tensorflow as tf
        import keras
    except ImportError as e:
        raise NotAvailable(f"keras/tensorflow not installed ({e})") from None
    tf.config.threading.set_intra_op_parallelism_threads(THREADS)
    tf.config.threading.set_inter_op_parallelism_threads(THREADS)
    keras.utils.set_random_seed(0)
    T, B, I, H = w["T"], w["B"], w["I"], w["H"]
    if w["variant"] == "ln":
        raise NotAvailable("Keras has no LayerNorm-LSTM layer")
    rd = 0.25 if w["variant"] == "rd" else 0.0
    if w["mode"] == "stream":
        cell = {"lstm": keras.layers.LSTMCell, "gru": keras.layers.GRUCell,
                "elman": keras.layers.SimpleRNNCell}[w["cell"]](H)
        x_t = tf.constant(np.random.randn(1, I).astype("float32"))
        state = [tf.zeros((1, H)), tf.zeros((1, H))] if w["cell"] == "lstm" else [tf.zeros((1, H))]
        fn = tf.function(lambda x, s: cell(x, s))
        holder = [state]

        def step():
            y, holder[0] = fn(x_t, holder[0])
            y.numpy()
        return step
    layer_cls = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "elman": keras.layers.SimpleRNN}[w["cell"]]
    inp = keras.Input((T, I), batch_size=B)
    out = layer_cls(H, return_sequences=True, recurrent_dropout=rd)(inp)
    model = keras.Model(inp, out)
    model.compile(optimizer=keras.optimizers.SGD(LR), loss="mse")   # mse against zeros = mean(y²)
    x = np.random.randn(B, T, I).astype("float32")
    y = np.zeros((B, T, H), "float32")
    return lambda: model.train_on_batch(x, y)


def build_jax(w: dict):
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    try:
        import jax
        import jax.numpy as jnp
        import numpy as np
    except ImportError as e:
        raise NotAvailable(f"jax not installed ({e})") from None
    T, B, I, H = w["T"], w["B"], w["I"], w["H"]
    cell, variant = w["cell"], w["variant"]
    G = {"lstm": 4, "gru": 3, "elman": 1}[cell] * H
    rng = np.random.default_rng(0)
    k = 1.0 / H**0.5
    U = lambda *s: jnp.asarray(rng.uniform(-k, k, s).astype("float32"))  # noqa: E731
    params = {"W_ih": U(G, I), "W_hh": U(G, H), "b_ih": U(G), "b_hh": U(G)}
    if variant == "ln":
        for name, n in (("x", G), ("h", G), ("c", H)):
            params["g" + name] = jnp.ones(n, jnp.float32)
            params["b" + name] = jnp.zeros(n, jnp.float32)

    def ln(v, g, b):
        mu = v.mean(-1, keepdims=True)
        var = ((v - mu) ** 2).mean(-1, keepdims=True)
        return (v - mu) / jnp.sqrt(var + 1e-5) * g + b

    def sequence(p, x, keep, h0, c0):
        xp = x @ p["W_ih"].T + p["b_ih"]                     # (T, B, G): all steps at once
        if variant == "ln":
            xp = ln(x @ p["W_ih"].T, p["gx"], p["bx"]) + p["b_ih"]

        def lstm_step(carry, xp_t):
            h, c = carry
            hp = (h * keep) @ p["W_hh"].T
            hp = ln(hp, p["gh"], p["bh"]) if variant == "ln" else hp + p["b_hh"]
            i, f, g, o = jnp.split(xp_t + hp, 4, axis=-1)
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
            c_out = ln(c, p["gc"], p["bc"]) if variant == "ln" else c
            h = jax.nn.sigmoid(o) * jnp.tanh(c_out)
            return (h, c), h

        def gru_step(carry, xp_t):
            h, c = carry
            hp = (h * keep) @ p["W_hh"].T + p["b_hh"]
            ar, az, an = jnp.split(xp_t, 3, axis=-1)
            rr, rz, rn = jnp.split(hp, 3, axis=-1)
            r, z = jax.nn.sigmoid(ar + rr), jax.nn.sigmoid(az + rz)
            n = jnp.tanh(an + r * rn)
            h = (1 - z) * n + z * h
            return (h, c), h

        def elman_step(carry, xp_t):
            h, c = carry
            h = jnp.tanh(xp_t + (h * keep) @ p["W_hh"].T + p["b_hh"])
            return (h, c), h

        stepf = {"lstm": lstm_step, "gru": gru_step, "elman": elman_step}[cell]
        (h, c), ys = jax.lax.scan(stepf, (h0, c0), xp)
        return ys, h, c

    if w["mode"] == "stream":
        one = jnp.ones((1, H), jnp.float32)
        fn = jax.jit(lambda p, x, h, c: sequence(p, x, one, h, c))
        x_t = jnp.asarray(rng.standard_normal((1, 1, I)).astype("float32"))
        holder = [jnp.zeros((1, H), jnp.float32), jnp.zeros((1, H), jnp.float32)]

        def step():
            ys, holder[0], holder[1] = fn(params, x_t, holder[0], holder[1])
            ys.block_until_ready()
        return step

    def loss(p, x, keep):
        z = jnp.zeros((B, H), jnp.float32)
        ys, _, _ = sequence(p, x, keep, z, z)
        return jnp.mean(ys**2)

    @jax.jit
    def train_step(p, x, keep):
        grads = jax.grad(loss)(p, x, keep)
        return jax.tree_util.tree_map(lambda a, g: a - LR * g, p, grads)

    x = jnp.asarray(rng.standard_normal((T, B, I)).astype("float32"))
    holder = [params]
    keys = [jax.random.PRNGKey(0)]

    def step():
        if variant == "rd":   # a fresh mask per sequence, per training step
            keys[0], sub = jax.random.split(keys[0])
            keep = jax.random.bernoulli(sub, 0.75, (B, H)).astype(jnp.float32) / 0.75
        else:
            keep = jnp.ones((B, H), jnp.float32)
        holder[0] = train_step(holder[0], x, keep)
        jax.block_until_ready(holder[0])
    return step


# ---------------------------------------------------------------------------------------------------


def main() -> None:
    global THREADS
    spec = json.loads(sys.argv[1])
    impl, w = spec["impl"], spec["workload"]
    THREADS = int(spec.get("threads", THREADS))
    out: dict = {"impl": impl, "workload": None if w is None else w["name"]}
    try:
        if impl == "gemm_peak":
            out.update(gemm_peak(spec["repeats"]))
        else:
            t0 = time.perf_counter()
            if impl == "keras":
                step = build_keras(w)
            elif impl == "jax":
                step = build_jax(w)
            elif w["mode"] == "stream":
                step = build_torch_stream(impl, w)
            else:
                step = build_torch_train(impl, w)
            build_s = time.perf_counter() - t0
            if impl.startswith("native") and not spec.get("onednn", True):
                import torch

                with torch.backends.mkldnn.flags(enabled=False):
                    out.update(measure(step, spec["repeats"], spec["min_repeat_s"]))
            else:
                out.update(measure(step, spec["repeats"], spec["min_repeat_s"]))
            out["build_s"] = build_s
        out["status"] = "ok"
    except NotAvailable as e:
        out.update(status="n/a", reason=str(e))
    except Exception as e:  # noqa: BLE001 - a failing peer is reported, never fatal to the run
        out.update(status="error", reason=f"{type(e).__name__}: {e}", traceback=traceback.format_exc()[-2000:])
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("@@RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
