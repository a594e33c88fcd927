// One time step of a whole stack of layers, for streaming inference (no autograd): the path behind
// ``layer.step()`` under ``torch.no_grad()``. Same math as one step of the sequence kernels (rnn_kernels.cpp,
// and the equations in rnnkit/kernels/{lstm,gru,elman}.py), for all layers in one call.
//
// What makes it fast at B = 1 (numbers in bench/README.md, "Streaming"):
//   * one call from Python for all layers, the input projection included, bound with pybind11 (a torch.ops
//     call boxes every argument through the dispatcher: ≈ 3 µs more per call);
//   * our own matrix-vector products (AVX2: 8 weight rows at a time, 8 independent FMA chains sharing each
//     load of x, one horizontal reduction per 8 rows; ≈ 5 µs for LSTM H = 128, where the weights' 320 KB
//     stream from L2), not a 1-row sgemm: MKL's threaded GEMV costs ≈ 13 µs for the same product here;
//   * the gate math vectorised (__restrict row functions, the polynomial exp of rnn_math.h);
//   * no allocation besides the returned tensors (allocated without a dispatcher trip); the gate
//     workspace is thread-local and reused.
// A layer with many weights (kSplitMacs) is split across the intra-op threads by hidden units; a small
// one stays on the calling thread, where the hand-off would cost more than it saves. From kBlasRows batch
// rows the products go to BLAS, as a batch of rows is a real GEMM.
//
// Shape legend: B batch, I input, H hidden, G = gates × H, L layers. x (B, I); h0, c0 (L, B, H);
// weights: per layer W_ih (G, I_l), W_hh (G, H)[, b_ih (G), b_hh (G)], I_0 = I and I_l = H above.
// ``update`` is the state's update weight: 1, or 1 - z for zoneout at inference (s = lerp(s_prev, s̃, 1 - z)).

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/EmptyTensor.h>
#include <ATen/core/Tensor.h>
#include <torch/csrc/autograd/python_variable.h>
#include <torch/csrc/utils/pybind.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define RNNKIT_AVX2 1
#endif

#include "denormals.h"
#include "pool.h"
#include "rnn_blas.h"
#include "rnn_math.h"

namespace {

namespace py = pybind11;
using at::Tensor;
using rnnkit::gemm;
using rnnkit::lerp;
using rnnkit::sigmoid;
using rnnkit::tanh_;

constexpr int64_t kBlasRows = 4;          // from this many batch rows on, the products are one BLAS GEMM each
constexpr int64_t kSplitMacs = 1 << 17;   // from this many multiply-adds per layer and row, the threads share it

// ---------------------------------------------------------------------------------------------------
// y (G) += W (G, K) x (K), W row-major.

template <typename T>
inline void gemv_acc_portable(const T* __restrict W, const T* __restrict x, int64_t G, int64_t K, T* __restrict y) {
  int64_t j = 0;
  for (; j + 4 <= G; j += 4) {   // 4 rows at a time: independent sums for the compiler to interleave
    const T *w0 = W + j * K, *w1 = w0 + K, *w2 = w1 + K, *w3 = w2 + K;
    T s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (int64_t k = 0; k < K; ++k) {
      s0 += w0[k] * x[k];
      s1 += w1[k] * x[k];
      s2 += w2[k] * x[k];
      s3 += w3[k] * x[k];
    }
    y[j] += s0;
    y[j + 1] += s1;
    y[j + 2] += s2;
    y[j + 3] += s3;
  }
  for (; j < G; ++j) {
    T s = 0;
    for (int64_t k = 0; k < K; ++k) s += W[j * K + k] * x[k];
    y[j] += s;
  }
}

template <typename T>
inline void gemv_acc(const T* __restrict W, const T* __restrict x, int64_t G, int64_t K, T* __restrict y) {
  gemv_acc_portable(W, x, G, K, y);
}

#ifdef RNNKIT_AVX2
// The 8 lanes' sums of a0..a7, in order: hadd pairs twice, then add the two 128-bit halves.
inline __m256 sum8(__m256 a0, __m256 a1, __m256 a2, __m256 a3, __m256 a4, __m256 a5, __m256 a6, __m256 a7) {
  const __m256 s0123 = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
  const __m256 s4567 = _mm256_hadd_ps(_mm256_hadd_ps(a4, a5), _mm256_hadd_ps(a6, a7));
  return _mm256_add_ps(_mm256_permute2f128_ps(s0123, s4567, 0x20), _mm256_permute2f128_ps(s0123, s4567, 0x31));
}

template <>
inline void gemv_acc<float>(const float* __restrict W, const float* __restrict x, int64_t G, int64_t K,
                            float* __restrict y) {
  const int64_t K8 = K & ~int64_t(7);
  int64_t j = 0;
  for (; j + 8 <= G; j += 8) {   // 8 rows: 8 independent FMA chains share each load of x
    const float* w = W + j * K;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (int64_t k = 0; k < K8; k += 8) {
      const __m256 xv = _mm256_loadu_ps(x + k);
      a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + k), xv, a0);
      a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w + K + k), xv, a1);
      a2 = _mm256_fmadd_ps(_mm256_loadu_ps(w + 2 * K + k), xv, a2);
      a3 = _mm256_fmadd_ps(_mm256_loadu_ps(w + 3 * K + k), xv, a3);
      a4 = _mm256_fmadd_ps(_mm256_loadu_ps(w + 4 * K + k), xv, a4);
      a5 = _mm256_fmadd_ps(_mm256_loadu_ps(w + 5 * K + k), xv, a5);
      a6 = _mm256_fmadd_ps(_mm256_loadu_ps(w + 6 * K + k), xv, a6);
      a7 = _mm256_fmadd_ps(_mm256_loadu_ps(w + 7 * K + k), xv, a7);
    }
    alignas(32) float s[8];
    _mm256_store_ps(s, _mm256_add_ps(_mm256_loadu_ps(y + j), sum8(a0, a1, a2, a3, a4, a5, a6, a7)));
    for (int64_t k = K8; k < K; ++k) {   // K not a multiple of 8: the last columns one by one
      for (int r = 0; r < 8; ++r) s[r] += w[r * K + k] * x[k];
    }
    std::memcpy(y + j, s, sizeof(s));
  }
  if (j < G) gemv_acc_portable(W + j * K, x, G - j, K, y + j);   // the last G mod 8 rows
}
#endif

