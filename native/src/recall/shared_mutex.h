// A writer-preferring reader/writer lock.
//
// std::shared_mutex on glibc is a pthread rwlock that prefers readers: with queries arriving back
// to back, an update can wait forever. Here a waiting writer stops new readers from entering, so an
// update waits at most for the queries already running. Satisfies SharedMutex, so
// std::shared_lock / std::unique_lock work with it.
#ifndef CLAW_RECALL_SHARED_MUTEX_H_
#define CLAW_RECALL_SHARED_MUTEX_H_

#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace claw {
namespace recall {

class WriterPreferringMutex {
 public:
  WriterPreferringMutex() = default;
  WriterPreferringMutex(const WriterPreferringMutex&) = delete;
  WriterPreferringMutex& operator=(const WriterPreferringMutex&) = delete;

  void lock() {
    std::unique_lock<std::mutex> l(m_);
    ++writers_waiting_;
    writer_cv_.wait(l, [this] { return !writer_ && readers_ == 0; });
    --writers_waiting_;
    writer_ = true;
  }
  bool try_lock() {
    std::lock_guard<std::mutex> l(m_);
    if (writer_ || readers_ != 0) return false;
    writer_ = true;
    return true;
  }
  void unlock() {
    bool wake_writer;
    {
      std::lock_guard<std::mutex> l(m_);
      writer_ = false;
      wake_writer = writers_waiting_ != 0;
    }
    if (wake_writer) {
      writer_cv_.notify_one();
    } else {
      reader_cv_.notify_all();
    }
  }

  void lock_shared() {
    std::unique_lock<std::mutex> l(m_);
    reader_cv_.wait(l, [this] { return !writer_ && writers_waiting_ == 0; });
    ++readers_;
  }
  bool try_lock_shared() {
    std::lock_guard<std::mutex> l(m_);
    if (writer_ || writers_waiting_ != 0) return false;
    ++readers_;
    return true;
  }
  void unlock_shared() {
    bool wake_writer;
    {
      std::lock_guard<std::mutex> l(m_);
      wake_writer = --readers_ == 0 && writers_waiting_ != 0;
    }
    if (wake_writer) writer_cv_.notify_one();
  }

 private:
  std::mutex m_;
  std::condition_variable reader_cv_;
  std::condition_variable writer_cv_;
  uint32_t readers_ = 0;
  uint32_t writers_waiting_ = 0;
  bool writer_ = false;
};

}  // namespace recall
}  // namespace claw

#endif  // CLAW_RECALL_SHARED_MUTEX_H_
