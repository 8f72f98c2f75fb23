//! The wasmtime side of Pulse: loads addon components, keeps them sandboxed,
//! and calls into them.
//!
//! This is the only crate that touches wasmtime types and the only place
//! that calls `bindgen!`: one module per released version of the WIT
//! contract `pulse:addon`, side by side, each converting into this
//! crate's types, so nothing above it sees a generated type and an addon
//! built against an older version keeps loading ([`ApiVersion`]; a
//! component of a version the host does not know is refused at load).
//! Callers give each call an
//! [`OrmBackend`] — the host's ORM bound to the caller's transaction and
//! user — and get it back afterwards, so the transaction stays theirs to
//! commit or roll back.
//!
//! Every call runs in a fresh store with no preopened directories, no
//! environment variables and no sockets, under a deadline (epoch
//! interruption) and a memory cap. A trap, a timeout or an out-of-memory is
//! a [`CallError`] naming the addon; the host carries on.

mod bindings;
mod cache;

pub use cache::content_hash;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use wasmtime::component::{Instance, InstancePre, Linker, ResourceTable};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, StoreLimits,
    StoreLimitsBuilder,
};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use bindings::Exports;
pub use bindings::{ApiVersion, VersionError, WIT_PACKAGE};
pub use pulse_schema::{Context, Description, EventKind, Exception, LoginAttempt, LoginDecision};

/// How many addon instances may be alive at once (calls in flight, counting
/// nested calls); one more fails with an error naming the limit.
const POOL_INSTANCES: u32 = 1000;

/// How much of each pooled linear memory stays resident between instances
/// (where PAGEMAP_SCAN exists): a Rust addon's 1 MiB stack, its data and
/// the start of its heap.
const KEEP_RESIDENT_MEMORY: usize = 2 << 20;

/// How much of each pooled table stays resident between instances.
const KEEP_RESIDENT_TABLE: usize = 64 << 10;

/// How often the engine's epoch advances; deadlines are counted in these ticks.
const EPOCH_TICK: Duration = Duration::from_millis(5);

/// The most linear memory one call tree may hold at once: an addon
/// calling the host calling another addon (`env.call`, `super()`) takes a
/// fresh instance, with its own memory, at every level. Without a budget
/// a chain 32 deep of 64 MiB instances would hold 2 GiB. A single instance
/// whose own cap is larger still gets its cap.
pub const MAX_CALL_TREE_MEMORY: usize = 256 << 20;

/// The longest log line an addon may write through the `log` import, in
/// bytes; a longer one is cut there (and says so).
pub const MAX_LOG_LINE: usize = 4 << 10;

/// How many lines an addon may log through the `log` import in one call;
/// past that its lines are dropped, with one warning naming the addon.
pub const MAX_LOG_LINES_PER_CALL: u32 = 1000;

/// What the memory limiter says when a call tree is past its budget
/// (found again in the trap to name the failure).
const CALL_TREE_BUDGET_SPENT: &str = "the call tree's memory budget is spent";

/// Why a call into an addon failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The addon returned an error value.
    #[error("{0}")]
    Addon(Exception),
    /// The addon trapped (a panic, an unreachable, a bad memory access).
    #[error("addon '{addon}' trapped: {message}")]
    Trap {
        /// The addon's technical name.
        addon: String,
        /// What wasmtime reported.
        message: String,
    },
    /// The call ran past its deadline and was interrupted.
    #[error("addon '{addon}' exceeded its deadline of {limit:?}")]
    Timeout {
        /// The addon's technical name.
        addon: String,
        /// The deadline it had.
        limit: Duration,
    },
    /// The addon tried to grow its memory past its cap.
    #[error("addon '{addon}' exceeded its memory limit of {limit} bytes")]
    OutOfMemory {
        /// The addon's technical name.
        addon: String,
        /// The cap in bytes.
        limit: usize,
    },
    /// The addon tried to grow its memory while the instances of its call
    /// tree (nested calls, each in its own instance) already held the
    /// tree's budget.
    #[error(
        "addon '{addon}' exceeded the memory budget of nested calls: the instances of one call tree may hold {limit} bytes together"
    )]
    CallTreeOutOfMemory {
        /// The addon's technical name.
        addon: String,
        /// The budget in bytes.
        limit: usize,
    },
    /// The addon's answer was not what the contract says.
    #[error("addon '{addon}' answered badly: {message}")]
    BadAnswer {
        /// The addon's technical name.
        addon: String,
        /// What was wrong.
        message: String,
    },
}

