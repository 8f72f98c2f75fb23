//! One Pulse instance (a data directory, a database, addons paths) and the
//! `pulse` processes it runs: commands to completion, and served instances.

use sha2::{Digest, Sha256};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::database::{Backend, block_on, create_pg_database, drop_pg_database};
use crate::fixtures::{EXAMPLES, FIXTURES, cache_dir, pulse_binary, root};
use crate::http::{self, Transport};
use crate::in_process::App;
use crate::rpc::Rpc;

/// Stdout and stderr of a finished command.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The password of `admin` on every instance's new database.
const ADMIN_PASSWORD: &str = "admin";

/// One Pulse instance: a data directory (with its SQLite database) and the addons paths.
pub struct Pulse {
    /// `--data-dir`: a temporary folder of its own (logs may go there too).
    pub data_dir: PathBuf,
    /// `--addons-path`, each absolute.
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
    #[allow(clippy::new_without_default)]
    pub fn new() -> Pulse {
        Pulse::with_addons_paths(&[EXAMPLES, FIXTURES])
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
        let mut cmd = Command::new(pulse_binary());
        cmd.current_dir(root())
            .env_remove("PULSE_DB")
            .env_remove("PULSE_ADDONS_PATH")
            .env_remove("PULSE_CACHE_DIR")
            .env("PULSE_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--cache-dir")
            .arg(cache_dir());
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

    /// Serves this instance in this process: the host `pulse serve` would
    /// open (same database, addons paths, cache and defaults), its requests
    /// handed to the router without a socket. For tests of what the API
    /// answers; those of the process itself (signals, sockets, its log,
    /// clients that need a port, several hosts) use [`Pulse::serve`].
    pub fn serve_in_process(&self) -> Server {
        assert!(
            self.extra_args.is_empty(),
            "an in-process host takes no command-line options ({:?}): serve it with `serve`",
            self.extra_args
        );
        let app = App::start(pulse_core::Config {
            db_url: self.url(),
            addons_paths: self.addons_paths.clone(),
            data_dir: self.data_dir.clone(),
            cache_dir: Some(cache_dir()),
            admin_password: Some(ADMIN_PASSWORD.into()),
            limits: pulse_core::Limits::default(),
            addon_limits: Default::default(),
            pool: pulse_core::PoolSettings::default(),
            outbound: Some(std::sync::Arc::new(pulse_api::HttpClient::new())),
            mail: pulse_core::MailSettings {
                smtp: None,
                mailer: Some(std::sync::Arc::new(pulse_smtp::SmtpMailer::new())),
            },
        });
        Server {
            transport: Transport::InProcess(std::sync::Arc::new(app)),
            child: None,
            url: IN_PROCESS_URL.into(),
        }
    }

    /// Like [`Pulse::serve`], with the server's log written to `log`.
    pub fn serve_logging(&self, log: Option<&Path>) -> Server {
        self.start("serve", log)
    }

    /// Starts `pulse COMMAND --http …` (`serve` or `demo`) on a free port
    /// and waits until `/health` answers.
    pub fn start(&self, command: &str, log: Option<&Path>) -> Server {
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
        let url = format!("http://127.0.0.1:{port}");
        let server = Server {
            transport: Transport::Tcp(url.clone()),
            child: Some(child),
            url,
        };
        // The demo builds and installs its addons before it listens; its
        // per-addon fallback build compiles `account` several times (each
        // feature set overwrites the unhashed component), minutes on a
        // loaded machine.
        let deadline = Instant::now() + Duration::from_secs(360);
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

/// A running `pulse serve`, or a host served in this process
/// ([`Pulse::serve_in_process`]); stopped when dropped.
pub struct Server {
    pub(crate) transport: Transport,
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`, without a trailing slash; an in-process
    /// host has no socket, and this address no server (`IN_PROCESS_URL`).
    pub url: String,
}

/// The `url` of an in-process host: nothing listens there, so a test that
/// needs a socket fails at once instead of talking to something else.
const IN_PROCESS_URL: &str = "http://in-process.invalid";

impl Server {
    /// The server process's id (to read its memory use from /proc).
    pub fn pid(&self) -> u32 {
        self.child
            .as_ref()
            .expect("an in-process host has no process of its own")
            .id()
    }

    /// Sends one request for `path` (`/…`, with its query) with
    /// `Connection: close`, and reads the whole response: over loopback
    /// to a served `pulse`, through the router to an in-process host.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &(impl AsRef<[u8]> + ?Sized),
    ) -> std::io::Result<http::Response> {
        self.transport.request(method, path, headers, body.as_ref())
    }

    /// Whether this host is served in this process (it has no socket).
    pub fn in_process(&self) -> bool {
        matches!(self.transport, Transport::InProcess(_))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Transport::InProcess(app) = &self.transport {
            app.stop();
        }
    }
}

/// Runs `tests/python/SCRIPT ARGS…` with the machine's Python (standard
/// library only, as Odoo's own scripts); its stdout.
pub fn python_script(script: &str, args: &[&str]) -> String {
    run_python(Path::new("python3"), script, args)
}

/// Runs `tests/python/SCRIPT ARGS…` with a Python that has the published
/// Odoo client libraries of `tests/python/clients/requirements.txt`
/// (see [`client_libraries`]); its stdout.
pub fn python_client_script(script: &str, args: &[&str]) -> String {
    run_python(&client_libraries(), script, args)
}

/// The Python of a virtual environment under the target directory holding
/// the pinned client libraries, made (from PyPI, every package checked
/// against its pinned hash) the first time a test asks, once for all the
/// test threads and processes. Panics, naming what failed, when Python or
/// the registry cannot provide them: the tests that need them fail, they
/// do not skip.
pub fn client_libraries() -> PathBuf {
    let requirements = root().join("tests/python/clients/requirements.txt");
    let pinned = std::fs::read(&requirements).expect("the pinned client libraries");
    let digest = hex::encode(&Sha256::digest(&pinned)[..6]);
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/<binary>: the venv lives beside the profiles.
    let target = exe.ancestors().nth(3).expect("a target directory");
    let venv = target.join(format!("python-clients-{digest}"));
    let python = venv.join("bin/python");
    let ready = venv.join("installed");
    let lock = std::fs::File::create(target.join("python-clients.lock")).expect("the lock file");
    lock.lock().expect("the lock on the client libraries");
    if !ready.exists() {
        let _ = std::fs::remove_dir_all(&venv);
        let run = |command: &mut std::process::Command| {
            let out = command.output().expect("python3 runs");
            assert!(
                out.status.success(),
                "installing the Odoo client libraries failed: {command:?}\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv));
        run(Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(["--require-hashes", "--no-deps", "-r"])
            .arg(&requirements));
        std::fs::write(&ready, &pinned).expect("the venv's marker");
    }
    python
}

fn run_python(python: &Path, script: &str, args: &[&str]) -> String {
    // The scripts import their shared `odoo_rpc.py`: no `__pycache__` in
    // the source tree.
    let out = Command::new(python)
        .env("PYTHONDONTWRITEBYTECODE", "1")
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
