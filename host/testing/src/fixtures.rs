//! Where things are: the repository, the `pulse` binary, the fixture addon
//! folders, and the compiled-component cache every test shares.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::instance::{Pulse, text};

/// The business addons of `addons/`.
pub const ADDONS: &str = "addons";
/// The example addons of `examples/`.
pub const EXAMPLES: &str = "examples";
/// The fixture addons named by behaviour (`tests/fixtures/addons`).
pub const FIXTURES: &str = "tests/fixtures/addons";

/// Every folder of addons the tests build, relative to the repository root.
/// Each is built on its own, since the upgrade and data fixtures hold
/// several versions of one addon (the first addons path wins a name).
pub const ADDON_FOLDERS: [&str; 10] = [
    EXAMPLES,
    ADDONS,
    FIXTURES,
    "tests/fixtures/upgrade/v1",
    "tests/fixtures/upgrade/v2",
    "tests/fixtures/upgrade/v2_failing",
    "tests/fixtures/upgrade/v2_drops",
    "tests/fixtures/upgrade/v3_computed",
    "tests/fixtures/data/v1",
    "tests/fixtures/data/v2",
];

/// The repository root (this crate lives in `host/testing`).
pub fn root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(Path::parent)
        .expect("host/testing sits two folders below the repository root")
        .to_path_buf()
}

/// The `pulse` binary cargo built for this test run.
///
/// `CARGO_BIN_EXE_pulse` is only known when the root package's own tests are
/// compiled, not here; at run time a test executable sits in
/// `TARGET/PROFILE/deps/`, beside which cargo puts the binaries.
pub fn pulse_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            if let Some(path) = std::env::var_os("CARGO_BIN_EXE_pulse") {
                return PathBuf::from(path);
            }
            let exe = std::env::current_exe().expect("the test executable's path");
            let profile_dir = exe
                .parent()
                .and_then(Path::parent)
                .expect("the test executable is in TARGET/PROFILE/deps");
            let binary = profile_dir.join(format!("pulse{}", std::env::consts::EXE_SUFFIX));
            assert!(
                binary.is_file(),
                "no pulse binary at {} (run the tests through `cargo test`, which builds it)",
                binary.display()
            );
            binary
        })
        .clone()
}

/// The compiled-component cache shared by every `pulse` the harness starts
/// (`--cache-dir`). Entries are keyed by content and engine, so instances
/// with different data directories and databases may share them. It lives
/// in the target directory and is emptied once per run, so every run
/// compiles each component once (the cost a run measures stays the same
/// from run to run) and stale entries do not pile up.
pub fn cache_dir() -> PathBuf {
    static CACHE: OnceLock<PathBuf> = OnceLock::new();
    CACHE
        .get_or_init(|| {
            let dir = pulse_binary()
                .parent()
                .expect("the pulse binary is in a folder")
                .join("pulse-test-cache");
            match std::fs::remove_dir_all(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => panic!("cannot empty the cache {}: {e}", dir.display()),
            }
            std::fs::create_dir_all(&dir).expect("the shared component cache");
            dir
        })
        .clone()
}

/// Builds every fixture addon folder through `pulse build`, once per test
/// run (every test calls this; the first one builds, the others wait).
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
