// Compiled step loops for rnnkit's sequence kernels (one layer, one direction, time-major).
//
// Same math, same saved tensors and same gradient formulas as the Python kernels in rnnkit/kernels/
// (lstm.py, gru.py, elman.py: their docstrings carry the equations); this file only runs the loop over
// time in C++. What makes it fast (numbers in bench/README.md):
//   * the batch is split once across the intra-op threads (at::parallel_for); each thread runs the whole
//     time loop for its rows: its own GEMM slice per step and no synchronisation between steps, because
//     batch rows never interact in a recurrent layer;
//   * each step's gate math is one fused pass over the thread's rows, written so the compiler vectorises
//     it (the exp below is a polynomial, not a libm call);
//   * the per-step GEMM goes straight to BLAS (sgemm_/dgemm_ exported by libtorch_cpu when it carries
//     MKL), skipping the dispatcher; without that symbol it falls back to at::mm_out.
// The input projection (one GEMM for all steps) and the weight gradients (one GEMM each after the
// backward loop) stay in Python, shared with the Python kernels, so both paths give the same numbers.
//
// Shape legend: T time, B batch, I input, H hidden, G = gates × H.

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/mm.h>
#include <ATen/ops/sum.h>
#include <ATen/ops/zeros.h>
#include <torch/library.h>

#include "denormals.h"
#include "pool.h"
#include "rnn_blas.h"
#include "rnn_math.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <vector>

