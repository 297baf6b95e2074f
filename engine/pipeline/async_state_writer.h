#pragma once
// Writes state batches on a thread of its own, one batch at a time, so that
// the pipeline folds batch N+1 while the store takes batch N. A commit thus
// costs the pipeline thread the encoding only, not the RocksDB write.
//
// One writer, one user thread: submit() and wait() are called by the
// pipeline thread only. The batch handed over is swapped, not copied, and
// the one given back is the previous batch, so its strings' capacity is
// reused by the next encode.

#include <condition_variable>
#include <mutex>
#include <thread>

#include "engine/core/status.h"
#include "engine/state/state_store.h"

namespace storepulse {

class AsyncStateWriter {
 public:
  explicit AsyncStateWriter(StateStore& store);
  ~AsyncStateWriter();  // waits for the write in flight, then stops the thread
  AsyncStateWriter(const AsyncStateWriter&) = delete;
  AsyncStateWriter& operator=(const AsyncStateWriter&) = delete;

  // Starts writing `batch`, which is swapped with the batch of the last
  // write (written or empty). The last write's status must have been
  // collected with wait() first; otherwise nothing is submitted.
  Status submit(StateWriteBatch& batch);
  // True between submit() and the wait() that collects its status.
  bool inFlight() const { return in_flight_; }
  // Waits until the write in flight is done and returns its status; ok if
  // none is in flight. The written batch stays readable through written()
  // until the next submit().
  Status wait();
  const StateWriteBatch& written() const { return batch_; }

 private:
  void loop();

  StateStore& store_;
  bool in_flight_ = false;  // pipeline thread only

  std::mutex mutex_;
  std::condition_variable changed_;
  StateWriteBatch batch_;  // owned by the writer thread while requested_
  bool requested_ = false;
  bool done_ = false;
  bool stopping_ = false;
  Status status_;
  std::thread thread_;  // last: started once the members above exist
};

}  // namespace storepulse
