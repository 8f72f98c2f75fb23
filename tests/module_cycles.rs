//! No module of the host's library crates imports, directly or through
//! others, a module that imports it back (issue 17; STYLE.md, habit 14).
//!
//! The check reads the sources, not the compiler's view: each crate's
//! module tree is followed from `src/lib.rs` through its `mod NAME;`
//! declarations (subfolders included), and every `crate::a::b` or
//! `super::x` path in a module's file, in `use` lines and inline, is an
//! edge to the deepest module it names. A path to an item the crate root
//! re-exports (`pub use backend::TxOrm;`, then `crate::TxOrm`) is an edge to
//! the module that defines it; paths to items the root itself defines
//! (`crate::Host`) are no edge: the root is not a module anyone imports.
//! Comments (doc links included) and string literals are skipped. An inline
//! `mod x { … }` block (a `mod tests`) is a module of its own, a child of
//! its file's: its parent does not import it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The crates whose module graphs must have no cycle, relative to the
/// workspace root.
const CRATES: [&str; 3] = ["host/orm", "host/core", "host/api"];

#[test]
fn no_module_imports_a_module_that_imports_it_back() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut report = String::new();
    for krate in CRATES {
        let graph = ModuleGraph::read(&root.join(krate))
            .unwrap_or_else(|e| panic!("cannot read the modules of {krate}: {e}"));
        assert!(
            graph.modules.len() > 1,
            "{krate}: found {} module(s); is the crate where this test looks?",
            graph.modules.len()
        );
        for (group, cycle) in graph.cycles() {
            report.push_str(&format!(
                "{krate}: {} import each other, e.g. {}\n",
                group.join(", "),
                graph.describe(&cycle)
            ));
        }
    }
    assert!(
        report.is_empty(),
        "import cycles between modules:\n{report}"
    );
}

