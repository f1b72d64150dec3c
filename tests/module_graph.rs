//! The module import graph of `src/` has no cycle (GUIDE: "No module imports another that
//! imports it back").
//!
//! The test reads every `src/**/*.rs` file of the library, builds the graph of which module
//! refers to which, and fails listing each cycle it finds. Run it alone to see the graph:
//!
//! ```text
//! cargo test --test module_graph -- --nocapture
//! ```
//!
//! # How the graph is built
//!
//! - A node is a file module: `src/lib.rs` is `crate`, `src/a.rs` and `src/a/mod.rs` are `a`,
//!   `src/a/b.rs` is `a::b`. Inline modules (`mod tests { ... }`) belong to their file's node,
//!   but `super::` inside them is resolved from the inline module (so `use super::*` in a
//!   file's `mod tests` is the file itself, not its parent).
//! - Edges come from every path that starts with `crate::`, `super::` or `self::`, in `use`
//!   trees (`use crate::a::{b, c::{self, D}}`) and in expressions and types
//!   (`crate::geo::open(..)`), and from paths that start with a name a `use` bound to a module
//!   (`use crate::config; config::compile::f()`; the `use` that only binds the name is no
//!   edge by itself). Comments and string literals are skipped.
//!   Code under `#[cfg(test)]` counts like any other code: a test module that imports upward
//!   ties its module to the importer just as well.
//! - A path points at the deepest module it names (`crate::steer::trace::Trace` is
//!   `steer::trace`). A name a module re-exports (`pub use view::HealthTable` in
//!   `health/mod.rs`) points at the module that defines it, so `crate::health::HealthTable` is
//!   an edge to `health::view`, not to the `health` facade.
//!
//! # Parents and children
//!
//! A parent declaring its submodules (`mod view;`) and re-exporting their items
//! (`pub use view::HealthTable;`) is how Rust presents a module's API, not a dependency of the
//! parent's own code: neither makes an edge. Everything else does, in both directions: a
//! parent calling into a child, and a child using its parent's items (`use super::Name`). So
//! `a/mod.rs` defining a type that `a/b.rs` uses, while `a/mod.rs` calls a function of
//! `a/b.rs`, is a cycle: move the shared type into its own child module.
//!
//! `src/main.rs` is a separate crate (the binary) and is not part of the graph.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module path -> the module paths it refers to.
type Graph = BTreeMap<String, BTreeSet<String>>;

// === tokens ===

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    /// `::`
    Sep,
    /// Any other punctuation character.
    Punct(char),
}

