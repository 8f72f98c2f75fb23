//! What the fuzz targets share: running an input on a stack the size of the
//! server's worker threads, and a small registry of related models to
//! compile domains and values against.

use std::sync::OnceLock;

use pulse_orm::Registry;
use pulse_schema::ModelSpec;

/// The stack of a tokio worker thread (tokio's default), where the server
/// decodes requests: an input that needs more would abort `pulse serve`,
/// so it must crash the target too, not pass on libFuzzer's 8 MiB main stack.
pub const WORKER_STACK: usize = 2 << 20;

/// Room for libFuzzer's crash handler when a worker's stack has overflowed.
const SIGNAL_STACK: usize = 64 << 10;

/// Runs `work` on a thread with [`WORKER_STACK`] bytes of stack. A panic
/// there aborts the process; so does a stack overflow, reported by
/// libFuzzer's crash handler (which then saves the input) on a stack of
/// its own.
pub fn on_worker_stack<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    handle_overflow_on_signal_stack();
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(WORKER_STACK)
            .spawn_scoped(scope, || {
                let _signal_stack = SignalStack::install();
                work()
            })
            .expect("spawning a worker thread")
            .join()
            .unwrap_or_else(|_| std::process::abort())
    })
}

/// libFuzzer's SIGSEGV handler runs on the faulting stack unless told
/// otherwise; on an overflowed one it cannot run, and the process dies
/// without saving the input. Rust's own overflow handler is not there:
/// libFuzzer's `main` runs instead of Rust's.
fn handle_overflow_on_signal_stack() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        for signal in [libc::SIGSEGV, libc::SIGBUS] {
            // SAFETY: reads and re-installs the handler in place, adding a flag.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(signal, std::ptr::null(), &mut action) == 0 {
                    action.sa_flags |= libc::SA_ONSTACK;
                    libc::sigaction(signal, &action, std::ptr::null_mut());
                }
            }
        }
    });
}

/// An alternate signal stack for the current thread, removed on drop.
struct SignalStack {
    _memory: Vec<u8>,
}

impl SignalStack {
    fn install() -> SignalStack {
        let mut memory = vec![0u8; SIGNAL_STACK];
        let stack = libc::stack_t {
            ss_sp: memory.as_mut_ptr().cast(),
            ss_flags: 0,
            ss_size: memory.len(),
        };
        // SAFETY: the memory outlives its use: drop disables it first.
        unsafe { libc::sigaltstack(&stack, std::ptr::null_mut()) };
        SignalStack { _memory: memory }
    }
}

impl Drop for SignalStack {
    fn drop(&mut self) {
        let stack = libc::stack_t {
            ss_sp: std::ptr::null_mut(),
            ss_flags: libc::SS_DISABLE,
            ss_size: 0,
        };
        // SAFETY: turns the alternate stack off before its memory is freed.
        unsafe { libc::sigaltstack(&stack, std::ptr::null_mut()) };
    }
}

/// The models of [`registry`]: a partner hierarchy with a company, tags,
/// every field type and a related field, so paths cross many2one,
/// one2many and many2many fields and `child_of` has a `parent_id`.
const MODELS: &str = r#"[
  {"name": "res.company", "fields": [
    {"name": "name", "type": "char", "required": true},
    {"name": "parent_id", "type": "many2one", "relation": "res.company"},
    {"name": "partner_ids", "type": "one2many", "relation": "res.partner", "inverse": "company_id"}
  ]},
  {"name": "res.partner.category", "fields": [
    {"name": "name", "type": "char"},
    {"name": "parent_id", "type": "many2one", "relation": "res.partner.category"},
    {"name": "partner_ids", "type": "many2many", "relation": "res.partner"}
  ]},
  {"name": "res.partner", "fields": [
    {"name": "name", "type": "char", "required": true},
    {"name": "ref", "type": "char", "unique": true},
    {"name": "active", "type": "boolean", "default": true},
    {"name": "color", "type": "integer"},
    {"name": "credit_limit", "type": "float", "digits": [16, 2]},
    {"name": "balance", "type": "monetary"},
    {"name": "birthday", "type": "date"},
    {"name": "last_seen", "type": "datetime"},
    {"name": "kind", "type": "selection", "selection": [["person", "Person"], ["company", "Company"]]},
    {"name": "comment", "type": "text"},
    {"name": "signature", "type": "html"},
    {"name": "properties", "type": "json"},
    {"name": "image", "type": "binary"},
    {"name": "parent_id", "type": "many2one", "relation": "res.partner", "ondelete": "cascade"},
    {"name": "child_ids", "type": "one2many", "relation": "res.partner", "inverse": "parent_id"},
    {"name": "company_id", "type": "many2one", "relation": "res.company"},
    {"name": "category_ids", "type": "many2many", "relation": "res.partner.category"},
    {"name": "company_name", "type": "char", "related": "company_id.name"}
  ]}
]"#;

/// A registry of [`MODELS`], built once.
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let specs: Vec<ModelSpec> = serde_json::from_str(MODELS).expect("the models parse");
        let mut registry = Registry::new();
        for spec in &specs {
            registry.apply(spec, "fuzz").expect("the models are valid");
        }
        registry.validate().expect("the registry is valid");
        registry
    })
}

/// The model names of [`registry`], for targets that pick one by a byte.
pub const MODEL_NAMES: [&str; 3] = ["res.partner", "res.company", "res.partner.category"];