// The layer's G = Q × H rows come in Q gate blocks of H rows (i, f, g, o; r, z, n; or one). A thread that
// owns hidden units [j0, j1) computes rows q H + [j0, j1) of every block, and then those units' gate
// math: no thread needs another's rows within a layer.

// y[q H + j] = b1[q H + j] + b2[q H + j] for j in [j0, j1) (either bias may be null: zero).
template <typename T>
inline void bias_units(T* y, const T* b1, const T* b2, int64_t Q, int64_t H, int64_t j0, int64_t j1) {
  for (int64_t q = 0; q < Q; ++q) {
    for (int64_t j = q * H + j0; j < q * H + j1; ++j) y[j] = (b1 ? b1[j] : T(0)) + (b2 ? b2[j] : T(0));
  }
}

// y[q H + j] += W[q H + j, :] · x for j in [j0, j1); W (Q H, K) row-major.
template <typename T>
inline void gemv_units(const T* W, const T* x, int64_t K, int64_t Q, int64_t H, int64_t j0, int64_t j1, T* y) {
  for (int64_t q = 0; q < Q; ++q) gemv_acc(W + (q * H + j0) * K, x, j1 - j0, K, y + q * H + j0);
}

// Y (B, G) = b1 + b2 + X (B, K) Wᵀ as one BLAS GEMM: the path for B >= kBlasRows rows.
template <typename T>
inline void affine_rows(const T* W, const T* X, const T* b1, const T* b2, int64_t B, int64_t G, int64_t K, T* Y) {
  for (int64_t b = 0; b < B; ++b) bias_units(Y + b * G, b1, b2, 1, G, 0, G);
  gemm(false, true, B, G, K, X, K, W, K, T(1), Y, G);
}

// fn(j0, j1) over blocks of 8 hidden units, split across the intra-op threads when the layer's products
// are large enough to pay for the hand-off (kSplitMacs, measured: bench/README.md "Streaming").
template <typename F>
inline void over_units(int64_t H, int64_t macs, const F& fn) {
  if (macs >= kSplitMacs && at::get_num_threads() > 1 && !at::in_parallel_region()) {
    at::parallel_for(0, (H + 7) / 8, 1, [&](int64_t c0, int64_t c1) {
      rnnkit::FlushDenormals guard;   // the worker's own MXCSR (denormals.h)
      fn(c0 * 8, std::min(c1 * 8, H));
    });
  } else {
    fn(0, H);
  }
}

