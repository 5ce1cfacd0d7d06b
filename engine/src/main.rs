/// The static (musl) build allocates with dlmalloc: musl's allocator maps
/// and unmaps memory at every turn (~390 `mmap`/`munmap` per `casulo run`,
/// costly where system calls are, as in a VM); glibc's keeps it, as
/// dlmalloc does.
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

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
