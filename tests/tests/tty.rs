//! `casulo run -it`, `exec -it`, `run -dit` and `attach`: the container's
//! own pseudo-terminal, driven through a real pty. The test plays the
//! user's terminal emulator: it opens a pty pair, starts casulo with the
//! slave as its stdin, stdout, stderr and controlling terminal (in a
//! session of its own), types into the master and reads the screen from it.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use casulo_tests::pty::Screen;
use casulo_tests::{host_casulo_cgroups, send_signal, unique_name, wait_for_child, Lab};
use casulo_trace::{EventBody, TtyAction};
use nix::sys::termios::{self, LocalFlags};

/// The user's side: casulo on a terminal window ([`Screen`]: keys typed,
/// the screen read), and the container's name and trace.
struct Terminal {
    on: Screen,
    trace: PathBuf,
    /// The container's name.
    name: String,
}

impl std::ops::Deref for Terminal {
    type Target = Screen;
    fn deref(&self) -> &Screen {
        &self.on
    }
}

impl std::ops::DerefMut for Terminal {
    fn deref_mut(&mut self) -> &mut Screen {
        &mut self.on
    }
}

impl Terminal {
    /// `casulo run --rm --name N --trace T ARGS…` on a new pty of `rows` × `cols`.
    fn start(lab: &Lab, args: &[&str], rows: u16, cols: u16) -> Terminal {
        let name = unique_name("tty");
        let trace = lab.dir().join(format!("{name}.trace.jsonl"));
        let mut all = vec!["run", "--rm", "--name", &name, "--trace"];
        all.push(trace.to_str().unwrap());
        all.extend_from_slice(args);
        Terminal::casulo(lab, &all, rows, cols, name.clone(), trace.clone())
    }

    /// `casulo ARGS…` on a new pty of `rows` × `cols`; `name` and `trace`
    /// are the container's.
    fn casulo(
        lab: &Lab,
        all: &[&str],
        rows: u16,
        cols: u16,
        name: String,
        trace: PathBuf,
    ) -> Terminal {
        Terminal {
            on: Screen::spawn(lab.command(all), rows, cols),
            trace,
            name,
        }
    }

    /// The slave's settings, comparable (`Termios` has no `PartialEq`).
    fn settings(&self) -> String {
        format!("{:?}", termios::tcgetattr(self.slave()).unwrap())
    }

    /// The events of the container's trace.
    fn events(&self) -> Vec<casulo_trace::Event> {
        casulo_trace::reader::read_trace_file(&self.trace)
            .unwrap()
            .events
    }

    /// Nothing of the container is left: no record, no mount, no cgroup.
    fn assert_nothing_left(&self, lab: &Lab) {
        let id = casulo_trace::reader::read_trace_file(&self.trace)
            .unwrap()
            .header
            .container
            .id;
        assert!(!lab.root().join("containers").join(&id).exists());
        let mounts: Vec<String> = lab
            .mounts()
            .into_iter()
            .filter(|m| m.contains(&id))
            .collect();
        assert!(mounts.is_empty(), "{mounts:?}");
        let cgroups: Vec<_> = host_casulo_cgroups()
            .into_iter()
            .filter(|p| p.to_string_lossy().contains(&id))
            .collect();
        assert!(cgroups.is_empty(), "{cgroups:?}");
    }
}

/// The `terminal.attach`/`terminal.detach` events, in words:
/// `+casulo attach 1` (attached, now 1), `-casulo attach keys 0`.
fn attachers(events: &[casulo_trace::Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::TerminalAttach { client, attached } => Some(format!("+{client} {attached}")),
            EventBody::TerminalDetach {
                client,
                reason,
                attached,
            } => Some(format!("-{client} {reason:?} {attached}")),
            _ => None,
        })
        .collect()
}

fn ttys(events: &[casulo_trace::Event]) -> Vec<(TtyAction, String, u16, u16)> {
    events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::ProcessTty {
                action,
                path,
                rows,
                cols,
            } => Some((*action, path.clone(), *rows, *cols)),
            _ => None,
        })
        .collect()
}