namespace {

using at::Tensor;
using rnnkit::exp_poly;
using rnnkit::FlushDenormals;
using rnnkit::gemm;
using rnnkit::lerp;
using rnnkit::pooled_empty;
using rnnkit::sigmoid;
using rnnkit::tanh_;


// Run fn(b0, b1) over batch slices, one per thread, each for the whole sequence. Worker threads flush
// subnormals too (denormals.h: the mode is per thread).
template <typename F>
inline void over_batch(int64_t B, const F& fn) {
  if (B < 2 || at::get_num_threads() < 2 || at::in_parallel_region()) {
    fn(0, B);
  } else {
    at::parallel_for(0, B, 1, [&](int64_t b0, int64_t b1) {
      FlushDenormals guard;
      fn(b0, b1);
    });
  }
}

inline int64_t step_time(int64_t k, int64_t T, bool reverse) { return reverse ? T - 1 - k : k; }


template <typename scalar_t>
inline const scalar_t* ptr_or_null(const Tensor& t) {
  return t.defined() ? t.data_ptr<scalar_t>() : nullptr;
}

inline Tensor opt(const c10::optional<Tensor>& t) { return t.has_value() ? t->contiguous() : Tensor(); }

// The optional pieces every kernel takes (see rnnkit/kernels/_sequence.py):
//   mask (T, B): length mask m_t;  d (B, H): recurrent-dropout mask applied to h_{t-1} before W_hh;
//   u (T, B, H): state-update weights m_t (1 - k_t) with zoneout (None: the update weight is m_t).
// A step keeps s_t = lerp(s_{t-1}, s̃_t, u_t) and outputs y_t = m_t s_t.

// Copy the thread's rows of h_{t-1}, times d when recurrent dropout is on, for the step's GEMM.
template <typename scalar_t>
inline const scalar_t* dropped(const scalar_t* hp, const scalar_t* d, scalar_t* scratch, int64_t n) {
  if (!d) return hp;
  for (int64_t j = 0; j < n; ++j) scratch[j] = hp[j] * d[j];
  return scratch;
}

// ---------------------------------------------------------------------------------------------------
// One batch row of one step. Separate __restrict pointers per gate let the compiler vectorise each loop
// (one fused pass per row; no libm calls, no branches). u_h/u_c point at the row's update weights
// (zoneout) or at a row filled with m_t.

template <typename T>
inline void lstm_forward_row(T* __restrict ai, T* __restrict af, T* __restrict ag, T* __restrict ao,
                             const T* __restrict c_prev, const T* __restrict h_prev, const T* __restrict u_h,
                             const T* __restrict u_c, T m, T* __restrict tc, T* __restrict c, T* __restrict h,
                             T* __restrict y, int64_t H) {
  for (int64_t j = 0; j < H; ++j) {
    const T i = sigmoid(ai[j]), f = sigmoid(af[j]), g = tanh_(ag[j]), o = sigmoid(ao[j]);
    ai[j] = i;
    af[j] = f;
    ag[j] = g;
    ao[j] = o;
    const T c_tilde = f * c_prev[j] + i * g;
    const T tanh_c_tilde = tanh_(c_tilde);
    const T h_tilde = o * tanh_c_tilde;
    tc[j] = tanh_c_tilde;
    const T h_new = lerp(h_prev[j], h_tilde, u_h[j]);
    c[j] = lerp(c_prev[j], c_tilde, u_c[j]);
    h[j] = h_new;
    y[j] = m * h_new;
  }
}

template <typename T>
inline void lstm_backward_row(const T* __restrict ai, const T* __restrict af, const T* __restrict ag,
                              const T* __restrict ao, const T* __restrict tc, const T* __restrict c_prev,
                              const T* __restrict dy, const T* __restrict u_h, const T* __restrict u_c, T m,
                              T* __restrict dgi, T* __restrict dgf, T* __restrict dgg, T* __restrict dgo,
                              T* __restrict dh, T* __restrict dc, int64_t H) {
  for (int64_t j = 0; j < H; ++j) {
    const T i = ai[j], f = af[j], g = ag[j], o = ao[j];
    const T dh_t = dh[j] + m * dy[j];
    const T dh_cell = u_h[j] * dh_t;
    const T dc_cell = u_c[j] * dc[j];
    const T d_o = dh_cell * tc[j];
    const T dc_tilde = dc_cell + dh_cell * o * (1 - tc[j] * tc[j]);
    const T d_i = dc_tilde * g, d_f = dc_tilde * c_prev[j], d_g = dc_tilde * i;
    dgi[j] = d_i * (i * (1 - i));
    dgf[j] = d_f * (f * (1 - f));
    dgg[j] = d_g * (1 - g * g);
    dgo[j] = d_o * (o * (1 - o));
    dc[j] = dc_tilde * f + (dc[j] - dc_cell);
    dh[j] = dh_t - dh_cell;   // what skips the cell; the cell's part is added by the step's GEMM
  }
}

template <typename T>
inline void gru_forward_row(T* __restrict ar, T* __restrict az, T* __restrict an, const T* __restrict Rr,
                            const T* __restrict Rz, const T* __restrict Rn, T* __restrict rn_saved,
                            const T* __restrict h_prev, const T* __restrict u_h, T m, T* __restrict h,
                            T* __restrict y, int64_t H) {
  for (int64_t j = 0; j < H; ++j) {
    const T r = sigmoid(ar[j] + Rr[j]);
    const T z = sigmoid(az[j] + Rz[j]);
    const T n = tanh_(an[j] + r * Rn[j]);
    ar[j] = r;
    az[j] = z;
    an[j] = n;
    rn_saved[j] = Rn[j];
    const T h_tilde = lerp(n, h_prev[j], z);   // (1 - z) n + z h_{t-1}
    const T h_new = lerp(h_prev[j], h_tilde, u_h[j]);
    h[j] = h_new;
    y[j] = m * h_new;
  }
}

template <typename T>
inline void gru_backward_row(const T* __restrict ar, const T* __restrict az, const T* __restrict an,
                             const T* __restrict rn, const T* __restrict h_prev, const T* __restrict dy,
                             const T* __restrict u_h, T m, T* __restrict dAr, T* __restrict dAz, T* __restrict dAn,
                             T* __restrict dRr, T* __restrict dRz, T* __restrict dRn, T* __restrict dh, int64_t H) {
  for (int64_t j = 0; j < H; ++j) {
    const T r = ar[j], z = az[j], n = an[j];
    const T dh_t = dh[j] + m * dy[j];
    const T dh_cell = u_h[j] * dh_t;
    const T dn = dh_cell * (1 - z);
    const T dz = dh_cell * (h_prev[j] - n);
    const T dA_n = dn * (1 - n * n);
    const T dr = dA_n * rn[j];
    const T dA_r = dr * (r * (1 - r));
    const T dA_z = dz * (z * (1 - z));
    dAr[j] = dA_r;
    dAz[j] = dA_z;
    dAn[j] = dA_n;
    dRr[j] = dA_r;
    dRz[j] = dA_z;
    dRn[j] = dA_n * r;
    dh[j] = dh_cell * z + (dh_t - dh_cell);
  }
}

template <typename T>
inline const T* fill_row(T* __restrict buf, T m, int64_t H) {
  for (int64_t j = 0; j < H; ++j) buf[j] = m;
  return buf;
}

// Shapes are checked here, not trusted: a wrong one would read out of bounds.
inline void check_shapes(const char* op, const Tensor& Gx, const Tensor& h0, const Tensor& W_hh, int64_t gates) {
  TORCH_CHECK(Gx.dim() == 3 && h0.dim() == 2 && W_hh.dim() == 2, op, ": expected Gx (T, B, G), h0 (B, H), W_hh (G, H)");
  const int64_t B = Gx.size(1), H = h0.size(1);
  TORCH_CHECK(h0.size(0) == B && Gx.size(2) == gates * H && W_hh.size(0) == gates * H && W_hh.size(1) == H, op,
              ": shapes disagree: Gx ", Gx.sizes(), ", h0 ", h0.sizes(), ", W_hh ", W_hh.sizes());
  TORCH_CHECK(h0.scalar_type() == Gx.scalar_type() && W_hh.scalar_type() == Gx.scalar_type(), op,
              ": all tensors must share one dtype");
}

inline void check_extras(const char* op, const Tensor& Gx, int64_t H, const Tensor& mask, const Tensor& d,
                         const Tensor& u) {
  const int64_t T = Gx.size(0), B = Gx.size(1);
  auto dt = Gx.scalar_type();
  TORCH_CHECK(!mask.defined() || (mask.numel() == T * B && mask.scalar_type() == dt), op, ": mask must be (T, B)");
  TORCH_CHECK(!d.defined() || (d.numel() == B * H && d.scalar_type() == dt), op, ": recurrent mask must be (B, H)");
  TORCH_CHECK(!u.defined() || (u.numel() == T * B * H && u.scalar_type() == dt), op, ": update weights must be (T, B, H)");
}

// ---------------------------------------------------------------------------------------------------
// LSTM.  Gx: (T, B, 4H) = W_ih x_t + b_ih + b_hh for all t (from Python); overwritten in place with the
// gate activations i, f, g, o. Returns y, h_n, c_n, tanh(c̃), h_prev_all, c_prev_all.

std::vector<Tensor> lstm_forward(Tensor Gx, const Tensor& h0, const Tensor& c0, const Tensor& W_hh,
                                 const c10::optional<Tensor>& mask_o, const c10::optional<Tensor>& d_o,
                                 const c10::optional<Tensor>& uh_o, const c10::optional<Tensor>& uc_o,
                                 bool reverse) {
  TORCH_CHECK(Gx.is_contiguous() && h0.is_contiguous() && c0.is_contiguous() && W_hh.is_contiguous(),
              "lstm_forward: contiguous inputs expected");
  const int64_t T = Gx.size(0), B = Gx.size(1), H = h0.size(1), G = 4 * H;
  check_shapes("lstm_forward", Gx, h0, W_hh, 4);
  TORCH_CHECK(c0.sizes() == h0.sizes(), "lstm_forward: c0 must be (B, H)");
  Tensor mask = opt(mask_o), d = opt(d_o), u_h = opt(uh_o), u_c = opt(uc_o);
  check_extras("lstm_forward", Gx, H, mask, d, u_h);
  check_extras("lstm_forward", Gx, H, mask, d, u_c);
  Tensor y = pooled_empty({T, B, H}, Gx.options());
  Tensor tanh_c = pooled_empty({T, B, H}, Gx.options());
  Tensor h_prev_all = pooled_empty({T, B, H}, Gx.options());   // h_{t-1} as seen by step t
  Tensor c_prev_all = pooled_empty({T, B, H}, Gx.options());
  Tensor h_n = at::empty({B, H}, Gx.options()), c_n = at::empty({B, H}, Gx.options());
  AT_DISPATCH_FLOATING_TYPES(Gx.scalar_type(), "lstm_forward", [&] {
    scalar_t* gx = Gx.data_ptr<scalar_t>();
    scalar_t* yp = y.data_ptr<scalar_t>();
    scalar_t* tc_all = tanh_c.data_ptr<scalar_t>();
    scalar_t* hp_all = h_prev_all.data_ptr<scalar_t>();
    scalar_t* cp_all = c_prev_all.data_ptr<scalar_t>();
    const scalar_t* whh = W_hh.data_ptr<scalar_t>();
    const scalar_t *mp = ptr_or_null<scalar_t>(mask), *dp = ptr_or_null<scalar_t>(d);
    const scalar_t *uhp = ptr_or_null<scalar_t>(u_h), *ucp = ptr_or_null<scalar_t>(u_c);
    const scalar_t* h0p = h0.data_ptr<scalar_t>();
    const scalar_t* c0p = c0.data_ptr<scalar_t>();
    scalar_t* hn = h_n.data_ptr<scalar_t>();
    scalar_t* cn = c_n.data_ptr<scalar_t>();
    over_batch(B, [&](int64_t b0, int64_t b1) {
      const int64_t nb = b1 - b0;
      std::vector<scalar_t> scratch(dp ? nb * H : 0);
      std::vector<scalar_t> mrow(H);   // m_t repeated: the update weight without zoneout
      const int64_t t0 = step_time(0, T, reverse);
      std::memcpy(hp_all + (t0 * B + b0) * H, h0p + b0 * H, nb * H * sizeof(scalar_t));
      std::memcpy(cp_all + (t0 * B + b0) * H, c0p + b0 * H, nb * H * sizeof(scalar_t));
      for (int64_t k = 0; k < T; ++k) {
        const int64_t t = step_time(k, T, reverse);
        const bool last = k == T - 1;
        const int64_t tn = last ? 0 : step_time(k + 1, T, reverse);
        const int64_t row0 = t * B + b0;
        const scalar_t* hp = hp_all + row0 * H;
        const scalar_t* cp = cp_all + row0 * H;
        scalar_t* g_t = gx + row0 * G;
        const scalar_t* h_in = dropped(hp, dp ? dp + b0 * H : nullptr, scratch.data(), nb * H);
        gemm(false, true, nb, G, H, h_in, H, whh, H, scalar_t(1), g_t, G);   // G_t += (d ⊙ h_{t-1}) W_hhᵀ
        scalar_t* h_out = last ? hn + b0 * H : hp_all + (tn * B + b0) * H;
        scalar_t* c_out = last ? cn + b0 * H : cp_all + (tn * B + b0) * H;
        for (int64_t b = 0; b < nb; ++b) {
          const int64_t row = row0 + b;
          scalar_t* a = g_t + b * G;
          const scalar_t* h_prev = hp + b * H;
          const scalar_t* c_prev = cp + b * H;
          scalar_t* tc = tc_all + row * H;
          scalar_t* h = h_out + b * H;
          scalar_t* c = c_out + b * H;
          scalar_t* yb = yp + row * H;
          const scalar_t m = mp ? mp[row] : scalar_t(1);
          if (m == scalar_t(0)) {   // ended (or not yet started): keep the state, output zero
            for (int64_t j = 0; j < H; ++j) {
              h[j] = h_prev[j];
              c[j] = c_prev[j];
              yb[j] = scalar_t(0);
              tc[j] = scalar_t(0);
            }
            for (int64_t j = 0; j < G; ++j) a[j] = scalar_t(0);   // dG is 0 there; keep it finite
            continue;
          }
          const scalar_t* uh = uhp ? uhp + row * H : fill_row(mrow.data(), m, H);
          const scalar_t* uc = ucp ? ucp + row * H : uh == mrow.data() ? uh : fill_row(mrow.data(), m, H);
          lstm_forward_row(a, a + H, a + 2 * H, a + 3 * H, c_prev, h_prev, uh, uc, m, tc, c, h, yb, H);
        }
      }
    });
  });
  return {y, h_n, c_n, tanh_c, h_prev_all, c_prev_all};
}

// Returns dG (T, B, 4H), dh0, dc0. gates holds i, f, g, o (post-activation) from forward.
std::vector<Tensor> lstm_backward(const Tensor& dy, const Tensor& dh_n, const Tensor& dc_n, const Tensor& gates,
                                  const Tensor& tanh_c, const Tensor& c_prev_all, const Tensor& W_hh,
                                  const c10::optional<Tensor>& mask_o, const c10::optional<Tensor>& d_o,
                                  const c10::optional<Tensor>& uh_o, const c10::optional<Tensor>& uc_o,
                                  bool reverse) {
  const int64_t T = gates.size(0), B = gates.size(1), H = W_hh.size(1), G = 4 * H;
  TORCH_CHECK(dy.dim() == 3 && dy.size(0) == T && dy.size(1) == B && dy.size(2) == H && dh_n.numel() == B * H &&
                  dy.scalar_type() == gates.scalar_type() && dh_n.scalar_type() == gates.scalar_type(),
              "lstm_backward: dy must be (T, B, H) and dh_n (B, H) in the saved dtype");
  Tensor dy_c = dy.contiguous();
  Tensor mask = opt(mask_o), d = opt(d_o), u_h = opt(uh_o), u_c = opt(uc_o);
  Tensor dG = pooled_empty({T, B, G}, gates.options());
  Tensor dh0 = dh_n.contiguous().clone(), dc0 = dc_n.contiguous().clone();   // the carried dh, dc
  AT_DISPATCH_FLOATING_TYPES(gates.scalar_type(), "lstm_backward", [&] {
    const scalar_t* dyp = dy_c.data_ptr<scalar_t>();
    const scalar_t* gp = gates.data_ptr<scalar_t>();
    const scalar_t* tcp = tanh_c.data_ptr<scalar_t>();
    const scalar_t* cpp = c_prev_all.data_ptr<scalar_t>();
    const scalar_t* whh = W_hh.data_ptr<scalar_t>();
    const scalar_t *mp = ptr_or_null<scalar_t>(mask), *dp = ptr_or_null<scalar_t>(d);
    const scalar_t *uhp = ptr_or_null<scalar_t>(u_h), *ucp = ptr_or_null<scalar_t>(u_c);
    scalar_t* dGp = dG.data_ptr<scalar_t>();
    scalar_t* dhp = dh0.data_ptr<scalar_t>();
    scalar_t* dcp = dc0.data_ptr<scalar_t>();
    over_batch(B, [&](int64_t b0, int64_t b1) {
      const int64_t nb = b1 - b0;
      std::vector<scalar_t> scratch(dp ? nb * H : 0);
      std::vector<scalar_t> mrow(H);   // m_t repeated: the update weight without zoneout
      scalar_t* dh = dhp + b0 * H;
      scalar_t* dc = dcp + b0 * H;
      for (int64_t k = T - 1; k >= 0; --k) {
        const int64_t t = step_time(k, T, reverse);
        const int64_t row0 = t * B + b0;
        scalar_t* dG_t = dGp + row0 * G;
        for (int64_t b = 0; b < nb; ++b) {
          const int64_t row = row0 + b;
          const scalar_t* a = gp + row * G;
          const scalar_t* tc = tcp + row * H;
          const scalar_t* c_prev = cpp + row * H;
          const scalar_t* dy_t = dyp + row * H;
          const scalar_t m = mp ? mp[row] : scalar_t(1);
          const scalar_t* uh = uhp ? uhp + row * H : fill_row(mrow.data(), m, H);
          const scalar_t* uc = ucp ? ucp + row * H : uh == mrow.data() ? uh : fill_row(mrow.data(), m, H);
          scalar_t* dgb = dG_t + b * G;
          lstm_backward_row(a, a + H, a + 2 * H, a + 3 * H, tc, c_prev, dy_t, uh, uc, m, dgb, dgb + H, dgb + 2 * H,
                            dgb + 3 * H, dh + b * H, dc + b * H, H);
        }
        if (dp) {   // dh += d ⊙ (dG_t W_hh)
          gemm(false, false, nb, H, G, dG_t, G, whh, H, scalar_t(0), scratch.data(), H);
          const scalar_t* db = dp + b0 * H;
          for (int64_t j = 0; j < nb * H; ++j) dh[j] += scratch[j] * db[j];
        } else {    // dh += dG_t W_hh
          gemm(false, false, nb, H, G, dG_t, G, whh, H, scalar_t(1), dh, H);
        }
      }
    });
  });
  return {dG, dh0, dc0};
}

// ---------------------------------------------------------------------------------------------------
// GRU ("reset after", gate order r, z, n). A: (T, B, 3H) = W_ih x_t + b_ih (from Python); overwritten in
// place with r, z, n. R_n = W_hn (d ⊙ h_{t-1}) + b_hn is kept for backward.

std::vector<Tensor> gru_forward(Tensor A, const Tensor& h0, const Tensor& W_hh, const c10::optional<Tensor>& b_hh_o,
                                const c10::optional<Tensor>& mask_o, const c10::optional<Tensor>& d_o,
                                const c10::optional<Tensor>& uh_o, bool reverse) {
  TORCH_CHECK(A.is_contiguous() && h0.is_contiguous() && W_hh.is_contiguous(), "gru_forward: contiguous inputs expected");
  const int64_t T = A.size(0), B = A.size(1), H = h0.size(1), G = 3 * H;
  check_shapes("gru_forward", A, h0, W_hh, 3);
  Tensor mask = opt(mask_o), d = opt(d_o), u_h = opt(uh_o), b_hh = opt(b_hh_o);
  check_extras("gru_forward", A, H, mask, d, u_h);
  TORCH_CHECK(!b_hh.defined() || (b_hh.numel() == G && b_hh.scalar_type() == A.scalar_type()),
              "gru_forward: b_hh must be (3H,)");
  Tensor y = pooled_empty({T, B, H}, A.options());
  Tensor R_n = pooled_empty({T, B, H}, A.options());
  Tensor h_prev_all = pooled_empty({T, B, H}, A.options());
  Tensor h_n = at::empty({B, H}, A.options());
  AT_DISPATCH_FLOATING_TYPES(A.scalar_type(), "gru_forward", [&] {
    scalar_t* ap = A.data_ptr<scalar_t>();
    scalar_t* yp = y.data_ptr<scalar_t>();
    scalar_t* rnp = R_n.data_ptr<scalar_t>();
    scalar_t* hp_all = h_prev_all.data_ptr<scalar_t>();
    const scalar_t* whh = W_hh.data_ptr<scalar_t>();
    const scalar_t* bh = ptr_or_null<scalar_t>(b_hh);
    const scalar_t *mp = ptr_or_null<scalar_t>(mask), *dp = ptr_or_null<scalar_t>(d);
    const scalar_t* uhp = ptr_or_null<scalar_t>(u_h);
    const scalar_t* h0p = h0.data_ptr<scalar_t>();
    scalar_t* hn = h_n.data_ptr<scalar_t>();
    over_batch(B, [&](int64_t b0, int64_t b1) {
      const int64_t nb = b1 - b0;
      std::vector<scalar_t> R(nb * G);   // this thread's W_hh (d ⊙ h_{t-1}) + b_hh for one step
      std::vector<scalar_t> scratch(dp ? nb * H : 0);
      std::vector<scalar_t> mrow(H);   // m_t repeated: the update weight without zoneout
      std::memcpy(hp_all + (step_time(0, T, reverse) * B + b0) * H, h0p + b0 * H, nb * H * sizeof(scalar_t));
      for (int64_t k = 0; k < T; ++k) {
        const int64_t t = step_time(k, T, reverse);
        const bool last = k == T - 1;
        const int64_t tn = last ? 0 : step_time(k + 1, T, reverse);
        const int64_t row0 = t * B + b0;
        const scalar_t* hp = hp_all + row0 * H;
        if (bh) {
          for (int64_t b = 0; b < nb; ++b) std::memcpy(R.data() + b * G, bh, G * sizeof(scalar_t));
        }
        const scalar_t* h_in = dropped(hp, dp ? dp + b0 * H : nullptr, scratch.data(), nb * H);
        gemm(false, true, nb, G, H, h_in, H, whh, H, scalar_t(bh ? 1 : 0), R.data(), G);
        scalar_t* h_out = last ? hn + b0 * H : hp_all + (tn * B + b0) * H;
        for (int64_t b = 0; b < nb; ++b) {
          const int64_t row = row0 + b;
          scalar_t* a = ap + row * G;
          const scalar_t* r_ = R.data() + b * G;
          scalar_t* rn = rnp + row * H;
          const scalar_t* h_prev = hp + b * H;
          scalar_t* h = h_out + b * H;
          scalar_t* yb = yp + row * H;
          const scalar_t m = mp ? mp[row] : scalar_t(1);
          if (m == scalar_t(0)) {
            for (int64_t j = 0; j < H; ++j) {
              h[j] = h_prev[j];
              yb[j] = scalar_t(0);
              rn[j] = scalar_t(0);
            }
            for (int64_t j = 0; j < G; ++j) a[j] = scalar_t(0);
            continue;
          }
          const scalar_t* uh = uhp ? uhp + row * H : fill_row(mrow.data(), m, H);
          gru_forward_row(a, a + H, a + 2 * H, r_, r_ + H, r_ + 2 * H, rn, h_prev, uh, m, h, yb, H);
        }
      }
    });
  });
  return {y, h_n, R_n, h_prev_all};
}

// Returns dA (T, B, 3H) (gradient of W_ih x + b_ih), dR (T, B, 3H) (of W_hh (d ⊙ h) + b_hh), dh0.
std::vector<Tensor> gru_backward(const Tensor& dy, const Tensor& dh_n, const Tensor& gates, const Tensor& R_n,
                                 const Tensor& h_prev_all, const Tensor& W_hh, const c10::optional<Tensor>& mask_o,
                                 const c10::optional<Tensor>& d_o, const c10::optional<Tensor>& uh_o, bool reverse) {
  const int64_t T = gates.size(0), B = gates.size(1), H = W_hh.size(1), G = 3 * H;
  TORCH_CHECK(dy.dim() == 3 && dy.size(0) == T && dy.size(1) == B && dy.size(2) == H && dh_n.numel() == B * H &&
                  dy.scalar_type() == gates.scalar_type() && dh_n.scalar_type() == gates.scalar_type(),
              "gru_backward: dy must be (T, B, H) and dh_n (B, H) in the saved dtype");
  Tensor dy_c = dy.contiguous();
  Tensor mask = opt(mask_o), d = opt(d_o), u_h = opt(uh_o);
  Tensor dA = pooled_empty({T, B, G}, gates.options()), dR = pooled_empty({T, B, G}, gates.options());
  Tensor dh0 = dh_n.contiguous().clone();
  AT_DISPATCH_FLOATING_TYPES(gates.scalar_type(), "gru_backward", [&] {
    const scalar_t* dyp = dy_c.data_ptr<scalar_t>();
    const scalar_t* gp = gates.data_ptr<scalar_t>();
    const scalar_t* rnp = R_n.data_ptr<scalar_t>();
    const scalar_t* hpp = h_prev_all.data_ptr<scalar_t>();
    const scalar_t* whh = W_hh.data_ptr<scalar_t>();
    const scalar_t *mp = ptr_or_null<scalar_t>(mask), *dp = ptr_or_null<scalar_t>(d);
    const scalar_t* uhp = ptr_or_null<scalar_t>(u_h);
    scalar_t* dAp = dA.data_ptr<scalar_t>();
    scalar_t* dRp = dR.data_ptr<scalar_t>();
    scalar_t* dhp = dh0.data_ptr<scalar_t>();
    over_batch(B, [&](int64_t b0, int64_t b1) {
      const int64_t nb = b1 - b0;
      std::vector<scalar_t> scratch(dp ? nb * H : 0);
      std::vector<scalar_t> mrow(H);   // m_t repeated: the update weight without zoneout
      scalar_t* dh = dhp + b0 * H;
      for (int64_t k = T - 1; k >= 0; --k) {
        const int64_t t = step_time(k, T, reverse);
        const int64_t row0 = t * B + b0;
        for (int64_t b = 0; b < nb; ++b) {
          const int64_t row = row0 + b;
          const scalar_t* a = gp + row * G;
          const scalar_t* rn = rnp + row * H;
          const scalar_t* h_prev = hpp + row * H;
          const scalar_t* dy_t = dyp + row * H;
          const scalar_t m = mp ? mp[row] : scalar_t(1);
          const scalar_t* uh = uhp ? uhp + row * H : fill_row(mrow.data(), m, H);
          scalar_t* da = dAp + row * G;
          scalar_t* dr_ = dRp + row * G;
          gru_backward_row(a, a + H, a + 2 * H, rn, h_prev, dy_t, uh, m, da, da + H, da + 2 * H, dr_, dr_ + H,
                           dr_ + 2 * H, dh + b * H, H);
        }
        scalar_t* dR_t = dRp + row0 * G;
        if (dp) {   // dh += d ⊙ (dR_t W_hh)
          gemm(false, false, nb, H, G, dR_t, G, whh, H, scalar_t(0), scratch.data(), H);
          const scalar_t* db = dp + b0 * H;
          for (int64_t j = 0; j < nb * H; ++j) dh[j] += scratch[j] * db[j];
        } else {
          gemm(false, false, nb, H, G, dR_t, G, whh, H, scalar_t(1), dh, H);
        }
      }
    });
  });
  return {dA, dR, dh0};
}

// ---------------------------------------------------------------------------------------------------
// Elman. Ax: (T, B, H) = W_ih x_t + b_ih + b_hh (from Python); overwritten in place with act(a_t).

std::vector<Tensor> elman_forward(Tensor Ax, const Tensor& h0, const Tensor& W_hh, const c10::optional<Tensor>& mask_o,
                                  const c10::optional<Tensor>& d_o, const c10::optional<Tensor>& uh_o, bool reverse,
                                  bool relu) {
  TORCH_CHECK(Ax.is_contiguous() && h0.is_contiguous() && W_hh.is_contiguous(), "elman_forward: contiguous inputs expected");
  const int64_t T = Ax.size(0), B = Ax.size(1), H = h0.size(1);
  check_shapes("elman_forward", Ax, h0, W_hh, 1);
  Tensor mask = opt(mask_o), d = opt(d_o), u_h = opt(uh_o);
  check_extras("elman_forward", Ax, H, mask, d, u_h);
  Tensor y = pooled_empty({T, B, H}, Ax.options());
  Tensor h_prev_all = pooled_empty({T, B, H}, Ax.options());
  Tensor h_n = at::empty({B, H}, Ax.options());
  AT_DISPATCH_FLOATING_TYPES(Ax.scalar_type(), "elman_forward", [&] {
    scalar_t* ap = Ax.data_ptr<scalar_t>();
    scalar_t* yp = y.data_ptr<scalar_t>();
    scalar_t* hp_all = h_prev_all.data_ptr<scalar_t>();
    const scalar_t* whh = W_hh.data_ptr<scalar_t>();
    const scalar_t *mp = ptr_or_null<scalar_t>(mask), *dp = ptr_or_null<scalar_t>(d);
    const scalar_t* uhp = ptr_or_null<scalar_t>(u_h);
    const scalar_t* h0p = h0.data_ptr<scalar_t>();
    scalar_t* hn = h_n.data_ptr<scalar_t>();
    over_batch(B, [&](int64_t b0, int64_t b1) {
      const int64_t nb = b1 - b0;
      std::vector<scalar_t> scratch(dp ? nb * H : 0);
      std::vector<scalar_t> mrow(H);   // m_t repeated: the update weight without zoneout
      std::memcpy(hp_all + (step_time(0, T, reverse) * B + b0) * H, h0p + b0 * H, nb * H * sizeof(scalar_t));
      for (int64_t k = 0; k < T; ++k) {
        const int64_t t = step_time(k, T, reverse);
        const bool last = k == T - 1;
        const int64_t tn = last ? 0 : step_time(k + 1, T, reverse);
        const int64_t row0 = t * B + b0;
        const scalar_t* hp = hp_all + row0 * H;
        scalar_t* a_t = ap + row0 * H;
        const scalar_t* h_in = dropped(hp, dp ? dp + b0 * H : nullptr, scratch.data(), nb * H);
        gemm(false, true, nb, H, H, h_in, H, whh, H, scalar_t(1), a_t, H);   // a_t += (d ⊙ h_{t-1}) W_hhᵀ
        scalar_t* h_out = last ? hn + b0 * H : hp_all + (tn * B + b0) * H;
        for (int64_t b = 0; b < nb; ++b) {
          const int64_t row = row0 + b;
          scalar_t* a = ap + row * H;
          const scalar_t* h_prev = hp + b * H;
          scalar_t* h = h_out + b * H;
          scalar_t* yb = yp + row * H;
          const scalar_t m = mp ? mp[row] : scalar_t(1);
          if (m == scalar_t(0)) {
            for (int64_t j = 0; j < H; ++j) {
              h[j] = h_prev[j];
              yb[j] = scalar_t(0);
              a[j] = scalar_t(0);
            }
            continue;
          }
          if (relu) {
            for (int64_t j = 0; j < H; ++j) a[j] = a[j] > 0 ? a[j] : scalar_t(0);
          } else {
            for (int64_t j = 0; j < H; ++j) a[j] = tanh_(a[j]);
          }
          const scalar_t* uh = uhp ? uhp + row * H : fill_row(mrow.data(), m, H);
          for (int64_t j = 0; j < H; ++j) {
            const scalar_t h_new = lerp(h_prev[j], a[j], uh[j]);
            h[j] = h_new;
            yb[j] = m * h_new;
          }
        }
      }
    });
  });
  return {y, h_n, h_prev_all};
}

// Returns da (T, B, H) and dh0. hs holds act(a_t) from forward.
std::vector<Tensor> elman_backward(const Tensor& dy, const Tensor& dh_n, const Tensor& hs, const Tensor& W_hh,
                                   const c10::optional<Tensor>& mask_o, const c10::optional<Tensor>& d_o,
                                   const c10::optional<Tensor>& uh_o, bool reverse, bool relu) {
  const int64_t T = hs.size(0), B = hs.size(1), H = W_hh.size(1);
  TORCH_CHECK(dy.dim() == 3 && dy.size(0) == T && dy.size(1) == B && dy.size(2) == H && dh_n.numel() == B * H &&
                  dy.scalar_type() == hs.scalar_type() && dh_n.scalar_type() == hs.scalar_type(),
              "elman_backward: dy must be (T, B, H) and dh_n (B, H) in the saved dtype");
  Tensor dy_c = dy.contiguous();
  Tensor mask = opt(mask_o), d = opt(d_o), u_h = opt(uh_o);
  Tensor da = pooled_empty({T, B, H}, hs.options());
  Tensor dh0 = dh_n.contiguous().clone();
  AT_DISPATCH_FLOATING_TYPES(hs.scalar_type(), "elman_backward", [&] {
    const scalar_t* dyp = dy_c.data_ptr<scalar_t>();
    const scalar_t* hsp = hs.data_ptr<scalar_t>();
    const scalar_t* whh = W_hh.data_ptr<scalar_t>();
    const scalar_t *mp = ptr_or_null<scalar_t>(mask), *dp = ptr_or_null<scalar_t>(d);
    const scalar_t* uhp = ptr_or_null<scalar_t>(u_h);
    scalar_t* dap = da.data_ptr<scalar_t>();
    scalar_t* dhp = dh0.data_ptr<scalar_t>();
    over_batch(B, [&](int64_t b0, int64_t b1) {
      const int64_t nb = b1 - b0;
      std::vector<scalar_t> scratch(dp ? nb * H : 0);
      std::vector<scalar_t> mrow(H);   // m_t repeated: the update weight without zoneout
      scalar_t* dh = dhp + b0 * H;
      for (int64_t k = T - 1; k >= 0; --k) {
        const int64_t t = step_time(k, T, reverse);
        const int64_t row0 = t * B + b0;
        for (int64_t b = 0; b < nb; ++b) {
          const int64_t row = row0 + b;
          const scalar_t* h = hsp + row * H;
          const scalar_t* dy_t = dyp + row * H;
          scalar_t* d_a = dap + row * H;
          scalar_t* dhb = dh + b * H;
          const scalar_t m = mp ? mp[row] : scalar_t(1);
          const scalar_t* uh = uhp ? uhp + row * H : fill_row(mrow.data(), m, H);
          for (int64_t j = 0; j < H; ++j) {
            const scalar_t dh_t = dhb[j] + m * dy_t[j];
            const scalar_t dh_cell = uh[j] * dh_t;
            const scalar_t act_grad = relu ? scalar_t(h[j] > 0) : 1 - h[j] * h[j];
            d_a[j] = dh_cell * act_grad;
            dhb[j] = dh_t - dh_cell;
          }
        }
        scalar_t* da_t = dap + row0 * H;
        if (dp) {
          gemm(false, false, nb, H, H, da_t, H, whh, H, scalar_t(0), scratch.data(), H);
          const scalar_t* db = dp + b0 * H;
          for (int64_t j = 0; j < nb * H; ++j) dh[j] += scratch[j] * db[j];
        } else {
          gemm(false, false, nb, H, H, da_t, H, whh, H, scalar_t(1), dh, H);
        }
      }
    });
  });
  return {da, dh0};
}


// ---------------------------------------------------------------------------------------------------
// The input projection Gx = x W_ihᵀ + b1 + b2 (T, B, G) for all steps, one GEMM into a pooled buffer (the
// sequence kernels update it in place to the gate activations). Inference entry points (no autograd):
// the projection runs inside, so a call from Python is one dispatcher call instead of four or five.

Tensor project(const Tensor& x, const Tensor& W_ih, const c10::optional<Tensor>& b1_o,
               const c10::optional<Tensor>& b2_o) {
  TORCH_CHECK(x.dim() == 3 && W_ih.dim() == 2 && x.size(2) == W_ih.size(1) && x.scalar_type() == W_ih.scalar_type(),
              "project: expected x (T, B, I) and W_ih (G, I) of one dtype; got ", x.sizes(), " and ", W_ih.sizes());
  const int64_t T = x.size(0), B = x.size(1), I = x.size(2), G = W_ih.size(0);
  Tensor xc = x.contiguous(), W = W_ih.contiguous(), b1 = opt(b1_o), b2 = opt(b2_o);
  TORCH_CHECK((!b1.defined() || b1.numel() == G) && (!b2.defined() || b2.numel() == G), "project: biases must be (G,)");
  Tensor Gx = pooled_empty({T, B, G}, x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "project", [&] {
    scalar_t* out = Gx.data_ptr<scalar_t>();
    const scalar_t* p1 = ptr_or_null<scalar_t>(b1);
    const scalar_t* p2 = ptr_or_null<scalar_t>(b2);
    if (p1) {
      std::vector<scalar_t> bias(p1, p1 + G);   // b_ih + b_hh, added the way the Python kernels add it
      if (p2) {
        for (int64_t j = 0; j < G; ++j) bias[j] = p1[j] + p2[j];
      }
      for (int64_t r = 0; r < T * B; ++r) std::memcpy(out + r * G, bias.data(), G * sizeof(scalar_t));
    }
    gemm(false, true, T * B, G, I, xc.data_ptr<scalar_t>(), I, W.data_ptr<scalar_t>(), I, scalar_t(p1 ? 1 : 0),
         out, G);
  });
  return Gx;
}

std::vector<Tensor> lstm_infer(const Tensor& x, const Tensor& h0, const Tensor& c0, const Tensor& W_ih,
                               const Tensor& W_hh, const c10::optional<Tensor>& b_ih, const c10::optional<Tensor>& b_hh,
                               const c10::optional<Tensor>& mask, bool reverse) {
  Tensor Gx = project(x, W_ih, b_ih, b_hh);
  auto r = lstm_forward(Gx, h0.contiguous(), c0.contiguous(), W_hh.contiguous(), mask, {}, {}, {}, reverse);
  return {r[0], r[1], r[2]};
}

std::vector<Tensor> gru_infer(const Tensor& x, const Tensor& h0, const Tensor& W_ih, const Tensor& W_hh,
                              const c10::optional<Tensor>& b_ih, const c10::optional<Tensor>& b_hh,
                              const c10::optional<Tensor>& mask, bool reverse) {
  Tensor A = project(x, W_ih, b_ih, {});
  auto r = gru_forward(A, h0.contiguous(), W_hh.contiguous(), b_hh, mask, {}, {}, reverse);
  return {r[0], r[1]};
}

std::vector<Tensor> elman_infer(const Tensor& x, const Tensor& h0, const Tensor& W_ih, const Tensor& W_hh,
                                const c10::optional<Tensor>& b_ih, const c10::optional<Tensor>& b_hh,
                                const c10::optional<Tensor>& mask, bool reverse, bool relu) {
  Tensor Ax = project(x, W_ih, b_ih, b_hh);
  auto r = elman_forward(Ax, h0.contiguous(), W_hh.contiguous(), mask, {}, {}, reverse, relu);
  return {r[0], r[1]};
}

// ---------------------------------------------------------------------------------------------------
// Layer-normalised LSTM (rnnkit/kernels/layer_norm_lstm.py carries the equations). All three layer norms
// are per-row reductions (over 4H for P_t and Q_t, over H for c̃_t), so each thread normalises its own
// rows inside the step, in the same pass as the gate math: the input-side LN of P = W_ih x (T·B, 4H) runs
// row by row in the loop too (in place, P becomes P̂), not as a separate pass over all steps.

// a (n) -> â in place; returns 1/σ. Two-pass mean and variance, as torch.var_mean, summed in double: a
// row with a small variance amplifies float32 rounding in the sums by 1/σ (measured: without this the
// float32 gradients strayed ~2x further from float64 than the Python kernel's, beyond 1e-5). `omp simd`
// lets the compiler reassociate (vectorise) the sums, which it otherwise must run one add at a time.
template <typename T>
inline void row_moments(const T* __restrict a, int64_t n, T* mu_out, T* rstd_out) {
  double sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t j = 0; j < n; ++j) sum += a[j];
  const T mu = T(sum / double(n));
  double ss = 0;
#pragma omp simd reduction(+ : ss)
  for (int64_t j = 0; j < n; ++j) ss += double(a[j] - mu) * double(a[j] - mu);
  *mu_out = mu;
  *rstd_out = T(1.0 / std::sqrt(ss / double(n) + 1e-5));
}