template <typename T>
inline T* workspace(int64_t n) {   // per thread, reused across calls: no allocation once warm
  static thread_local std::vector<T> buf;
  if (static_cast<int64_t>(buf.size()) < n) buf.resize(n);
  return buf.data();
}

// ---------------------------------------------------------------------------------------------------
// The gate math of one batch row, with a __restrict pointer per gate so each loop vectorises (as the
// row functions of rnn_kernels.cpp; without them the compiler must assume the outputs alias the gates
// and calls exp one element at a time: ≈ 4 µs of a 20 µs LSTM step at H = 128).

template <typename T>
inline void lstm_row(const T* __restrict ai, const T* __restrict af, const T* __restrict ag, const T* __restrict ao,
                     const T* __restrict h_prev, const T* __restrict c_prev, T u, T* __restrict h, T* __restrict c,
                     int64_t H) {
  for (int64_t j = 0; j < H; ++j) {
    const T i = sigmoid(ai[j]), f = sigmoid(af[j]), g = tanh_(ag[j]), o = sigmoid(ao[j]);
    const T c_tilde = f * c_prev[j] + i * g;
    c[j] = lerp(c_prev[j], c_tilde, u);
    h[j] = lerp(h_prev[j], o * tanh_(c_tilde), u);
  }
}

template <typename T>
inline void gru_row(const T* __restrict ar, const T* __restrict az, const T* __restrict an, const T* __restrict Rr,
                    const T* __restrict Rz, const T* __restrict Rn, const T* __restrict h_prev, T u,
                    T* __restrict h, int64_t H) {
  for (int64_t j = 0; j < H; ++j) {
    const T r = sigmoid(ar[j] + Rr[j]);
    const T z = sigmoid(az[j] + Rz[j]);
    const T n = tanh_(an[j] + r * Rn[j]);
    h[j] = lerp(h_prev[j], lerp(n, h_prev[j], z), u);
  }
}

template <typename T>
inline void elman_rows(const T* __restrict a, const T* __restrict h_prev, T u, bool relu, T* __restrict h, int64_t n) {
  if (relu) {
    for (int64_t j = 0; j < n; ++j) h[j] = lerp(h_prev[j], a[j] > 0 ? a[j] : T(0), u);
  } else {
    for (int64_t j = 0; j < n; ++j) h[j] = lerp(h_prev[j], tanh_(a[j]), u);
  }
}

// ---------------------------------------------------------------------------------------------------
// Which calls fit. Checked here and answered with a bool: a call that does not fit returns None to Python,
// and the layer's general path runs instead (it checks the arguments and says what is wrong). Nothing is
// trusted: a wrong shape would read out of bounds.

struct Stack {
  int64_t L, B, I, H, G;
  bool bias;
};

// x (B, I), float or double, on the CPU; 2 or 4 weights per layer of x's dtype, W_ih (G, I_l), W_hh (G, H),
// biases (G,).
inline bool fits(const Tensor& x, const std::vector<Tensor>& w, int64_t L, int64_t gates, Stack& s) {
  const auto dt = x.scalar_type();
  if (L < 1 || (w.size() != size_t(2 * L) && w.size() != size_t(4 * L)) || x.dim() != 2 || !x.device().is_cpu() ||
      (dt != at::kFloat && dt != at::kDouble) || x.size(0) < 1 || w[1].dim() != 2) {
    return false;
  }
  s = Stack{L, x.size(0), x.size(1), w[1].size(1), gates * w[1].size(1), w.size() == size_t(4 * L)};
  const int64_t per = s.bias ? 4 : 2;
  for (int64_t l = 0; l < L; ++l) {
    const Tensor &W_ih = w[l * per], &W_hh = w[l * per + 1];
    if (W_ih.dim() != 2 || W_ih.size(0) != s.G || W_ih.size(1) != (l == 0 ? s.I : s.H) || W_hh.dim() != 2 ||
        W_hh.size(0) != s.G || W_hh.size(1) != s.H) {
      return false;
    }
    for (int64_t k = 0; k < per; ++k) {
      const Tensor& t = w[l * per + k];
      if (!t.device().is_cpu() || t.scalar_type() != dt || (k >= 2 && (t.dim() != 1 || t.size(0) != s.G))) {
        return false;
      }
    }
  }
  return true;
}