impl CallError {
    /// The addon the failure belongs to, when it is the addon's fault.
    pub fn addon(&self) -> Option<&str> {
        match self {
            CallError::Addon(_) => None,
            CallError::Trap { addon, .. }
            | CallError::Timeout { addon, .. }
            | CallError::OutOfMemory { addon, .. }
            | CallError::CallTreeOutOfMemory { addon, .. }
            | CallError::BadAnswer { addon, .. } => Some(addon),
        }
    }
}

/// Why a component could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The component file could not be read.
    #[error("cannot read component {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a component this host can run.
    #[error("{path} is not a valid Pulse addon component: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What wasmtime reported.
        message: String,
    },
    /// The component is built against a version of the WIT contract this
    /// host does not run.
    #[error("the component {path} is refused: {source}")]
    Version {
        /// The file.
        path: PathBuf,
        /// Which version, and why it is refused.
        source: VersionError,
    },
}

/// The search part of Odoo's `search` and `search_read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchQuery<'a> {
    /// A JSON Odoo domain.
    pub domain: &'a str,
    /// How many matching records to skip.
    pub offset: u32,
    /// How many to return at most (all when `None`).
    pub limit: Option<u32>,
    /// Odoo's `order` (the model's own when `None`).
    pub order: Option<&'a str>,
}

/// The arguments of Odoo's `read_group(domain, fields, groupby, offset,
/// limit, orderby, lazy)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupQuery<'a> {
    /// A JSON Odoo domain.
    pub domain: &'a str,
    /// The fields to aggregate (`field`, `field:agg` or `name:agg(field)`).
    pub fields: &'a [String],
    /// The fields to group by, outermost first.
    pub groupby: &'a [String],
    /// How many groups to skip.
    pub offset: u32,
    /// How many groups to return at most.
    pub limit: Option<u32>,
    /// Odoo's `orderby`.
    pub orderby: Option<&'a str>,
    /// Group by the first `groupby` field only.
    pub lazy: bool,
}

/// The arguments of Odoo's `name_search(name, domain, operator, limit)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameQuery<'a> {
    /// The text the display names are matched against.
    pub name: &'a str,
    /// A JSON Odoo domain the records must match too (empty: all).
    pub domain: &'a str,
    /// How `name` matches (`ilike`, `=`, …).
    pub operator: &'a str,
    /// How many records to answer at most.
    pub limit: Option<u32>,
}

/// A model method call: `model.method(ids, *args, **kwargs)` with a context.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MethodCall<'a> {
    /// The model.
    pub model: &'a str,
    /// The method.
    pub method: &'a str,
    /// The records.
    pub ids: &'a [i64],
    /// The other positional arguments, a JSON array.
    pub args: &'a str,
    /// The keyword arguments, a JSON object.
    pub kwargs: &'a str,
    /// The context the call runs with.
    pub context: &'a Context,
}

/// An outbound HTTP request an addon asks the host to send.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The full URL.
    pub url: String,
    /// Header names and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body (empty for none).
    pub body: Vec<u8>,
}

/// The answer to an [`HttpRequest`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpResponse {
    /// The HTTP status.
    pub status: u16,
    /// Header names and values.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// Who a call acts for, as an addon sees it (Odoo's `env.user`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct User {
    /// The user's id.
    pub uid: i64,
    /// External ids (`module.name`) of the user's groups and of the groups
    /// they imply.
    pub groups: Vec<String>,
    /// The company the call acts for.
    pub company_id: Option<i64>,
}