/// The checker itself finds a cycle through three modules, a `super::`
/// edge and a grouped `use`, and ignores comments, strings and items of
/// the crate root.
#[test]
fn the_checker_finds_a_planted_cycle() {
    let dir = std::env::temp_dir().join(format!("pulse-module-cycles-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let write = |path: &str, text: &str| {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "src/lib.rs",
        "mod a;\npub mod b;\nmod leaf;\npub use leaf::Leaf;\npub struct Host;\n",
    );
    write(
        "src/a.rs",
        "use crate::{Host, b::inner};\n// crate::leaf in a comment\n",
    );
    write(
        "src/b.rs",
        "pub(crate) mod inner;\nfn f() { let _ = \"crate::a\"; let _ = crate::Leaf; }\n",
    );
    write(
        "src/b/inner.rs",
        "fn g() { super::super::a::x(); crate::leaf::y(); }\n",
    );
    write(
        "src/leaf.rs",
        "use crate::Host;\npub struct Leaf;\nmod tests { use crate::a; }\n",
    );
    let graph = ModuleGraph::read(&dir).unwrap();
    let cycles = graph.cycles();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(
        graph.modules.iter().map(String::as_str).collect::<Vec<_>>(),
        ["a", "b", "b::inner", "leaf", "leaf::tests"]
    );
    assert_eq!(cycles.len(), 1, "{cycles:?}");
    assert_eq!(cycles[0].0, ["a", "b::inner"]);
    let described = graph.describe(&cycles[0].1);
    assert!(described.starts_with("a -> b::inner -> a"), "{described}");
    assert!(!graph.edges["b"].contains_key("a"), "a string is no edge");
    assert!(
        !graph.edges["a"].contains_key("leaf"),
        "a comment is no edge"
    );
    assert!(
        graph.edges["b"].contains_key("leaf"),
        "a re-exported item is an edge to its module"
    );
    assert!(
        graph.edges["leaf::tests"].contains_key("a") && !graph.edges["leaf"].contains_key("a"),
        "an inline test module's imports are its own"
    );
}

/// Modules by path (`a`, `a::b`), and the edges between them, each with
/// where it was seen first.
#[derive(Debug, Default)]
struct ModuleGraph {
    modules: BTreeSet<String>,
    edges: BTreeMap<String, BTreeMap<String, String>>,
}

impl ModuleGraph {
    /// The graph of the crate in `dir`.
    fn read(dir: &Path) -> Result<ModuleGraph, String> {
        let lib = dir.join("src/lib.rs");
        let mut files: Vec<(Vec<String>, PathBuf)> = Vec::new();
        let mut queue = vec![(Vec::<String>::new(), lib)];
        while let Some((path, file)) = queue.pop() {
            let text =
                std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let children_dir = if path.is_empty() || file.file_name().is_some_and(|n| n == "mod.rs")
            {
                file.parent().unwrap().to_path_buf()
            } else {
                file.with_extension("")
            };
            for child in declared_modules(&strip(&text)) {
                let flat = children_dir.join(format!("{child}.rs"));
                let nested = children_dir.join(&child).join("mod.rs");
                let found = if flat.exists() {
                    flat
                } else if nested.exists() {
                    nested
                } else {
                    return Err(format!(
                        "{}: `mod {child};` has no file ({} or {})",
                        file.display(),
                        flat.display(),
                        nested.display()
                    ));
                };
                let mut child_path = path.clone();
                child_path.push(child);
                queue.push((child_path, found));
            }
            files.push((path, file));
        }
        let mut graph = ModuleGraph::default();
        for (path, _) in &files {
            if !path.is_empty() {
                graph.modules.insert(path.join("::"));
            }
        }
        // What the root re-exports: item name -> the module it comes from.
        let root_text = strip(&std::fs::read_to_string(dir.join("src/lib.rs")).unwrap());
        let mut reexports: BTreeMap<String, String> = BTreeMap::new();
        let root_chars: Vec<char> = root_text.chars().collect();
        let mut at = 0;
        while let Some(found) = root_text[at..].find("pub use ") {
            let start = at + found;
            let i = root_text[..start].chars().count() + "pub use ".len();
            for path in tree(&root_chars, i, Vec::new()) {
                if let (Some(name), Some(module)) = (path.last(), graph.deepest_module(&path))
                    && path.len() > module.split("::").count()
                {
                    reexports.insert(name.clone(), module);
                }
            }
            at = start + "pub use ".len();
        }
        let files_text: Vec<_> = files
            .iter()
            .filter(|(path, _)| !path.is_empty())
            .map(|(path, file)| {
                let text = strip(&std::fs::read_to_string(file).unwrap());
                (path, file, referenced_paths(&text, path))
            })
            .collect();
        for (path, _, references) in &files_text {
            for (_, inline, _) in references {
                if !inline.is_empty() {
                    let mut module = path.to_vec();
                    module.extend(inline.iter().cloned());
                    graph.modules.insert(module.join("::"));
                }
            }
        }
        for (path, file, references) in files_text {
            for (line, inline, target) in references {
                let mut module = path.clone();
                module.extend(inline);
                let from = module.join("::");
                let to = match graph.deepest_module(&target) {
                    Some(to) => Some(to),
                    None if target.len() > 1 => None,
                    None => target.first().and_then(|name| reexports.get(name).cloned()),
                };
                if let Some(to) = to
                    && to != from
                {
                    let place = format!("{}:{line}", file.strip_prefix(dir).unwrap().display());
                    graph
                        .edges
                        .entry(from.clone())
                        .or_default()
                        .entry(to)
                        .or_insert(place);
                }
            }
        }
        for module in &graph.modules {
            graph.edges.entry(module.clone()).or_default();
        }
        Ok(graph)
    }

    /// The deepest known module `path` (absolute segments) starts with.
    fn deepest_module(&self, path: &[String]) -> Option<String> {
        (1..=path.len())
            .rev()
            .map(|n| path[..n].join("::"))
            .find(|p| self.modules.contains(p))
    }

    /// Each group of more than one module that reach each other, with one
    /// cycle through it (its modules in order, the first repeated at the end).
    fn cycles(&self) -> Vec<(Vec<String>, Vec<String>)> {
        let mut cycles = Vec::new();
        let mut done: BTreeSet<&String> = BTreeSet::new();
        for start in &self.modules {
            if done.contains(start) {
                continue;
            }
            let group: BTreeSet<&String> = self
                .reachable(start)
                .into_iter()
                .filter(|m| self.reachable(m).contains(start))
                .collect();
            done.extend(group.iter().copied());
            if group.len() > 1 {
                let cycle = self.cycle_through(start, &group);
                cycles.push((group.into_iter().cloned().collect(), cycle));
            }
        }
        cycles
    }

    fn reachable<'a>(&'a self, from: &'a String) -> BTreeSet<&'a String> {
        let mut seen = BTreeSet::from([from]);
        let mut stack = vec![from];
        while let Some(m) = stack.pop() {
            for next in self.edges.get(m).into_iter().flat_map(BTreeMap::keys) {
                if seen.insert(next) {
                    stack.push(next);
                }
            }
        }
        seen
    }

    /// A shortest way from `start` back to itself inside `group`.
    fn cycle_through(&self, start: &String, group: &BTreeSet<&String>) -> Vec<String> {
        let mut previous: BTreeMap<&String, &String> = BTreeMap::new();
        let mut frontier = std::collections::VecDeque::from([start]);
        while let Some(m) = frontier.pop_front() {
            for next in self.edges[m].keys() {
                if !group.contains(next) {
                    continue;
                }
                if next == start {
                    let mut way = vec![start.clone(), m.clone()];
                    let mut at = m;
                    while at != start {
                        at = previous[at];
                        way.push(at.clone());
                    }
                    way.reverse();
                    return way;
                }
                if !previous.contains_key(next) {
                    previous.insert(next, m);
                    frontier.push_back(next);
                }
            }
        }
        unreachable!("{start} is in a group it cannot reach again")
    }

    /// `a -> b -> a` with where each edge is.
    fn describe(&self, cycle: &[String]) -> String {
        let way = cycle.join(" -> ");
        let wheres: Vec<String> = cycle
            .windows(2)
            .map(|w| format!("{} uses {} at {}", w[0], w[1], self.edges[&w[0]][&w[1]]))
            .collect();
        format!("{way}  ({})", wheres.join("; "))
    }
}

/// The names of `mod NAME;` declarations (not inline `mod NAME { … }`).
fn declared_modules(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let words: Vec<&str> = line
            .split(|c: char| c.is_whitespace())
            .filter(|w| !w.is_empty())
            .collect();
        if let Some(i) = words.iter().position(|w| *w == "mod")
            && words[..i]
                .iter()
                .all(|w| w.starts_with("pub") || w.starts_with('#'))
            && let Some(name) = words.get(i + 1)
            && let Some(name) = name.strip_suffix(';')
        {
            out.push(name.to_string());
        }
    }
    out
}