/// The shell has a terminal of its own (`/dev/pts/0` of the container's
/// devpts) of the user's size, follows a resize, the user's terminal is raw
/// meanwhile and restored after, and `exit 3` is casulo's exit code.
#[test]
fn a_shell_gets_its_own_terminal_that_follows_the_window() {
    let lab = Lab::shared();
    let mut term = Terminal::start(lab, &["-it", "busybox", "sh"], 30, 100);
    let before = term.initial.clone();
    term.expect("/ # ");
    // casulo made the user's terminal raw: no echo, no line editing, no
    // signals from its keys (those are the container's terminal's job).
    let raw = termios::tcgetattr(term.slave()).unwrap();
    assert!(
        !raw.local_flags
            .intersects(LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ISIG),
        "{raw:?}"
    );
    assert_eq!(term.shell("tty"), "/dev/pts/0\r\n/ # ");
    assert_eq!(term.shell("stty size"), "30 100\r\n/ # ");

    // The window grows: the kernel sends SIGWINCH to casulo (the
    // foreground of its terminal), which sets the new size on the master.
    term.resize(40, 120);
    term.expect_size(40, 120);

    term.send("exit 3\r");
    assert_eq!(term.wait(), 3, "{}", term.screen);
    assert_eq!(term.settings(), before, "o terminal voltou como estava");
    assert_eq!(
        ttys(&term.events()),
        [
            (TtyAction::Open, "/dev/pts/0".to_string(), 30, 100),
            (TtyAction::Resize, "/dev/pts/0".to_string(), 40, 120),
        ]
    );
    term.assert_nothing_left(lab);
}

/// Job control: a background job is listed and killed by its number;
/// Ctrl-C (the byte 0x03) interrupts the foreground `sleep` inside — the
/// container's terminal makes it a SIGINT — and the shell lives on.
#[test]
fn job_control_and_ctrl_c_belong_to_the_shell_inside() {
    let lab = Lab::shared();
    let mut term = Terminal::start(lab, &["-it", "busybox", "sh"], 24, 80);
    let before = term.initial.clone();
    term.expect("/ # ");
    term.shell("sleep 100 &");
    let jobs = term.shell("jobs");
    assert!(
        jobs.contains("[1]") && jobs.contains("Running") && jobs.contains("sleep 100"),
        "{jobs}"
    );
    term.shell("kill %1");
    let jobs = term.shell("jobs");
    assert!(
        jobs.contains("Terminated") || !jobs.contains("sleep 100"),
        "{jobs}"
    );

    term.send("sleep 100\r");
    term.expect("sleep 100\r\n");
    // Type ^C once the sleep runs (a child of the shell, PID 1 inside).
    let casulo = term.child.id();
    let shell = wait_for_child(casulo, "sh");
    wait_for_child(shell, "sleep");
    term.send("\x03");
    term.expect("^C");
    term.expect("/ # ");
    assert_eq!(term.shell("echo $((40 + 2))"), "42\r\n/ # ");

    term.send("exit\r");
    assert_eq!(term.wait(), 0, "{}", term.screen);
    assert_eq!(term.settings(), before);
    term.assert_nothing_left(lab);
}

/// The container killed from outside (`casulo kill`): casulo exits 137 and
/// the user's terminal is restored.
#[test]
fn the_terminal_is_restored_when_the_container_is_killed() {
    let lab = Lab::shared();
    let mut term = Terminal::start(lab, &["-it", "busybox", "sh"], 24, 80);
    let before = term.initial.clone();
    term.expect("/ # ");
    lab.casulo(&["kill", &term.name]).assert_ok();
    assert_eq!(term.wait(), 137, "{}", term.screen);
    assert_eq!(term.settings(), before);
    term.assert_nothing_left(lab);
}

