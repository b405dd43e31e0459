//! Injected latency that ends when it should.
//!
//! tokio's timer wheel has a 1 ms resolution and rounds every sleep up to the next tick, so a 20 ms
//! `tokio::time::sleep` ends 20–22 ms later. Benchmarks compare a mount against the injected latency L,
//! and that slop would be charged to the provider. One thread keeps the pending deadlines in a heap and
//! sleeps on a condition variable with a nanosecond timeout (futex), waking each waiter within the
//! kernel's timer slack, then spins the last 150 µs, for any number of concurrent calls.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

/// Waits `d` (precisely, see the module doc). Zero returns at once.
pub async fn precise_sleep(d: Duration) {
    if d.is_zero() {
        return;
    }
    let (tx, rx) = oneshot::channel();
    timer().add(Instant::now() + d, tx);
    // The timer thread never drops a sender without sending; fall back to tokio if it ever did.
    if rx.await.is_err() {
        tokio::time::sleep(d).await;
    }
}

/// How long before a deadline the timer thread stops sleeping and spins.
const SPIN: Duration = Duration::from_micros(150);

struct Pending {
    at: Instant,
    seq: u64,
    tx: oneshot::Sender<()>,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

#[derive(Default)]
struct Queue {
    heap: BinaryHeap<Reverse<Pending>>,
    seq: u64,
}

struct Timer {
    queue: Mutex<Queue>,
    wake: Condvar,
}

impl Timer {
    fn add(&self, at: Instant, tx: oneshot::Sender<()>) {
        let mut q = self.queue.lock().expect("timer lock poisoned");
        q.seq += 1;
        let seq = q.seq;
        let earliest = q.heap.peek().is_none_or(|Reverse(p)| at < p.at);
        q.heap.push(Reverse(Pending { at, seq, tx }));
        drop(q);
        if earliest {
            self.wake.notify_one();
        }
    }

    fn run(&self) {
        let mut q = self.queue.lock().expect("timer lock poisoned");
        loop {
            let now = Instant::now();
            while q.heap.peek().is_some_and(|Reverse(p)| p.at <= now) {
                let Reverse(p) = q.heap.pop().expect("peeked");
                let _ = p.tx.send(());
            }
            q = match q.heap.peek().map(|Reverse(p)| p.at - now) {
                // The last stretch is spun, not slept: a sleeping thread wakes ~0.1 ms late.
                Some(wait) if wait <= SPIN => {
                    drop(q);
                    std::hint::spin_loop();
                    std::thread::yield_now();
                    self.queue.lock().expect("timer lock poisoned")
                }
                Some(wait) => {
                    let wait = wait - SPIN;
                    self.wake
                        .wait_timeout(q, wait)
                        .expect("timer lock poisoned")
                        .0
                }
                None => self.wake.wait(q).expect("timer lock poisoned"),
            };
        }
    }
}

fn timer() -> &'static Arc<Timer> {
    static TIMER: OnceLock<Arc<Timer>> = OnceLock::new();
    TIMER.get_or_init(|| {
        let timer = Arc::new(Timer {
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
        });
        let runner = timer.clone();
        std::thread::Builder::new()
            .name("emulator-latency".into())
            .spawn(move || runner.run())
            .expect("cannot start the latency timer thread");
        timer
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wakes_in_deadline_order_and_never_early() {
        let started = Instant::now();
        let waits = [30u64, 10, 20, 10];
        let tasks: Vec<_> = waits
            .iter()
            .map(|&ms| {
                tokio::spawn(async move {
                    let t = Instant::now();
                    precise_sleep(Duration::from_millis(ms)).await;
                    t.elapsed()
                })
            })
            .collect();
        for (task, ms) in tasks.into_iter().zip(waits) {
            let took = task.await.unwrap();
            assert!(
                took >= Duration::from_millis(ms),
                "{ms} ms ended after {took:?}"
            );
        }
        assert!(started.elapsed() >= Duration::from_millis(30));
        precise_sleep(Duration::ZERO).await;
    }
}
