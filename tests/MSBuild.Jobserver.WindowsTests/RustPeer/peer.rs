// A real Windows jobserver peer: the Rust `jobserver` crate (what cargo and rustc use), built for
// x86_64-pc-windows-gnu and run under wine by the Windows tests.
//   peer client <threads> <hold-ms> <log>   join the pool from the environment; each thread takes one token,
//                                           holds it hold-ms and logs "start end" (ms since the epoch)
//   peer pool <tokens> <program> [args...]  create a pool, run the program with it (CARGO_MAKEFLAGS), then take
//                                           every token back to show none was lost
use std::io::Write;
use std::process::{exit, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn now_ms() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()
}

fn client(threads: usize, hold: u64, log: String) {
    let client = match unsafe { jobserver::Client::from_env() } {
        Some(c) => c,
        None => {
            println!("NO-JOBSERVER");
            exit(4);
        }
    };
    let lines = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let client = client.clone();
            let lines = lines.clone();
            std::thread::spawn(move || {
                let token = client.acquire().expect("acquire");
                let start = now_ms();
                std::thread::sleep(Duration::from_millis(hold));
                let end = now_ms();
                drop(token);
                lines.lock().unwrap().push(format!("{} {}", start, end));
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(log).expect("log");
    for line in lines.lock().unwrap().iter() {
        writeln!(file, "{}", line).unwrap();
    }
    println!("OK {}", threads);
}

fn pool(tokens: usize, program: &str, args: &[String]) {
    let client = jobserver::Client::new(tokens).expect("create pool");
    let mut command = Command::new(program);
    command.args(args);
    client.configure(&mut command);
    let status = command.status().expect("run child");
    println!("CHILD {}", status.code().unwrap_or(-1));
    // Every token must be back: take them all, with a watchdog in case one is missing.
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(20));
        println!("MISSING");
        std::io::stdout().flush().unwrap();
        exit(5);
    });
    for _ in 0..tokens {
        client.acquire_raw().expect("acquire_raw");
    }
    println!("REACQUIRED {}", tokens);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args[1].as_str() {
        "client" => client(args[2].parse().unwrap(), args[3].parse().unwrap(), args[4].clone()),
        "pool" => pool(args[2].parse().unwrap(), &args[3], &args[4..]),
        _ => exit(2),
    }
}