/// Splits Rust source into identifiers and punctuation, dropping comments, whitespace,
/// string, char and number literals (a literal becomes `Punct('"')` so paths never run across
/// one).
fn tokenize(src: &str) -> Vec<Tok> {
    let b: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let is_ident_start = |c: char| c == '_' || c.is_alphabetic();
    let is_ident = |c: char| c == '_' || c.is_alphanumeric();
    while i < b.len() {
        let c = b[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && b.get(i + 1) == Some(&'/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && b.get(i + 1) == Some(&'*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == '"' {
            i += 1;
            while i < b.len() && b[i] != '"' {
                i += if b[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push(Tok::Punct('"'));
        } else if (c == 'r' || c == 'b')
            && (i == 0 || !is_ident(b[i - 1]))
            && raw_string_start(&b, i).is_some()
        {
            // r"..", r#".."#, br#".."#
            let (hashes, body) = raw_string_start(&b, i).unwrap_or((0, i));
            i = body;
            loop {
                if i >= b.len() {
                    break;
                }
                if b[i] == '"' && (0..hashes).all(|k| b.get(i + 1 + k) == Some(&'#')) {
                    i += 1 + hashes;
                    break;
                }
                i += 1;
            }
            out.push(Tok::Punct('"'));
        } else if c == '\'' {
            // A char literal ('a', '\n', '\u{1F}') or a lifetime ('a).
            if b.get(i + 1) == Some(&'\\') {
                i += 2;
                while i < b.len() && b[i] != '\'' {
                    i += 1;
                }
                i += 1;
                out.push(Tok::Punct('"'));
            } else if b.get(i + 2) == Some(&'\'') {
                i += 3;
                out.push(Tok::Punct('"'));
            } else {
                i += 1;
                while i < b.len() && is_ident(b[i]) {
                    i += 1;
                }
            }
        } else if c.is_ascii_digit() {
            while i < b.len() && (is_ident(b[i]) || b[i] == '.') {
                // Stop before `..` (ranges) and method calls on literals (`1.max(..)`).
                if b[i] == '.' && !b.get(i + 1).is_some_and(char::is_ascii_digit) {
                    break;
                }
                i += 1;
            }
            out.push(Tok::Punct('0'));
        } else if is_ident_start(c) {
            let start = i;
            while i < b.len() && is_ident(b[i]) {
                i += 1;
            }
            let word: String = b[start..i].iter().collect();
            let word = word.strip_prefix("r#").map(str::to_string).unwrap_or(word);
            out.push(Tok::Ident(word));
        } else if c == ':' && b.get(i + 1) == Some(&':') {
            out.push(Tok::Sep);
            i += 2;
        } else {
            out.push(Tok::Punct(c));
            i += 1;
        }
    }
    out
}

/// When a raw (byte) string starts at `i`: its number of `#` and the index after the opening
/// quote.
fn raw_string_start(b: &[char], i: usize) -> Option<(usize, usize)> {
    let mut j = i;
    if b.get(j) == Some(&'b') {
        j += 1;
    }
    if b.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    let mut hashes = 0;
    while b.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    (b.get(j) == Some(&'"')).then_some((hashes, j + 1))
}

// === paths ===

/// One path found in a file: where it was written and its segments.
#[derive(Debug, Clone)]
struct FoundPath {
    /// The module (file module plus inline modules) the path is written in.
    scope: Vec<String>,
    segments: Vec<String>,
    /// Written in a `pub use` / `pub(crate) use`: a re-export.
    reexport: bool,
    /// The name the `use` binds (last segment or its `as` alias); `None` outside `use`.
    binds: Option<String>,
}

/// Expands the use tree starting at `toks[*i]` (after `use`) into full paths.
fn parse_use_tree(
    toks: &[Tok],
    i: &mut usize,
    prefix: &[String],
    out: &mut Vec<(Vec<String>, String)>,
) {
    let mut path = prefix.to_vec();
    // Leading `::` (edition 2015 absolute paths) carries no information here.
    if toks.get(*i) == Some(&Tok::Sep) {
        *i += 1;
    }
    loop {
        match toks.get(*i) {
            Some(Tok::Ident(word)) => {
                path.push(word.clone());
                *i += 1;
                if toks.get(*i) == Some(&Tok::Sep) {
                    *i += 1;
                    continue;
                }
                // A leaf: `name`, `name as alias`, `self`.
                let mut bound = word.clone();
                if let Some(Tok::Ident(kw)) = toks.get(*i)
                    && kw == "as"
                {
                    if let Some(Tok::Ident(alias)) = toks.get(*i + 1) {
                        bound = alias.clone();
                    }
                    *i += 2;
                }
                if word == "self" {
                    path.pop();
                    bound = path.last().cloned().unwrap_or_default();
                }
                out.push((path, bound));
                return;
            }
            Some(Tok::Punct('*')) => {
                *i += 1;
                out.push((path, "*".into()));
                return;
            }
            Some(Tok::Punct('{')) => {
                *i += 1;
                loop {
                    match toks.get(*i) {
                        Some(Tok::Punct('}')) => {
                            *i += 1;
                            return;
                        }
                        Some(Tok::Punct(',')) => *i += 1,
                        None => return,
                        _ => parse_use_tree(toks, i, &path, out),
                    }
                }
            }
            _ => return,
        }
    }
}

/// Every path in one file's source; `file_module` is the file's module path.
fn find_paths(file_module: &[String], src: &str) -> Vec<FoundPath> {
    let toks = tokenize(src);
    let mut found = Vec::new();
    // Inline modules: (name, brace depth at which its body started).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let scope = |inline: &[(String, usize)]| {
        let mut s = file_module.to_vec();
        s.extend(inline.iter().map(|(n, _)| n.clone()));
        s
    };
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            Tok::Punct('{') => {
                depth += 1;
                i += 1;
            }
            Tok::Punct('}') => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
                i += 1;
            }
            Tok::Ident(kw) if kw == "mod" => {
                if let (Some(Tok::Ident(name)), Some(Tok::Punct('{'))) =
                    (toks.get(i + 1), toks.get(i + 2))
                {
                    depth += 1;
                    inline.push((name.clone(), depth));
                    i += 3;
                } else {
                    i += 1;
                }
            }
            Tok::Ident(kw) if kw == "use" => {
                // `pub use` / `pub(crate) use` / `pub(super) use` re-export.
                let reexport = i >= 1
                    && (toks[i - 1] == Tok::Ident("pub".into())
                        || (toks[i - 1] == Tok::Punct(')')
                            && i >= 4
                            && toks[i - 4] == Tok::Ident("pub".into())));
                i += 1;
                let mut leaves = Vec::new();
                parse_use_tree(&toks, &mut i, &[], &mut leaves);
                let here = scope(&inline);
                for (segments, bound) in leaves {
                    found.push(FoundPath {
                        scope: here.clone(),
                        segments,
                        reexport,
                        binds: Some(bound),
                    });
                }
            }
            Tok::Ident(first) => {
                // A path in an expression or type: `a::b::c`, not preceded by `::`.
                let after_sep = i >= 1 && toks[i - 1] == Tok::Sep;
                if !after_sep && toks.get(i + 1) == Some(&Tok::Sep) {
                    let mut segments = vec![first.clone()];
                    let mut j = i + 1;
                    while toks.get(j) == Some(&Tok::Sep) {
                        match toks.get(j + 1) {
                            Some(Tok::Ident(w)) => {
                                segments.push(w.clone());
                                j += 2;
                            }
                            _ => break,
                        }
                    }
                    found.push(FoundPath {
                        scope: scope(&inline),
                        segments,
                        reexport: false,
                        binds: None,
                    });
                    i = j;
                } else {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    found
}

// === graph ===

/// Names a `use` bound to a module, by (scope, name).
type Aliases = BTreeMap<(Vec<String>, String), Vec<String>>;
/// Names a module re-exports, by (module, name): the module that defines the item.
type Reexports = BTreeMap<(Vec<String>, String), Vec<String>>;

/// Where the path `segments` written in `scope` starts: the module its first segments name
/// and how many segments that took. `None` for paths outside the crate (`std::..`).
fn start_of(
    modules: &BTreeSet<Vec<String>>,
    aliases: &Aliases,
    scope: &[String],
    segments: &[String],
) -> Option<(Vec<String>, usize)> {
    match segments.first().map(String::as_str) {
        Some("crate") => Some((Vec::new(), 1)),
        Some("self") => Some((scope.to_vec(), 1)),
        Some("super") => {
            let mut at = scope.to_vec();
            let supers = segments.iter().take_while(|s| *s == "super").count();
            for _ in 0..supers {
                at.pop();
            }
            Some((at, supers))
        }
        Some(first) => {
            // A name bound by `use` in this scope or an enclosing one.
            let mut s = scope.to_vec();
            loop {
                if let Some(m) = aliases.get(&(s.clone(), first.to_string())) {
                    return Some((m.clone(), 1));
                }
                if s.pop().is_none() {
                    break;
                }
            }
            // A child module of the file module, named relative to it (`view::HealthTable`
            // in health/mod.rs).
            let mut file = scope.to_vec();
            while !file.is_empty() && !modules.contains(&file) {
                file.pop();
            }
            file.push(first.to_string());
            modules.contains(&file).then_some((file, 1))
        }
        None => None,
    }
}

/// Resolves `segments` written in `scope` to the module it names: the deepest module along
/// the path, following re-exports to the defining module. The flag says whether the whole
/// path names that module itself (`crate::config`) rather than an item in it.
fn resolve(
    modules: &BTreeSet<Vec<String>>,
    reexports: &Reexports,
    aliases: &Aliases,
    scope: &[String],
    segments: &[String],
) -> Option<(Vec<String>, bool)> {
    let (mut at, used) = start_of(modules, aliases, scope, segments)?;
    // Inline modules are not nodes: fold into their file module.
    while !at.is_empty() && !modules.contains(&at) {
        at.pop();
    }
    let rest = &segments[used..];
    for seg in rest {
        let mut next = at.clone();
        next.push(seg.clone());
        if modules.contains(&next) {
            at = next;
            continue;
        }
        // A re-exported name: follow it to the defining module (bounded, in case of loops).
        let mut hops = 0;
        while let Some(target) = reexports.get(&(at.clone(), seg.clone())) {
            if *target == at || hops > 16 {
                break;
            }
            at = target.clone();
            hops += 1;
        }
        return Some((at, false));
    }
    Some((at, true))
}

/// Builds the module graph of `files` (module path, source).
fn build_graph(files: &[(Vec<String>, String)]) -> Graph {
    let modules: BTreeSet<Vec<String>> = files.iter().map(|(m, _)| m.clone()).collect();
    let paths: Vec<(Vec<String>, Vec<FoundPath>)> = files
        .iter()
        .map(|(m, src)| (m.clone(), find_paths(m, src)))
        .collect();

    // Names bound by `use` to modules, and re-exported names, resolved to a fixed point (a
    // re-export may go through another re-export or a module alias).
    let mut aliases = Aliases::new();
    let mut reexports = Reexports::new();
    for _ in 0..8 {
        for (file, found) in &paths {
            for p in found {
                let Some(bound) = &p.binds else { continue };
                if bound == "*" {
                    continue;
                }
                let Some((target, exact)) =
                    resolve(&modules, &reexports, &aliases, &p.scope, &p.segments)
                else {
                    continue;
                };
                if exact {
                    aliases.insert((p.scope.clone(), bound.clone()), target.clone());
                }
                if p.reexport && target != *file {
                    reexports.insert((file.clone(), bound.clone()), target);
                }
            }
        }
    }

    let mut graph = Graph::new();
    for (file, found) in &paths {
        let from = name_of(file);
        graph.entry(from.clone()).or_default();
        for p in found {
            let Some((target, exact)) =
                resolve(&modules, &reexports, &aliases, &p.scope, &p.segments)
            else {
                continue;
            };
            // `use crate::config;` only names the module; the paths through the name count.
            if target == *file
                || (exact && !p.reexport && p.binds.as_ref().is_some_and(|b| b != "*"))
            {
                continue;
            }
            // A parent re-exporting its own descendants is its API, not a dependency.
            if p.reexport && target.starts_with(file) {
                continue;
            }
            graph
                .entry(from.clone())
                .or_default()
                .insert(name_of(&target));
        }
    }
    graph
}

/// `["a", "b"]` -> `a::b`; the root is `crate`.
fn name_of(module: &[String]) -> String {
    if module.is_empty() {
        "crate".into()
    } else {
        module.join("::")
    }
}

/// Every cycle of `graph`: one per strongly connected component of more than one module,
/// written as a path that returns to its start (`a -> b -> a`).
fn find_cycles(graph: &Graph) -> Vec<Vec<String>> {
    // Tarjan's algorithm, iterative enough for a few hundred modules (recursion is fine).
    struct State<'g> {
        graph: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        next: usize,
        components: Vec<Vec<&'g str>>,
    }
    fn visit<'g>(s: &mut State<'g>, v: &'g str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        let edges = s.graph.get(v).map(|e| e.iter()).into_iter().flatten();
        for w in edges {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low[v];
                s.low.insert(v, lv.min(lw));
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low[v];
                s.low.insert(v, lv.min(iw));
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w);
                if w == v {
                    break;
                }
            }
            s.components.push(component);
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        components: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    let mut cycles = Vec::new();
    for component in s.components.iter().filter(|c| c.len() > 1) {
        let members: BTreeSet<&str> = component.iter().copied().collect();
        let start = *members.iter().next().expect("non-empty component");
        cycles.push(shortest_cycle(graph, &members, start));
    }
    cycles
}

/// The shortest path from `start` back to itself inside one strongly connected component.
fn shortest_cycle(graph: &Graph, members: &BTreeSet<&str>, start: &str) -> Vec<String> {
    let mut previous: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for w in graph.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !members.contains(w) {
                continue;
            }
            if w == start {
                let mut path = vec![start.to_string()];
                let mut at = v;
                while at != start {
                    path.push(at.to_string());
                    at = previous[at];
                }
                path.push(start.to_string());
                path.reverse();
                return path;
            }
            if !previous.contains_key(w) {
                previous.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    vec![start.to_string()]
}

// === reading src/ ===

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/a/b.rs` -> `["a", "b"]`; `src/a/mod.rs` -> `["a"]`; `src/lib.rs` -> `[]`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("file under src/");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().expect("file name");
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && !(parts.is_empty() && stem == "lib") {
        parts.push(stem.to_string());
    }
    parts
}

fn crate_graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let sources: Vec<(Vec<String>, String)> = files
        .iter()
        .filter(|f| {
            f.strip_prefix(&src)
                .is_ok_and(|r| r != Path::new("main.rs"))
        })
        .map(|f| {
            let text = std::fs::read_to_string(f)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", f.display()));
            (module_of(&src, f), text)
        })
        .collect();
    build_graph(&sources)
}

#[test]
fn src_has_no_module_cycle() {
    let graph = crate_graph();
    for (from, to) in &graph {
        let to: Vec<&str> = to.iter().map(String::as_str).collect();
        println!(
            "{} -> {}",
            if from.is_empty() { "crate" } else { from },
            to.join(", ")
        );
    }
    let cycles = find_cycles(&graph);
    let listed: Vec<String> = cycles.iter().map(|c| c.join(" -> ")).collect();
    assert!(
        cycles.is_empty(),
        "module cycles in src/ (each imports the next):\n  {}",
        listed.join("\n  ")
    );
}

#[test]
fn the_graph_sees_known_edges() {
    // Guards the reader itself: if it stopped seeing paths, the cycle test would pass vacuously.
    let graph = crate_graph();
    let edges = |m: &str| graph.get(m).cloned().unwrap_or_default();
    assert!(
        edges("dns::answer").contains("steer"),
        "{:?}",
        edges("dns::answer")
    );
    assert!(
        edges("dns::answer").contains("dns::name"),
        "{:?}",
        edges("dns::answer")
    );
    assert!(
        edges("state").contains("config::model"),
        "{:?}",
        edges("state")
    );
    assert!(graph.len() > 30, "only {} modules found", graph.len());
}

// === the checker on small synthetic crates ===

fn synthetic(files: &[(&str, &str)]) -> Graph {
    let files: Vec<(Vec<String>, String)> = files
        .iter()
        .map(|(m, s)| {
            let m: Vec<String> = if m.is_empty() {
                Vec::new()
            } else {
                m.split("::").map(str::to_string).collect()
            };
            (m, s.to_string())
        })
        .collect();
    build_graph(&files)
}

fn edges(graph: &Graph, from: &str) -> Vec<String> {
    graph
        .get(from)
        .map(|e| e.iter().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn checker_finds_a_two_module_cycle() {
    let g = synthetic(&[
        ("", "pub mod a; pub mod b;"),
        ("a", "use crate::b::Thing; pub fn f() {}"),
        ("b", "pub struct Thing; fn g() { crate::a::f() }"),
    ]);
    assert_eq!(find_cycles(&g), vec![vec!["a", "b", "a"]]);
}

#[test]
fn checker_finds_a_longer_cycle_through_grouped_use_reexport_and_super() {
    let g = synthetic(&[
        (
            "",
            "pub mod state; pub mod metrics; pub mod server; pub mod config;",
        ),
        (
            "state",
            "use crate::{config::Config, metrics::{self, Counters}};",
        ),
        (
            "metrics",
            "pub struct Counters; use crate::server::Observer;",
        ),
        ("server", "mod udp; pub use udp::Observer;"),
        (
            "server::udp",
            "pub trait Observer { fn f(s: &super::super::state::Snapshot); }",
        ),
        ("config", "pub struct Config;"),
    ]);
    assert_eq!(
        find_cycles(&g),
        vec![vec!["metrics", "server::udp", "state", "metrics"]],
        "{g:?}"
    );
    // Declaring and re-exporting a child is not an edge of the parent.
    assert!(edges(&g, "server").is_empty(), "{g:?}");
}

#[test]
fn checker_finds_siblings_importing_each_other_through_super() {
    let g = synthetic(&[
        ("server", "mod udp; mod batch;"),
        (
            "server::udp",
            "use super::batch::recv; pub fn reply_len() -> usize { 0 }",
        ),
        (
            "server::batch",
            "pub fn recv() { super::udp::reply_len(); }",
        ),
    ]);
    assert_eq!(
        find_cycles(&g),
        vec![vec!["server::batch", "server::udp", "server::batch"]]
    );
}

#[test]
fn module_aliases_and_reexports_resolve_to_the_defining_module() {
    let g = synthetic(&[
        ("", "pub mod config; pub mod health; pub mod app;"),
        ("config", "pub mod compile; pub use compile::load;"),
        ("config::compile", "pub fn load() {}"),
        (
            "health",
            "mod view; pub use view::{HealthTable, SlotId as Slot};",
        ),
        ("health::view", "pub struct HealthTable; pub struct SlotId;"),
        (
            "app",
            "use crate::config; use crate::health::Slot;\n\
             fn f() { config::compile::load(); let _ = \"crate::nothing::here\"; }\n\
             // crate::not::in::comments\n\
             fn g() -> crate::health::HealthTable { todo!() }",
        ),
    ]);
    assert_eq!(edges(&g, "app"), vec!["config::compile", "health::view"]);
    assert!(edges(&g, "config").is_empty(), "{:?}", edges(&g, "config"));
    assert!(edges(&g, "health").is_empty(), "{:?}", edges(&g, "health"));
    assert!(find_cycles(&g).is_empty());
}

#[test]
fn a_parent_calling_a_child_that_uses_the_parent_is_a_cycle() {
    let g = synthetic(&[
        (
            "a",
            "mod b; pub use b::helper; pub struct T; fn f() { b::helper(); }",
        ),
        ("a::b", "use super::T; pub fn helper() {}"),
    ]);
    assert_eq!(find_cycles(&g), vec![vec!["a", "a::b", "a"]]);
    // A child using its parent's items, with the parent only re-exporting it, is not.
    let g = synthetic(&[
        ("a", "mod b; pub use b::helper; pub struct T;"),
        ("a::b", "use super::T; pub fn helper() {}"),
    ]);
    assert_eq!(edges(&g, "a::b"), vec!["a"]);
    assert!(find_cycles(&g).is_empty());
}

#[test]
fn test_modules_resolve_super_from_the_inline_module() {
    let g = synthetic(&[
        (
            "geo",
            "mod codes; #[cfg(test)] mod tests { use super::*; use super::codes::X; }",
        ),
        (
            "geo::codes",
            "pub struct X; const C: char = '{'; fn f<'a>(x: &'a str) {}",
        ),
    ]);
    assert_eq!(edges(&g, "geo"), vec!["geo::codes"]);
    assert!(edges(&g, "geo::codes").is_empty());
}
