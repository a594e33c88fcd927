// Scalar math shared by the compiled kernels (rnn_kernels.cpp: sequence loops; stream_kernels.cpp:
// one-step streaming): activations and the state-update interpolation. Everything is inline so each
// loop that calls it can be vectorised by the compiler.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace rnnkit {

// Activations. float: a Cephes-style polynomial exp (≈1 ulp) that the compiler vectorises; the libm
// call it replaces blocks vectorisation and was the step's largest cost. double (tests, gradcheck): libm.

inline float exp_poly(float x) {
  x = x < -87.0f ? -87.0f : x;   // ternaries, not fmin/fmax: these vectorise (with -fno-trapping-math)
  x = x > 88.0f ? 88.0f : x;
  const float n = __builtin_floorf(x * 1.44269504088896341f + 0.5f);   // x = n ln2 + r, |r| <= ln2/2
  float r = x - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;   // 2^n
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return e * scale;
}
inline float sigmoid(float x) { return 1.0f / (1.0f + exp_poly(-x)); }
inline float tanh_(float x) { return 2.0f / (1.0f + exp_poly(-2.0f * x)) - 1.0f; }
inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
inline double tanh_(double x) { return std::tanh(x); }

template <typename T>
inline T lerp(T a, T b, T w) {   // torch.lerp's formula, exact at w = 0 and w = 1
  return w < T(0.5) ? a + w * (b - a) : b - (b - a) * (T(1) - w);
}

}  // namespace rnnkit