/// Every `crate::…` and `super::…` path in `text` (of the module at
/// `module`), as absolute segments, with its line and the inline modules
/// (`mod tests { … }`) it stands in; grouped `use` lines
/// (`crate::{a, b::{c, d}}`) give one path per leaf.
fn referenced_paths(text: &str, module: &[String]) -> Vec<(usize, Vec<String>, Vec<String>)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    // Inline `mod x {` blocks open a nested module for `super::`.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut line = 1;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
        }
        if c == '{' {
            depth += 1;
        }
        if c == '}' {
            depth = depth.saturating_sub(1);
            if inline.last().is_some_and(|(_, d)| *d == depth) {
                inline.pop();
            }
        }
        let starts_word =
            i == 0 || !(chars[i - 1].is_alphanumeric() || "_$:".contains(chars[i - 1]));
        if starts_word && word_at(&chars, i, "mod") {
            let (name, next) = ident(&chars, skip_space(&chars, i + 3));
            let after = skip_space(&chars, next);
            if !name.is_empty() && chars.get(after) == Some(&'{') {
                inline.push((name, depth));
            }
        }
        if starts_word && (word_at(&chars, i, "crate::") || word_at(&chars, i, "super::")) {
            let mut base: Vec<String> = module.to_vec();
            base.extend(inline.iter().map(|(n, _)| n.clone()));
            let mut j = i;
            if word_at(&chars, i, "crate::") {
                base.clear();
                j += "crate::".len();
            } else {
                while word_at(&chars, j, "super::") {
                    base.pop();
                    j += "super::".len();
                }
            }
            let inside: Vec<String> = inline.iter().map(|(n, _)| n.clone()).collect();
            for path in tree(&chars, j, base) {
                out.push((line, inside.clone(), path));
            }
        }
        i += 1;
    }
    out
}

