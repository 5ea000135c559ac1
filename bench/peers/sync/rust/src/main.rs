// SPDX-License-Identifier: MIT
// Tokio in the shapes of bench/sync_bench.c, on a current_thread runtime.
// Run it pinned (taskset -c 0).
//
//   tokiosync [yield_pair|mutex_uncontended|mutex_handoff|sem_handoff ...]   (none: all)
//
//   yield_pair         two tasks, n yield_now().await each; ns per yield (total / 2n)
//   mutex_uncontended  one task: lock().await; x += 1; drop the guard (tokio::sync::Mutex);
//                      ns per lock+unlock
//   mutex_handoff      two tasks, each n times: lock().await; x += 1; yield_now().await;
//                      drop the guard. ns per operation (one lock+yield+unlock by one task)
//                      = total / 2n; plus mutex_handoff.handoffs_per_op, the share of
//                      operations that found the mutex last held by the other task
//   sem_handoff        the same with a Semaphore of 1 permit: acquire().await; x += 1;
//                      yield_now().await; drop the permit
// (Tokio has no condition variable; Notify is a different primitive.)
//
// Output: label<TAB>value<TAB>unit, one line per timed repetition after one
// warm-up at n/10; MICRO_REPS repetitions (default 7), MICRO_SCALE multiplies n.
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{Mutex, Semaphore};

fn reps() -> usize {
    std::env::var("MICRO_REPS").ok().and_then(|s| s.parse().ok()).filter(|&r: &usize| r > 0).unwrap_or(7)
}

fn iters(base: u64) -> u64 {
    let f = std::env::var("MICRO_SCALE").ok().and_then(|s| s.parse().ok()).filter(|&v: &f64| v > 0.0).unwrap_or(1.0);
    ((base as f64) * f).max(1.0) as u64
}

fn emit(label: &str, value: f64, unit: &str) {
    if unit == "ratio" {
        println!("{}\t{:.6}\t{}", label, value, unit);
    } else {
        println!("{}\t{:.3}\t{}", label, value, unit);
    }
}

/// What the lock protects.
#[derive(Default)]
struct Guarded {
    x: u64,
    last: u8, // the task that held it last: 0 none, 1 or 2
    handoffs: u64,
}

impl Guarded {
    fn note(&mut self, me: u8) {
        if self.last != me {
            if self.last != 0 {
                self.handoffs += 1;
            }
            self.last = me;
        }
        self.x += 1;
    }
}

/// Warm-up at n/10, then reps() timed runs; body(n) returns the hand-off
/// count (or None) and does n * ops_per_n operations.
fn time_it<F: Fn(u64) -> Option<u64>>(label: &str, n: u64, ops_per_n: f64, body: F) {
    body((n / 10).max(1));
    for _ in 0..reps() {
        let t0 = Instant::now();
        let h = body(n);
        let ns = t0.elapsed().as_nanos() as f64;
        let ops = n as f64 * ops_per_n;
        emit(label, ns / ops, "ns/op");
        if let Some(h) = h {
            emit(&format!("{}.handoffs_per_op", label), h as f64 / ops, "ratio");
        }
    }
}

fn check_count(got: u64, want: u64, shape: &str) {
    if got != want {
        eprintln!("tokiosync: {}: counter {}, want {}", shape, got, want);
        std::process::exit(1);
    }
}

fn yield_pair(rt: &tokio::runtime::Runtime, n: u64) -> Option<u64> {
    rt.block_on(async move {
        let spin = move || async move {
            for _ in 0..n {
                tokio::task::yield_now().await;
            }
        };
        let a = tokio::spawn(spin());
        let b = tokio::spawn(spin());
        a.await.unwrap();
        b.await.unwrap();
    });
    None
}

fn mutex_uncontended(rt: &tokio::runtime::Runtime, n: u64) -> Option<u64> {
    let m = Arc::new(Mutex::new(Guarded::default()));
    let m2 = m.clone();
    rt.block_on(async move {
        tokio::spawn(async move {
            for _ in 0..n {
                let mut g = m2.lock().await;
                g.x += 1;
            }
        })
        .await
        .unwrap();
    });
    check_count(m.try_lock().unwrap().x, n, "mutex_uncontended");
    None
}

fn mutex_handoff(rt: &tokio::runtime::Runtime, n: u64) -> Option<u64> {
    let m = Arc::new(Mutex::new(Guarded::default()));
    let body = |me: u8, m: Arc<Mutex<Guarded>>| async move {
        for _ in 0..n {
            let mut g = m.lock().await;
            g.note(me);
            tokio::task::yield_now().await;
            drop(g);
        }
    };
    rt.block_on(async {
        let a = tokio::spawn(body(1, m.clone()));
        let b = tokio::spawn(body(2, m.clone()));
        a.await.unwrap();
        b.await.unwrap();
    });
    let g = m.try_lock().unwrap();
    check_count(g.x, 2 * n, "mutex_handoff");
    Some(g.handoffs)
}

fn sem_handoff(rt: &tokio::runtime::Runtime, n: u64) -> Option<u64> {
    let s = Arc::new(Semaphore::new(1));
    // Only the permit holder touches it; the std mutex is never contended.
    let g = Arc::new(std::sync::Mutex::new(Guarded::default()));
    let body = |me: u8, s: Arc<Semaphore>, g: Arc<std::sync::Mutex<Guarded>>| async move {
        for _ in 0..n {
            let permit = s.acquire().await.unwrap();
            g.lock().unwrap().note(me);
            tokio::task::yield_now().await;
            drop(permit);
        }
    };
    rt.block_on(async {
        let a = tokio::spawn(body(1, s.clone(), g.clone()));
        let b = tokio::spawn(body(2, s.clone(), g.clone()));
        a.await.unwrap();
        b.await.unwrap();
    });
    let g = g.lock().unwrap();
    check_count(g.x, 2 * n, "sem_handoff");
    Some(g.handoffs)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let want = |k: &str| args.is_empty() || args.iter().any(|a| a == k);
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    if want("yield_pair") {
        time_it("tokio.yield_pair", iters(2000000), 2.0, |n| yield_pair(&rt, n));
    }
    if want("mutex_uncontended") {
        time_it("tokio.mutex_uncontended", iters(5000000), 1.0, |n| mutex_uncontended(&rt, n));
    }
    if want("mutex_handoff") {
        time_it("tokio.mutex_handoff", iters(1000000), 2.0, |n| mutex_handoff(&rt, n));
    }
    if want("sem_handoff") {
        time_it("tokio.sem_handoff", iters(1000000), 2.0, |n| sem_handoff(&rt, n));
    }
}