template <typename T>
inline T normalise_row(T* __restrict a, int64_t n) {
  T mu, rstd;
  row_moments(a, n, &mu, &rstd);
  for (int64_t j = 0; j < n; ++j) a[j] = (a[j] - mu) * rstd;
  return rstd;
}

// Backward of y = γ â + β for one row: da = (ĝ - mean(ĝ) - â mean(ĝ â)) / σ, ĝ = dy γ (means in double).
template <typename T>
inline void layer_norm_backward_row(const T* __restrict dy, const T* __restrict a_hat, T rstd,
                                    const T* __restrict gamma, T* __restrict da, int64_t n) {
  double s1 = 0, s2 = 0;
#pragma omp simd reduction(+ : s1, s2)
  for (int64_t j = 0; j < n; ++j) {
    const T g = dy[j] * gamma[j];
    s1 += g;
    s2 += double(g) * double(a_hat[j]);
  }
  const T m1 = T(s1 / double(n)), m2 = T(s2 / double(n));
  for (int64_t j = 0; j < n; ++j) da[j] = (dy[j] * gamma[j] - m1 - a_hat[j] * m2) * rstd;
}

// dG_t (4H) of one row -> dQ_t and dP_t through the two 4H-wide norms, and the row's share of Σ dG ⊙ P̂,
// Σ dG ⊙ Q̂, Σ dG: one pass for the four reductions and the three sums, one pass to write dQ, dP.
template <typename T>
inline void gate_norms_backward_row(const T* __restrict dG, const T* __restrict q_hat, T q_rstd,
                                    const T* __restrict g_hh, const T* __restrict p_hat, T p_rstd,
                                    const T* __restrict g_ih, T* __restrict dQ, T* __restrict dP,
                                    double* __restrict s_gQ, double* __restrict s_gP, double* __restrict s_b,
                                    int64_t n) {
  double q1 = 0, q2 = 0, p1 = 0, p2 = 0;
#pragma omp simd reduction(+ : q1, q2, p1, p2)
  for (int64_t j = 0; j < n; ++j) {
    const T gq = dG[j] * g_hh[j], gp = dG[j] * g_ih[j];
    q1 += gq;
    q2 += double(gq) * double(q_hat[j]);
    p1 += gp;
    p2 += double(gp) * double(p_hat[j]);
    s_gQ[j] += double(dG[j]) * double(q_hat[j]);
    s_gP[j] += double(dG[j]) * double(p_hat[j]);
    s_b[j] += double(dG[j]);
  }
  const T mq1 = T(q1 / double(n)), mq2 = T(q2 / double(n)), mp1 = T(p1 / double(n)), mp2 = T(p2 / double(n));
  for (int64_t j = 0; j < n; ++j) {
    dQ[j] = (dG[j] * g_hh[j] - mq1 - q_hat[j] * mq2) * q_rstd;
    dP[j] = (dG[j] * g_ih[j] - mp1 - p_hat[j] * mp2) * p_rstd;
  }
}