/// The paths of a use tree starting at `i` (`a::b`, `{a, b::{c}}`), each
/// prefixed by `base`.
fn tree(chars: &[char], i: usize, base: Vec<String>) -> Vec<Vec<String>> {
    let i = skip_space(chars, i);
    if chars.get(i) == Some(&'{') {
        let mut out = Vec::new();
        let mut j = i + 1;
        loop {
            j = skip_space(chars, j);
            match chars.get(j) {
                None | Some('}') => return out,
                Some(',') => j += 1,
                _ => {
                    out.extend(tree(chars, j, base.clone()));
                    // Skip this item, nested groups included.
                    let mut nesting = 0;
                    while let Some(&c) = chars.get(j) {
                        match c {
                            '{' => nesting += 1,
                            '}' if nesting == 0 => break,
                            '}' => nesting -= 1,
                            ',' if nesting == 0 => break,
                            _ => {}
                        }
                        j += 1;
                    }
                }
            }
        }
    }
    let (name, next) = ident(chars, i);
    if name.is_empty() || name == "self" {
        return vec![base];
    }
    let mut path = base;
    path.push(name);
    if chars.get(next) == Some(&':') && chars.get(next + 1) == Some(&':') {
        tree(chars, next + 2, path)
    } else {
        vec![path]
    }
}

fn word_at(chars: &[char], i: usize, word: &str) -> bool {
    word.chars()
        .enumerate()
        .all(|(k, w)| chars.get(i + k) == Some(&w))
}

fn skip_space(chars: &[char], mut i: usize) -> usize {
    while chars.get(i).is_some_and(|c| c.is_whitespace()) {
        i += 1;
    }
    i
}

fn ident(chars: &[char], mut i: usize) -> (String, usize) {
    let mut name = String::new();
    while let Some(&c) = chars.get(i) {
        if c.is_alphanumeric() || c == '_' {
            name.push(c);
            i += 1;
        } else {
            break;
        }
    }
    (name, i)
}

/// `text` with comments and the insides of string and character literals
/// blanked out (newlines kept, so lines still count).
fn strip(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |out: &mut String, c: char| out.push(if c == '\n' { '\n' } else { ' ' });
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
                out.push(' ');
            }
        } else if c == '/' && next == Some('*') {
            let mut nesting = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    nesting += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    nesting -= 1;
                    out.push_str("  ");
                    i += 2;
                    if nesting == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
            }
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && (i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_'))
        {
            // A raw string: r"…" or r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let close: String = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            out.push_str(&" ".repeat(j + 1 - i));
            i = j + 1;
            while i < chars.len() && !word_at(&chars, i, &close) {
                blank(&mut out, chars[i]);
                i += 1;
            }
            out.push_str(&" ".repeat(close.len()));
            i += close.len();
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < chars.len() {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' {
            // A character literal ('x', '\n', '\''), not a lifetime ('a).
            let end = if next == Some('\\') {
                (i + 2..chars.len().min(i + 12)).find(|&k| chars[k] == '\'')
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match end {
                Some(end) => {
                    out.push_str(&" ".repeat(end + 1 - i));
                    i = end + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}