/// The host ORM as an addon sees it: bound to one transaction and one user.
/// Payloads are Odoo JSON text, exactly as they cross the WIT boundary;
/// every call carries the context the addon passed (empty for an addon
/// built against `pulse:addon@0.1.0`, which has none).
pub trait OrmBackend: Send + 'static {
    /// Ids matching a JSON domain.
    fn search(
        &mut self,
        context: &Context,
        model: &str,
        query: &SearchQuery<'_>,
    ) -> impl Future<Output = Result<Vec<i64>, Exception>> + Send;
    /// Number of records matching a JSON domain.
    fn search_count(
        &mut self,
        context: &Context,
        model: &str,
        domain: &str,
    ) -> impl Future<Output = Result<u64, Exception>> + Send;
    /// The `fields` of the records matching a search, as a JSON array of objects.
    fn search_read(
        &mut self,
        context: &Context,
        model: &str,
        query: &SearchQuery<'_>,
        fields: &[String],
    ) -> impl Future<Output = Result<String, Exception>> + Send;
    /// Groups of records with aggregated values, as a JSON array of objects.
    fn read_group(
        &mut self,
        context: &Context,
        model: &str,
        query: &GroupQuery<'_>,
    ) -> impl Future<Output = Result<String, Exception>> + Send;
    /// `(id, display name)` of the records whose name matches `name`.
    fn name_search(
        &mut self,
        context: &Context,
        model: &str,
        query: &NameQuery<'_>,
    ) -> impl Future<Output = Result<Vec<(i64, String)>, Exception>> + Send;
    /// Records as a JSON array of objects.
    fn read(
        &mut self,
        context: &Context,
        model: &str,
        ids: &[i64],
        fields: &[String],
    ) -> impl Future<Output = Result<String, Exception>> + Send;
    /// Creates records from a JSON array of objects.
    fn create(
        &mut self,
        context: &Context,
        model: &str,
        rows: &str,
    ) -> impl Future<Output = Result<Vec<i64>, Exception>> + Send;
    /// Writes a JSON object of values on records.
    fn write(
        &mut self,
        context: &Context,
        model: &str,
        ids: &[i64],
        values: &str,
    ) -> impl Future<Output = Result<(), Exception>> + Send;
    /// Deletes records.
    fn unlink(
        &mut self,
        context: &Context,
        model: &str,
        ids: &[i64],
    ) -> impl Future<Output = Result<(), Exception>> + Send;
    /// Calls a model method through the registry (the top of its override chain).
    fn call(
        &mut self,
        call: &MethodCall<'_>,
    ) -> impl Future<Output = Result<String, Exception>> + Send;
    /// Calls the implementation the running method overrides.
    fn call_super(
        &mut self,
        context: &Context,
        ids: &[i64],
        args: &str,
        kwargs: &str,
    ) -> impl Future<Output = Result<String, Exception>> + Send;
    /// Switches the running method's ORM calls to superuser mode and back.
    fn sudo(&mut self, on: bool) -> impl Future<Output = Result<(), Exception>> + Send;
    /// The user the running call acts for.
    fn current_user(&mut self) -> impl Future<Output = Result<User, Exception>> + Send;
    /// Sends an outbound HTTP request, if allowed.
    fn http_fetch(
        &mut self,
        request: &HttpRequest,
    ) -> impl Future<Output = Result<HttpResponse, Exception>> + Send;
    /// The bytes of linear memory the instances of this call tree hold
    /// now, shared by every nested call made with this backend, to be
    /// kept under [`MAX_CALL_TREE_MEMORY`]; `None` for a backend whose
    /// calls never nest.
    fn call_tree_memory(&self) -> Option<Arc<AtomicUsize>> {
        None
    }
}

/// Limits applied to every call into an addon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock deadline of one call.
    pub deadline: Duration,
    /// Cap on the addon's linear memory, in bytes.
    pub memory_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            deadline: Duration::from_secs(10),
            memory_bytes: 64 << 20,
        }
    }
}

/// The wasmtime engine shared by every addon, with its component cache.
#[derive(Clone)]
pub struct Runtime<B: OrmBackend> {
    engine: Engine,
    linker: Arc<Linker<HostState<B>>>,
    cache_dir: Option<PathBuf>,
}

impl<B: OrmBackend> std::fmt::Debug for Runtime<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("cache_dir", &self.cache_dir)
            .finish_non_exhaustive()
    }
}