// One row of one step: P_t and Q_t normalised in place (given their moments) in the same pass that forms
// G_t, then gates, c̃, LN(c̃), h̃, state update.
template <typename T>
inline void ln_lstm_forward_row(T* __restrict p_hat, T mu_p, T rstd_p, T* __restrict q_hat, T mu_q, T rstd_q,
                                const T* __restrict g_ih, const T* __restrict g_hh, const T* __restrict shift,
                                T* __restrict a,
                                const T* __restrict c_prev, const T* __restrict h_prev, const T* __restrict g_c,
                                const T* __restrict b_c, T m, T* __restrict n_hat, T* __restrict n_rstd,
                                T* __restrict tn, T* __restrict c, T* __restrict h, T* __restrict y, int64_t H) {
  const int64_t G = 4 * H;
  for (int64_t k = 0; k < G; ++k) {
    const T ph = (p_hat[k] - mu_p) * rstd_p, qh = (q_hat[k] - mu_q) * rstd_q;
    p_hat[k] = ph;
    q_hat[k] = qh;
    a[k] = g_ih[k] * ph + g_hh[k] * qh + shift[k];   // G_t
  }
  T* __restrict ai = a;
  T* __restrict af = a + H;
  T* __restrict ag = a + 2 * H;
  T* __restrict ao = a + 3 * H;
  for (int64_t j = 0; j < H; ++j) {
    const T i = sigmoid(ai[j]), f = sigmoid(af[j]), g = tanh_(ag[j]), o = sigmoid(ao[j]);
    ai[j] = i;
    af[j] = f;
    ag[j] = g;
    ao[j] = o;
    n_hat[j] = f * c_prev[j] + i * g;   // c̃_t, normalised below
  }
  // c̃ is needed after normalising (for c_t): recompute it from the gates instead of a second buffer
  *n_rstd = normalise_row(n_hat, H);
  for (int64_t j = 0; j < H; ++j) {
    const T c_tilde = af[j] * c_prev[j] + ai[j] * ag[j];
    const T t = tanh_(g_c[j] * n_hat[j] + b_c[j]);
    tn[j] = t;
    const T h_new = lerp(h_prev[j], ao[j] * t, m);
    c[j] = lerp(c_prev[j], c_tilde, m);
    h[j] = h_new;
    y[j] = m * h_new;
  }
}

