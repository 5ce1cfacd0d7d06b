//! Terminal narration of a trace, in Brazilian Portuguese, without colors
//! (the CLI adds them).
//!
//! [`narrate`] gives two lines per event: what happened, in words specific
//! to the event's fields; then the real operation and what the kernel
//! answered. The position, time and pid are left to the caller (the CLI puts
//! them in columns, see [`time_text`]):
//!
//! ```text
//! montou overlay em …/ab12cd34ef56/merged: 2 camadas somente-leitura + camada de escrita …/ab12cd34ef56/upper
//!     mount("overlay", …) → ok
//! ```
//!
//! The pieces are public too ([`describe`], [`outcome_text`]) for front-ends
//! that lay them out differently. Each area's kinds (the `area.` prefix of
//! the kind) are narrated in a file named after the area; [`describe`]
//! only dispatches.

mod build;
mod cgroups;
mod daemon;
mod layers;
mod mounts;
mod namespaces;
mod network;
mod process;
mod registry;
mod security;
mod terminal;
mod words;

use crate::text::{short_digest, short_hex, thousands};
use crate::{Event, Header, Outcome};
use words::shell_words;

/// Two lines for one event: what happened, in words; then, indented by four
/// spaces, the real operation and what the kernel answered (`→ ok`, or
/// `→ ERRO ENOENT (2): …`). No seq, time or pid: the caller adds them.
pub fn narrate(event: &Event) -> String {
    format!(
        "{}\n    {} → {}",
        describe(event),
        event.op,
        outcome_text(&event.outcome)
    )
}

/// The header in two lines: format, engine and host; then the container.
pub fn narrate_header(h: &Header) -> String {
    let c = &h.container;
    let image_id = match &c.image_id {
        Some(id) => format!(" ({})", short_digest(id)),
        None => String::new(),
    };
    let command = if c.command.is_empty() {
        String::new()
    } else {
        format!(" · comando: {}", shell_words(&c.command))
    };
    format!(
        "trace {} v{} · casulo {} · kernel {} · cgroups {} · início {}\n\
         contêiner {} ({}) · imagem {}{}{}",
        h.format,
        h.format_version,
        h.engine_version,
        h.kernel,
        h.cgroup_mode,
        h.started_at,
        c.name,
        short_hex(&c.id),
        c.image,
        image_id,
        command
    )
}

/// `ok`, or `ERRO ENOENT (2): arquivo ou diretório não existe` (the
/// kernel's English message when the errno is not in [`crate::errno`]).
pub fn outcome_text(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Ok => "ok".into(),
        Outcome::Error(e) => format!(
            "ERRO {} ({}): {}",
            e.name,
            e.errno,
            crate::errno::text(&e.name, &e.message)
        ),
    }
}

/// Time since the start of the trace: `0,037 ms`, `1,532 ms`, `2,104 s`.
pub fn time_text(t_us: u64) -> String {
    if t_us < 1_000_000 {
        format!("{},{:03} ms", t_us / 1000, t_us % 1000)
    } else {
        let ms = t_us / 1000;
        format!("{},{:03} s", thousands(ms / 1000), ms % 1000)
    }
}

/// The exit code a shell would show: the code itself, or 128 + signal.
pub fn shell_exit_code(code: Option<i32>, signal: Option<i32>) -> Option<i32> {
    code.or(signal.map(|s| 128 + s))
}

/// The usual name of a Linux signal number (x86/arm), e.g. 9 → `SIGKILL`.
pub fn signal_name(signal: i32) -> Option<&'static str> {
    const NAMES: [&str; 31] = [
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    usize::try_from(signal)
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(|i| NAMES.get(i).copied())
}
/// What happened, in words specific to the event's fields. A failed
/// operation reads "não conseguiu …".
pub fn describe(event: &Event) -> String {
    let kind = event.body.kind();
    let area = kind.split('.').next().unwrap_or(kind);
    let text = match area {
        "process" => process::describe(event),
        "namespace" | "uts" => namespaces::describe(event),
        "mount" | "device" | "fs" => mounts::describe(event),
        "security" => security::describe(event),
        "terminal" => terminal::describe(event),
        "daemon" => daemon::describe(event),
        "layer" | "volume" => layers::describe(event),
        "cgroup" => cgroups::describe(event),
        "net" => network::describe(event),
        "build" | "image" => build::describe(event),
        "registry" => registry::describe(event),
        _ => None,
    };
    // Every kind has its words (a test narrates the sample, which has every
    // kind); the kind's name is the honest fallback for a new, unnarrated one.
    text.unwrap_or_else(|| kind.to_string())
}

#[cfg(test)]
mod tests;