impl<B: OrmBackend> Runtime<B> {
    /// A runtime whose compiled components are cached under `cache_dir`
    /// (none when `None`), for addons whose memory caps are at most
    /// `max_memory_bytes`.
    ///
    /// Instances come from a pool (wasmtime's pooling allocator): their
    /// memories, tables and stacks are reserved once and reused, so the
    /// fresh instance every call gets costs microseconds, not an `mmap`.
    pub fn new(
        cache_dir: Option<PathBuf>,
        max_memory_bytes: usize,
    ) -> Result<Runtime<B>, LoadError> {
        let mut pool = PoolingAllocationConfig::new();
        pool.total_component_instances(POOL_INSTANCES)
            .total_core_instances(POOL_INSTANCES * 4)
            .total_memories(POOL_INSTANCES)
            .total_tables(POOL_INSTANCES * 4)
            .total_stacks(POOL_INSTANCES)
            .max_memory_size(max_memory_bytes.max(Limits::default().memory_bytes));
        // Pool slots keep an instance's memory and tables resident, and the
        // next instance in the slot starts from the pages the last one
        // dirtied, found with Linux's PAGEMAP_SCAN and reset in place, so a
        // fresh instance per request costs no page faults and no `madvise`.
        // Without that ioctl, resetting so much by `memset` would cost more
        // than the faults it saves: slots are then given back to the kernel.
        if PoolingAllocationConfig::is_pagemap_scan_available() {
            pool.pagemap_scan(wasmtime::Enabled::Yes)
                .linear_memory_keep_resident(KEEP_RESIDENT_MEMORY)
                .table_keep_resident(KEEP_RESIDENT_TABLE);
        }
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config).map_err(|e| LoadError::Invalid {
            path: PathBuf::new(),
            message: format!("cannot create the wasmtime engine: {e}"),
        })?;
        start_epoch_ticker(&engine);
        let mut linker = Linker::new(&engine);
        let link = |e: wasmtime::Error| LoadError::Invalid {
            path: PathBuf::new(),
            message: format!("cannot link host functions: {e}"),
        };
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(link)?;
        bindings::add_to_linker(&mut linker).map_err(link)?;
        Ok(Runtime {
            engine,
            linker: Arc::new(linker),
            cache_dir,
        })
    }

    /// Loads (compiling, or reading from the cache) the component at `path`
    /// for the addon `name`.
    pub fn load(
        &self,
        name: &str,
        path: &Path,
        limits: Limits,
    ) -> Result<LoadedAddon<B>, LoadError> {
        let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let invalid = |message: String| LoadError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let component = cache::compile_cached(&self.engine, self.cache_dir.as_deref(), &bytes)
            .map_err(|e| invalid(format!("{e:#}")))?;
        // The version decides which imports and exports to expect, so it
        // is read first: a component of an unknown version is refused
        // naming it, not with a linker error about a missing import.
        let version =
            ApiVersion::of(&component, &self.engine).map_err(|source| LoadError::Version {
                path: path.to_path_buf(),
                source,
            })?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| invalid(format!("{e:#}")))?;
        let exports = Exports::new(version, &pre).map_err(|e| invalid(format!("{e:#}")))?;
        Ok(LoadedAddon {
            name: Arc::from(name),
            engine: self.engine.clone(),
            pre,
            version,
            exports: Arc::new(exports),
            limits,
            content_hash: cache::content_hash(&bytes),
        })
    }
}

fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("pulse-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .expect("spawning the epoch thread");
}

/// Per-call state of a store: the sandboxed WASI context and the ORM backend.
pub struct HostState<B> {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: CallLimits,
    stdout: MemoryOutputPipe,
    stderr: MemoryOutputPipe,
    addon: Arc<str>,
    orm: B,
    /// The context of the method being called (empty for hooks and
    /// routes): what an addon built against `pulse:addon@0.1.0`, which
    /// cannot pass one, makes its ORM calls with.
    context: Context,
    /// Whether the guest is inside one of the host's own imports (the ORM,
    /// outbound HTTP): those are bounded on their own, and the call they
    /// hold must come back to be rolled back or committed; a guest blocked
    /// anywhere else (a WASI sleep or poll) is stopped at its deadline.
    in_host_call: Arc<AtomicBool>,
    /// Lines logged through the `log` import in this call.
    log_lines: u32,
}

impl<B> HostState<B> {
    /// Marks the guest as inside a host import until the guard drops.
    fn host_call(&self) -> HostCallGuard {
        self.in_host_call.store(true, Ordering::SeqCst);
        HostCallGuard(self.in_host_call.clone())
    }