// P: (T, B, 4H) = W_ih x_t (no bias, from Python), normalised in place into P̂. shift = β_ih + β_hh (+ b_ih
// + b_hh). Returns y, h_n, c_n, gates, P_rstd, Q̂, Q_rstd, n̂, n_rstd, tanh(n), h_prev_all, c_prev_all.
std::vector<Tensor> ln_lstm_forward(Tensor P, const Tensor& h0, const Tensor& c0, const Tensor& W_hh,
                                    const Tensor& shift, const Tensor& gamma_ih, const Tensor& gamma_hh,
                                    const Tensor& gamma_c, const Tensor& beta_c,
                                    const c10::optional<Tensor>& mask_o, const c10::optional<Tensor>& d_o,
                                    bool reverse) {
  TORCH_CHECK(P.is_contiguous() && h0.is_contiguous() && c0.is_contiguous() && W_hh.is_contiguous(),
              "ln_lstm_forward: contiguous inputs expected");
  const int64_t T = P.size(0), B = P.size(1), H = h0.size(1), G = 4 * H;
  check_shapes("ln_lstm_forward", P, h0, W_hh, 4);
  TORCH_CHECK(c0.sizes() == h0.sizes(), "ln_lstm_forward: c0 must be (B, H)");
  Tensor mask = opt(mask_o), d = opt(d_o);
  check_extras("ln_lstm_forward", P, H, mask, d, Tensor());
  Tensor sh = shift.contiguous(), gih = gamma_ih.contiguous(), ghh = gamma_hh.contiguous();
  Tensor gc = gamma_c.contiguous(), bc = beta_c.contiguous();
  TORCH_CHECK(sh.numel() == G && gih.numel() == G && ghh.numel() == G && gc.numel() == H && bc.numel() == H,
              "ln_lstm_forward: layer-norm parameters must be (4H,) and (H,)");
  for (const Tensor* p : {&sh, &gih, &ghh, &gc, &bc})
    TORCH_CHECK(p->scalar_type() == P.scalar_type(), "ln_lstm_forward: all tensors must share one dtype");
  auto o = P.options();
  Tensor y = pooled_empty({T, B, H}, o), gates = pooled_empty({T, B, G}, o);
  Tensor P_rstd = pooled_empty({T, B, 1}, o), Q_hat = pooled_empty({T, B, G}, o), Q_rstd = pooled_empty({T, B, 1}, o);
  Tensor n_hat = pooled_empty({T, B, H}, o), n_rstd = pooled_empty({T, B, 1}, o), tanh_n = pooled_empty({T, B, H}, o);
  Tensor h_prev_all = pooled_empty({T, B, H}, o), c_prev_all = pooled_empty({T, B, H}, o);
  Tensor h_n = at::empty({B, H}, o), c_n = at::empty({B, H}, o);
  AT_DISPATCH_FLOATING_TYPES(P.scalar_type(), "ln_lstm_forward", [&] {
    scalar_t* pp = P.data_ptr<scalar_t>();
    scalar_t* ap = gates.data_ptr<scalar_t>();
    scalar_t* prs = P_rstd.data_ptr<scalar_t>();
    scalar_t* qp = Q_hat.data_ptr<scalar_t>();
    scalar_t* qrs = Q_rstd.data_ptr<scalar_t>();
    scalar_t* np = n_hat.data_ptr<scalar_t>();
    scalar_t* nrs = n_rstd.data_ptr<scalar_t>();
    scalar_t* tnp = tanh_n.data_ptr<scalar_t>();
    scalar_t* yp = y.data_ptr<scalar_t>();
    scalar_t* hp_all = h_prev_all.data_ptr<scalar_t>();
    scalar_t* cp_all = c_prev_all.data_ptr<scalar_t>();
    const scalar_t* whh = W_hh.data_ptr<scalar_t>();
    const scalar_t *shp = sh.data_ptr<scalar_t>(), *gihp = gih.data_ptr<scalar_t>(), *ghhp = ghh.data_ptr<scalar_t>();
    const scalar_t *gcp = gc.data_ptr<scalar_t>(), *bcp = bc.data_ptr<scalar_t>();
    const scalar_t *mp = ptr_or_null<scalar_t>(mask), *dp = ptr_or_null<scalar_t>(d);
    const scalar_t* h0p = h0.data_ptr<scalar_t>();
    const scalar_t* c0p = c0.data_ptr<scalar_t>();
    scalar_t* hn = h_n.data_ptr<scalar_t>();
    scalar_t* cn = c_n.data_ptr<scalar_t>();
    over_batch(B, [&](int64_t b0, int64_t b1) {
      const int64_t nb = b1 - b0;
      std::vector<scalar_t> scratch(dp ? nb * H : 0);
      const int64_t t0 = step_time(0, T, reverse);
      std::memcpy(hp_all + (t0 * B + b0) * H, h0p + b0 * H, nb * H * sizeof(scalar_t));
      std::memcpy(cp_all + (t0 * B + b0) * H, c0p + b0 * H, nb * H * sizeof(scalar_t));
      for (int64_t k = 0; k < T; ++k) {
        const int64_t t = step_time(k, T, reverse);
        const bool last = k == T - 1;
        const int64_t tnx = last ? 0 : step_time(k + 1, T, reverse);
        const int64_t row0 = t * B + b0;
        const scalar_t* hp = hp_all + row0 * H;
        const scalar_t* cp = cp_all + row0 * H;
        scalar_t* q_t = qp + row0 * G;
        const scalar_t* h_in = dropped(hp, dp ? dp + b0 * H : nullptr, scratch.data(), nb * H);
        gemm(false, true, nb, G, H, h_in, H, whh, H, scalar_t(0), q_t, G);   // Q_t = (d ⊙ h_{t-1}) W_hhᵀ
        scalar_t* h_out = last ? hn + b0 * H : hp_all + (tnx * B + b0) * H;
        scalar_t* c_out = last ? cn + b0 * H : cp_all + (tnx * B + b0) * H;
        for (int64_t b = 0; b < nb; ++b) {
          const int64_t row = row0 + b;
          scalar_t* a = ap + row * G;
          scalar_t* p = pp + row * G;
          scalar_t* q = q_t + b * G;
          const scalar_t* h_prev = hp + b * H;
          const scalar_t* c_prev = cp + b * H;
          scalar_t* h = h_out + b * H;
          scalar_t* c = c_out + b * H;
          scalar_t* yb = yp + row * H;
          const scalar_t m = mp ? mp[row] : scalar_t(1);
          scalar_t mu_p, mu_q;
          row_moments(p, G, &mu_p, prs + row);
          if (m == scalar_t(0)) {   // ended (or not yet started): keep the state, output zero; dG is 0 here
            for (int64_t j = 0; j < H; ++j) {
              h[j] = h_prev[j];
              c[j] = c_prev[j];
              yb[j] = scalar_t(0);
              tnp[row * H + j] = scalar_t(0);
              np[row * H + j] = scalar_t(0);
            }
            for (int64_t j = 0; j < G; ++j) {
              a[j] = scalar_t(0);
              q[j] = scalar_t(0);
            }
            qrs[row] = scalar_t(0);
            nrs[row] = scalar_t(0);
            continue;   // P̂ is left unnormalised there: dG = 0 makes every use of it vanish
          }
          row_moments(q, G, &mu_q, qrs + row);
          ln_lstm_forward_row(p, mu_p, prs[row], q, mu_q, qrs[row], gihp, ghhp, shp, a, c_prev, h_prev, gcp, bcp, m, np + row * H, nrs + row,
                              tnp + row * H, c, h, yb, H);
        }
      }
    });
  });
  return {y, h_n, c_n, gates, P_rstd, Q_hat, Q_rstd, n_hat, n_rstd, tanh_n, h_prev_all, c_prev_all};
}