/// casulo itself gets SIGHUP, then SIGTERM: the first is forwarded to
/// PID 1 (an interactive shell ignores it), the second kills the container;
/// casulo ends with the terminal restored.
#[test]
fn the_terminal_is_restored_when_casulo_gets_sighup_and_sigterm() {
    let lab = Lab::shared();
    let mut term = Terminal::start(lab, &["-it", "busybox", "sh"], 24, 80);
    let before = term.initial.clone();
    term.expect("/ # ");
    let casulo = term.child.id();
    // SIGHUP: the user's terminal window closed.
    send_signal(casulo, libc::SIGHUP);
    term.expect("repassei SIGHUP");
    send_signal(casulo, libc::SIGTERM);
    assert_eq!(term.wait(), 137, "{}", term.screen);
    assert_eq!(term.settings(), before);
    term.assert_nothing_left(lab);
}

/// `casulo ARGS…` with a pipe as stdin (left empty), to the end.
fn with_a_pipe(lab: &Lab, args: &[&str]) -> casulo_tests::Output {
    let child = lab
        .command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    casulo_tests::Output {
        command: format!("{args:?}"),
        code: out.status.code().unwrap_or(-1),
        signal: None,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `-it` with a pipe as input is refused before anything is made (docker's
/// "the input device is not a TTY"); `-t` alone takes the pipe.
#[test]
fn it_needs_a_terminal_as_input_but_t_alone_does_not() {
    let lab = Lab::shared();
    let name = unique_name("tty-pipe");
    let out = with_a_pipe(
        lab,
        &["run", "--rm", "--name", &name, "-it", "busybox", "sh"],
    );
    out.assert_code(125);
    assert!(
        out.stderr.contains("a entrada não é um terminal (TTY)"),
        "{out}"
    );
    assert!(!out.stderr.contains("trace:"), "nada foi criado: {out}");
    assert!(lab.casulo(&["inspect", &name]).code != 0);

    let out = with_a_pipe(
        lab,
        &["run", "--rm", "-t", "busybox", "sh", "-c", "tty; exit 4"],
    );
    out.assert_code(4);
    // The container's output went through its terminal (CRLF endings).
    assert_eq!(out.stdout, "/dev/pts/0\r\n", "{out}");
}

/// `casulo run -d --name N busybox ARGS…` (the container a test execs into
/// or attaches to); its id.
fn run_d(lab: &Lab, name: &str, opts: &[&str], args: &[&str]) -> String {
    let mut all = vec!["run", "-d", "--name", name];
    all.extend_from_slice(opts);
    all.push("busybox");
    all.extend_from_slice(args);
    let out = lab.casulo(&all);
    out.assert_ok();
    out.stdout.trim().to_string()
}

/// The trace of a container under a supervisor (`inspect`).
fn trace_of(lab: &Lab, name: &str) -> PathBuf {
    let out = lab.casulo(&["inspect", name]);
    out.assert_ok();
    let info: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    PathBuf::from(info[0]["Casulo"]["Trace"].as_str().unwrap())
}

/// `casulo rm -f` and nothing of the container left.
fn remove(lab: &Lab, name: &str, id: &str) {
    lab.casulo(&["rm", "-f", name]).assert_ok();
    assert!(!lab.root().join("containers").join(id).exists());
    let cgroups: Vec<_> = host_casulo_cgroups()
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(id))
        .collect();
    assert!(cgroups.is_empty(), "{cgroups:?}");
}

/// `exec -it` into a running container (started with `-d`, no terminal of
/// its own): the shell gets a new pty of the container's devpts, of the
/// user's size, that follows a resize; Ctrl-C reaches the `sleep` in its
/// foreground; `exit 5` is casulo's code and the user's terminal is
/// restored. The trace of the container has the exec's `process.tty`.
#[test]
fn exec_it_gives_the_new_process_a_terminal_of_its_own() {
    let lab = Lab::shared();
    let name = unique_name("exec-tty");
    let id = run_d(lab, &name, &[], &["sleep", "1000"]);
    let _guard = lab.remove_on_drop(&[&name]);
    let trace = trace_of(lab, &name);
    let mut term = Terminal::casulo(
        lab,
        &["exec", "-it", &name, "sh"],
        27,
        91,
        name.clone(),
        trace,
    );
    let before = term.initial.clone();
    term.expect("/ # ");
    let tty = term.shell("tty");
    assert!(
        tty.starts_with("/dev/pts/") && tty.ends_with("\r\n/ # "),
        "{tty:?}"
    );
    let path = tty.trim_end_matches("\r\n/ # ").to_string();
    assert_eq!(term.shell("stty size"), "27 91\r\n/ # ");
    // The container's PID 1 is the sleep; the shell is a process beside it.
    assert_eq!(term.shell("cat /proc/1/comm"), "sleep\r\n/ # ");
    term.resize(33, 77);
    term.expect_size(33, 77);

    term.send("sleep 200\r");
    term.expect("sleep 200\r\n");
    // The exec'd shell is casulo's child; the sleep, the shell's.
    let shell = wait_for_child(term.child.id(), "sh");
    wait_for_child(shell, "sleep");
    term.send("\x03");
    term.expect("^C");
    term.expect("/ # ");
    assert_eq!(term.shell("echo $((6 * 7))"), "42\r\n/ # ");

    term.send("exit 5\r");
    assert_eq!(term.wait(), 5, "{}", term.screen);
    assert_eq!(term.settings(), before, "o terminal voltou como estava");
    let ttys = ttys(&term.events());
    assert_eq!(
        ttys,
        [
            (TtyAction::Open, path.clone(), 27, 91),
            (TtyAction::Resize, path, 33, 77),
        ]
    );
    remove(lab, &name, &id);
}

/// The container's init, as the host sees it (`inspect`'s `Pid`).
fn init_of(lab: &Lab, name: &str) -> u32 {
    let out = lab.casulo(&["inspect", name]);
    let info: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    info[0]["State"]["Pid"].as_u64().expect("Pid") as u32
}

fn state_of(lab: &Lab, name: &str) -> serde_json::Value {
    let out = lab.casulo(&["inspect", name]);
    let info: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    info[0]["State"].clone()
}

/// `run -dit`: the supervisor holds the shell's terminal. `attach` connects
/// the user's (its window size goes along), Ctrl-C reaches the `sleep`
/// inside, Ctrl-P Ctrl-Q leaves the shell running and restores the user's
/// terminal; what the shell printed is in `logs` too. Two attachers at once
/// see the same screen; `--detach-keys ctrl-x,y` changes the keys; `exit 7`
/// ends the container and the attach with its code.
#[test]
fn run_dit_then_attach_detach_and_attach_again() {
    let lab = Lab::shared();
    let name = unique_name("dit");
    let run = lab.casulo(&["run", "-dit", "--name", &name, "busybox", "sh"]);
    run.assert_ok();
    assert!(
        run.stderr.contains(&format!("casulo attach {name}")),
        "{run}"
    );
    let id = run.stdout.trim().to_string();
    let _guard = lab.remove_on_drop(&[&name]);
    let trace = trace_of(lab, &name);
    let sock = lab.root().join("containers").join(&id).join("attach.sock");
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let meta = std::fs::metadata(&sock).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);

    let attach = |keys: &[&str], rows, cols| {
        let mut all = vec!["attach"];
        all.extend_from_slice(keys);
        all.push(&name);
        Terminal::casulo(lab, &all, rows, cols, name.clone(), trace.clone())
    };
    let mut term = attach(&[], 30, 100);
    let before = term.initial.clone();
    // Nothing is printed on attach (the prompt was, before; the shell may
    // redraw it for the new window size): what the shell answers is the sign.
    term.send("echo $((2 + 3))\r");
    term.expect("5\r\n/ # ");
    assert_eq!(term.shell("tty"), "/dev/pts/0\r\n/ # ");
    term.expect_size(30, 100);

    // Ctrl-C: the sleep in the shell's foreground dies, the shell lives.
    term.send("sleep 100\r");
    term.expect("sleep 100\r\n");
    wait_for_child(init_of(lab, &name), "sleep");
    term.send("\x03");
    term.expect("^C");
    term.expect("/ # ");

    // Ctrl-P Ctrl-Q: casulo attach leaves, the container goes on.
    term.send("\x10\x11");
    assert_eq!(term.wait(), 0, "{}", term.screen);
    term.expect("você se desligou de");
    assert_eq!(term.settings(), before, "o terminal voltou como estava");
    assert_eq!(state_of(lab, &name)["Status"], "running");
    let logs = lab.casulo(&["logs", &name]);
    assert!(logs.stdout.contains("5\r\n"), "{logs}");

    // Two at once, one with other keys: both see what either types.
    let mut one = attach(&[], 30, 100);
    let mut two = attach(&["--detach-keys", "ctrl-x,y"], 30, 100);
    // Both are connected once both see a new prompt.
    std::thread::sleep(Duration::from_millis(300));
    one.send("echo um$((0 + 1))\r");
    one.expect("um1\r\n");
    two.expect("um1\r\n");
    // Ctrl-P Ctrl-Q is not two's sequence: it reaches the shell (which
    // ignores them), and ctrl-x y detaches two.
    two.send("\x18y");
    assert_eq!(two.wait(), 0, "{}", two.screen);
    one.send("exit 7\r");
    assert_eq!(one.wait(), 7, "{}", one.screen);
    let state = state_of(lab, &name);
    assert_eq!(state["Status"], "exited", "{state}");
    assert_eq!(state["ExitCode"], 7, "{state}");
    assert!(!sock.exists(), "o socket some com o contêiner");
    let resized: Vec<_> = ttys(&one.events())
        .into_iter()
        .filter(|t| t.0 == TtyAction::Resize)
        .collect();
    assert_eq!(
        resized,
        [(TtyAction::Resize, "/dev/pts/0".to_string(), 30, 100)],
        "o mesmo tamanho de novo não é outro resize"
    );
    // `start -ai` of a -it container: a new shell, and the terminal attached.
    let mut again = Terminal::casulo(
        lab,
        &["start", "-a", "-i", &name],
        24,
        80,
        name.clone(),
        trace.clone(),
    );
    again.send("echo $((3 + 4))\r");
    again.expect("7\r\n/ # ");
    again.expect_size(24, 80);
    again.send("exit 2\r");
    assert_eq!(again.wait(), 2, "{}", again.screen);
    // Who came and went is in the container's trace, written by the hub.
    assert_eq!(
        attachers(&again.events()),
        [
            "+casulo attach 1",
            "-casulo attach Keys 0",
            "+casulo attach 1",
            "+casulo attach 2",
            "-casulo attach Keys 1",
            "-casulo attach Ended 0",
            "+casulo start -a 1",
            "-casulo start -a Ended 0",
        ]
    );
    remove(lab, &name, &id);
}

/// `attach` of a container without `-t` follows its output until it ends;
/// of a container that is not running, it is refused.
#[test]
fn attach_without_a_terminal_follows_the_output() {
    let lab = Lab::shared();
    let name = unique_name("attach-log");
    let id = run_d(
        lab,
        &name,
        &[],
        &["sh", "-c", "sleep 1; echo depois; exit 3"],
    );
    let _guard = lab.remove_on_drop(&[&name]);
    let out = lab.casulo(&["attach", &name]);
    out.assert_code(3);
    assert!(out.stderr.contains("não tem terminal"), "{out}");
    assert_eq!(out.stdout, "depois\n", "{out}");
    let again = lab.casulo(&["attach", &name]);
    again.assert_code(125);
    assert!(again.stderr.contains("não está rodando"), "{again}");
    let bad = lab.casulo(&["attach", "--detach-keys", "ctrl-1", &name]);
    bad.assert_code(125);
    assert!(bad.stderr.contains("tecla de saída inválida"), "{bad}");
    remove(lab, &name, &id);
}

/// The user's terminal goes away (the emulator's window closed: its
/// master, the only one, is closed) while `run -it` runs a `sleep` in the
/// shell's foreground: the container's terminal is hung up in turn (SIGHUP
/// to its session), the container ends, casulo exits — nothing is left.
#[test]
fn a_terminal_that_hangs_up_ends_the_container_and_casulo() {
    let lab = Lab::shared();
    for foreground in ["", "sleep 1000"] {
        let mut term = Terminal::start(lab, &["-it", "busybox", "sh"], 24, 80);
        term.expect("/ # ");
        if !foreground.is_empty() {
            term.send(&format!("{foreground}\r"));
            term.expect(&format!("{foreground}\r\n"));
            let shell = wait_for_child(term.child.id(), "sh");
            wait_for_child(shell, "sleep");
        }
        // The window closes: both ends of its pty.
        term.hang_up();
        let code = term.wait();
        let trace = term.trace.clone();
        let events = casulo_trace::reader::read_trace_file(&trace)
            .unwrap()
            .events;
        let exit = events
            .iter()
            .find_map(|e| match &e.body {
                EventBody::ProcessExit { code, signal, .. } => {
                    Some(code.unwrap_or_else(|| 128 + signal.unwrap_or(0)))
                }
                _ => None,
            })
            .expect("process.exit no trace");
        assert_eq!(code, exit, "o casulo sai com o código do contêiner");
        let hups: Vec<i32> = events
            .iter()
            .filter_map(|e| match &e.body {
                EventBody::ProcessSignal {
                    target_pid,
                    signal_name,
                    ..
                } if signal_name == "SIGHUP" => Some(*target_pid),
                _ => None,
            })
            .collect();
        if foreground.is_empty() {
            assert_eq!(hups.len(), 1, "SIGHUP ao PID 1: {hups:?}");
        } else {
            // The sleep's process group too (negative: a group).
            assert_eq!(hups.len(), 2, "{hups:?}");
            assert!(hups[0] < 0, "{hups:?}");
        }
        let id = casulo_trace::reader::read_trace_file(&trace)
            .unwrap()
            .header
            .container
            .id;
        assert!(!lab.root().join("containers").join(&id).exists());
        let cgroups: Vec<_> = host_casulo_cgroups()
            .into_iter()
            .filter(|p| p.to_string_lossy().contains(&id))
            .collect();
        assert!(cgroups.is_empty(), "{cgroups:?}");
    }
}

/// The terminal of a `casulo attach` hangs up: the attach ends, the
/// container (its terminal held by the supervisor) goes on.
#[test]
fn an_attach_whose_terminal_hangs_up_leaves_the_container_running() {
    let lab = Lab::shared();
    let name = unique_name("dit-hup");
    let id = run_d(lab, &name, &["-it"], &["sh"]);
    let _guard = lab.remove_on_drop(&[&name]);
    let trace = trace_of(lab, &name);
    let mut term = Terminal::casulo(lab, &["attach", &name], 24, 80, name.clone(), trace);
    term.send("echo $((20 + 1))\r");
    term.expect("21\r\n/ # ");
    term.hang_up();
    assert_eq!(term.wait(), 0, "{}", term.screen);
    assert_eq!(state_of(lab, &name)["Status"], "running");
    // The hub sees the socket close a moment after the attach ended.
    let trace = trace_of(lab, &name);
    let seen = || attachers(&casulo_trace::read_trace_file(&trace).unwrap().events);
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen().len() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        seen(),
        ["+casulo attach 1", "-casulo attach Gone 0"],
        "ir embora não é usar as teclas de saída"
    );
    remove(lab, &name, &id);
}
