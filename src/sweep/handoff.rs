//! The hand-off of scanned files from the scanning workers to the thread that records them.
//!
//! It used to be a `sync_channel(jobs * 2)` read one file at a time, each file committed in a
//! transaction of its own. On a sweep of 2000 dumps of 512 KiB that cost the scanners a tenth
//! of their time (measured with `perf sched`): every file woke the recording thread (a context
//! switch, and the channel's waker mutex contended whenever that thread was preempted holding
//! it), and whenever the recording thread waited on the disk (a WAL checkpoint's fsync, some
//! 10 ms), four waiting results filled the channel and both scanners stopped together.
//!
//! Here the workers only wake the recorder once a batch is waiting (or the recorder's linger
//! time has passed), the recorder takes the whole batch and commits it in one transaction, and
//! the queue holds enough results to ride out a stalled disk. It is still bounded: a worker
//! that finds `cap` results waiting waits for the recorder, so memory does not grow with the
//! tree.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// A bounded multi-producer, single-consumer queue handed over in batches.
pub struct Handoff<T> {
    queue: Mutex<Queue<T>>,
    /// Signalled when a batch is waiting or the producers are done.
    ready: Condvar,
    /// Signalled when the consumer took what was waiting.
    space: Condvar,
    batch: usize,
    cap: usize,
}

struct Queue<T> {
    items: Vec<T>,
    closed: bool,
}

impl<T> Handoff<T> {
    /// A queue whose consumer is woken when `batch` items wait, and whose producers wait while
    /// `cap` items wait (`cap` is at least `batch`).
    pub fn new(batch: usize, cap: usize) -> Handoff<T> {
        let batch = batch.max(1);
        Handoff {
            queue: Mutex::new(Queue {
                items: Vec::new(),
                closed: false,
            }),
            ready: Condvar::new(),
            space: Condvar::new(),
            batch,
            cap: cap.max(batch),
        }
    }

    /// A panic elsewhere while holding the lock leaves the queue consistent (every update is
    /// one push or one take), so a poisoned lock is used as it is.
    fn lock(&self) -> MutexGuard<'_, Queue<T>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds one item (producer side), waiting while `cap` items wait.
    pub fn push(&self, item: T) {
        let mut q = self.lock();
        while q.items.len() >= self.cap {
            q = self.space.wait(q).unwrap_or_else(|e| e.into_inner());
        }
        q.items.push(item);
        if q.items.len() == self.batch {
            self.ready.notify_one();
        }
    }

    /// No more items will come (called once every producer is done).
    pub fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_one();
    }

    /// Takes what waits (consumer side) once `batch` items wait, the producers are done, or
    /// `linger` has passed with at least one item waiting. Empty only when the queue is closed
    /// and drained.
    pub fn take(&self, linger: Duration) -> Vec<T> {
        let mut q = self.lock();
        let mut deadline = Instant::now() + linger;
        loop {
            if q.items.len() >= self.batch || q.closed {
                break;
            }
            let now = Instant::now();
            if now >= deadline {
                if !q.items.is_empty() {
                    break;
                }
                // Nothing came during a whole linger: wait another.
                deadline = now + linger;
            }
            q = self
                .ready
                .wait_timeout(q, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        let items = std::mem::take(&mut q.items);
        drop(q);
        self.space.notify_all();
        items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_arrives_once_in_order_per_producer_and_the_queue_stays_bounded() {
        let h = Handoff::new(4, 8);
        let (producers, per) = (3, 500);
        let mut got: Vec<(usize, usize)> = Vec::new();
        let mut largest = 0;
        std::thread::scope(|s| {
            let h = &h;
            let workers: Vec<_> = (0..producers)
                .map(|p| s.spawn(move || (0..per).for_each(|i| h.push((p, i)))))
                .collect();
            s.spawn(move || {
                workers.into_iter().for_each(|w| w.join().unwrap());
                h.close();
            });
            loop {
                let b = h.take(Duration::from_millis(5));
                if b.is_empty() {
                    break;
                }
                largest = largest.max(b.len());
                got.extend(b);
            }
        });
        assert!(largest <= 8, "a batch of {largest} exceeds the cap");
        assert_eq!(got.len(), producers * per);
        for p in 0..producers {
            let mine: Vec<usize> = got.iter().filter(|x| x.0 == p).map(|x| x.1).collect();
            assert_eq!(mine, (0..per).collect::<Vec<_>>());
        }
    }

    #[test]
    fn a_lone_item_is_handed_over_after_the_linger_time() {
        let h = Handoff::new(64, 64);
        h.push(7);
        let t = Instant::now();
        assert_eq!(h.take(Duration::from_millis(30)), vec![7]);
        let waited = t.elapsed();
        assert!(waited >= Duration::from_millis(30), "{waited:?}");
        h.close();
        assert!(h.take(Duration::from_millis(30)).is_empty());
    }
}
