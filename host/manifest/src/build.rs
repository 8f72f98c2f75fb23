//! Building addon components, for `pulse build`: run the `[build]` command
//! of each manifest in its addon folder and copy the component it leaves to
//! where the host loads it. Only the manifest is needed, so this lives beside
//! it; progress is reported to the caller, which decides what to print.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

use crate::{Addon, Discovery};

/// The target addons are compiled for.
pub const WASM_TARGET: &str = "wasm32-wasip2";

/// Why a build stopped. The first failing addon stops the build: later
/// addons may depend on its component being in place.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// An addon named on the command line is not in the addons paths.
    #[error("addon '{name}' is not in the addons paths {paths:?}")]
    NotFound {
        /// The addon asked for.
        name: String,
        /// The addons paths searched.
        paths: Vec<PathBuf>,
    },
    /// No addon was named and none in the addons paths has a `[build]` section.
    #[error("no addon to build in the addons paths {paths:?}")]
    NothingToBuild {
        /// The addons paths searched.
        paths: Vec<PathBuf>,
    },
    /// An addon's crate depends on another addon's crate that its manifest
    /// does not list in `depends`, or takes it with its default features.
    #[error("{}", problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    CrateDepends {
        /// Each problem, with its file and line.
        problems: Vec<crate::Problem>,
    },
    /// An addon named on the command line has no `[build]` section.
    #[error("addon '{0}' has no [build] section in its addon.toml")]
    NoBuildSection(String),
    /// rustup, needed to add the wasm target, could not be run.
    #[error("rustup is needed to install the {WASM_TARGET} target (https://rustup.rs)")]
    NoRustup(#[source] io::Error),
    /// `rustup target add` could not be started.
    #[error("cannot run rustup")]
    RustupSpawn(#[source] io::Error),
    /// `rustup target add` ran and failed.
    #[error("`rustup target add {WASM_TARGET}` failed ({0})")]
    TargetAdd(ExitStatus),
    /// The shell running an addon's build command could not be started.
    #[error("cannot run the build command of '{addon}'")]
    Spawn {
        /// The addon being built.
        addon: String,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// An addon's build command exited with a failure.
    #[error("building addon '{addon}' failed ({status}): {command}")]
    CommandFailed {
        /// The addon being built.
        addon: String,
        /// How the command ended.
        status: ExitStatus,
        /// The command, as the manifest gives it.
        command: String,
    },
    /// `cargo metadata`, run to find `{cargo_target_dir}`, could not be started.
    #[error("cannot run `cargo metadata` to find the target directory")]
    CargoMetadataSpawn(#[source] io::Error),
    /// `cargo metadata` ran and failed.
    #[error("`cargo metadata` failed in {}: {stderr}", dir.display())]
    CargoMetadataFailed {
        /// The addon folder it ran in.
        dir: PathBuf,
        /// What cargo printed on stderr.
        stderr: String,
    },
    /// `cargo metadata` printed something that is not JSON.
    #[error(transparent)]
    CargoMetadataJson(#[from] serde_json::Error),
    /// `cargo metadata` printed JSON without a target directory.
    #[error("`cargo metadata` printed no target_directory")]
    NoTargetDirectory,
    /// The build command succeeded but its output could not be copied.
    #[error(
        "the build of '{addon}' did not leave {} to copy to {}",
        from.display(),
        to.display()
    )]
    Copy {
        /// The addon being built.
        addon: String,
        /// Where the manifest says the component is left.
        from: PathBuf,
        /// The component path the host loads.
        to: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
}

/// What a build is doing, reported as it happens so a caller can show it
/// before a long command's own output.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// The wasm target is missing; rustup is adding it.
    InstallingTarget,
    /// One cargo run is about to compile several addons at once.
    Compiling {
        /// The addons.
        addons: &'a [&'a str],
        /// The cargo command.
        command: &'a str,
    },
    /// An addon is being built: its build command is about to run (unless
    /// a [`Progress::Compiling`] run compiled it already).
    Building {
        /// The addon.
        addon: &'a Addon,
        /// Its build command.
        command: &'a str,
    },
    /// An addon's component is in place.
    Built(&'a Built),
}

/// A component a build placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    /// The addon.
    pub addon: String,
    /// The component file the host loads.
    pub component: PathBuf,
}

/// Builds the addons `names` found in `found` (when `names` is empty, every
/// addon with a `[build]` section), in name order, telling `progress` what
/// happens. `paths` are the addons paths `found` came from, for the errors.
/// Returns the components placed; an addon whose manifest gives no output
/// is built and not copied.
///
/// Addons of one cargo workspace whose commands differ only in the package
/// they name (`cargo build --release --target wasm32-wasip2 -p NAME`) are
/// compiled by one cargo run, `-p` for each: cargo then builds their
/// shared dependencies once and the crates side by side. When that run
/// fails, each addon's own command runs, so the failure names its addon.
pub fn build_addons(
    found: &Discovery,
    paths: &[PathBuf],
    names: &[String],
    mut progress: impl FnMut(Progress<'_>),
) -> Result<Vec<Built>, BuildError> {
    let targets: Vec<&Addon> = if names.is_empty() {
        found
            .addons
            .values()
            .filter(|a| a.manifest.build.is_some())
            .collect()
    } else {
        names
            .iter()
            .map(|n| {
                found.addons.get(n).ok_or_else(|| BuildError::NotFound {
                    name: n.clone(),
                    paths: paths.to_vec(),
                })
            })
            .collect::<Result<_, _>>()?
    };
    if targets.is_empty() {
        return Err(BuildError::NothingToBuild {
            paths: paths.to_vec(),
        });
    }
    let problems: Vec<crate::Problem> = targets
        .iter()
        .flat_map(|addon| crate::check_crate_depends(addon, &found.addons))
        .collect();
    if !problems.is_empty() {
        return Err(BuildError::CrateDepends { problems });
    }
    let mut workspaces = Workspaces::default();
    let mut wasm_target_ready = false;
    for addon in &targets {
        let Some(build) = &addon.manifest.build else {
            return Err(BuildError::NoBuildSection(addon.name().to_string()));
        };
        if build.command.contains(WASM_TARGET) && !wasm_target_ready {
            ensure_wasm_target(&mut progress)?;
            wasm_target_ready = true;
        }
    }
    let compiled = compile_together(&targets, &mut workspaces, &mut progress)?;
    let mut built = Vec::new();
    for addon in targets {
        let Some(build) = &addon.manifest.build else {
            continue;
        };
        progress(Progress::Building {
            addon,
            command: &build.command,
        });
        if !compiled.contains(&addon.name()) {
            let status =
                run_in(&addon.dir, &build.command).map_err(|source| BuildError::Spawn {
                    addon: addon.name().to_string(),
                    source,
                })?;
            if !status.success() {
                return Err(BuildError::CommandFailed {
                    addon: addon.name().to_string(),
                    status,
                    command: build.command.clone(),
                });
            }
        }
        let Some(output) = &build.output else {
            continue;
        };
        let output = if output.contains("{cargo_target_dir}") {
            let target_dir = &workspaces.of(&addon.dir)?.target_directory;
            output.replace("{cargo_target_dir}", &target_dir.to_string_lossy())
        } else {
            output.clone()
        };
        let from = addon.dir.join(output);
        let to = addon.component_path();
        if let Err(source) = std::fs::copy(&from, &to) {
            return Err(BuildError::Copy {
                addon: addon.name().to_string(),
                from,
                to,
                source,
            });
        }
        let placed = Built {
            addon: addon.name().to_string(),
            component: to,
        };
        progress(Progress::Built(&placed));
        built.push(placed);
    }
    Ok(built)
}

/// Runs a build command with `sh` in `dir`.
fn run_in(dir: &Path, command: &str) -> io::Result<ExitStatus> {
    Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(dir)
        .status()
}

/// A build command that names one cargo package: the command without
/// `-p NAME`, and the name. Only plain words count (no quotes, no shell
/// syntax), so joining several stays the same command.
pub fn one_package_cargo_build(command: &str) -> Option<(String, String)> {
    let words: Vec<&str> = command.split_whitespace().collect();
    let plain = |w: &str| {
        w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.=/:+,@".contains(c))
    };
    if words.len() < 4 || words[..2] != ["cargo", "build"] || !words.iter().all(|w| plain(w)) {
        return None;
    }
    let at = words.iter().position(|w| *w == "-p" || *w == "--package")?;
    let package = words.get(at + 1)?;
    let mut rest = words.clone();
    rest.drain(at..at + 2);
    if rest
        .iter()
        .any(|w| *w == "-p" || *w == "--package" || w.starts_with("--package="))
    {
        return None;
    }
    Some((rest.join(" "), package.to_string()))
}

/// Compiles, one cargo run per workspace and command, the addons whose
/// build commands differ only in their package ([`one_package_cargo_build`])
/// when there are several. Answers the addons so compiled; a run that
/// fails compiles none (each then runs its own command).
fn compile_together<'a>(
    targets: &[&'a Addon],
    workspaces: &mut Workspaces,
    progress: &mut impl FnMut(Progress<'_>),
) -> Result<Vec<&'a str>, BuildError> {
    let mut batches: Vec<Batch<'a>> = Vec::new();
    for addon in targets {
        let Some((rest, package)) = addon
            .manifest
            .build
            .as_ref()
            .and_then(|b| one_package_cargo_build(&b.command))
        else {
            continue;
        };
        let root = workspaces.of(&addon.dir)?.root.clone();
        let at = batches
            .iter()
            .position(|b| b.root == root && b.shared == rest)
            .unwrap_or_else(|| {
                batches.push(Batch {
                    root,
                    command: rest.clone(),
                    shared: rest,
                    addons: Vec::new(),
                });
                batches.len() - 1
            });
        let batch = &mut batches[at];
        batch.command = format!("{} -p {package}", batch.command);
        batch.addons.push(addon.name());
    }
    let mut compiled = Vec::new();
    for batch in batches.into_iter().filter(|b| b.addons.len() > 1) {
        progress(Progress::Compiling {
            addons: &batch.addons,
            command: &batch.command,
        });
        if run_in(&batch.root, &batch.command).is_ok_and(|status| status.success()) {
            compiled.extend(batch.addons);
        }
    }
    Ok(compiled)
}

/// One cargo run for several addons of a workspace.
struct Batch<'a> {
    /// The workspace's root, where cargo runs.
    root: PathBuf,
    /// What the addons' commands share: all but `-p NAME`.
    shared: String,
    /// The command: `shared` with `-p NAME` for each addon.
    command: String,
    addons: Vec<&'a str>,
}

/// A cargo workspace: its root, its target directory, and its members'
/// folders.
#[derive(Debug)]
struct Workspace {
    root: PathBuf,
    target_directory: PathBuf,
    members: Vec<PathBuf>,
}

/// The cargo workspaces of the addon folders, each asked once (with
/// `cargo metadata`, which takes a while).
#[derive(Debug, Default)]
struct Workspaces(Vec<Workspace>);

impl Workspaces {
    /// The workspace of the crate in `dir` (its target directory honours
    /// `CARGO_TARGET_DIR`).
    fn of(&mut self, dir: &Path) -> Result<&Workspace, BuildError> {
        let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        let known = |w: &Workspace| w.members.contains(&dir);
        if let Some(at) = self.0.iter().position(known) {
            return Ok(&self.0[at]);
        }
        let output = Command::new("cargo")
            .args(["metadata", "--format-version", "1", "--no-deps"])
            .current_dir(&dir)
            .output()
            .map_err(BuildError::CargoMetadataSpawn)?;
        if !output.status.success() {
            return Err(BuildError::CargoMetadataFailed {
                dir,
                stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            });
        }
        let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)?;
        let path = |key: &str| metadata[key].as_str().map(PathBuf::from);
        let mut members: Vec<PathBuf> = metadata["packages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| {
                Some(
                    Path::new(p["manifest_path"].as_str()?)
                        .parent()?
                        .to_path_buf(),
                )
            })
            .collect();
        members.push(dir.clone());
        self.0.push(Workspace {
            root: path("workspace_root").unwrap_or(dir),
            target_directory: path("target_directory").ok_or(BuildError::NoTargetDirectory)?,
            members,
        });
        Ok(self.0.last().expect("just pushed"))
    }
}

/// Adds the wasm target with rustup when it is missing.
fn ensure_wasm_target(progress: &mut impl FnMut(Progress<'_>)) -> Result<(), BuildError> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map_err(BuildError::NoRustup)?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|l| l.trim() == WASM_TARGET)
    {
        return Ok(());
    }
    progress(Progress::InstallingTarget);
    let status = Command::new("rustup")
        .args(["target", "add", WASM_TARGET])
        .status()
        .map_err(BuildError::RustupSpawn)?;
    if !status.success() {
        return Err(BuildError::TargetAdd(status));
    }
    Ok(())
}
