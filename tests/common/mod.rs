//! Drives the real `pulse` binary: CLI commands, a served instance, and an
//! Odoo JSON-RPC client with a session cookie.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every folder of addons the tests build (each built on its own, since the
/// upgrade fixtures hold several versions of one addon).
const ADDON_FOLDERS: [&str; 10] = [
    "examples",
    "addons",
    "tests/fixtures/addons",
    "tests/fixtures/upgrade/v1",
    "tests/fixtures/upgrade/v2",
    "tests/fixtures/upgrade/v2_failing",
    "tests/fixtures/upgrade/v2_drops",
    "tests/fixtures/upgrade/v3_computed",
    "tests/fixtures/data/v1",
    "tests/fixtures/data/v2",
];

/// Builds the example and fixture addons once per test binary, through `pulse build`.
pub fn build_addons() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        for folder in ADDON_FOLDERS {
            let out = Pulse::with_addons_paths(&[folder]).run(&["build"]);
            assert!(
                out.status.success(),
                "pulse build in {folder} failed:\n{}",
                text(&out)
            );
        }
    });
}

/// `on_both! { test_name => body; … }`: each body (a `fn(Backend)`) as a
/// test on SQLite and one on PostgreSQL.
#[allow(unused_macros)]
macro_rules! on_both {
    ($($name:ident => $body:ident;)*) => {
        mod sqlite {
            $(#[test] fn $name() { super::$body(super::Backend::Sqlite) })*
        }
        mod postgres {
            $(#[test] fn $name() { super::$body(super::Backend::Postgres) })*
        }
    };
}

/// The database engines every lifecycle test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A fresh SQLite file in the instance's data directory.
    Sqlite,
    /// A fresh database on the PostgreSQL at `PULSE_TEST_PG`
    /// (default `postgres://postgres@127.0.0.1:5432/postgres`). The tests
    /// fail, not skip, when it is unreachable.
    Postgres,
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

fn admin_url() -> String {
    std::env::var("PULSE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Creates a PostgreSQL database for one test; returns its name and URL.
fn create_pg_database() -> (String, String) {
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let name = format!("pulse_test_{}_{n}", std::process::id());
    let admin = admin_url();
    block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| {
                panic!("PostgreSQL is required for these tests and is unreachable at {admin}: {e}")
            });
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
    });
    let base = admin
        .rsplit_once('/')
        .map(|(b, _)| b.to_string())
        .unwrap_or(admin);
    (name.clone(), format!("{base}/{name}"))
}

fn drop_pg_database(name: &str) {
    let name = name.to_string();
    // A thread of its own: the caller may be inside a tokio runtime.
    let _ = std::thread::spawn(move || {
        block_on(async {
            use sqlx::Connection;
            if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url()).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await;
            }
        })
    })
    .join();
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
    /// `--db`, when not the default SQLite file.
    pub db_url: Option<String>,
    /// The name RPC clients pass as `db`.
    pub db_name: String,
    pg_database: Option<String>,
    /// More global options for every command (e.g. limits).
    pub extra_args: Vec<String>,
    _temp: Option<tempfile::TempDir>,
}

impl Drop for Pulse {
    fn drop(&mut self) {
        if let Some(name) = &self.pg_database {
            drop_pg_database(name);
        }
    }
}

impl Pulse {
    /// An instance with a fresh data directory and the example and fixture addons.
    pub fn new() -> Pulse {
        Pulse::with_addons_paths(&["examples", "tests/fixtures/addons"])
    }

    /// An instance with a fresh data directory and these addons paths
    /// (relative to the repository root).
    pub fn with_addons_paths(paths: &[&str]) -> Pulse {
        Pulse::on(Backend::Sqlite, paths)
    }

    /// An instance on a fresh database of `backend`, with these addons paths.
    pub fn on(backend: Backend, paths: &[&str]) -> Pulse {
        let temp = tempfile::tempdir().expect("temp dir");
        let (db_name, db_url, pg_database) = match backend {
            Backend::Sqlite => ("pulse".to_string(), None, None),
            Backend::Postgres => {
                let (name, url) = create_pg_database();
                (name.clone(), Some(url), Some(name))
            }
        };
        Pulse {
            data_dir: temp.path().to_path_buf(),
            addons_paths: paths.iter().map(|p| root().join(p)).collect(),
            db_url,
            db_name,
            pg_database,
            extra_args: Vec::new(),
            _temp: Some(temp),
        }
    }

    /// The same database, seen through other addons paths (e.g. a new
    /// version of an addon).
    pub fn set_addons_paths(&mut self, paths: &[&str]) {
        self.addons_paths = paths.iter().map(|p| root().join(p)).collect();
    }

