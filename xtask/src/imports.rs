//! No import circle between xtask's modules (#20): a module that imports
//! another is never imported back by it, directly or around a longer
//! loop. The families that still form one (a command and the files it
//! was split into, which call back into their parent's helpers) are
//! listed in [`KNOWN`]; the list may only shrink.

use std::collections::{BTreeMap, BTreeSet};

/// Circles that exist today, each as its sorted modules.
const KNOWN: &[&[&str]] = &[];

/// module → the modules of this crate it names (`crate::x`, `use crate::{x, …}`),
/// outside its tests.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(&src).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(module) = name.strip_suffix(".rs").filter(|m| *m != "main") {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or("").to_string();
            files.insert(module.to_string(), code);
        }
    }
    let names: BTreeSet<String> = files.keys().cloned().collect();
    files
        .iter()
        .map(|(module, code)| {
            let mut deps = BTreeSet::new();
            for (i, _) in code.match_indices("crate::") {
                let rest = &code[i + "crate::".len()..];
                // `crate::{a, b::c}` names a and b; `crate::a::…` names a.
                let list = match rest.strip_prefix('{') {
                    Some(group) => &group[..group.find('}').unwrap_or(group.len())],
                    None => rest
                        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .next()
                        .unwrap_or(""),
                };
                for item in list.split(',') {
                    let head: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if names.contains(&head) && &head != module {
                        deps.insert(head);
                    }
                }
            }
            (module.clone(), deps)
        })
        .collect()
}

/// The modules reachable from `from`.
fn reachable(g: &BTreeMap<String, BTreeSet<String>>, from: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![from.to_string()];
    while let Some(m) = stack.pop() {
        for d in g.get(&m).into_iter().flatten() {
            if seen.insert(d.clone()) {
                stack.push(d.clone());
            }
        }
    }
    seen
}

#[test]
fn no_new_import_circle_between_xtask_modules() {
    let g = graph();
    assert!(
        g["test"].contains("musl") && g["vm"].contains("musl"),
        "{g:?}"
    );
    let mut circles = BTreeSet::new();
    for module in g.keys() {
        let from = reachable(&g, module);
        if from.contains(module) {
            // Its circle: the modules it reaches that reach it back.
            let mut circle: Vec<&str> = from
                .iter()
                .filter(|m| reachable(&g, m).contains(module))
                .map(String::as_str)
                .collect();
            circle.sort();
            circles.insert(circle.join(" ↔ "));
        }
    }
    let known: BTreeSet<String> = KNOWN.iter().map(|c| c.join(" ↔ ")).collect();
    let new: Vec<&String> = circles.difference(&known).collect();
    assert!(
        new.is_empty(),
        "círculo novo de importações no xtask: {new:?} (o que dois módulos dividem vai \
         para um terceiro, como musl.rs para test.rs e vm.rs)"
    );
    let gone: Vec<&String> = known.difference(&circles).collect();
    assert!(
        gone.is_empty(),
        "estes círculos não existem mais: tire-os de KNOWN em xtask/src/imports.rs: {gone:?}"
    );
}