// A new CPU tensor of x's dtype, allocated without a trip through the dispatcher (this call's outputs are
// a few hundred bytes; at::empty's dispatch cost more than the allocation).
inline Tensor new_tensor(at::IntArrayRef sizes, const Tensor& x) {
  return at::detail::empty_cpu(sizes, x.scalar_type());
}

// One state entry: None (zeros) or a (L, B, H) CPU tensor of x's dtype.
inline bool state_entry(py::handle obj, const Stack& s, const Tensor& x, Tensor& out) {
  if (obj.is_none()) {
    out = new_tensor({s.L, s.B, s.H}, x);
    std::memset(out.data_ptr(), 0, out.nbytes());
    return true;
  }
  if (!THPVariable_Check(obj.ptr())) return false;
  const Tensor& t = THPVariable_Unpack(obj.ptr());
  if (t.dim() != 3 || t.size(0) != s.L || t.size(1) != s.B || t.size(2) != s.H || t.scalar_type() != x.scalar_type() ||
      !t.device().is_cpu()) {
    return false;
  }
  out = t.contiguous();
  return true;
}

// The layer's hx: None, or a tensor (GRU, Elman), or a pair (h, c) (LSTM).
inline bool state_fits(py::handle state, int64_t count, const Stack& s, const Tensor& x, Tensor* out) {
  if (state.is_none()) {
    for (int64_t k = 0; k < count; ++k) state_entry(state, s, x, out[k]);
    return true;
  }
  if (count == 1) return state_entry(state, s, x, out[0]);
  if (!py::isinstance<py::tuple>(state) && !py::isinstance<py::list>(state)) return false;
  const py::sequence seq = py::reinterpret_borrow<py::sequence>(state);
  if (py::len(seq) != size_t(count)) return false;
  for (int64_t k = 0; k < count; ++k) {
    if (!state_entry(seq[k], s, x, out[k])) return false;
  }
  return true;
}

template <typename T>
inline const T* ptr_at(const std::vector<Tensor>& w, int64_t i) {
  return w[i].data_ptr<T>();
}

template <typename T>
inline const T* bias_at(const Stack& s, const std::vector<Tensor>& w, int64_t l, int64_t k) {   // k: 0 b_ih, 1 b_hh
  return s.bias ? w[l * 4 + 2 + k].data_ptr<T>() : nullptr;
}

// ---------------------------------------------------------------------------------------------------
// The layer loop every cell shares: layer l reads `in` (B, K), its weights, and writes its new state into
// slice l of the outputs; its new h (slice l of h_n) is the next layer's input, the last one's is y.

template <typename T>
struct LayerWeights {
  const T *W_ih, *W_hh, *b_ih, *b_hh;   // biases null without bias
};

template <typename T, typename F>
inline void over_layers(const Stack& s, const Tensor& x, const std::vector<Tensor>& w, Tensor& y, Tensor& h_n,
                        const F& layer) {
  const int64_t per = s.bias ? 4 : 2;
  const T* in = x.data_ptr<T>();
  int64_t K = s.I;
  for (int64_t l = 0; l < s.L; ++l) {
    const LayerWeights<T> lw{ptr_at<T>(w, l * per), ptr_at<T>(w, l * per + 1), bias_at<T>(s, w, l, 0),
                             bias_at<T>(s, w, l, 1)};
    layer(l, in, K, lw);
    in = h_n.data_ptr<T>() + l * s.B * s.H;
    K = s.H;
  }
  std::memcpy(y.data_ptr<T>(), in, s.B * s.H * sizeof(T));
}

// ---------------------------------------------------------------------------------------------------
// LSTM: gates i, f, g, o; c = lerp(c_prev, f ⊙ c_prev + i ⊙ g, u), h = lerp(h_prev, o ⊙ tanh(c̃), u).

