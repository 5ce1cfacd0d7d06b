fn main() {
    // Rust starts every program with SIGPIPE ignored. Put the Unix default
    // back: `casulo image ls | head` then ends quietly instead of panicking,
    // and — more important — the container's command, which inherits the
    // disposition across exec, gets the SIGPIPE every program expects
    // (`yes | head -1` must end `yes`).
    // SAFETY: setting a signal disposition to SIG_DFL before any thread exists.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    std::process::exit(casulo::cli::main());
}
