//! Who may import whom in `engine/src` (ARCHITECTURE.md, "Camadas"): a
//! module imports only from its own floor or the floors below it. The
//! imports that still go upward are listed in `KNOWN_UPWARD` with the file
//! that makes them; the list may only shrink: a new upward import fails
//! this test, and so does a listed one that is gone (take it off the list).

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use casulo_tests::workspace_dir;

/// The floors, from the ground up: a module of floor N may import from
/// floors 0..=N.
const FLOORS: &[(&str, u8)] = &[
    // 0: what the facade needs to exist: the state dir, the trace writer,
    // fds over sockets.
    ("state", 0),
    ("recorder", 0),
    ("fd_channel", 0),
    ("rootless_mode", 0),
    // 1: the facade every kernel call goes through.
    ("kernel", 1),
    // 2: one module per kernel concept, standing on the facade.
    ("namespaces", 2),
    ("mounts", 2),
    ("cgroups", 2),
    ("network", 2),
    ("image", 2),
    ("security", 2),
    ("terminal", 2),
    ("volume", 2),
    ("registry", 2),
    ("rootless", 2),
    // 3: what composes the concepts.
    ("container", 3),
    ("build", 3),
    // 4: the services over the library.
    ("daemon", 4),
    ("lab", 4),
    // 5: the thin shell.
    ("cli", 5),
    ("main", 5),
    ("lib", 5),
];

/// `file -> module` imports that go upward today (#20 removes them).
const KNOWN_UPWARD: &[&str] = &[];

fn floor(module: &str) -> u8 {
    FLOORS
        .iter()
        .find(|(m, _)| *m == module)
        .map(|(_, f)| *f)
        .unwrap_or_else(|| {
            panic!("engine/src/{module}: módulo sem andar em FLOORS (tests/tests/architecture.rs)")
        })
}

/// The source of a file without its `#[cfg(test)] mod tests` (tests may
/// reach anywhere).
fn production(text: &str) -> &str {
    match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    }
}

fn walk(dir: &Path, base: &Path, out: &mut Vec<(String, String)>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, base, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(base).unwrap().display().to_string();
            out.push((rel, fs::read_to_string(&path).unwrap()));
        }
    }
}

/// The top-level modules named right after a `crate::`: `x::…` → `x`,
/// `{a::b, c}` → `a`, `c`.
fn imported(after: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let Some(group) = after.strip_prefix('{') else {
        return vec![ident(after)];
    };
    // Split the group at its top-level commas.
    let (mut depth, mut start, mut names) = (0, 0, Vec::new());
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                names.push(ident(&group[start..i]));
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                names.push(ident(&group[start..i]));
                start = i + 1;
            }
            _ => {}
        }
    }
    names.retain(|n| !n.is_empty() && n != "self");
    names
}

/// Every `crate::X` a production file names, as `(file, own module, X)`.
fn imports() -> Vec<(String, String, String)> {
    let src = workspace_dir().join("engine/src");
    let mut files = Vec::new();
    walk(&src, &src, &mut files);
    let mut found = Vec::new();
    for (file, text) in &files {
        // The facade's test double is compiled only for tests.
        if file == "kernel/double.rs" {
            continue;
        }
        let own = file.split('/').next().unwrap().trim_end_matches(".rs");
        // Comments (doc links to other modules) are not imports.
        let code: String = production(text)
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        for (i, _) in code.match_indices("crate::") {
            for name in imported(&code[i + "crate::".len()..]) {
                if name != own {
                    found.push((file.clone(), own.to_string(), name));
                }
            }
        }
    }
    found
}

/// Every import that goes upward, as `file -> X`.
fn upward_imports() -> BTreeSet<String> {
    imports()
        .into_iter()
        .filter(|(_, own, name)| floor(name) > floor(own))
        .map(|(file, _, name)| format!("{file} -> {name}"))
        .collect()
}

/// A path of imports from `from` back to `from`, through modules of the
/// same floor (across floors there is none: nothing goes up).
fn circle_through(edges: &BTreeSet<(String, String)>, from: &str) -> Option<Vec<String>> {
    let mut stack = vec![vec![from.to_string()]];
    let mut seen = BTreeSet::new();
    while let Some(path) = stack.pop() {
        let last = path.last().unwrap().clone();
        for (_, to) in edges.iter().filter(|(a, _)| *a == last) {
            if to == from {
                let mut circle = path.clone();
                circle.push(to.clone());
                return Some(circle);
            }
            if seen.insert(to.clone()) {
                let mut longer = path.clone();
                longer.push(to.clone());
                stack.push(longer);
            }
        }
    }
    None
}

#[test]
fn no_new_import_goes_up_a_floor() {
    let found = upward_imports();
    let known: BTreeSet<String> = KNOWN_UPWARD.iter().map(|s| s.to_string()).collect();
    let new: Vec<&String> = found.difference(&known).collect();
    let gone: Vec<&String> = known.difference(&found).collect();
    assert!(
        new.is_empty(),
        "importações que sobem de andar (ARCHITECTURE.md, \"Camadas\"): {new:#?}\n\
         Mova o tipo para o andar de baixo ou receba o valor de quem chama."
    );
    assert!(
        gone.is_empty(),
        "estas importações para cima não existem mais: tire-as de KNOWN_UPWARD: {gone:#?}"
    );
}

/// No two modules import each other, directly or around a longer loop:
/// one of them must be the lower (`build` runs containers, so
/// `container` does not import `build`; `casulo commit` lives in `build`).
#[test]
fn no_import_circle_between_modules() {
    let edges: BTreeSet<(String, String)> = imports()
        .into_iter()
        .map(|(_, own, name)| (own, name))
        .collect();
    let modules: BTreeSet<&String> = edges.iter().map(|(a, _)| a).collect();
    assert!(modules.len() > 10, "poucos módulos achados: {modules:?}");
    for module in modules {
        if let Some(circle) = circle_through(&edges, module) {
            let files: Vec<String> = circle
                .windows(2)
                .map(|w| {
                    let file = imports()
                        .into_iter()
                        .find(|(_, own, name)| *own == w[0] && *name == w[1])
                        .map(|(f, _, _)| f)
                        .unwrap_or_default();
                    format!("{} -> {} ({file})", w[0], w[1])
                })
                .collect();
            panic!(
                "um círculo de importações em engine/src: {files:#?}\n\
                 Um dos dois é o de baixo: mova o que o outro usa para ele, ou \
                 receba o valor de quem chama."
            );
        }
    }
}