// Returns dP (T, B, 4H) (= LN_backward of dG through the input-side norm), dQ (T, B, 4H), dh0, dc0, and the
// layer-norm parameter gradients summed over all rows: Σ dG ⊙ P̂, Σ dG ⊙ Q̂, Σ dG, Σ dn ⊙ n̂, Σ dn.
std::vector<Tensor> ln_lstm_backward(const Tensor& dy, const Tensor& dh_n, const Tensor& dc_n, const Tensor& gates,
                                     const Tensor& P_hat, const Tensor& P_rstd, const Tensor& Q_hat,
                                     const Tensor& Q_rstd, const Tensor& n_hat, const Tensor& n_rstd,
                                     const Tensor& tanh_n, const Tensor& c_prev_all, const Tensor& W_hh,
                                     const Tensor& gamma_ih, const Tensor& gamma_hh, const Tensor& gamma_c,
                                     const c10::optional<Tensor>& mask_o, const c10::optional<Tensor>& d_o,
                                     bool reverse) {
  const int64_t T = gates.size(0), B = gates.size(1), H = W_hh.size(1), G = 4 * H;
  TORCH_CHECK(dy.dim() == 3 && dy.size(0) == T && dy.size(1) == B && dy.size(2) == H && dh_n.numel() == B * H &&
                  dc_n.numel() == B * H && dy.scalar_type() == gates.scalar_type() &&
                  dh_n.scalar_type() == gates.scalar_type() && dc_n.scalar_type() == gates.scalar_type(),
              "ln_lstm_backward: dy must be (T, B, H) and dh_n, dc_n (B, H) in the saved dtype");
  Tensor dy_c = dy.contiguous();
  Tensor gih = gamma_ih.contiguous(), ghh = gamma_hh.contiguous(), gc = gamma_c.contiguous();
  Tensor mask = opt(mask_o), d = opt(d_o);
  auto o = gates.options();
  Tensor dP = pooled_empty({T, B, G}, o), dQ = pooled_empty({T, B, G}, o);
  Tensor dh0 = dh_n.contiguous().clone(), dc0 = dc_n.contiguous().clone();   // the carried dh, dc
  const int64_t NACC = 3 * G + 2 * H;   // per thread: Σ dG P̂, Σ dG Q̂, Σ dG, Σ dn n̂, Σ dn
  // Row b0 for the thread whose slice starts at b0. Sums over T·B rows in double: a float32 running sum over
  // T = 1000 steps grew a rounding error ~T·u times its partial sums (tests/kernels_fast/test_denormals.py).
  Tensor acc = at::zeros({B, NACC}, o.dtype(at::kDouble));
  AT_DISPATCH_FLOATING_TYPES(gates.scalar_type(), "ln_lstm_backward", [&] {
    const scalar_t* dyp = dy_c.data_ptr<scalar_t>();
    const scalar_t* gp = gates.data_ptr<scalar_t>();
    const scalar_t *php = P_hat.data_ptr<scalar_t>(), *prs = P_rstd.data_ptr<scalar_t>();
    const scalar_t *qhp = Q_hat.data_ptr<scalar_t>(), *qrs = Q_rstd.data_ptr<scalar_t>();
    const scalar_t *nhp = n_hat.data_ptr<scalar_t>(), *nrs = n_rstd.data_ptr<scalar_t>();
    const scalar_t* tnp = tanh_n.data_ptr<scalar_t>();
    const scalar_t* cpp = c_prev_all.data_ptr<scalar_t>();
    const scalar_t* whh = W_hh.data_ptr<scalar_t>();
    const scalar_t *gihp = gih.data_ptr<scalar_t>(), *ghhp = ghh.data_ptr<scalar_t>(), *gcp = gc.data_ptr<scalar_t>();
    const scalar_t *mp = ptr_or_null<scalar_t>(mask), *dp = ptr_or_null<scalar_t>(d);
    scalar_t* dPp = dP.data_ptr<scalar_t>();
    scalar_t* dQp = dQ.data_ptr<scalar_t>();
    scalar_t* dhp = dh0.data_ptr<scalar_t>();
    scalar_t* dcp = dc0.data_ptr<scalar_t>();
    double* accp = acc.data_ptr<double>();
    over_batch(B, [&](int64_t b0, int64_t b1) {
      const int64_t nb = b1 - b0;
      double* __restrict s_gP = accp + b0 * NACC;
      double* __restrict s_gQ = s_gP + G;
      double* __restrict s_b = s_gQ + G;
      double* __restrict s_gc = s_b + G;
      double* __restrict s_bc = s_gc + H;
      std::vector<scalar_t> scratch(dp ? nb * H : 0);
      std::vector<scalar_t> dG(G), dn(H), dct(H);
      scalar_t* dh = dhp + b0 * H;
      scalar_t* dc = dcp + b0 * H;
      for (int64_t k = T - 1; k >= 0; --k) {
        const int64_t t = step_time(k, T, reverse);
        const int64_t row0 = t * B + b0;
        scalar_t* dQ_t = dQp + row0 * G;
        for (int64_t b = 0; b < nb; ++b) {
          const int64_t row = row0 + b;
          scalar_t* dq = dQ_t + b * G;
          scalar_t* dpr = dPp + row * G;
          const scalar_t m = mp ? mp[row] : scalar_t(1);
          scalar_t* dhb = dh + b * H;
          scalar_t* dcb = dc + b * H;
          if (m == scalar_t(0)) {   // nothing reaches the cell: dh, dc pass through unchanged
            for (int64_t j = 0; j < G; ++j) {
              dq[j] = scalar_t(0);
              dpr[j] = scalar_t(0);
            }
            continue;
          }
          const scalar_t* a = gp + row * G;
          const scalar_t *ai = a, *af = a + H, *ag = a + 2 * H, *ao = a + 3 * H;
          const scalar_t* tn = tnp + row * H;
          const scalar_t* nh = nhp + row * H;
          const scalar_t* c_prev = cpp + row * H;
          const scalar_t* dy_t = dyp + row * H;
          scalar_t* __restrict dGv = dG.data();
          scalar_t* __restrict dnv = dn.data();
          for (int64_t j = 0; j < H; ++j) {
            const scalar_t dh_t = dhb[j] + m * dy_t[j];
            const scalar_t dh_cell = m * dh_t;
            const scalar_t o_ = ao[j], t_ = tn[j];
            dnv[j] = dh_cell * o_ * (1 - t_ * t_);
            dGv[3 * H + j] = dh_cell * t_ * (o_ * (1 - o_));
            dhb[j] = dh_t - dh_cell;   // what skips the cell; the cell's part is added by the step's GEMM
            s_gc[j] += double(dnv[j]) * double(nh[j]);
            s_bc[j] += double(dnv[j]);
          }
          layer_norm_backward_row(dnv, nh, nrs[row], gcp, dct.data(), H);
          const scalar_t* __restrict dctv = dct.data();
          for (int64_t j = 0; j < H; ++j) {
            const scalar_t i = ai[j], f = af[j], g = ag[j];
            const scalar_t dc_cell = m * dcb[j];
            const scalar_t dc_tilde = dc_cell + dctv[j];
            dGv[j] = dc_tilde * g * (i * (1 - i));
            dGv[H + j] = dc_tilde * c_prev[j] * (f * (1 - f));
            dGv[2 * H + j] = dc_tilde * i * (1 - g * g);
            dcb[j] = dc_tilde * f + (dcb[j] - dc_cell);
          }
          gate_norms_backward_row(dGv, qhp + row * G, qrs[row], ghhp, php + row * G, prs[row], gihp, dq, dpr, s_gQ,
                                  s_gP, s_b, G);
        }
        if (dp) {   // dh += d ⊙ (dQ_t W_hh)
          gemm(false, false, nb, H, G, dQ_t, G, whh, H, scalar_t(0), scratch.data(), H);
          const scalar_t* db = dp + b0 * H;
          for (int64_t j = 0; j < nb * H; ++j) dh[j] += scratch[j] * db[j];
        } else {    // dh += dQ_t W_hh
          gemm(false, false, nb, H, G, dQ_t, G, whh, H, scalar_t(1), dh, H);
        }
      }
    });
  });
  Tensor sums = acc.sum(0).to(gates.scalar_type());
  return {dP, dQ, dh0, dc0, sums.narrow(0, 0, G), sums.narrow(0, G, G), sums.narrow(0, 2 * G, G),
          sums.narrow(0, 3 * G, H), sums.narrow(0, 3 * G + H, H)};
}

