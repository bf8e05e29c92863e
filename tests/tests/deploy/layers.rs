//! The modules depend only on what the README's table allows.

use super::*;

/// The top-level modules of `shared/src` each file's non-test code names through `crate::`
/// (a `use crate::{a::x, b}` block names `a` and `b`).
fn module_edges() -> std::collections::BTreeMap<String, BTreeSet<String>> {
    fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("shared/src reads") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/src");
    let mut paths = Vec::new();
    files(&root, &mut paths);
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut edges = std::collections::BTreeMap::<String, BTreeSet<String>>::new();
    for path in paths {
        let relative = path.strip_prefix(&root).expect("under shared/src");
        let first = relative.components().next().expect("a component");
        let module = first
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        if module == "lib" {
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("a source file");
        let code = source
            .split("#[cfg(test)]\nmod tests")
            .next()
            .unwrap_or_default();
        let used = edges.entry(module.clone()).or_default();
        for (at, _) in code.match_indices("crate::") {
            let rest = &code[at + "crate::".len()..];
            if let Some(block) = rest.strip_prefix('{') {
                let block = &block[..block.find(';').unwrap_or(block.len())];
                let mut depth = 0;
                let mut start = 0;
                for (i, c) in block.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => {
                            used.insert(ident(&block[start..i]));
                            break;
                        }
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            used.insert(ident(&block[start..i]));
                            start = i + 1;
                        }
                        _ => {}
                    }
                }
            } else {
                used.insert(ident(rest));
            }
        }
        used.retain(|m| !m.is_empty() && *m != module);
    }
    edges
}

/// What the README's table "What may depend on what" allows each module.
fn allowed_edges() -> std::collections::BTreeMap<String, Option<BTreeSet<String>>> {
    let readme = include_str!("../../../README.md");
    let table = readme
        .split("### What may depend on what")
        .nth(1)
        .expect("the README has the table");
    let ticked = |cell: &str| -> Vec<String> {
        cell.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    };
    let mut allowed = std::collections::BTreeMap::new();
    for row in table
        .lines()
        .skip_while(|l| !l.starts_with("| module"))
        .skip(2)
    {
        let cells: Vec<&str> = row.split('|').collect();
        if cells.len() < 3 {
            break;
        }
        let may_use = if cells[2].trim() == "everything" {
            None
        } else {
            Some(ticked(cells[2]).into_iter().collect::<BTreeSet<_>>())
        };
        for module in ticked(cells[1]) {
            allowed.insert(module, may_use.clone());
        }
    }
    allowed
}

#[test]
fn the_modules_depend_only_on_what_the_readme_allows() {
    let edges = module_edges();
    let allowed = allowed_edges();
    for (module, used) in &edges {
        let Some(may_use) = allowed.get(module) else {
            panic!("module `{module}` is not in the README's table");
        };
        if let Some(may_use) = may_use {
            let extra: Vec<_> = used.difference(may_use).collect();
            assert!(
                extra.is_empty(),
                "`{module}` uses {extra:?}, which the README's table does not allow"
            );
        }
    }
    // No cycle: repeatedly remove the modules that use nothing left.
    let mut left = edges.clone();
    while !left.is_empty() {
        let leaves: Vec<String> = left
            .iter()
            .filter(|(_, used)| used.iter().all(|m| !left.contains_key(m)))
            .map(|(m, _)| m.clone())
            .collect();
        assert!(!leaves.is_empty(), "a cycle among {:?}", left.keys());
        for leaf in leaves {
            left.remove(&leaf);
        }
    }
    assert!(
        edges["startup"].len() > 3,
        "the scan finds edges: {edges:?}"
    );
}
