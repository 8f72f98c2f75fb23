//! Compiled components cached on disk, keyed by the component's content
//! hash and the engine's compatibility hash, so a restart does not
//! recompile and an engine upgrade never loads a stale artifact.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// SHA-256 of `bytes`, hex.
pub fn content_hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Compiles `bytes`, or loads the artifact a previous compilation left in `cache_dir`.
pub fn compile_cached(
    engine: &Engine,
    cache_dir: Option<&Path>,
    bytes: &[u8],
) -> wasmtime::Result<Component> {
    let Some(dir) = cache_dir else {
        return Component::new(engine, bytes);
    };
    let mut hasher = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let file = dir.join(format!(
        "{}-{:016x}.cwasm",
        content_hash(bytes),
        hasher.finish()
    ));
    if file.exists() {
        // SAFETY: the file is an artifact this host wrote with
        // `precompile_component` into its own cache directory, under a name
        // that carries the engine's compatibility hash.
        #[allow(unsafe_code)]
        match unsafe { Component::deserialize_file(engine, &file) } {
            Ok(component) => return Ok(component),
            Err(e) => {
                tracing::warn!(file = %file.display(), error = %e, "ignoring a bad cache entry")
            }
        }
    }
    let artifact = engine.precompile_component(bytes)?;
    std::fs::create_dir_all(dir)?;
    // Write to a temporary name first so a concurrent reader never sees half
    // a file; the name is unique per process and per write, since several
    // hosts (or threads) may share one cache directory.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let partial = file.with_extension(format!("partial-{}-{n}", std::process::id()));
    std::fs::write(&partial, &artifact)?;
    std::fs::rename(&partial, &file)?;
    // SAFETY: as above; the artifact was produced by this engine just now.
    #[allow(unsafe_code)]
    let component = unsafe { Component::deserialize(engine, &artifact)? };
    Ok(component)
}
