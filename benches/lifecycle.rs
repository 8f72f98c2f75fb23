//! Lifecycle benchmarks, through the `pulse` binary as an admin runs it:
//! install 20 addons on a warm component cache, and start a server with 20
//! installed addons until it serves its first request. Prints medians.
//!
//! Run: `cargo bench --bench lifecycle` (builds the 20 addons first, about
//! half a minute on a small machine).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ADDONS: usize = 20;
const RUNS: usize = 5;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// Builds `bench_model` once per model name and lays out 20 addon folders.
fn build_addons(shelf: &Path) -> Vec<String> {
    let mut names = Vec::new();
    for i in 0..ADDONS {
        let name = format!("bench_{i:02}");
        let status = Command::new("cargo")
            .args([
                "build",
                "--quiet",
                "--release",
                "--target",
                "wasm32-wasip2",
                "-p",
                "bench_model",
            ])
            .env("PULSE_BENCH_MODEL", format!("bench.model_{i:02}"))
            .current_dir(root())
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building bench_model failed");
        let dir = shelf.join(&name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(
            target_dir().join("wasm32-wasip2/release/bench_model.wasm"),
            dir.join(format!("{name}.wasm")),
        )
        .unwrap();
        std::fs::write(
            dir.join("addon.toml"),
            format!("name = \"{name}\"\nversion = \"1.0.0\"\nseries = \"19.0\"\n"),
        )
        .unwrap();
        names.push(name);
    }
    names
}

fn pulse(data_dir: &Path, shelf: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pulse"));
    cmd.env("PULSE_ADMIN_PASSWORD", "admin")
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--addons-path")
        .arg(shelf)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

fn healthy(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = write!(
        stream,
        "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    );
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.starts_with("HTTP/1.1 200")
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let shelf = tempfile_dir("pulse-bench-addons");
    let names = build_addons(&shelf);
    let mut install_args = vec!["install"];
    install_args.extend(names.iter().map(String::as_str));

    // Warm the compiled-component cache once; every measured run reuses it.
    let cache_home = tempfile_dir("pulse-bench-warm");
    assert!(
        pulse(&cache_home, &shelf, &install_args)
            .status()
            .unwrap()
            .success()
    );

    let mut installs = Vec::new();
    let mut starts = Vec::new();
    for run in 0..RUNS {
        let data = tempfile_dir(&format!("pulse-bench-run-{run}"));
        // Share the warm cache; the database is new each run.
        copy_dir(&cache_home.join("cache"), &data.join("cache"));
        // Create the database first, so the install time is the install alone.
        assert!(
            pulse(&data, &shelf, &["modules"])
                .status()
                .unwrap()
                .success()
        );
        let start = Instant::now();
        assert!(
            pulse(&data, &shelf, &install_args)
                .status()
                .unwrap()
                .success()
        );
        installs.push(start.elapsed());

        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let start = Instant::now();
        let mut server = pulse(
            &data,
            &shelf,
            &["serve", "--http", &format!("127.0.0.1:{port}")],
        )
        .spawn()
        .unwrap();
        while !healthy(port) {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "server did not start"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        starts.push(start.elapsed());
        server.kill().unwrap();
        server.wait().unwrap();
    }
    println!(
        "pulse install of {ADDONS} addons, warm cache (process included): median {:?} (target < 1 s)",
        median(installs)
    );
    println!(
        "pulse serve with {ADDONS} addons installed, to the first served request: median {:?} (target < 300 ms)",
        median(starts)
    );
}

fn tempfile_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}
