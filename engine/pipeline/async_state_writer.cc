#include "engine/pipeline/async_state_writer.h"

#include <utility>

namespace storepulse {

AsyncStateWriter::AsyncStateWriter(StateStore& store) : store_(store), thread_([this] { loop(); }) {}

AsyncStateWriter::~AsyncStateWriter() {
  // A status not collected by now has no one left to report to; the write
  // itself is atomic, so it either happened or the store never shows it.
  (void)wait();
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

Status AsyncStateWriter::submit(StateWriteBatch& batch) {
  if (in_flight_) return Status(ErrorCode::kInternal, "state write submitted while another is in flight");
  {
    std::lock_guard lock(mutex_);
    std::swap(batch_, batch);
    requested_ = true;
    done_ = false;
  }
  in_flight_ = true;
  changed_.notify_all();
  return Status::ok();
}

Status AsyncStateWriter::wait() {
  if (!in_flight_) return Status::ok();
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return done_; });
  in_flight_ = false;
  return std::exchange(status_, Status::ok());
}

void AsyncStateWriter::loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [this] { return requested_ || stopping_; });
    if (!requested_) return;  // stopping, nothing left to write
    requested_ = false;
    // The pipeline thread touches batch_ again only after done_, so the
    // write runs unlocked.
    lock.unlock();
    Status written = store_.write(batch_);
    lock.lock();
    status_ = std::move(written);
    done_ = true;
    changed_.notify_all();
  }
}

}  // namespace storepulse
