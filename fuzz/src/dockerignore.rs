//! Target `dockerignore`: the bytes before the first NUL are a
//! `.dockerignore`, the lines after it are paths of the build context (a
//! few fixed ones are always asked too). Besides panics, checks the rules
//! the context walk relies on (`build/step_copy.rs`), and — through
//! libFuzzer's `-timeout` — that no pattern takes exponential time.

use casulo::build::dockerignore::Ignore;

const PATHS: &[&str] = &[
    "Dockerfile",
    "a.log",
    "src/main.rs",
    "segredos/chave",
    "x/y/z/tmp",
    "build/a.o",
    ".git/config",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a",
];

pub fn fuzz(data: &[u8]) {
    let (patterns, paths) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(patterns) = std::str::from_utf8(patterns) else {
        return;
    };
    let paths = String::from_utf8_lossy(paths);
    let ig = Ignore::parse(patterns);
    // Without exceptions (`!`), ignoring a directory ignores what is in it.
    let no_exceptions = !patterns.lines().any(|l| l.trim().starts_with('!'));
    for rel in PATHS.iter().copied().chain(paths.lines()) {
        let ignored = ig.ignores(rel);
        assert_eq!(ig.skips(rel, false), ignored, "arquivo {rel:?}");
        if !ignored {
            assert!(
                !ig.skips(rel, true),
                "diretório {rel:?} pulado sem ser ignorado"
            );
        }
        let _ = ig.may_reinclude_under(rel);
        if ignored && no_exceptions {
            let child = format!("{rel}/dentro");
            assert!(ig.ignores(&child), "{rel:?} ignorado, mas não {child:?}");
        }
    }
}