// ---------------------------------------------------------------------------------------------------
// Layer-normalised GRU (rnnkit/kernels/layer_norm_gru.py carries the equations): as the LN-LSTM above, P_t
// and Q_t are normalised row by row inside the step; the gate math is the plain GRU's row function.

// Backward of one norm for one row, plus the row's share of Σ dy ⊙ â and Σ dy (one pass each way).
template <typename T>
inline void norm_backward_accumulate_row(const T* __restrict dy, const T* __restrict a_hat, T rstd,
                                         const T* __restrict gamma, T* __restrict da, double* __restrict s_g,
                                         double* __restrict s_b, int64_t n) {
  double s1 = 0, s2 = 0;
#pragma omp simd reduction(+ : s1, s2)
  for (int64_t j = 0; j < n; ++j) {
    const T g = dy[j] * gamma[j];
    s1 += g;
    s2 += double(g) * double(a_hat[j]);
    s_g[j] += double(dy[j]) * double(a_hat[j]);
    s_b[j] += double(dy[j]);
  }
  const T m1 = T(s1 / double(n)), m2 = T(s2 / double(n));
  for (int64_t j = 0; j < n; ++j) da[j] = (dy[j] * gamma[j] - m1 - a_hat[j] * m2) * rstd;
}

// P: (T, B, 3H) = W_ih x_t (no bias), normalised in place into P̂. shift_A = β_ih (+ b_ih), shift_R = β_hh
// (+ b_hh). Returns y, h_n, gates (r, z, n), P_rstd, Q̂, Q_rstd, R_n, h_prev_all.
std::vector<Tensor> ln_gru_forward(Tensor P, const Tensor& h0, const Tensor& W_hh, const Tensor& shift_A,
                                   const Tensor& shift_R, const Tensor& gamma_ih, const Tensor& gamma_hh,
                                   const c10::optional<Tensor>& mask_o, const c10::optional<Tensor>& d_o,
                                   bool reverse) {
  TORCH_CHECK(P.is_contiguous() && h0.is_contiguous() && W_hh.is_contiguous(),
              "ln_gru_forward: contiguous inputs expected");
  const int64_t T = P.size(0), B = P.size(1), H = h0.size(1), G = 3 * H;
  check_shapes("ln_gru_forward", P, h0, W_hh, 3);
  Tensor mask = opt(mask_o), d = opt(d_o);
  check_extras("ln_gru_forward", P, H, mask, d, Tensor());
  Tensor sa = shift_A.contiguous(), sr = shift_R.contiguous(), gih = gamma_ih.contiguous(), ghh = gamma_hh.contiguous();
  for (const Tensor* p : {&sa, &sr, &gih, &ghh})
    TORCH_CHECK(p->numel() == G && p->scalar_type() == P.scalar_type(),
                "ln_gru_forward: layer-norm parameters must be (3H,) in the input's dtype");
  auto o = P.options();
  Tensor y = pooled_empty({T, B, H}, o), gates = pooled_empty({T, B, G}, o);
  Tensor P_rstd = pooled_empty({T, B, 1}, o), Q_hat = pooled_empty({T, B, G}, o), Q_rstd = pooled_empty({T, B, 1}, o);
  Tensor R_n = pooled_empty({T, B, H}, o), h_prev_all = pooled_empty({T, B, H}, o), h_n = at::empty({B, H}, o);
  AT_DISPATCH_FLOATING_TYPES(P.scalar_type(), "ln_gru_forward", [&] {
    scalar_t* pp = P.data_ptr<scalar_t>();
    scalar_t* ap = gates.data_ptr<scalar_t>();
    scalar_t* prs = P_rstd.data_ptr<scalar_t>();
    scalar_t* qp = Q_hat.data_ptr<scalar_t>();
    scalar_t* qrs = Q_rstd.data_ptr<scalar_t>();
    scalar_t* rnp = R_n.data_ptr<scalar_t>();
    scalar_t* yp = y.data_ptr<scalar_t>();
    scalar_t* hp_all = h_prev_all.data_ptr<scalar_t>();
    const scalar_t* whh = W_hh.data_ptr<scalar_t>();
    const scalar_t *sap = sa.data_ptr<scalar_t>(), *srp = sr.data_ptr<scalar_t>();
    const scalar_t *gihp = gih.data_ptr<scalar_t>(), *ghhp = ghh.data_ptr<scalar_t>();
    const scalar_t *mp = ptr_or_null<scalar_t>(mask), *dp = ptr_or_null<scalar_t>(d);
    const scalar_t* h0p = h0.data_ptr<scalar_t>();
    scalar_t* hn = h_n.data_ptr<scalar_t>();
    over_batch(B, [&](int64_t b0, int64_t b1) {
      const int64_t nb = b1 - b0;
      std::vector<scalar_t> scratch(dp ? nb * H : 0);
      std::vector<scalar_t> R(G);      // R_t of one row: LN(Q_t) + b_hh
      std::vector<scalar_t> mrow(H);   // m_t repeated: the update weight
      std::memcpy(hp_all + (step_time(0, T, reverse) * B + b0) * H, h0p + b0 * H, nb * H * sizeof(scalar_t));
      for (int64_t k = 0; k < T; ++k) {
        const int64_t t = step_time(k, T, reverse);
        const bool last = k == T - 1;
        const int64_t tnx = last ? 0 : step_time(k + 1, T, reverse);
        const int64_t row0 = t * B + b0;
        const scalar_t* hp = hp_all + row0 * H;
        scalar_t* q_t = qp + row0 * G;
        const scalar_t* h_in = dropped(hp, dp ? dp + b0 * H : nullptr, scratch.data(), nb * H);
        gemm(false, true, nb, G, H, h_in, H, whh, H, scalar_t(0), q_t, G);   // Q_t = (d ⊙ h_{t-1}) W_hhᵀ
        scalar_t* h_out = last ? hn + b0 * H : hp_all + (tnx * B + b0) * H;
        for (int64_t b = 0; b < nb; ++b) {
          const int64_t row = row0 + b;
          scalar_t* a = ap + row * G;
          scalar_t* p = pp + row * G;
          scalar_t* q = q_t + b * G;
          const scalar_t* h_prev = hp + b * H;
          scalar_t* h = h_out + b * H;
          scalar_t* yb = yp + row * H;
          scalar_t* rn = rnp + row * H;
          const scalar_t m = mp ? mp[row] : scalar_t(1);
          scalar_t mu_p, mu_q;
          row_moments(p, G, &mu_p, prs + row);
          if (m == scalar_t(0)) {   // ended (or not yet started): keep the state, output zero; dA, dR are 0
            for (int64_t j = 0; j < H; ++j) {
              h[j] = h_prev[j];
              yb[j] = scalar_t(0);
              rn[j] = scalar_t(0);
            }
            for (int64_t j = 0; j < G; ++j) {
              a[j] = scalar_t(0);
              q[j] = scalar_t(0);
            }
            qrs[row] = scalar_t(0);
            continue;
          }
          row_moments(q, G, &mu_q, qrs + row);
          {
            const scalar_t rp = prs[row], rq = qrs[row];
            scalar_t* __restrict pr = p;
            scalar_t* __restrict qr = q;
            scalar_t* __restrict ar = a;
            scalar_t* __restrict Rr = R.data();
            for (int64_t j = 0; j < G; ++j) {
              const scalar_t ph = (pr[j] - mu_p) * rp, qh = (qr[j] - mu_q) * rq;
              pr[j] = ph;
              qr[j] = qh;
              ar[j] = gihp[j] * ph + sap[j];   // A_t
              Rr[j] = ghhp[j] * qh + srp[j];   // R_t
            }
          }
          const scalar_t* r_ = R.data();
          gru_forward_row(a, a + H, a + 2 * H, r_, r_ + H, r_ + 2 * H, rn, h_prev, fill_row(mrow.data(), m, H), m, h,
                          yb, H);
        }
      }
    });
  });
  return {y, h_n, gates, P_rstd, Q_hat, Q_rstd, R_n, h_prev_all};
}

