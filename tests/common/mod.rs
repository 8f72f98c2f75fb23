//! Drives the real `pulse` binary: CLI commands, a served instance, and an
//! Odoo JSON-RPC client with a session cookie.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Builds the example and fixture addons once per test binary, through `pulse build`.
pub fn build_addons() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let scratch = tempfile::tempdir().expect("temp dir");
        let out = Pulse::with_data_dir(scratch.path()).run(&["build", "todo", "trap_in_method"]);
        assert!(out.status.success(), "pulse build failed:\n{}", text(&out));
    });
}

/// Stdout and stderr of a finished command.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// One Pulse instance: a data directory (with its SQLite database) and the addons paths.
pub struct Pulse {
    pub data_dir: PathBuf,
    pub addons_paths: Vec<PathBuf>,
    _temp: Option<tempfile::TempDir>,
}

impl Pulse {
    /// An instance with a fresh data directory and the example and fixture addons.
    pub fn new() -> Pulse {
        Pulse::with_addons_paths(&["examples", "tests/fixtures/addons"])
    }

    /// An instance with a fresh data directory and these addons paths
    /// (relative to the repository root).
    pub fn with_addons_paths(paths: &[&str]) -> Pulse {
        let temp = tempfile::tempdir().expect("temp dir");
        Pulse {
            data_dir: temp.path().to_path_buf(),
            addons_paths: paths.iter().map(|p| root().join(p)).collect(),
            _temp: Some(temp),
        }
    }

    fn with_data_dir(dir: &Path) -> Pulse {
        Pulse {
            data_dir: dir.to_path_buf(),
            addons_paths: vec![
                root().join("examples"),
                root().join("tests/fixtures/addons"),
            ],
            _temp: None,
        }
    }

    /// The SQLite file of this instance.
    pub fn sqlite_file(&self) -> PathBuf {
        self.data_dir.join("pulse.sqlite")
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pulse"));
        cmd.current_dir(root())
            .env_remove("PULSE_DB")
            .env_remove("PULSE_ADDONS_PATH")
            .env("PULSE_ADMIN_PASSWORD", "admin")
            .arg("--data-dir")
            .arg(&self.data_dir);
        for path in &self.addons_paths {
            cmd.arg("--addons-path").arg(path);
        }
        cmd
    }

    /// Runs `pulse ARGS…` to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("running pulse")
    }

    /// Runs `pulse ARGS…` and insists that it succeeds; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "pulse {args:?} failed:\n{}",
            text(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts `pulse serve` on a free port and waits until `/health` answers.
    pub fn serve(&self) -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = self
            .command()
            .args(["serve", "--http", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting pulse serve");
        let server = Server {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if http::request("GET", &format!("{}/health", server.url), &[], "")
                .map(|r| r.status)
                .ok()
                == Some(200)
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "pulse serve did not become healthy"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }
}

/// A running `pulse serve`, stopped when dropped.
pub struct Server {
    child: Child,
    pub url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal blocking HTTP/1.1 client over loopback, so the tests need no
/// HTTP client crate (whose features would change the host's build).
mod http {
    use std::io::{Read, Write};

    /// A parsed response.
    pub struct Response {
        pub status: u16,
        pub headers: Vec<(String, String)>,
        pub body: String,
    }

    /// Sends one request with `Connection: close` and reads the whole response.
    pub fn request(
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> std::io::Result<Response> {
        let rest = url.strip_prefix("http://").expect("http URL");
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let mut stream = std::net::TcpStream::connect(host)?;
        let mut head = format!(
            "{method} /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes())?;
        stream.write_all(body.as_bytes())?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw)?;
        let raw = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        Ok(Response {
            status,
            headers,
            body: body.to_string(),
        })
    }
}

/// An Odoo JSON-RPC client holding a session cookie.
pub struct Rpc {
    url: String,
    cookie: Option<String>,
}

impl Rpc {
    pub fn new(server: &Server) -> Rpc {
        Rpc {
            url: server.url.clone(),
            cookie: None,
        }
    }

    /// POSTs a JSON-RPC call to `path`; returns the whole response object.
    pub fn post(&mut self, path: &str, params: Value) -> Value {
        let body =
            json!({"jsonrpc": "2.0", "method": "call", "id": 1, "params": params}).to_string();
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(cookie) = &self.cookie {
            headers.push(("Cookie", cookie.as_str()));
        }
        let response = http::request("POST", &format!("{}{path}", self.url), &headers, &body)
            .expect("request sent");
        assert_eq!(
            response.status, 200,
            "JSON-RPC answers 200 even for errors: {}",
            response.body
        );
        if let Some((_, set)) = response.headers.iter().find(|(k, _)| k == "set-cookie") {
            assert!(
                set.contains("HttpOnly"),
                "session cookie must be HttpOnly: {set}"
            );
            assert!(
                set.contains("SameSite"),
                "session cookie must set SameSite: {set}"
            );
            self.cookie = Some(set.split(';').next().unwrap().to_string());
        }
        serde_json::from_str(&response.body).expect("JSON body")
    }

    /// Logs in as admin/admin.
    pub fn login(&mut self, db: &str) -> Value {
        let r = self.post(
            "/web/session/authenticate",
            json!({"db": db, "login": "admin", "password": "admin"}),
        );
        assert!(r.get("result").is_some(), "login failed: {r}");
        r
    }

    /// `call_kw`; returns the result or the error object.
    pub fn call(
        &mut self,
        model: &str,
        method: &str,
        args: Value,
        kwargs: Value,
    ) -> Result<Value, Value> {
        let r = self.post(
            "/web/dataset/call_kw",
            json!({"model": model, "method": method, "args": args, "kwargs": kwargs}),
        );
        match (r.get("result"), r.get("error")) {
            (Some(result), None) => Ok(result.clone()),
            (None, Some(error)) => Err(error.clone()),
            _ => panic!("malformed JSON-RPC response: {r}"),
        }
    }
}