    /// Writes a line the addon logs to the host's log, under its name,
    /// cut at [`MAX_LOG_LINE`] bytes; past [`MAX_LOG_LINES_PER_CALL`]
    /// lines in one call, dropped.
    fn log_line(&mut self, level: LogLevel, mut message: String) {
        if !self.may_log() {
            return;
        }
        if message.len() > MAX_LOG_LINE {
            let total = message.len();
            let cut = (0..=MAX_LOG_LINE)
                .rev()
                .find(|i| message.is_char_boundary(*i))
                .unwrap_or(0);
            message.truncate(cut);
            message.push_str(&format!(
                "… (cut: {total} bytes, more than the {MAX_LOG_LINE} a line may hold)"
            ));
        }
        let addon = &*self.addon;
        match level {
            LogLevel::Trace => tracing::trace!(addon, "{message}"),
            LogLevel::Debug => tracing::debug!(addon, "{message}"),
            LogLevel::Info => tracing::info!(addon, "{message}"),
            LogLevel::Warn => tracing::warn!(addon, "{message}"),
            LogLevel::Error => tracing::error!(addon, "{message}"),
        }
    }

    /// Counts one line the addon logs; false once it logged its share.
    fn may_log(&mut self) -> bool {
        self.log_lines = self.log_lines.saturating_add(1);
        if self.log_lines == MAX_LOG_LINES_PER_CALL + 1 {
            tracing::warn!(
                addon = %self.addon,
                "addon '{}' logged more than {MAX_LOG_LINES_PER_CALL} lines in one call; the rest of this call's lines are dropped",
                self.addon
            );
        }
        self.log_lines <= MAX_LOG_LINES_PER_CALL
    }
}

/// The level of a line an addon logs (every version has the same five).
#[derive(Debug, Clone, Copy)]
enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// Clears [`HostState::in_host_call`] when a host import returns (or is dropped).
struct HostCallGuard(Arc<AtomicBool>);

impl Drop for HostCallGuard {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// The memory and table limits of one store: its own caps, and its share
/// of the call tree's memory budget, given back when the store goes.
struct CallLimits {
    own: StoreLimits,
    /// The memory the call tree's instances hold (shared with the others).
    tree: Option<Arc<AtomicUsize>>,
    /// What this store added to `tree`.
    held: usize,
    /// The tree's budget as this store sees it.
    budget: usize,
}

impl wasmtime::ResourceLimiter for CallLimits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if !self.own.memory_growing(current, desired, maximum)? {
            return Ok(false);
        }
        let Some(tree) = &self.tree else {
            return Ok(true);
        };
        let more = desired.saturating_sub(current);
        let before = tree.fetch_add(more, Ordering::SeqCst);
        if before.saturating_add(more) > self.budget {
            tree.fetch_sub(more, Ordering::SeqCst);
            wasmtime::bail!("{CALL_TREE_BUDGET_SPENT} ({} bytes)", self.budget);
        }
        self.held += more;
        Ok(true)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.own.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.own.table_growing(current, desired, maximum)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.own.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.own.instances()
    }

    fn tables(&self) -> usize {
        self.own.tables()
    }

    fn memories(&self) -> usize {
        self.own.memories()
    }
}

impl Drop for CallLimits {
    fn drop(&mut self) {
        if let Some(tree) = &self.tree {
            tree.fetch_sub(self.held, Ordering::SeqCst);
        }
    }
}

impl<B: Send> WasiView for HostState<B> {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// The largest answer a method may give, in bytes.
pub const MAX_ANSWER: usize = 8 << 20;

/// The most an addon may print to stdout or stderr in one call; the rest is dropped.
const OUTPUT_CAPTURE: usize = 64 << 10;

/// A compiled, pre-linked addon component, ready to instantiate per call.
/// Cloning is cheap (the compiled code is shared).
pub struct LoadedAddon<B: OrmBackend> {
    name: Arc<str>,
    engine: Engine,
    pre: InstancePre<HostState<B>>,
    version: ApiVersion,
    exports: Arc<Exports>,
    limits: Limits,
    content_hash: String,
}

impl<B: OrmBackend> Clone for LoadedAddon<B> {
    fn clone(&self) -> Self {
        LoadedAddon {
            name: self.name.clone(),
            engine: self.engine.clone(),
            pre: self.pre.clone(),
            version: self.version,
            exports: self.exports.clone(),
            limits: self.limits,
            content_hash: self.content_hash.clone(),
        }
    }
}

impl<B: OrmBackend> std::fmt::Debug for LoadedAddon<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedAddon")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// An addon's answer to a call, together with the backend the call borrowed.
pub type Answer<T, B> = (Result<T, CallError>, B);

impl<B: OrmBackend> LoadedAddon<B> {
    /// The addon's technical name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The version of `pulse:addon` the component is built against.
    pub fn api_version(&self) -> ApiVersion {
        self.version
    }

