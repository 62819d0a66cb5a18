// rust_threads: Rust's std threads, whose Mutex, Condvar, channels and
// park wait with syscall(SYS_futex): a Mutex + Condvar ping-pong of 1000
// rounds, 50 threads sending 100 values each through an mpsc channel,
// and 100 threads in thread::sleep(500 ms) at once. The same lines
// natively and under libgreen; with -t also the "Threads:" line of
// /proc/self/status.
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

fn ping_pong() {
    let pair = Arc::new((Mutex::new(0u32), Condvar::new()));
    let other = Arc::clone(&pair);
    let rounds = 1000;
    let t = thread::spawn(move || {
        let (m, c) = &*other;
        for _ in 0..rounds {
            let mut g = m.lock().unwrap();
            while *g != 1 {
                g = c.wait(g).unwrap();
            }
            *g = 0;
            c.notify_one();
        }
    });
    let (m, c) = &*pair;
    for _ in 0..rounds {
        let mut g = m.lock().unwrap();
        *g = 1;
        c.notify_one();
        while *g != 0 {
            g = c.wait(g).unwrap();
        }
    }
    t.join().unwrap();
    println!("mutex and condvar ping-pong: {} rounds", rounds);
}

fn channel() {
    let (tx, rx) = mpsc::channel::<u64>();
    let mut handles = Vec::new();
    for i in 0..50u64 {
        let tx = tx.clone();
        handles.push(thread::spawn(move || {
            for v in 0..100u64 {
                tx.send(i * 1000 + v).unwrap();
            }
        }));
    }
    drop(tx);
    let (mut n, mut sum) = (0u64, 0u64);
    for v in rx {
        n += 1;
        sum += v;
    }
    for h in handles {
        h.join().unwrap();
    }
    println!("mpsc: {} values, sum {}", n, sum);
}

fn sleepers() {
    let start = Instant::now();
    let handles: Vec<_> = (0..100)
        .map(|_| thread::spawn(|| thread::sleep(Duration::from_millis(500))))
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let took = start.elapsed();
    println!(
        "100 sleeps of 0.5 s: {}",
        if took < Duration::from_secs(5) { "overlapping" } else { "serialised" }
    );
}

fn main() {
    ping_pong();
    channel();
    sleepers();
    if std::env::args().nth(1).as_deref() == Some("-t") {
        let st = std::fs::read_to_string("/proc/self/status").unwrap();
        for line in st.lines().filter(|l| l.starts_with("Threads:")) {
            println!("{}", line);
        }
    }
}
