// Subnormal floats inside the compiled kernels: flushed to zero for the duration of each call.
//
// Why: an arithmetic result below the smallest normal float (1.2e-38; 2.2e-308 in double), or an operand
// there, costs one to two orders of magnitude more than a normal one on x86 (a microcode assist per
// operation). States that decay towards zero over a long sequence, or gates saturated far enough that
// σ(a) is ~1e-39, put such values in every step: on an Intel Xeon the LayerNorm-LSTM at B 16, T 1000 ran at
// 10 seq/s against 97 with torch.set_flush_denormal(True) (issue 9). With FTZ (results that would be
// subnormal become 0) and DAZ (subnormal operands read as 0) the kernels never take the slow path. What it
// changes is below 1.2e-38 in absolute value: far under every float32 tolerance the tests derive, and nothing
// at all for float64 results of normal size.
//
// The mode lives in the MXCSR register of each thread, so it is set on the calling thread at every entry
// point (rnn_kernels.cpp's torch ops, stream_kernels.cpp's step) and again inside every parallel region
// (at::parallel_for's worker threads have their own MXCSR), and put back on the way out, exceptions
// included (RAII): the caller's torch ops, on the calling thread and on the pool's worker threads, keep
// whatever mode the caller chose (torch.set_flush_denormal). Only the two mode bits are restored; the
// exception flags the call raised stay raised, as after any other floating-point code.
//
// One trap: Linux starts a new thread with the MXCSR of the thread that creates it. Were the OpenMP runtime to
// start its pool threads inside a call (the process's first parallel region, or the first after
// torch.set_num_threads raised the count), they would be born flushing and flush every later torch op they
// run. So each entry point first makes sure the pool has all its threads (an empty parallel region, run once
// per thread count, before the mode is set): then they are born, as torch's own regions would make them,
// with the caller's mode (tests/kernels_fast/test_denormals.py checks this in a fresh process).
//
// Elsewhere than x86 (no SSE control register) the guard does nothing and subnormals take the CPU's own path.
#pragma once

#include <ATen/Parallel.h>

#include <atomic>
#include <utility>

#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#define RNNKIT_HAS_MXCSR 1
#endif

namespace rnnkit {

// Subnormals flushed on this thread for the guard's scope; this thread's own mode back after.
class FlushDenormals {
 public:
#ifdef RNNKIT_HAS_MXCSR
  static constexpr unsigned kFlushToZero = 1u << 15;      // FTZ: subnormal results become 0
  static constexpr unsigned kDenormalsAreZero = 1u << 6;  // DAZ: subnormal operands are read as 0
  static constexpr unsigned kMode = kFlushToZero | kDenormalsAreZero;

  FlushDenormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | kMode); }
  ~FlushDenormals() { _mm_setcsr((_mm_getcsr() & ~kMode) | (saved_ & kMode)); }

 private:
  unsigned saved_;
#else
  FlushDenormals() {}
#endif

 public:
  FlushDenormals(const FlushDenormals&) = delete;
  FlushDenormals& operator=(const FlushDenormals&) = delete;
};

// Start the intra-op pool's threads now, from the caller's mode, if a parallel region could still create some.
inline void start_thread_pool() {
  static std::atomic<int> started{1};   // the largest thread count a region has run with
  const int threads = at::get_num_threads();
  if (threads <= started.load(std::memory_order_relaxed) || at::in_parallel_region()) return;
  at::parallel_for(0, threads, 1, [](int64_t, int64_t) {});
  int seen = started.load();
  while (seen < threads && !started.compare_exchange_weak(seen, threads)) {
  }
}

// A kernel's entry point: the pool started, then subnormals flushed on the calling thread.
class KernelScope {
  struct PoolStarted {
    PoolStarted() { start_thread_pool(); }
  } pool_;                  // members are built in this order: the pool first,
  FlushDenormals flush_;    // then the mode
};

// A torch op's implementation run under a KernelScope: m.impl("name", &flushed<&fn>::call) registers a function
// with fn's exact signature (the op's schema is inferred from it).
template <auto fn>
struct flushed;

template <typename R, typename... Args, R (*fn)(Args...)>
struct flushed<fn> {
  static R call(Args... args) {
    KernelScope scope;
    return fn(std::forward<Args>(args)...);
  }
};

}  // namespace rnnkit