    /// SHA-256 of the component's bytes, hex.
    pub fn content_hash(&self) -> &str {
        &self.content_hash
    }

    /// Asks the addon to describe its models, fields and methods.
    pub async fn describe(&self, orm: B) -> Answer<Description, B> {
        let addon = self.name.clone();
        let (answer, orm) = self
            .run(orm, Context::default(), async |instance, store| {
                self.exports.describe(store, instance).await.map(Ok)
            })
            .await;
        let answer = answer.and_then(|text| {
            serde_json::from_str::<Description>(&text).map_err(|e| CallError::BadAnswer {
                addon: addon.to_string(),
                message: format!("describe() returned invalid JSON: {e}"),
            })
        });
        (answer, orm)
    }

    /// Runs a lifecycle hook.
    pub async fn run_hook(&self, hook: Hook<'_>, orm: B) -> Answer<(), B> {
        self.run(orm, Context::default(), async |instance, store| {
            self.exports.run_hook(store, instance, hook).await
        })
        .await
    }

    /// Calls `model.method(ids, *args, **kwargs)` with its context; `args`
    /// and `kwargs` are JSON text. Returns the method's JSON result. An
    /// addon built against `pulse:addon@0.1.0` does not see the context.
    pub async fn call_method(&self, orm: B, call: &MethodCall<'_>) -> Answer<String, B> {
        let (model, method) = (call.model, call.method);
        let (answer, orm) = self
            .run(orm, call.context.clone(), async |instance, store| {
                self.exports.call_method(store, instance, call).await
            })
            .await;
        // An answer is a reply to one request: a huge one is an addon bug
        // (or an attack on the caller), not something to pass on.
        let answer = answer.and_then(|text| {
            if text.len() > MAX_ANSWER {
                Err(CallError::BadAnswer {
                    addon: self.name.to_string(),
                    message: format!(
                        "{model}.{method} returned {} bytes, more than the {MAX_ANSWER} allowed",
                        text.len()
                    ),
                })
            } else {
                Ok(text)
            }
        });
        (answer, orm)
    }

    /// Runs the addon's scheduled job `job` (a `#[cron]` function), due at
    /// `scheduled`, with `context`.
    pub async fn run_cron(
        &self,
        orm: B,
        context: &Context,
        job: &str,
        scheduled: &str,
    ) -> Answer<(), B> {
        self.run(orm, context.clone(), async |instance, store| {
            self.exports
                .run_cron(store, instance, context, job, scheduled)
                .await
        })
        .await
    }

    /// Runs the addon's route `route` for `request`, in a fresh instance.
    pub async fn handle_route(
        &self,
        orm: B,
        route: &str,
        request: RouteRequest,
    ) -> Answer<RouteResponse, B> {
        let (answer, orm) = self
            .run(orm, Context::default(), async |instance, store| {
                self.exports
                    .handle_route(store, instance, route, request)
                    .await
            })
            .await;
        let answer = answer.and_then(|response| {
            let size = response.body.len()
                + response
                    .headers
                    .iter()
                    .map(|(n, v)| n.len() + v.len())
                    .sum::<usize>();
            if size > MAX_ANSWER {
                return Err(CallError::BadAnswer {
                    addon: self.name.to_string(),
                    message: format!(
                        "route '{route}' answered {size} bytes, more than the {MAX_ANSWER} allowed"
                    ),
                });
            }
            if !(100..=599).contains(&response.status) {
                return Err(CallError::BadAnswer {
                    addon: self.name.to_string(),
                    message: format!(
                        "route '{route}' answered the status {}, which is not an HTTP status",
                        response.status
                    ),
                });
            }
            Ok(response)
        });
        (answer, orm)
    }

