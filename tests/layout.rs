//! The layout the README describes, held by a test: at most a dozen files
//! at the top of src/, every top-level module uses only the modules
//! declared above it in src/lib.rs (so there are no cycles between
//! folders), no cycles between modules inside a folder either, and the
//! README's Layout section names every entry of src/.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/http/routes.rs` → `http::routes`; `src/http/mod.rs` → `http`.
fn module_of(path: &Path) -> String {
    let relative = path.strip_prefix(Path::new(ROOT).join("src")).unwrap().with_extension("");
    let mut parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts.join("::")
}

/// The code outside `#[cfg(test)]` modules (tests may reach anywhere).
fn non_test_code(text: &str) -> &str {
    text.find("#[cfg(test)]").map_or(text, |at| &text[..at])
}

/// Every module of the crate a file's code names with `crate::` or `super::`.
fn dependencies(module: &str, code: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let parent = module.rsplit_once("::").map_or("", |(parent, _)| parent);
    for (prefix, base) in [("crate::", ""), ("super::", parent)] {
        for (at, _) in code.match_indices(prefix) {
            let rest = &code[at + prefix.len()..];
            let path: String =
                rest.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_' || *c == ':').collect();
            let mut parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
            while !parts.is_empty() {
                let candidate =
                    if base.is_empty() { parts.join("::") } else { format!("{base}::{}", parts.join("::")) };
                if modules.contains(&candidate) {
                    if candidate != module {
                        found.insert(candidate);
                    }
                    break;
                }
                parts.pop();
            }
        }
    }
    found
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(&Path::new(ROOT).join("src"), &mut files);
    let sources: BTreeMap<String, String> = files
        .iter()
        .filter(|path| !path.ends_with("lib.rs"))
        .map(|path| (module_of(path), fs::read_to_string(path).unwrap()))
        .collect();
    let modules: BTreeSet<String> = sources.keys().cloned().collect();
    sources
        .iter()
        .map(|(module, text)| (module.clone(), dependencies(module, non_test_code(text), &modules)))
        .collect()
}

fn top(module: &str) -> &str {
    module.split("::").next().unwrap()
}

#[test]
fn at_most_a_dozen_files_sit_at_the_top_of_src() {
    let files: Vec<String> = fs::read_dir(Path::new(ROOT).join("src"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(files.len() <= 12, "{files:?}");
}

#[test]
fn each_top_level_module_uses_only_those_declared_above_it() {
    let lib = fs::read_to_string(Path::new(ROOT).join("src/lib.rs")).unwrap();
    let order: Vec<&str> = lib
        .lines()
        .filter_map(|line| line.trim().trim_start_matches("pub ").strip_prefix("mod "))
        .map(|rest| rest.trim_end_matches(';'))
        .collect();
    assert!(order.len() >= 10, "{order:?}");
    let rank = |module: &str| order.iter().position(|m| *m == top(module)).unwrap();
    let mut violations = Vec::new();
    for (module, uses) in graph() {
        for used in uses {
            if top(&used) != top(&module) && rank(&used) > rank(&module) {
                violations.push(format!("{module} uses {used}, declared below it"));
            }
        }
    }
    assert!(violations.is_empty(), "{violations:#?}");
}

#[test]
fn no_module_depends_on_itself_through_others() {
    let graph = graph();
    // Depth-first search for a back edge, reporting the cycle.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_owned(), 1);
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next.as_str()) {
                Some(1) => {
                    let from = stack.iter().position(|m| m == next).unwrap();
                    return Some(stack[from..].iter().cloned().chain([next.clone()]).collect());
                }
                Some(_) => {}
                None => {
                    if let Some(cycle) = visit(next, graph, state, stack) {
                        return Some(cycle);
                    }
                }
            }
        }
        stack.pop();
        state.insert(node.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for module in graph.keys() {
        if !state.contains_key(module.as_str()) {
            if let Some(cycle) = visit(module, &graph, &mut state, &mut Vec::new()) {
                panic!("module cycle: {}", cycle.join(" -> "));
            }
        }
    }
}

#[test]
fn the_readme_layout_names_every_entry_of_src() {
    let readme = fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap();
    let layout = readme.split("## Layout").nth(1).expect("a Layout section");
    let block = layout.split("```").nth(1).expect("a code block in Layout");
    for entry in fs::read_dir(Path::new(ROOT).join("src")).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let shown = if entry.path().is_dir() { format!("{name}/") } else { name.clone() };
        assert!(block.contains(&shown), "README Layout does not name src/{shown}");
        if entry.path().is_dir() {
            for inner in fs::read_dir(entry.path()).unwrap() {
                let inner = inner.unwrap().file_name().to_string_lossy().into_owned();
                if inner != "mod.rs" && inner != "tests.rs" {
                    let stem = inner.trim_end_matches(".rs");
                    assert!(block.contains(stem), "README Layout does not name src/{name}/{inner}");
                }
            }
        }
    }
}
