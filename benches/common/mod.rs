//! What the HTTP benchmarks share: a keep-alive client, and a load
//! generator that reports requests per second and latency percentiles.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Connections each measurement keeps busy.
pub const CONNECTIONS: usize = 32;

/// Seconds each measurement lasts (`PULSE_BENCH_SECONDS`, default 5).
pub fn seconds() -> u64 {
    std::env::var("PULSE_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5)
}

/// Logs as `pulse serve` does by default (its filter, so its `info` spans
/// are live), into a sink: the server is measured with the logging cost an
/// operator pays.
pub fn log_like_pulse_serve() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            pulse_core::DEFAULT_LOG_FILTER,
        ))
        .with_writer(std::io::sink)
        .init();
}

/// One keep-alive HTTP/1.1 connection.
pub struct Client {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Client {
    pub async fn connect(addr: std::net::SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        Client {
            stream,
            buffer: Vec::with_capacity(64 << 10),
        }
    }

    /// POSTs JSON `body` to `path` with `cookie`; answers the head and body.
    pub async fn post(&mut self, path: &str, cookie: &str, body: &str) -> (String, Vec<u8>) {
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nCookie: {cookie}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.send(request.as_bytes()).await
    }

    /// GETs `path`; answers the head and body.
    pub async fn get(&mut self, path: &str) -> (String, Vec<u8>) {
        let request = format!("GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n");
        self.send(request.as_bytes()).await
    }

    async fn send(&mut self, request: &[u8]) -> (String, Vec<u8>) {
        self.stream.write_all(request).await.unwrap();
        self.buffer.clear();
        let mut chunk = [0u8; 16 << 10];
        loop {
            if let Some(end) = find(&self.buffer, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buffer[..end]).to_string();
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())?
                    })
                    .expect("a Content-Length");
                while self.buffer.len() < end + 4 + length {
                    let n = self.stream.read(&mut chunk).await.unwrap();
                    assert!(n > 0, "connection closed");
                    self.buffer.extend_from_slice(&chunk[..n]);
                }
                let body = self.buffer[end + 4..end + 4 + length].to_vec();
                return (head, body);
            }
            let n = self.stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "connection closed");
            self.buffer.extend_from_slice(&chunk[..n]);
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// What one measurement saw.
pub struct Measurement {
    pub requests: usize,
    pub elapsed: Duration,
    pub latencies: Vec<Duration>,
}

impl Measurement {
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    pub fn percentile(&self, p: f64) -> Duration {
        percentile(&self.latencies, p)
    }
}

/// The `p` quantile of sorted `samples`.
pub fn percentile(samples: &[Duration], p: f64) -> Duration {
    let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[i]
}

/// How a connection sends one request.
#[derive(Clone)]
pub enum Request {
    /// `GET path`.
    Get(String),
    /// `POST path` with a cookie and a JSON body.
    Post {
        path: String,
        cookie: String,
        body: String,
    },
}

/// `CONNECTIONS` connections each sending `request` back to back for `seconds`.
pub async fn load(addr: std::net::SocketAddr, request: Request, seconds: u64) -> Measurement {
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let (stop, request) = (stop.clone(), request.clone());
        tasks.push(tokio::spawn(async move {
            let mut client = Client::connect(addr).await;
            let mut latencies = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                let (head, _) = match &request {
                    Request::Get(path) => client.get(path).await,
                    Request::Post { path, cookie, body } => client.post(path, cookie, body).await,
                };
                latencies.push(started.elapsed());
                assert!(head.starts_with("HTTP/1.1 200"), "{head}");
            }
            latencies
        }));
    }
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    Measurement {
        requests: latencies.len(),
        elapsed,
        latencies,
    }
}