    /// Hands the record event `event` to the addon's `on-event`, with the
    /// context of the operation that caused it.
    pub async fn on_event(&self, orm: B, context: &Context, event: &RecordEvent) -> Answer<(), B> {
        self.run(orm, context.clone(), async |instance, store| {
            self.exports.on_event(store, instance, context, event).await
        })
        .await
    }

    /// Asks the addon's authentication policy about `attempt`.
    pub async fn check_login(&self, orm: B, attempt: &LoginAttempt) -> Answer<LoginDecision, B> {
        self.run(orm, Context::default(), async |instance, store| {
            self.exports.check_login(store, instance, attempt).await
        })
        .await
    }

    /// Instantiates the component in a fresh store and drops it, running
    /// no code of the addon's: what every call pays before the addon runs
    /// (the benchmarks measure it).
    pub async fn instantiate(&self, orm: B) -> Answer<(), B> {
        self.run(orm, Context::default(), async |_, _| Ok(Ok(())))
            .await
    }

    /// Instantiates the component in a fresh, sandboxed store and runs `f`.
    async fn run<T>(
        &self,
        orm: B,
        context: Context,
        f: impl AsyncFnOnce(
            &Instance,
            &mut Store<HostState<B>>,
        ) -> wasmtime::Result<Result<T, Exception>>,
    ) -> Answer<T, B> {
        let stdout = MemoryOutputPipe::new(OUTPUT_CAPTURE);
        let stderr = MemoryOutputPipe::new(OUTPUT_CAPTURE);
        let wasi = WasiCtxBuilder::new()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let tree = orm.call_tree_memory();
        let in_host_call = Arc::new(AtomicBool::new(false));
        let state = HostState {
            wasi,
            table: ResourceTable::new(),
            limits: CallLimits {
                own: StoreLimitsBuilder::new()
                    .memory_size(self.limits.memory_bytes)
                    .trap_on_grow_failure(true)
                    .build(),
                tree,
                held: 0,
                budget: MAX_CALL_TREE_MEMORY.max(self.limits.memory_bytes),
            },
            stdout,
            stderr,
            addon: self.name.clone(),
            orm,
            context,
            in_host_call: in_host_call.clone(),
            log_lines: 0,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        // Every epoch tick the guest yields to the executor, so a busy addon
        // never holds a worker thread; past its deadline it is interrupted.
        let started = std::time::Instant::now();
        let deadline = self.limits.deadline;
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            Ok(if started.elapsed() >= deadline {
                wasmtime::UpdateDeadline::Interrupt
            } else {
                wasmtime::UpdateDeadline::Yield(1)
            })
        });

        // Epoch interruption stops a guest that runs; one blocked in a
        // WASI call (a sleep, a poll) runs no wasm to interrupt, so the
        // call is also raced against its deadline. A guest inside the
        // host's own imports is left to come back (they are bounded, and
        // the transaction they hold must come back with them); it is then
        // interrupted at its next epoch check.
        let call = async {
            match self.pre.instantiate_async(&mut store).await {
                Ok(instance) => f(&instance, &mut store).await,
                Err(e) => Err(e),
            }
        };
        let outcome = {
            let mut call = std::pin::pin!(call);
            let mut wake = tokio::time::Instant::from_std(started + deadline);
            loop {
                tokio::select! {
                    outcome = &mut call => break Some(outcome),
                    () = tokio::time::sleep_until(wake) => {
                        if !in_host_call.load(Ordering::SeqCst) {
                            break None;
                        }
                        wake += EPOCH_TICK;
                    }
                }
            }
        };
        let state = store.into_data();
        self.forward_output(&state);
        let result = match outcome {
            Some(Ok(Ok(value))) => Ok(value),
            Some(Ok(Err(addon_error))) => Err(CallError::Addon(addon_error)),
            Some(Err(trap)) => Err(self.classify(trap, &state.stderr.contents())),
            None => Err(CallError::Timeout {
                addon: self.name.to_string(),
                limit: self.limits.deadline,
            }),
        };
        if let Err(e) = &result
            && e.addon().is_some()
        {
            tracing::warn!(addon = %self.name, error = %e, "call into addon failed");
        }
        (result, state.orm)
    }

