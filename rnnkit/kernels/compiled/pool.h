// A cache of large CPU buffers for the compiled kernels' outputs and saved tensors.
//
// Why (measured, bench/README.md "Buffer pool"): glibc hands blocks above its mmap threshold (at most 32 MB)
// straight back to the kernel when they are freed, so every call that allocates them again pays a page
// fault per 4 KB page on first touch; on this VM a fault costs ≈ 3 µs. At W2 (LSTM H 512, B 64, T 100) a
// forward pass allocates ≈ 100 MB (26 k faults ≈ 80 ms of a 220 ms pass). The pool keeps freed blocks and
// hands them out again, so a training loop touches fresh pages only on its first step.
//
// Blocks of at least kMinBytes are pooled (smaller ones go to the default allocator, which already reuses
// them); a request takes the smallest cached block that fits with at most 1/8 to spare, else a new one.
// Blocks come back when the last tensor using them dies (the tensor's deleter). The cache holds at most
// limit() bytes ($RNNKIT_POOL_MB, default 1024; 0 turns the pool off); a block that would exceed it is freed.
// release() frees every cached block (rnnkit.kernels.compiled.empty_cache()).
#pragma once

#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <c10/util/Exception.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>

namespace rnnkit {

class BufferPool {
 public:
  static constexpr size_t kMinBytes = size_t(1) << 20;

  static BufferPool& get() {   // never destroyed: tensors may return blocks during interpreter shutdown
    static BufferPool* pool = new BufferPool();
    return *pool;
  }

  size_t limit() const { return limit_; }

  // A block of at least nbytes; `size` receives its real size (what give() must be told).
  void* take(size_t nbytes, size_t& size) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.lower_bound(nbytes);
      if (it != free_.end() && it->first <= nbytes + nbytes / 8) {
        void* p = it->second;
        size = it->first;
        cached_ -= size;
        free_.erase(it);
        ++hits_;
        return p;
      }
      ++misses_;
    }
    size = nbytes;
    void* p = nullptr;
    TORCH_CHECK(posix_memalign(&p, 64, nbytes) == 0, "rnnkit: out of memory allocating ", nbytes, " bytes");
    return p;
  }

  void give(void* p, size_t nbytes) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (cached_ + nbytes <= limit_) {
        free_.emplace(nbytes, p);
        cached_ += nbytes;
        return;
      }
    }
    std::free(p);
  }

  size_t release() {
    std::multimap<size_t, void*> blocks;
    size_t freed;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      blocks.swap(free_);
      freed = cached_;
      cached_ = 0;
    }
    for (auto& kv : blocks) std::free(kv.second);
    return freed;
  }

  // (cached bytes, blocks reused, blocks newly allocated)
  void stats(size_t& cached, size_t& hits, size_t& misses) {
    std::lock_guard<std::mutex> lock(mutex_);
    cached = cached_;
    hits = hits_;
    misses = misses_;
  }

 private:
  BufferPool() {
    const char* mb = std::getenv("RNNKIT_POOL_MB");
    limit_ = (mb && *mb ? size_t(std::strtoull(mb, nullptr, 10)) : size_t(1024)) << 20;
  }

  std::mutex mutex_;
  std::multimap<size_t, void*> free_;   // size -> block
  size_t cached_ = 0, hits_ = 0, misses_ = 0, limit_ = 0;
};

// at::empty, from the pool for large buffers.
inline at::Tensor pooled_empty(at::IntArrayRef sizes, const at::TensorOptions& options) {
  int64_t numel = 1;
  for (int64_t s : sizes) numel *= s;
  const size_t nbytes = size_t(numel) * options.dtype().itemsize();
  BufferPool& pool = BufferPool::get();
  if (nbytes < BufferPool::kMinBytes || pool.limit() == 0 || !options.device().is_cpu()) {
    return at::empty(sizes, options);
  }
  size_t size = 0;
  void* p = pool.take(nbytes, size);
  return at::from_blob(p, sizes, [size](void* q) { BufferPool::get().give(q, size); }, options);
}

}  // namespace rnnkit