    /// The database URL the instance uses.
    pub fn url(&self) -> String {
        self.db_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.sqlite_file().display()))
    }

    /// Runs one query and returns column 0 of every row, decoded as `T`.
    fn column<T>(&self, sql: &str) -> Vec<T>
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any> + Send + 'static,
    {
        let url = self.url();
        let sql = sql.to_string();
        block_on(async move {
            use sqlx::{Connection, Row};
            sqlx::any::install_default_drivers();
            let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
            sqlx::query(&sql)
                .fetch_all(&mut conn)
                .await
                .unwrap()
                .iter()
                .map(|r| r.try_get::<T, _>(0).unwrap())
                .collect()
        })
    }

    /// Runs one query returning a single integer.
    pub fn scalar(&self, sql: &str) -> i64 {
        self.column::<i64>(sql).pop().expect("one row")
    }

    /// Runs one query returning rows of one text column.
    pub fn strings(&self, sql: &str) -> Vec<String> {
        self.column(sql)
    }

    /// Whether `table` exists.
    pub fn has_table(&self, table: &str) -> bool {
        let sql = if self.db_url.is_some() {
            format!(
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name = '{table}'"
            )
        } else {
            format!("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '{table}'")
        };
        self.scalar(&sql) == 1
    }

    /// The columns of `table`, in order.
    pub fn columns(&self, table: &str) -> Vec<String> {
        let sql = if self.db_url.is_some() {
            format!(
                "SELECT CAST(column_name AS TEXT) FROM information_schema.columns WHERE table_name = '{table}' ORDER BY ordinal_position"
            )
        } else {
            format!("SELECT name FROM pragma_table_info('{table}')")
        };
        self.strings(&sql)
    }

    /// The state of module `name` in `ir_module_module`, if it has a row.
    pub fn module_state(&self, name: &str) -> Option<String> {
        self.strings(&format!(
            "SELECT state FROM ir_module_module WHERE name = '{name}'"
        ))
        .pop()
    }

    /// The recorded version of module `name`, if installed.
    pub fn module_version(&self, name: &str) -> Option<String> {
        self.strings(&format!(
            "SELECT latest_version FROM ir_module_module WHERE name = '{name}' AND latest_version IS NOT NULL"
        ))
        .pop()
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
        if let Some(url) = &self.db_url {
            cmd.arg("--db").arg(url);
        }
        for path in &self.addons_paths {
            cmd.arg("--addons-path").arg(path);
        }
        cmd.args(&self.extra_args);
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

    /// Starts `pulse ARGS…` in the background with stderr piped.
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command()
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting pulse")
    }

    /// A JSON-RPC client of `server`, logged in to this database as admin.
    pub fn admin(&self, server: &Server) -> Rpc {
        let mut admin = Rpc::new(server);
        admin.login(&self.db_name);
        admin
    }

    /// Starts `pulse serve` on a free port and waits until `/health` answers.
    pub fn serve(&self) -> Server {
        self.serve_logging(None)
    }

    /// Like [`Pulse::serve`], with the server's log written to `log`.
    pub fn serve_logging(&self, log: Option<&std::path::Path>) -> Server {
        self.start("serve", log)
    }

    /// Starts `pulse COMMAND --http …` (`serve` or `demo`) on a free port
    /// and waits until `/health` answers.
    pub fn start(&self, command: &str, log: Option<&std::path::Path>) -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = self
            .command()
            .args([command, "--http", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(match log {
                Some(path) => Stdio::from(std::fs::File::create(path).expect("log file")),
                None => Stdio::null(),
            })
            .spawn()
            .expect("starting pulse serve");
        let server = Server {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        // The demo builds and installs its addons before it listens.
        let deadline = Instant::now() + Duration::from_secs(120);
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
                "pulse {command} did not become healthy"
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

impl Server {
    /// The server process's id (to read its memory use from /proc).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal blocking HTTP/1.1 client over loopback, so the tests need no
/// HTTP client crate (whose features would change the host's build).
pub mod http {
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

/// Runs `tests/python/SCRIPT ARGS…` with the machine's Python (standard
/// library only, as Odoo's own scripts); its stdout.
#[allow(dead_code)]
pub fn python_script(script: &str, args: &[&str]) -> String {
    let out = std::process::Command::new("python3")
        .arg(root().join("tests/python").join(script))
        .args(args)
        .output()
        .expect("python3 runs (it is on every machine)");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{script} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The id a `create` (or a one-record search) answered.
#[allow(dead_code)]
pub fn id(value: Value) -> i64 {
    value
        .as_i64()
        .unwrap_or_else(|| panic!("expected an id: {value}"))
}

/// A JSON-RPC client of `server` logged in as `login`.
pub fn logged_in(server: &Server, db: &str, login: &str, password: &str) -> Rpc {
    let mut rpc = Rpc::new(server);
    rpc.login_as(db, login, password);
    rpc
}

/// `call_kw` that must succeed; its result.
pub fn ok(rpc: &mut Rpc, model: &str, method: &str, args: Value) -> Value {
    rpc.call(model, method, args, json!({}))
        .unwrap_or_else(|e| panic!("{model}.{method} failed: {e}"))
}

/// `call_kw` that must fail; the error's kind (`data.name`) and message.
pub fn refused(rpc: &mut Rpc, model: &str, method: &str, args: Value) -> (String, String) {
    let error = rpc
        .call(model, method, args, json!({}))
        .expect_err("the call must be refused");
    let text = |key: &str| error["data"][key].as_str().unwrap_or_default().to_string();
    (text("name"), text("message"))
}

/// An Odoo JSON-RPC client holding a session cookie.
pub struct Rpc {
    url: String,
    cookie: Option<String>,
}

impl Rpc {
    pub fn new(server: &Server) -> Rpc {
        Rpc::at(&server.url)
    }

    /// A client of the server at `url` (for use from other threads).
    pub fn at(url: &str) -> Rpc {
        Rpc {
            url: url.to_string(),
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

    /// The session cookie (`session_id=…`) once logged in.
    pub fn cookie(&self) -> Option<&str> {
        self.cookie.as_deref()
    }

    /// Logs in as admin/admin.
    pub fn login(&mut self, db: &str) -> Value {
        self.login_as(db, "admin", "admin")
    }

    /// Logs in through `/web/session/authenticate`, which must succeed.
    pub fn login_as(&mut self, db: &str, login: &str, password: &str) -> Value {
        let r = self.post(
            "/web/session/authenticate",
            json!({"db": db, "login": login, "password": password}),
        );
        assert!(r.get("result").is_some(), "{login} cannot log in: {r}");
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