    /// Names what went wrong: the trap kind, and the addon's last words on
    /// stderr (a Rust panic message), without the wasm backtrace (logged).
    fn classify(&self, error: wasmtime::Error, stderr: &[u8]) -> CallError {
        let addon = self.name.to_string();
        if let Some(trap) = error.downcast_ref::<wasmtime::Trap>() {
            match trap {
                wasmtime::Trap::Interrupt => {
                    return CallError::Timeout {
                        addon,
                        limit: self.limits.deadline,
                    };
                }
                wasmtime::Trap::AllocationTooLarge => {
                    return CallError::OutOfMemory {
                        addon,
                        limit: self.limits.memory_bytes,
                    };
                }
                _ => {}
            }
        }
        let message = format!("{error:#}");
        if message.contains(CALL_TREE_BUDGET_SPENT) {
            return CallError::CallTreeOutOfMemory {
                addon,
                limit: MAX_CALL_TREE_MEMORY.max(self.limits.memory_bytes),
            };
        }
        if message.contains("forcing trap when growing memory")
            || message.contains("memory minimum size")
        {
            return CallError::OutOfMemory {
                addon,
                limit: self.limits.memory_bytes,
            };
        }
        tracing::debug!(addon = %self.name, "trap details: {message}");
        let kind = error
            .downcast_ref::<wasmtime::Trap>()
            .map(|t| t.to_string())
            .unwrap_or_else(|| error.root_cause().to_string());
        let said = String::from_utf8_lossy(stderr);
        let said: Vec<&str> = said.lines().filter(|l| !l.trim().is_empty()).collect();
        let message = match said.len() {
            0 => kind,
            n => {
                let mut last = said[n.saturating_sub(2)..].join(" ");
                if last.len() > 400 {
                    let cut = (0..=400)
                        .rev()
                        .find(|i| last.is_char_boundary(*i))
                        .unwrap_or(0);
                    last.truncate(cut);
                    last.push('…');
                }
                format!("{kind} ({last})")
            }
        };
        CallError::Trap { addon, message }
    }

    fn forward_output(&self, state: &HostState<B>) {
        for (stream, pipe) in [("stdout", &state.stdout), ("stderr", &state.stderr)] {
            let bytes = pipe.contents();
            if bytes.is_empty() {
                continue;
            }
            for line in String::from_utf8_lossy(&bytes).lines() {
                tracing::info!(addon = %state.addon, stream, "{line}");
            }
        }
    }
}

/// An HTTP request for an addon route.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The request path.
    pub path: String,
    /// The pattern's parameters, in order.
    pub params: Vec<(String, String)>,
    /// The query string without `?`.
    pub query: String,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// The authenticated user, if any.
    pub uid: Option<i64>,
}

/// A route's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteResponse {
    /// The HTTP status (100 to 599).
    pub status: u16,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// A record event, as a subscriber receives it (`pulse:addon@0.2.0`'s
/// `events` export).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordEvent {
    /// The subscription's handler.
    pub handler: String,
    /// The model.
    pub model: String,
    /// The operation.
    pub kind: EventKind,
    /// The records concerned.
    pub ids: Vec<i64>,
    /// For a write: the fields written.
    pub fields: Vec<String>,
    /// The values before, as a JSON array of records.
    pub old_values: String,
    /// The values after, as a JSON array of records.
    pub new_values: String,
    /// The user who made the change.
    pub uid: i64,
}

/// A lifecycle hook to run.
#[derive(Debug, Clone, Copy)]
pub enum Hook<'a> {
    /// Before tables exist (install).
    PreInit,
    /// After tables and data exist (install).
    PostInit,
    /// On upgrade, from one version to another.
    Migrate {
        /// The installed version.
        from: &'a str,
        /// The version being installed.
        to: &'a str,
    },
    /// Before the addon's tables are dropped.
    Uninstall,
}

impl std::fmt::Display for Hook<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Hook::PreInit => f.write_str("pre-init"),
            Hook::PostInit => f.write_str("post-init"),
            Hook::Migrate { .. } => f.write_str("migrate"),
            Hook::Uninstall => f.write_str("uninstall"),
        }
    }
}