void lstm_stack(const Stack& s, const Tensor& x, const Tensor& h0, const Tensor& c0, const std::vector<Tensor>& w,
                double update, Tensor& y, Tensor& h_n, Tensor& c_n) {
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "lstm_step", [&] {
    using T = scalar_t;
    const int64_t B = s.B, H = s.H, G = s.G;
    const T u = static_cast<T>(update);
    T* gates = workspace<T>(B * G);
    over_layers<T>(s, x, w, y, h_n, [&](int64_t l, const T* in, int64_t K, const LayerWeights<T>& lw) {
      const T *hp = h0.data_ptr<T>() + l * B * H, *cp = c0.data_ptr<T>() + l * B * H;
      T *hn = h_n.data_ptr<T>() + l * B * H, *cn = c_n.data_ptr<T>() + l * B * H;
      if (B >= kBlasRows) {
        affine_rows(lw.W_ih, in, lw.b_ih, lw.b_hh, B, G, K, gates);          // b_ih + b_hh + W_ih x_t
        gemm(false, true, B, G, H, hp, H, lw.W_hh, H, T(1), gates, G);      // + W_hh h_{t-1}
      }
      over_units(H, G * (K + H), [&](int64_t j0, int64_t j1) {
        for (int64_t b = 0; b < B; ++b) {
          T* a = gates + b * G;
          if (B < kBlasRows) {
            bias_units(a, lw.b_ih, lw.b_hh, 4, H, j0, j1);
            gemv_units(lw.W_ih, in + b * K, K, 4, H, j0, j1, a);
            gemv_units(lw.W_hh, hp + b * H, H, 4, H, j0, j1, a);
          }
          const int64_t o = b * H + j0;
          lstm_row(a + j0, a + H + j0, a + 2 * H + j0, a + 3 * H + j0, hp + o, cp + o, u, hn + o, cn + o, j1 - j0);
        }
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------------
// GRU ("reset after"): A = W_ih x + b_ih, R = W_hh h + b_hh; r = σ(A_r + R_r), z = σ(A_z + R_z),
// n = tanh(A_n + r ⊙ R_n), h̃ = (1 - z) ⊙ n + z ⊙ h_prev, h = lerp(h_prev, h̃, u).

void gru_stack(const Stack& s, const Tensor& x, const Tensor& h0, const std::vector<Tensor>& w, double update,
               Tensor& y, Tensor& h_n) {
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "gru_step", [&] {
    using T = scalar_t;
    const int64_t B = s.B, H = s.H, G = s.G;
    const T u = static_cast<T>(update);
    const T* none = nullptr;
    T* A = workspace<T>(2 * B * G);
    T* R = A + B * G;
    over_layers<T>(s, x, w, y, h_n, [&](int64_t l, const T* in, int64_t K, const LayerWeights<T>& lw) {
      const T* hp = h0.data_ptr<T>() + l * B * H;
      T* hn = h_n.data_ptr<T>() + l * B * H;
      if (B >= kBlasRows) {
        affine_rows(lw.W_ih, in, lw.b_ih, none, B, G, K, A);
        affine_rows(lw.W_hh, hp, lw.b_hh, none, B, G, H, R);
      }
      over_units(H, G * (K + H), [&](int64_t j0, int64_t j1) {
        for (int64_t b = 0; b < B; ++b) {
          T *a = A + b * G, *rr = R + b * G;
          if (B < kBlasRows) {
            bias_units(a, lw.b_ih, none, 3, H, j0, j1);
            bias_units(rr, lw.b_hh, none, 3, H, j0, j1);
            gemv_units(lw.W_ih, in + b * K, K, 3, H, j0, j1, a);
            gemv_units(lw.W_hh, hp + b * H, H, 3, H, j0, j1, rr);
          }
          const int64_t o = b * H + j0;
          gru_row(a + j0, a + H + j0, a + 2 * H + j0, rr + j0, rr + H + j0, rr + 2 * H + j0, hp + o, u, hn + o, j1 - j0);
        }
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------------
// Elman: h = lerp(h_prev, act(W_ih x + b_ih + W_hh h_prev + b_hh), u), act = tanh or relu.

void elman_stack(const Stack& s, const Tensor& x, const Tensor& h0, const std::vector<Tensor>& w, double update,
                 bool relu, Tensor& y, Tensor& h_n) {
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "elman_step", [&] {
    using T = scalar_t;
    const int64_t B = s.B, H = s.H;
    const T u = static_cast<T>(update);
    T* a = workspace<T>(B * H);
    over_layers<T>(s, x, w, y, h_n, [&](int64_t l, const T* in, int64_t K, const LayerWeights<T>& lw) {
      const T* hp = h0.data_ptr<T>() + l * B * H;
      T* hn = h_n.data_ptr<T>() + l * B * H;
      if (B >= kBlasRows) {
        affine_rows(lw.W_ih, in, lw.b_ih, lw.b_hh, B, H, K, a);
        gemm(false, true, B, H, H, hp, H, lw.W_hh, H, T(1), a, H);
      }
      over_units(H, H * (K + H), [&](int64_t j0, int64_t j1) {
        for (int64_t b = 0; b < B; ++b) {
          T* ab = a + b * H;
          if (B < kBlasRows) {
            bias_units(ab, lw.b_ih, lw.b_hh, 1, H, j0, j1);
            gemv_units(lw.W_ih, in + b * K, K, 1, H, j0, j1, ab);
            gemv_units(lw.W_hh, hp + b * H, H, 1, H, j0, j1, ab);
          }
          elman_rows(ab + j0, hp + b * H + j0, u, relu, hn + b * H + j0, j1 - j0);
        }
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------------
// The Python entry point, bound with pybind11 rather than registered as a torch op: a torch.ops call
// boxes every argument through the dispatcher, which cost more than the step itself at H = 128.
//   step(cell, x, state, weights, num_layers, update, relu) -> (y, state') or None
// cell 0 LSTM, 1 GRU, 2 Elman; state as the layer's hx (None, h, or (h, c)); None: the call does not fit.

py::object step(int64_t cell, py::handle x_obj, py::handle state, const std::vector<Tensor>& weights_in,
                int64_t num_layers, double update, bool relu) {
  static constexpr int64_t kGates[] = {4, 3, 1};
  if (cell < 0 || cell > 2 || !THPVariable_Check(x_obj.ptr())) return py::none();
  const Tensor& x_in = THPVariable_Unpack(x_obj.ptr());
  Stack s;
  if (!fits(x_in, weights_in, num_layers, kGates[cell], s)) return py::none();
  const int64_t count = cell == 0 ? 2 : 1;
  Tensor s0[2];
  if (!state_fits(state, count, s, x_in, s0)) return py::none();
  std::vector<Tensor> w;
  w.reserve(weights_in.size());
  for (const Tensor& t : weights_in) w.push_back(t.contiguous());
  const Tensor x = x_in.contiguous();
  Tensor y = new_tensor({s.B, s.H}, x);
  Tensor s1[2] = {new_tensor({s.L, s.B, s.H}, x), count == 2 ? new_tensor({s.L, s.B, s.H}, x) : Tensor()};
  // The GIL stays held: the step takes microseconds, less than handing the GIL over and back.
  rnnkit::KernelScope scope;   // subnormals flushed for the step, the caller's mode back after (denormals.h)
  if (cell == 0) {
    lstm_stack(s, x, s0[0], s0[1], w, update, y, s1[0], s1[1]);
  } else if (cell == 1) {
    gru_stack(s, x, s0[0], w, update, y, s1[0]);
  } else {
    elman_stack(s, x, s0[0], w, update, relu, y, s1[0]);
  }
  if (count == 2) return py::make_tuple(y, py::make_tuple(s1[0], s1[1]));
  return py::make_tuple(y, s1[0]);
}

}  // namespace

// The library's Python functions: the streaming step, and the controls of the buffer pool (pool.h) that the
// sequence kernels in rnn_kernels.cpp allocate from.
PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "rnnkit's compiled kernels: the sequence loops are torch ops (torch.ops.rnnkit_compiled); "
            "the streaming step and the buffer pool's controls are here";
  m.def("pool_release", [] { return rnnkit::BufferPool::get().release(); },
        "Free every cached buffer; returns the bytes freed.");
  m.def("pool_stats", [] {
    size_t cached, hits, misses;
    rnnkit::BufferPool::get().stats(cached, hits, misses);
    return py::make_tuple(cached, hits, misses);
  }, "(cached bytes, buffers reused, buffers newly allocated)");
  m.def("build_isa", [] {
    std::vector<std::string> isa;   // what the -march target ($RNNKIT_MARCH) let the compiler use
#ifdef __SSE4_2__
    isa.push_back("__SSE4_2__");
#endif
#ifdef __AVX__
    isa.push_back("__AVX__");
#endif
#ifdef __AVX2__
    isa.push_back("__AVX2__");
#endif
#ifdef __FMA__
    isa.push_back("__FMA__");
#endif
#ifdef __AVX512F__
    isa.push_back("__AVX512F__");
#endif
    return isa;
  }, "The vector extensions the library was compiled for (of SSE4.2, AVX, AVX2, FMA, AVX-512F).");
  m.def("step", &step, "One time step of a stack of LSTM (cell 0), GRU (1) or Elman (2) layers, no autograd.",
        py::arg("cell"), py::arg("x"), py::arg("state"), py::arg("weights"), py::arg("num_layers"),
        py::arg("update"), py::arg("relu"));
}
