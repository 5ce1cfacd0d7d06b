//! The visualizer in a real browser: Debian's chromium, headless, driven by
//! `playwright-core` from npm (never a downloaded browser).
//!
//! [`prepare`] builds the app, installs playwright-core into
//! `visualizer/e2e/node_modules` (only when missing or of another version)
//! and fills `target/visualizer-tests/traces/` with the recorded fixtures
//! and the trace crate's sample; [`run_tests`] serves them on a free port
//! of 127.0.0.1 (the course at `/curso/`) and runs `node --test` on the
//! visualizer's tests, the course's and the live view's, which starts a
//! `casulo daemon --ui` of its own (`visualizer/e2e/*.test.mjs`). Screenshots stay
//! in `target/visualizer-tests/screenshots/`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cmd::{self, step};
use crate::serve::Server;
use crate::{fail, web, Result};

pub const CHROMIUM: &str = "/usr/bin/chromium";

/// Where the browser tests keep their inputs and artifacts.
pub fn work_dir() -> PathBuf {
    cmd::target_dir().join("visualizer-tests")
}

/// What a browser run needs: the built app, a traces dir and the course.
pub struct Prepared {
    pub dist: PathBuf,
    pub traces: PathBuf,
    pub e2e: PathBuf,
    /// `book/build` (the course, with the visualizer for its replays).
    pub book: PathBuf,
    /// The engine (debug), for the live view's test (`live.test.mjs`).
    pub casulo: PathBuf,
}

pub fn prepare() -> Result<Prepared> {
    let book = crate::book::build()?;
    // Up to date already under `cargo xtask test`; built here for `--so-navegador`.
    cmd::run(crate::cmd::cargo().args(["build", "-p", "casulo"]))?;
    let casulo = cmd::target_dir().join("debug/casulo");
    let dist = web::dist_dir();
    let e2e = cmd::workspace_root().join("visualizer/e2e");
    npm_install(&e2e)?;
    if !Path::new(CHROMIUM).exists() {
        fail!(
            "{CHROMIUM} não existe: rode `cargo xtask setup` (instala o pacote chromium do Debian)"
        );
    }
    let traces = work_dir().join("traces");
    let _ = fs::remove_dir_all(&traces);
    fs::create_dir_all(&traces)?;
    let fixtures = cmd::workspace_root().join("engine/trace/tests/fixtures");
    for entry in fs::read_dir(&fixtures)? {
        let path = entry?.path();
        if path.to_string_lossy().ends_with(".trace.jsonl") {
            fs::copy(&path, traces.join(path.file_name().expect("file name")))?;
        }
    }
    fs::write(
        traces.join("sample.trace.jsonl"),
        casulo_trace::sample::sample_jsonl(),
    )?;
    Ok(Prepared {
        dist,
        traces,
        e2e,
        book,
        casulo,
    })
}

/// `npm install` in `dir` unless the pinned playwright-core is already there.
fn npm_install(dir: &Path) -> Result {
    let wanted: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("package.json"))?)
            .map_err(|e| format!("{}/package.json: {e}", dir.display()))?;
    let wanted = wanted["dependencies"]["playwright-core"]
        .as_str()
        .unwrap_or("");
    let installed = fs::read_to_string(dir.join("node_modules/playwright-core/package.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["version"].as_str().map(String::from));
    if installed.as_deref() == Some(wanted) {
        println!(
            "  playwright-core {wanted} já instalado em {}",
            dir.display()
        );
        return Ok(());
    }
    cmd::run(Command::new("npm").current_dir(dir).args([
        "install",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
    ]))
}

/// Runs `node --test` on the browser tests against a server of `p`.
pub fn run_tests(p: &Prepared) -> Result {
    step("Testes no navegador (chromium do Debian + playwright-core, node --test)");
    let server = Server::start_site(&p.dist, &p.traces, Some(&p.book), 0)?;
    let shots = work_dir().join("screenshots");
    let _ = fs::remove_dir_all(&shots);
    println!("  servidor em {}", server.url);
    let result = cmd::run_timed(
        Command::new("node")
            .current_dir(&p.e2e)
            .arg("--test")
            .arg("--test-concurrency=1")
            .arg("visualizer.test.mjs")
            .arg("book.test.mjs")
            // The live view: a real `casulo daemon --ui` and a real container.
            .arg("live.test.mjs")
            .env("CASULO_BIN", &p.casulo)
            .env("CASULO_UI_DIR", &p.dist)
            .env("CASULO_VIS_URL", &server.url)
            .env("CASULO_TRACES_DIR", &p.traces)
            .env("CASULO_SCREENSHOTS", &shots)
            .env("CASULO_CHROMIUM", CHROMIUM),
    );
    drop(server);
    println!("  capturas de tela em {}", shots.display());
    result
}