// Returns dP (T, B, 3H), dQ (T, B, 3H), dh0, and Σ dA ⊙ P̂, Σ dA, Σ dR ⊙ Q̂, Σ dR over all rows.
std::vector<Tensor> ln_gru_backward(const Tensor& dy, const Tensor& dh_n, const Tensor& gates, const Tensor& P_hat,
                                    const Tensor& P_rstd, const Tensor& Q_hat, const Tensor& Q_rstd,
                                    const Tensor& R_n, const Tensor& h_prev_all, const Tensor& W_hh,
                                    const Tensor& gamma_ih, const Tensor& gamma_hh,
                                    const c10::optional<Tensor>& mask_o, const c10::optional<Tensor>& d_o,
                                    bool reverse) {
  const int64_t T = gates.size(0), B = gates.size(1), H = W_hh.size(1), G = 3 * H;
  TORCH_CHECK(dy.dim() == 3 && dy.size(0) == T && dy.size(1) == B && dy.size(2) == H && dh_n.numel() == B * H &&
                  dy.scalar_type() == gates.scalar_type() && dh_n.scalar_type() == gates.scalar_type(),
              "ln_gru_backward: dy must be (T, B, H) and dh_n (B, H) in the saved dtype");
  Tensor dy_c = dy.contiguous();
  Tensor gih = gamma_ih.contiguous(), ghh = gamma_hh.contiguous();
  Tensor mask = opt(mask_o), d = opt(d_o);
  auto o = gates.options();
  Tensor dP = pooled_empty({T, B, G}, o), dQ = pooled_empty({T, B, G}, o);
  Tensor dh0 = dh_n.contiguous().clone();
  const int64_t NACC = 4 * G;   // per thread: Σ dA P̂, Σ dA, Σ dR Q̂, Σ dR
  // Row b0 for the thread whose slice starts at b0. Sums over T·B rows in double: a float32 running sum over
  // T = 1000 steps grew a rounding error ~T·u times its partial sums (tests/kernels_fast/test_denormals.py).
  Tensor acc = at::zeros({B, NACC}, o.dtype(at::kDouble));
  AT_DISPATCH_FLOATING_TYPES(gates.scalar_type(), "ln_gru_backward", [&] {
    const scalar_t* dyp = dy_c.data_ptr<scalar_t>();
    const scalar_t* gp = gates.data_ptr<scalar_t>();
    const scalar_t *php = P_hat.data_ptr<scalar_t>(), *prs = P_rstd.data_ptr<scalar_t>();
    const scalar_t *qhp = Q_hat.data_ptr<scalar_t>(), *qrs = Q_rstd.data_ptr<scalar_t>();
    const scalar_t* rnp = R_n.data_ptr<scalar_t>();
    const scalar_t* hpp = h_prev_all.data_ptr<scalar_t>();
    const scalar_t* whh = W_hh.data_ptr<scalar_t>();
    const scalar_t *gihp = gih.data_ptr<scalar_t>(), *ghhp = ghh.data_ptr<scalar_t>();
    const scalar_t *mp = ptr_or_null<scalar_t>(mask), *dp = ptr_or_null<scalar_t>(d);
    scalar_t* dPp = dP.data_ptr<scalar_t>();
    scalar_t* dQp = dQ.data_ptr<scalar_t>();
    scalar_t* dhp = dh0.data_ptr<scalar_t>();
    double* accp = acc.data_ptr<double>();
    over_batch(B, [&](int64_t b0, int64_t b1) {
      const int64_t nb = b1 - b0;
      double* s_gA = accp + b0 * NACC;
      double* s_bA = s_gA + G;
      double* s_gR = s_bA + G;
      double* s_bR = s_gR + G;
      std::vector<scalar_t> scratch(dp ? nb * H : 0);
      std::vector<scalar_t> dA(G), dR(G), mrow(H);
      scalar_t* dh = dhp + b0 * H;
      for (int64_t k = T - 1; k >= 0; --k) {
        const int64_t t = step_time(k, T, reverse);
        const int64_t row0 = t * B + b0;
        scalar_t* dQ_t = dQp + row0 * G;
        for (int64_t b = 0; b < nb; ++b) {
          const int64_t row = row0 + b;
          scalar_t* dq = dQ_t + b * G;
          scalar_t* dpr = dPp + row * G;
          const scalar_t m = mp ? mp[row] : scalar_t(1);
          if (m == scalar_t(0)) {   // nothing reaches the cell: dh passes through unchanged
            for (int64_t j = 0; j < G; ++j) {
              dq[j] = scalar_t(0);
              dpr[j] = scalar_t(0);
            }
            continue;
          }
          const scalar_t* a = gp + row * G;
          scalar_t *da = dA.data(), *dr_ = dR.data();
          gru_backward_row(a, a + H, a + 2 * H, rnp + row * H, hpp + row * H, dyp + row * H,
                           fill_row(mrow.data(), m, H), m, da, da + H, da + 2 * H, dr_, dr_ + H, dr_ + 2 * H,
                           dh + b * H, H);
          norm_backward_accumulate_row(dr_, qhp + row * G, qrs[row], ghhp, dq, s_gR, s_bR, G);
          norm_backward_accumulate_row(da, php + row * G, prs[row], gihp, dpr, s_gA, s_bA, G);
        }
        if (dp) {   // dh += d ⊙ (dQ_t W_hh)
          gemm(false, false, nb, H, G, dQ_t, G, whh, H, scalar_t(0), scratch.data(), H);
          const scalar_t* db = dp + b0 * H;
          for (int64_t j = 0; j < nb * H; ++j) dh[j] += scratch[j] * db[j];
        } else {    // dh += dQ_t W_hh
          gemm(false, false, nb, H, G, dQ_t, G, whh, H, scalar_t(1), dh, H);
        }
      }
    });
  });
  Tensor sums = acc.sum(0).to(gates.scalar_type());
  return {dP, dQ, dh0, sums.narrow(0, 0, G), sums.narrow(0, G, G), sums.narrow(0, 2 * G, G),
          sums.narrow(0, 3 * G, G)};
}

}  // namespace

TORCH_LIBRARY(rnnkit_compiled, m) {
  m.def("project(Tensor x, Tensor W_ih, Tensor? b1, Tensor? b2) -> Tensor");
  m.def("lstm_infer(Tensor x, Tensor h0, Tensor c0, Tensor W_ih, Tensor W_hh, Tensor? b_ih, Tensor? b_hh, "
        "Tensor? mask, bool reverse) -> Tensor[]");
  m.def("gru_infer(Tensor x, Tensor h0, Tensor W_ih, Tensor W_hh, Tensor? b_ih, Tensor? b_hh, Tensor? mask, "
        "bool reverse) -> Tensor[]");
  m.def("elman_infer(Tensor x, Tensor h0, Tensor W_ih, Tensor W_hh, Tensor? b_ih, Tensor? b_hh, Tensor? mask, "
        "bool reverse, bool relu) -> Tensor[]");
  m.def("lstm_forward(Tensor(a!) Gx, Tensor h0, Tensor c0, Tensor W_hh, Tensor? mask, Tensor? d, Tensor? u_h, "
        "Tensor? u_c, bool reverse) -> Tensor[]");
  m.def("lstm_backward(Tensor dy, Tensor dh_n, Tensor dc_n, Tensor gates, Tensor tanh_c, Tensor c_prev_all, "
        "Tensor W_hh, Tensor? mask, Tensor? d, Tensor? u_h, Tensor? u_c, bool reverse) -> Tensor[]");
  m.def("gru_forward(Tensor(a!) A, Tensor h0, Tensor W_hh, Tensor? b_hh, Tensor? mask, Tensor? d, Tensor? u_h, "
        "bool reverse) -> Tensor[]");
  m.def("gru_backward(Tensor dy, Tensor dh_n, Tensor gates, Tensor R_n, Tensor h_prev_all, Tensor W_hh, "
        "Tensor? mask, Tensor? d, Tensor? u_h, bool reverse) -> Tensor[]");
  m.def("elman_forward(Tensor(a!) Ax, Tensor h0, Tensor W_hh, Tensor? mask, Tensor? d, Tensor? u_h, bool reverse, "
        "bool relu) -> Tensor[]");
  m.def("elman_backward(Tensor dy, Tensor dh_n, Tensor hs, Tensor W_hh, Tensor? mask, Tensor? d, Tensor? u_h, "
        "bool reverse, bool relu) -> Tensor[]");
  m.def("ln_lstm_forward(Tensor(a!) P, Tensor h0, Tensor c0, Tensor W_hh, Tensor shift, Tensor gamma_ih, "
        "Tensor gamma_hh, Tensor gamma_c, Tensor beta_c, Tensor? mask, Tensor? d, bool reverse) -> Tensor[]");
  m.def("ln_lstm_backward(Tensor dy, Tensor dh_n, Tensor dc_n, Tensor gates, Tensor P_hat, Tensor P_rstd, "
        "Tensor Q_hat, Tensor Q_rstd, Tensor n_hat, Tensor n_rstd, Tensor tanh_n, Tensor c_prev_all, Tensor W_hh, "
        "Tensor gamma_ih, Tensor gamma_hh, Tensor gamma_c, Tensor? mask, Tensor? d, bool reverse) -> Tensor[]");
  m.def("ln_gru_forward(Tensor(a!) P, Tensor h0, Tensor W_hh, Tensor shift_A, Tensor shift_R, Tensor gamma_ih, "
        "Tensor gamma_hh, Tensor? mask, Tensor? d, bool reverse) -> Tensor[]");
  m.def("ln_gru_backward(Tensor dy, Tensor dh_n, Tensor gates, Tensor P_hat, Tensor P_rstd, Tensor Q_hat, "
        "Tensor Q_rstd, Tensor R_n, Tensor h_prev_all, Tensor W_hh, Tensor gamma_ih, Tensor gamma_hh, Tensor? mask, "
        "Tensor? d, bool reverse) -> Tensor[]");
}

// Every entry point runs with subnormals flushed on the calling thread, the caller's mode restored after
// (denormals.h); over_batch does the same on the worker threads.
TORCH_LIBRARY_IMPL(rnnkit_compiled, CPU, m) {
  using rnnkit::flushed;
  m.impl("project", &flushed<&project>::call);
  m.impl("lstm_infer", &flushed<&lstm_infer>::call);
  m.impl("gru_infer", &flushed<&gru_infer>::call);
  m.impl("elman_infer", &flushed<&elman_infer>::call);
  m.impl("lstm_forward", &flushed<&lstm_forward>::call);
  m.impl("lstm_backward", &flushed<&lstm_backward>::call);
  m.impl("gru_forward", &flushed<&gru_forward>::call);
  m.impl("gru_backward", &flushed<&gru_backward>::call);
  m.impl("elman_forward", &flushed<&elman_forward>::call);
  m.impl("elman_backward", &flushed<&elman_backward>::call);
  m.impl("ln_lstm_forward", &flushed<&ln_lstm_forward>::call);
  m.impl("ln_lstm_backward", &flushed<&ln_lstm_backward>::call);
  m.impl("ln_gru_forward", &flushed<&ln_gru_forward>::call);
  m.impl("ln_gru_backward", &flushed<&ln_gru_backward>::call);
}
