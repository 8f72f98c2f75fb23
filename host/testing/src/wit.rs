//! The check that keeps a released version of the WIT contract frozen: a
//! digest of the package's parsed, normalised form (interfaces, types,
//! functions and worlds, as `wit-parser` resolves them; not comments or
//! layout), compared with the digest recorded when the version was
//! released.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wit_parser::{Function, Resolve, Type, TypeDefKind, TypeId, WorldItem, WorldKey};

/// Why a released WIT package fails its check.
#[derive(Debug)]
pub enum FrozenWit {
    /// The folder does not parse as a WIT package.
    Unreadable {
        /// The folder.
        dir: PathBuf,
        /// What the parser said.
        message: String,
    },
    /// The package parses, but is not the one released.
    Changed {
        /// The folder.
        dir: PathBuf,
        /// The package, e.g. `pulse:addon@0.1.0`.
        package: String,
        /// The digest recorded at release.
        recorded: String,
        /// The digest of what the folder holds now.
        found: String,
    },
}

impl std::fmt::Display for FrozenWit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrozenWit::Unreadable { dir, message } => {
                write!(f, "{} is not a WIT package: {message}", dir.display())
            }
            FrozenWit::Changed {
                dir,
                package,
                recorded,
                found,
            } => write!(
                f,
                "the released WIT package {package} ({}) changed: its digest is {found}, recorded {recorded}. \
                 A released version is frozen; change the current version instead",
                dir.display()
            ),
        }
    }
}

/// Checks that the WIT package in `dir` is still the one whose digest was
/// recorded as `recorded`; answers the package's name.
pub fn check_frozen(dir: &Path, recorded: &str) -> Result<String, FrozenWit> {
    let (package, found) = wit_digest(dir)?;
    if found != recorded {
        return Err(FrozenWit::Changed {
            dir: dir.to_path_buf(),
            package,
            recorded: recorded.to_string(),
            found,
        });
    }
    Ok(package)
}

/// The name of the WIT package in `dir` and the SHA-256 (hex) of its
/// normalised form.
pub fn wit_digest(dir: &Path) -> Result<(String, String), FrozenWit> {
    let mut resolve = Resolve::default();
    let (id, _) = resolve.push_dir(dir).map_err(|e| FrozenWit::Unreadable {
        dir: dir.to_path_buf(),
        message: format!("{e:#}"),
    })?;
    let package = &resolve.packages[id];
    let mut text = format!("package {}\n", package.name);
    for (name, interface) in &package.interfaces {
        let interface = &resolve.interfaces[*interface];
        let _ = writeln!(text, "interface {name}");
        for (name, ty) in &interface.types {
            let _ = writeln!(text, "  type {name} = {}", type_def(&resolve, *ty));
        }
        for function in interface.functions.values() {
            let _ = writeln!(text, "  {}", function_of(&resolve, function));
        }
    }
    for (name, world) in &package.worlds {
        let world = &resolve.worlds[*world];
        let _ = writeln!(text, "world {name}");
        for (way, items) in [("import", &world.imports), ("export", &world.exports)] {
            for (key, item) in items {
                let key = match key {
                    WorldKey::Name(name) => name.clone(),
                    WorldKey::Interface(id) => resolve.id_of(*id).unwrap_or_default(),
                };
                let item = match item {
                    WorldItem::Interface { .. } => "interface".to_string(),
                    WorldItem::Function(f) => function_of(&resolve, f),
                    WorldItem::Type { id, .. } => type_def(&resolve, *id),
                };
                let _ = writeln!(text, "  {way} {key}: {item}");
            }
        }
    }
    Ok((
        package.name.to_string(),
        hex::encode(Sha256::digest(text.as_bytes())),
    ))
}

fn function_of(resolve: &Resolve, function: &Function) -> String {
    let params: Vec<String> = function
        .params
        .iter()
        .map(|p| format!("{}: {}", p.name, type_of(resolve, &p.ty)))
        .collect();
    let result = function
        .result
        .as_ref()
        .map(|t| format!(" -> {}", type_of(resolve, t)))
        .unwrap_or_default();
    format!("func {}({}){result}", function.name, params.join(", "))
}

/// A type where it is used: named types by name (and owner), the others
/// spelled out.
fn type_of(resolve: &Resolve, ty: &Type) -> String {
    match ty {
        Type::Id(id) => {
            let def = &resolve.types[*id];
            match &def.name {
                Some(name) => {
                    let owner = match def.owner {
                        wit_parser::TypeOwner::Interface(i) => resolve.id_of(i).unwrap_or_default(),
                        wit_parser::TypeOwner::World(w) => resolve.worlds[w].name.clone(),
                        wit_parser::TypeOwner::None => String::new(),
                    };
                    format!("{owner}.{name}")
                }
                None => type_def(resolve, *id),
            }
        }
        other => format!("{other:?}").to_lowercase(),
    }
}

/// `kind { a, b }`.
fn braced(kind: &str, items: impl Iterator<Item = String>) -> String {
    format!("{kind} {{ {} }}", items.collect::<Vec<_>>().join(", "))
}

/// A type's definition.
fn type_def(resolve: &Resolve, id: TypeId) -> String {
    let of = |t: &Type| type_of(resolve, t);
    let maybe = |t: &Option<Type>| t.as_ref().map(of).unwrap_or_else(|| "_".into());
    match &resolve.types[id].kind {
        TypeDefKind::Record(r) => braced(
            "record",
            r.fields
                .iter()
                .map(|f| format!("{}: {}", f.name, of(&f.ty))),
        ),
        TypeDefKind::Variant(v) => braced(
            "variant",
            v.cases
                .iter()
                .map(|c| format!("{}({})", c.name, maybe(&c.ty))),
        ),
        TypeDefKind::Enum(e) => braced("enum", e.cases.iter().map(|c| c.name.clone())),
        TypeDefKind::Flags(f) => braced("flags", f.flags.iter().map(|c| c.name.clone())),
        TypeDefKind::Tuple(t) => {
            let types: Vec<String> = t.types.iter().map(of).collect();
            format!("tuple<{}>", types.join(", "))
        }
        TypeDefKind::Option(t) => format!("option<{}>", of(t)),
        TypeDefKind::Result(r) => format!("result<{}, {}>", maybe(&r.ok), maybe(&r.err)),
        TypeDefKind::List(t) => format!("list<{}>", of(t)),
        TypeDefKind::Map(k, v) => format!("map<{}, {}>", of(k), of(v)),
        TypeDefKind::FixedLengthList(t, n) => format!("list<{}, {n}>", of(t)),
        TypeDefKind::Future(t) => format!("future<{}>", maybe(t)),
        TypeDefKind::Stream(t) => format!("stream<{}>", maybe(t)),
        TypeDefKind::Type(t) => of(t),
        TypeDefKind::Resource => "resource".into(),
        TypeDefKind::Handle(wit_parser::Handle::Own(t)) => {
            format!("own<{}>", type_of(resolve, &Type::Id(*t)))
        }
        TypeDefKind::Handle(wit_parser::Handle::Borrow(t)) => {
            format!("borrow<{}>", type_of(resolve, &Type::Id(*t)))
        }
        TypeDefKind::Unknown => "unknown".into(),
    }
}
