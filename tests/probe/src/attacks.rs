//! `probe ataques`: what the container's root tries when it wants the host.
//!
//! Each attack is one small function below, with a comment saying what a
//! real attacker gains if it works. Every one is written to **prove the
//! power without changing the host**: files of the host kernel are written
//! with the value they already hold, the disk is only read (and mounted
//! read-only), the kernel module is an invalid image on purpose, the mounts
//! live in the container's own mount namespace and are undone.
//!
//! `probe ataques` runs each attack in a child process (`probe ataque
//! NOME`), so one attack's side effects on the process (a user namespace,
//! a session keyring, a ptrace) never change the next one, and prints
//! `{"ataques":[...],"resumo":{...}}`. Each attack reports:
//!
//! ```json
//! {"nome":"core-pattern","tentou":"escrever em /proc/sys/kernel/core_pattern",
//!  "resultado":"recusado","errno":"EROFS","erro":"sistema de arquivos somente leitura",
//!  "nota":"..."}
//! ```
//!
//! `resultado` is one of:
//! - `recusado`: the kernel said no for lack of privilege (`EPERM`,
//!   `EACCES`, or `EROFS` of a read-only mount the container cannot undo);
//! - `permitido`: it worked (or passed the kernel's privilege check and
//!   failed only on the harmless detail we chose, e.g. an invalid module):
//!   the host is within reach;
//! - `contido`: it worked, but what it touches is the container's own
//!   namespace (a raw socket in its network namespace, its hostname);
//! - `falhou`: refused for another reason, said in `nota` (a host pid the
//!   PID namespace hides, a cgroup root the cgroup namespace hides);
//! - `inexistente`: this kernel has no such thing (no modules, no `/proc/kcore`);
//! - `sem-alvo`: nothing to attack here (no terminal, no host pid given).

use std::ffi::CString;
use std::fs;
use std::io::{self, Read as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::os::unix::io::AsRawFd as _;
use std::process::{Command, Stdio};

use crate::{emit, Json};

/// Options of `probe ataques`.
#[derive(Default, Clone)]
pub struct Targets {
    /// `--disco MAJ:MIN`: the block device to read and mount (default: the
    /// first disk of `/proc/partitions`, as an attacker would pick).
    pub disk: Option<(u32, u32)>,
    /// `--pid-host PID`: a host process to `ptrace`.
    pub host_pid: Option<i32>,
}

/// One attack: it tries, and says what happened.
type Attack = fn(&Targets) -> Attempt;

/// Every attack, in the order they run: (name, function).
pub const ATTACKS: &[(&str, Attack)] = &[
    ("umount-proc-sys", umount_proc_sys),
    ("core-pattern", core_pattern),
    ("sys-kernel", sys_kernel),
    ("ler-disco", read_disk),
    ("montar-disco", mount_disk),
    ("init-module", init_module),
    ("finit-module", finit_module),
    ("release-agent", release_agent),
    ("socket-raw", raw_socket),
    ("keyctl", keyring),
    ("ptrace-host", ptrace_host),
    ("userns", nested_userns),
    ("tiocsti", tiocsti),
    ("montar-proc", mount_proc),
    ("kcore", kcore),
    ("hostname", hostname),
];

/// What one attack did.
pub struct Attempt {
    tried: String,
    outcome: Outcome,
    note: Option<String>,
    /// Extra facts for the tests (a keyring serial, bytes read…).
    extra: Vec<(String, Json)>,
}

enum Outcome {
    Refused(Option<i32>),
    Allowed,
    Contained,
    Failed(i32),
    Missing(Option<i32>),
    NoTarget,
}

impl Attempt {
    fn new(tried: impl Into<String>, outcome: Outcome) -> Attempt {
        Attempt {
            tried: tried.into(),
            outcome,
            note: None,
            extra: vec![],
        }
    }
    fn note(mut self, note: impl Into<String>) -> Attempt {
        self.note = Some(note.into());
        self
    }
    fn with(mut self, key: &str, value: Json) -> Attempt {
        self.extra.push((key.into(), value));
        self
    }
    fn json(&self, name: &str) -> Json {
        let (word, errno) = match self.outcome {
            Outcome::Refused(e) => ("recusado", e),
            Outcome::Allowed => ("permitido", None),
            Outcome::Contained => ("contido", None),
            Outcome::Failed(e) => ("falhou", Some(e)),
            Outcome::Missing(e) => ("inexistente", e),
            Outcome::NoTarget => ("sem-alvo", None),
        };
        let mut f = vec![
            ("nome".to_string(), Json::Str(name.into())),
            ("tentou".into(), Json::Str(self.tried.clone())),
            ("resultado".into(), Json::Str(word.into())),
        ];
        if let Some(e) = errno {
            f.push(("errno".into(), Json::Str(errno_name(e).into())));
            f.push(("erro".into(), Json::Str(errno_pt(e))));
        }
        if let Some(n) = &self.note {
            f.push(("nota".into(), Json::Str(n.clone())));
        }
        f.extend(self.extra.iter().cloned());
        Json::Obj(f)
    }
}

/// The usual verdict on an errno: a privilege refusal, a missing feature,
/// or some other failure.
fn judge(tried: impl Into<String>, e: i32) -> Attempt {
    let outcome = match e {
        libc::EPERM | libc::EACCES => Outcome::Refused(Some(e)),
        libc::ENOSYS => Outcome::Missing(Some(e)),
        _ => Outcome::Failed(e),
    };
    Attempt::new(tried, outcome)
}

// ---------------------------------------------------------------- runners

/// The inode of the initial PID namespace, fixed by the kernel
/// (`PROC_PID_INIT_INO`): a process that sees it is not in a container.
const INITIAL_PID_NS: u64 = 0xEFFF_FFFC;

/// Attacks harmless enough to run on the host itself (the tests compare
/// the container's keyring with the host's).
const HOST_SAFE: &[&str] = &["keyctl"];

/// Refuses to attack the host from the host: the suite is meant to run
/// inside a container (on the host, `umount-proc-sys` would act on the
/// host's own mounts and `tiocsti` would type into your shell).
fn outside_a_container(names: &[&str]) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    let initial = fs::metadata("/proc/self/ns/pid").is_ok_and(|m| m.ino() == INITIAL_PID_NS);
    if initial && !names.iter().all(|n| HOST_SAFE.contains(n)) {
        eprintln!(
            "probe: recuso atacar o host de dentro do host: este processo está no namespace \
             de PID inicial. Rode os ataques dentro de um contêiner \
             (casulo run … /probe ataques)."
        );
        return true;
    }
    false
}

/// `probe ataques [NOME...]`: each attack in its own child process.
pub fn run_all(targets: &Targets, only: &[&str]) -> i32 {
    let all: Vec<&str> = ATTACKS.iter().map(|(n, _)| *n).collect();
    if outside_a_container(if only.is_empty() { &all } else { only }) {
        return 2;
    }
    let mut reports = vec![];
    let mut counts: Vec<(String, Json)> = vec![];
    for (name, _) in ATTACKS {
        if !only.is_empty() && !only.contains(name) {
            continue;
        }
        let mut cmd = Command::new("/proc/self/exe");
        cmd.arg("ataque").arg(name);
        if let Some((ma, mi)) = targets.disk {
            cmd.arg("--disco").arg(format!("{ma}:{mi}"));
        }
        if let Some(pid) = targets.host_pid {
            cmd.arg("--pid-host").arg(pid.to_string());
        }
        // stdin/stderr inherited: TIOCSTI needs the terminal.
        let out = cmd.stdout(Stdio::piped()).stdin(Stdio::inherit()).output();
        let report = match out {
            Ok(o) if o.status.success() => {
                Json::Raw(String::from_utf8_lossy(&o.stdout).trim().to_string())
            }
            Ok(o) => Attempt::new(format!("probe ataque {name}"), Outcome::Failed(0))
                .note(format!("o processo do ataque terminou com {}", o.status))
                .json(name),
            Err(e) => Attempt::new(
                format!("probe ataque {name}"),
                Outcome::Failed(e.raw_os_error().unwrap_or(0)),
            )
            .json(name),
        };
        let word = result_word(&report);
        match counts.iter_mut().find(|(w, _)| *w == word) {
            Some((_, Json::Int(n))) => *n += 1,
            _ => counts.push((word, Json::Int(1))),
        }
        reports.push(report);
    }
    emit(&Json::Obj(vec![
        ("ataques".into(), Json::Arr(reports)),
        ("resumo".into(), Json::Obj(counts)),
    ]));
    0
}

/// The `resultado` of a report (parsed from the child's text when raw).
fn result_word(report: &Json) -> String {
    let text = match report {
        Json::Raw(s) => s.clone(),
        other => {
            let mut s = String::new();
            other.write(&mut s);
            s
        }
    };
    text.split_once("\"resultado\":\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(w, _)| w.to_string())
        .unwrap_or_else(|| "falhou".into())
}

/// `probe ataque NOME`: one attack, in this process.
pub fn run_one(name: &str, targets: &Targets) -> i32 {
    if outside_a_container(&[name]) {
        return 2;
    }
    match ATTACKS.iter().find(|(n, _)| *n == name) {
        Some((n, attack)) => {
            emit(&attack(targets).json(n));
            0
        }
        None => {
            let names: Vec<&str> = ATTACKS.iter().map(|(n, _)| *n).collect();
            eprintln!(
                "ataque desconhecido: {name} (os ataques são: {})",
                names.join(", ")
            );
            2
        }
    }
}

// ---------------------------------------------------------------- the attacks

/// `/proc/sys` is bind-mounted read-only over the container's `/proc`:
/// the only thing between root and the host kernel's tunables. Gain:
/// with it gone, `core_pattern`, `modprobe` and friends are writable.
fn umount_proc_sys(_: &Targets) -> Attempt {
    let tried = "umount2(\"/proc/sys\", MNT_DETACH)";
    match umount("/proc/sys") {
        Ok(()) => Attempt::new(tried, Outcome::Allowed)
            .note("a montagem só leitura saiu (no namespace de montagem do contêiner): o /proc/sys do host ficou exposto"),
        // may_mount() (CAP_SYS_ADMIN) is checked before "is it a mount point?".
        Err(libc::EINVAL) => Attempt::new(tried, Outcome::Allowed).note(
            "aqui o /proc/sys não é um ponto de montagem, mas o kernel aceitou o pedido \
             (passou da checagem de CAP_SYS_ADMIN): o /proc/sys já está exposto",
        ),
        Err(e) => judge(tried, e),
    }
}

/// `core_pattern` is global: starting with `|`, it names a program the
/// host kernel runs **as root, on the host**, at every core dump of any
/// process. Gain: code execution on the host. We write back the value it
/// already holds (the host does not change); if `/proc/sys` is read-only,
/// we try to unmount it first, as an attacker would.
fn core_pattern(_: &Targets) -> Attempt {
    let path = "/proc/sys/kernel/core_pattern";
    write_same_value(
        path,
        "escrever em /proc/sys/kernel/core_pattern (o mesmo valor)",
        || umount("/proc/sys"),
        "um atacante escreveria |/caminho/do/programa e o kernel do host o rodaria como root a cada core dump",
    )
}

/// Files under `/sys/kernel` tune the host kernel itself. The worst,
/// `uevent_helper`, names a program the kernel runs as root on every
/// device event (where the kernel has it); else `rcu_expedited`, a
/// harmless knob that proves the same power. Gain: with `uevent_helper`,
/// code execution on the host. Same value written back; if `/sys` is
/// read-only, an attacker remounts it read-write, and so do we (it is the
/// container's own sysfs, that of its network namespace; the knobs behind
/// it are the host kernel's).
fn sys_kernel(_: &Targets) -> Attempt {
    let Some(file) = ["uevent_helper", "rcu_expedited"]
        .into_iter()
        .find(|f| fs::metadata(format!("/sys/kernel/{f}")).is_ok())
    else {
        return Attempt::new("escrever em /sys/kernel", Outcome::Missing(None))
            .note("nem /sys/kernel/uevent_helper nem /sys/kernel/rcu_expedited existem aqui");
    };
    let path = format!("/sys/kernel/{file}");
    write_same_value(
        &path,
        &format!("escrever em /sys/kernel/{file} (o mesmo valor)"),
        || mount("", "/sys", "", libc::MS_REMOUNT, ""),
        "um atacante poria em uevent_helper um programa seu, que o kernel do host rodaria como root",
    )
}

/// Writes to `path` the value it already holds. On `EROFS`, calls
/// `unlock` (what an attacker would do to get write access: unmount the
/// read-only layer, or remount it read-write) and tries once more.
fn write_same_value(
    path: &str,
    tried: &str,
    unlock: impl Fn() -> Result<(), i32>,
    gain: &str,
) -> Attempt {
    let current = match fs::read(path) {
        Ok(v) => v,
        Err(e) => return judge(tried, errno(&e)),
    };
    let shown = String::from_utf8_lossy(&current).trim_end().to_string();
    // The kernel stops at the first newline: writing back what we read
    // (or a lone newline for an empty value) stores the same string.
    let value = if current.is_empty() {
        b"\n".to_vec()
    } else {
        current.clone()
    };
    let write = || {
        fs::OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|mut f| io::Write::write_all(&mut f, &value))
    };
    let result = match write() {
        Err(e) if errno(&e) == libc::EROFS => match unlock() {
            Ok(()) => write(),
            Err(_) => Err(e),
        },
        other => other,
    };
    match result {
        Ok(()) => Attempt::new(tried, Outcome::Allowed).note(format!(
            "escrevi o mesmo valor («{shown}»): o host não mudou; {gain}"
        )),
        Err(e) if errno(&e) == libc::EROFS => {
            Attempt::new(tried, Outcome::Refused(Some(libc::EROFS)))
                .note("montado só leitura, e o contêiner não pode desmontar nem montar")
        }
        Err(e) => judge(tried, errno(&e)),
    }
}

/// A block device node for the host's disk, then a raw read of its first
/// 4 KiB (only a read). Gain: every file of the host, `/etc/shadow`
/// included, read straight from the disk under any permission; with
/// write access, a changed disk. `mknod` itself is allowed in docker's
/// default (CAP_MKNOD): the device allow-list is what refuses the `open`.
fn read_disk(t: &Targets) -> Attempt {
    let Some((ma, mi)) = t.disk.or_else(first_disk) else {
        return Attempt::new("ler o disco do host", Outcome::NoTarget)
            .note("nenhum disco em /proc/partitions");
    };
    let node = "/tmp/casulo-ataque-disco";
    let tried = format!("mknod {node} b {ma} {mi} e ler os primeiros 4 KiB");
    if let Err(e) = mknod_block(node, ma, mi) {
        return judge(format!("mknod {node} b {ma} {mi}"), e);
    }
    let result = fs::File::open(node).and_then(|mut f| {
        let mut buf = vec![0u8; 4096];
        let n = f.read(&mut buf)?;
        buf.truncate(n);
        Ok(buf)
    });
    let _ = fs::remove_file(node);
    match result {
        Ok(buf) => {
            // ext2/3/4 keep their magic 0xEF53 at byte 1080.
            let ext = buf.get(1080..1082) == Some(&[0x53, 0xEF]);
            Attempt::new(tried, Outcome::Allowed)
                .note(format!(
                    "li {} bytes do disco {ma}:{mi}{}",
                    buf.len(),
                    if ext {
                        " (um sistema de arquivos ext4: dá para ler qualquer arquivo dele)"
                    } else {
                        ""
                    }
                ))
                .with("bytes", Json::Int(buf.len() as i64))
        }
        Err(e) => judge(tried, errno(&e)),
    }
}

/// The same disk mounted (read-only) inside the container. Gain: the
/// host's files as a directory tree (`chroot` into it and the host is
/// yours). A disk the host has mounted read-write cannot be mounted
/// read-only again (`EBUSY`): that answer already passed the privilege
/// checks.
fn mount_disk(t: &Targets) -> Attempt {
    let Some((ma, mi)) = t.disk.or_else(first_disk) else {
        return Attempt::new("montar o disco do host", Outcome::NoTarget)
            .note("nenhum disco em /proc/partitions");
    };
    let node = "/tmp/casulo-ataque-disco-m";
    let dir = "/tmp/casulo-ataque-montado";
    let tried = format!("mknod {node} b {ma} {mi} e mount -o ro {node} {dir}");
    if let Err(e) = mknod_block(node, ma, mi) {
        return judge(format!("mknod {node} b {ma} {mi}"), e);
    }
    let _ = fs::create_dir(dir);
    let mut last = libc::EINVAL;
    let mut mounted = None;
    for fstype in block_filesystems() {
        match mount(node, dir, &fstype, libc::MS_RDONLY, "") {
            Ok(()) => {
                mounted = Some(fstype);
                break;
            }
            // EINVAL: not this filesystem, try the next one.
            Err(libc::EINVAL) => continue,
            Err(e) => {
                last = e;
                break;
            }
        }
    }
    let attempt = match mounted {
        Some(fstype) => {
            let names: Vec<Json> = fs::read_dir(dir)
                .map(|rd| {
                    let mut v: Vec<String> = rd
                        .flatten()
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect();
                    v.sort();
                    v.into_iter().map(Json::Str).collect()
                })
                .unwrap_or_default();
            let _ = umount(dir);
            Attempt::new(tried, Outcome::Allowed)
                .note(format!(
                    "montei o disco {ma}:{mi} ({fstype}, só leitura) e vi {} entrada(s) na raiz dele",
                    names.len()
                ))
                .with("entradas", Json::Arr(names))
        }
        None if last == libc::EBUSY => Attempt::new(tried, Outcome::Allowed).note(
            "o kernel aceitou o pedido, mas o host já montou esse disco para escrita \
             (EBUSY): um atacante montaria de leitura e escrita",
        ),
        None => judge(tried, last),
    };
    let _ = fs::remove_file(node);
    let _ = fs::remove_dir(dir);
    attempt
}

/// `init_module` loads code into the running kernel. Gain: everything
/// (kernel code runs above every namespace, capability and filter). Our
/// image is 64 zero bytes: a kernel that lets us try answers `ENOEXEC`
/// (or `EINVAL`), never loads anything; `EPERM` is the refusal.
fn init_module(_: &Targets) -> Attempt {
    let tried = "init_module(64 bytes de zeros, \"\")";
    let image = [0u8; 64];
    let params = c"";
    // SAFETY: init_module reads `len` bytes from `image` and a C string.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_init_module,
            image.as_ptr(),
            image.len(),
            params.as_ptr(),
        )
    };
    module_verdict(tried, ret)
}

/// `finit_module` does the same from a file descriptor: we hand it our own
/// executable, an ELF that is not a module.
fn finit_module(_: &Targets) -> Attempt {
    let tried = "finit_module(fd de /proc/self/exe, \"\", 0)";
    let file = match fs::File::open("/proc/self/exe") {
        Ok(f) => f,
        Err(e) => return judge(tried, errno(&e)),
    };
    let params = c"";
    // SAFETY: finit_module reads from the fd and a C string.
    let ret =
        unsafe { libc::syscall(libc::SYS_finit_module, file.as_raw_fd(), params.as_ptr(), 0) };
    module_verdict(tried, ret)
}

fn module_verdict(tried: &str, ret: libc::c_long) -> Attempt {
    if ret == 0 {
        return Attempt::new(tried, Outcome::Allowed)
            .note("um módulo foi carregado no kernel do host!");
    }
    match last_errno() {
        libc::EPERM => Attempt::new(tried, Outcome::Refused(Some(libc::EPERM))),
        libc::ENOSYS => Attempt::new(tried, Outcome::Missing(Some(libc::ENOSYS))).note(
            "este kernel não carrega módulos (sem CONFIG_MODULES): nem o root do host poderia",
        ),
        e => Attempt::new(tried, Outcome::Allowed).note(format!(
            "o kernel aceitou o pedido e só recusou a imagem, inválida de propósito ({}): \
             com um módulo de verdade, o código dele rodaria no kernel do host",
            errno_name(e)
        )),
    }
}

/// cgroup v1's `release_agent` names a program the host kernel runs as
/// root when a cgroup of that hierarchy empties (with `notify_on_release`).
/// Gain: code execution on the host (CVE-2022-0492). We mount a v1
/// hierarchy, read its `release_agent` and write the same value back.
fn release_agent(_: &Targets) -> Attempt {
    let Some(options) = v1_hierarchy() else {
        return Attempt::new("montar uma hierarquia cgroup v1", Outcome::NoTarget)
            .note("nenhuma hierarquia cgroup v1 em /proc/self/cgroup (só cgroup v2)");
    };
    let dir = "/tmp/casulo-ataque-cgroup";
    let tried = format!(
        "mount -t cgroup -o {options} cgroup {dir} e escrever o release_agent (o mesmo valor)"
    );
    let _ = fs::create_dir(dir);
    if let Err(e) = mount("cgroup", dir, "cgroup", 0, &options) {
        let _ = fs::remove_dir(dir);
        return judge(tried, e);
    }
    let file = format!("{dir}/release_agent");
    let attempt = match fs::read(&file) {
        Err(e) if errno(&e) == libc::ENOENT => Attempt::new(&tried, Outcome::Failed(libc::ENOENT))
            .note(format!(
                "montei a hierarquia {options}, mas o release_agent não aparece: o namespace de \
                 cgroup mostra só o cgroup do contêiner, não a raiz da hierarquia"
            )),
        Err(e) => judge(&tried, errno(&e)),
        Ok(current) => {
            let shown = String::from_utf8_lossy(&current).trim_end().to_string();
            let mut value = current;
            value.push(b'\n'); // the kernel strips it: the same value
            match fs::write(&file, &value) {
                Ok(()) => Attempt::new(&tried, Outcome::Allowed).note(format!(
                    "escrevi o mesmo valor («{shown}») no release_agent da hierarquia {options}: \
                     um atacante poria ali um programa seu"
                )),
                Err(e) => judge(&tried, errno(&e)),
            }
        }
    };
    let _ = umount(dir);
    let _ = fs::remove_dir(dir);
    attempt
}

/// A raw socket reads and forges packets below TCP/UDP. Docker keeps
/// CAP_NET_RAW by default (for `ping`), so this **works** in a default
/// container — but in the container's network namespace: only its own
/// interfaces (`lo`, its veth). Gain: spoofing ARP/DNS towards the other
/// containers of the same bridge, and more kernel code to attack; never
/// the host's interfaces. (Podman drops CAP_NET_RAW by default.)
fn raw_socket(_: &Targets) -> Attempt {
    let tried = "socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)";
    // SAFETY: plain syscall, the fd is closed right away.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_ICMP) };
    if fd < 0 {
        return judge(tried, last_errno());
    }
    // SAFETY: our own fd.
    unsafe { libc::close(fd) };
    let links = crate::net_links();
    let names = match &links {
        Json::Arr(v) => v
            .iter()
            .filter_map(|j| match j {
                Json::Str(s) => Some(s.clone()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join(", "),
        _ => String::new(),
    };
    Attempt::new(tried, Outcome::Contained)
        .note(format!(
            "o socket existe, mas no namespace de rede do contêiner: só vê as interfaces dele ({names})"
        ))
        .with("interfaces", links)
}

/// The kernel keyring has no namespace: uid 0's user keyring in the
/// container is host root's. Gain: host root's keys (Kerberos tickets,
/// encryption keys), and the keyring's quota shared with the host.
fn keyring(_: &Targets) -> Attempt {
    let tried = "keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING)";
    // SAFETY: integer arguments only.
    let serial = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            0 as libc::c_long,  // KEYCTL_GET_KEYRING_ID
            -4 as libc::c_long, // KEY_SPEC_USER_KEYRING
            1 as libc::c_long,  // create it if missing
        )
    };
    if serial < 0 {
        return judge(tried, last_errno());
    }
    Attempt::new(tried, Outcome::Allowed)
        .note(format!(
            "o chaveiro do root é o {serial}: o mesmo do root do host (o chaveiro do kernel não tem namespace)"
        ))
        .with("serial", Json::Int(serial as i64))
}

/// `ptrace` attaches to a process to read and write its memory and
/// registers. Gain, on a host process: running anything as that process,
/// outside the container. The PID namespace should make host pids
/// invisible (`ESRCH`). docker's seccomp profile (and casulo's) lets
/// `ptrace` through: since Linux 4.8 seccomp is checked again after a
/// tracer's changes, so tracing the container's own processes is safe.
fn ptrace_host(t: &Targets) -> Attempt {
    let Some(pid) = t.host_pid else {
        return Attempt::new("ptrace(PTRACE_ATTACH, pid do host)", Outcome::NoTarget)
            .note("nenhum pid do host foi dado (--pid-host PID)");
    };
    let tried = format!("ptrace(PTRACE_ATTACH, {pid})");
    // SAFETY: PTRACE_ATTACH takes a pid and two ignored pointers.
    let ret = unsafe { libc::ptrace(libc::PTRACE_ATTACH, pid, 0usize, 0usize) };
    if ret == 0 {
        // SAFETY: let it go at once (wait for the stop, then detach).
        unsafe {
            libc::waitpid(pid, std::ptr::null_mut(), libc::__WALL);
            libc::ptrace(libc::PTRACE_DETACH, pid, 0usize, 0usize);
        }
        return Attempt::new(tried, Outcome::Allowed).note(format!(
            "o processo {pid} ficou sob o nosso controle (e foi solto em seguida)"
        ));
    }
    match last_errno() {
        libc::ESRCH => Attempt::new(tried, Outcome::Failed(libc::ESRCH)).note(format!(
            "o PID {pid} não existe aqui: o namespace de PID esconde os processos do host"
        )),
        e => judge(tried, e),
    }
}

/// A user namespace inside the container: there, the process has every
/// capability over the namespaces it creates next. Gain: a much wider
/// kernel surface (mounting filesystems, netfilter…), the start of many
/// kernel exploits. Harmless here: this child process ends right after.
fn nested_userns(_: &Targets) -> Attempt {
    let tried = "unshare(CLONE_NEWUSER)";
    // SAFETY: changes only this (single-threaded, short-lived) process.
    if unsafe { libc::unshare(libc::CLONE_NEWUSER) } == 0 {
        return Attempt::new(tried, Outcome::Allowed)
            .note("criei um user namespace aninhado: lá dentro, todas as capabilities");
    }
    judge(tried, last_errno())
}

/// `TIOCSTI` pushes a character into a terminal's input, as if typed.
/// Gain, on the terminal of whoever ran the container: commands typed
/// into root's shell on the host once the container exits. We push one
/// `#` (a shell comment), and only if we have a terminal.
fn tiocsti(_: &Targets) -> Attempt {
    let tty = (0..3).find(|fd| unsafe { libc::isatty(*fd) } == 1);
    let Some(fd) = tty else {
        return Attempt::new("ioctl(TIOCSTI)", Outcome::NoTarget)
            .note("nenhum terminal na entrada ou na saída: nada onde digitar");
    };
    let tried = format!("ioctl({fd}, TIOCSTI, \"#\") no terminal herdado");
    let c = b'#';
    // SAFETY: TIOCSTI reads one byte from the pointer.
    if unsafe { libc::ioctl(fd, libc::TIOCSTI, &c) } == 0 {
        return Attempt::new(tried, Outcome::Allowed).note(
            "digitei um # no terminal de quem rodou o contêiner: um atacante digitaria comandos no shell do host",
        );
    }
    match last_errno() {
        // Kernels without legacy TIOCSTI answer EIO without CAP_SYS_ADMIN.
        libc::EIO => Attempt::new(tried, Outcome::Refused(Some(libc::EIO)))
            .note("o kernel só deixa o TIOCSTI com CAP_SYS_ADMIN (dev.tty.legacy_tiocsti = 0)"),
        e => judge(tried, e),
    }
}

/// A fresh `proc` has none of the masks the engine laid over `/proc`
/// (`/proc/sys` read-only, `/proc/keys` hidden…). Gain: the first step
/// towards `core_pattern` and friends.
fn mount_proc(_: &Targets) -> Attempt {
    let dir = "/tmp/casulo-ataque-proc";
    let tried = format!("mount -t proc proc {dir}");
    let _ = fs::create_dir(dir);
    let attempt = match mount("proc", dir, "proc", 0, "") {
        Ok(()) => {
            let _ = umount(dir);
            Attempt::new(tried, Outcome::Allowed)
                .note("um /proc novo, sem as máscaras: /proc/sys dele é gravável")
        }
        Err(e) => judge(tried, e),
    };
    let _ = fs::remove_dir(dir);
    attempt
}

/// `/proc/kcore` is the host's physical memory as an ELF core file.
/// Gain: every secret in RAM (keys, passwords, other containers' data).
/// It needs CAP_SYS_RAWIO, and docker masks it with `/dev/null`.
fn kcore(_: &Targets) -> Attempt {
    let tried = "ler /proc/kcore";
    let mut file = match fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open("/proc/kcore")
    {
        Ok(f) => f,
        Err(e) if errno(&e) == libc::ENOENT => {
            return Attempt::new(tried, Outcome::Missing(Some(libc::ENOENT)))
                .note("este kernel não tem /proc/kcore (sem CONFIG_PROC_KCORE)")
        }
        Err(e) => return judge(tried, errno(&e)),
    };
    let mut head = [0u8; 64];
    match file.read(&mut head) {
        Ok(0) => Attempt::new(tried, Outcome::Refused(None))
            .note("mascarado: o /proc/kcore do contêiner está vazio (é o /dev/null)"),
        Ok(n) if head.starts_with(b"\x7fELF") => Attempt::new(tried, Outcome::Allowed)
            .note("li o começo da memória do host (um core ELF)")
            .with("bytes", Json::Int(n as i64)),
        Ok(n) => Attempt::new(tried, Outcome::Allowed).with("bytes", Json::Int(n as i64)),
        Err(e) => judge(tried, errno(&e)),
    }
}

/// `sethostname` in the container's UTS namespace: needs CAP_SYS_ADMIN.
/// Even when it works, only the container's name changes (the UTS
/// namespace is its own); we set the name it already has.
fn hostname(_: &Targets) -> Attempt {
    let mut buf = [0u8; 65];
    // SAFETY: gethostname writes at most buf.len() bytes.
    unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let len = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    let name = String::from_utf8_lossy(&buf[..len]).into_owned();
    let tried = format!("sethostname(\"{name}\") (o mesmo nome)");
    // SAFETY: reads `len` bytes of buf.
    if unsafe { libc::sethostname(buf.as_ptr().cast(), len) } == 0 {
        return Attempt::new(tried, Outcome::Contained)
            .note("o hostname mudou só no namespace UTS do contêiner; o do host é outro");
    }
    judge(tried, last_errno())
}

// ---------------------------------------------------------------- helpers

fn cstr(s: &str) -> CString {
    CString::new(s).expect("sem NUL")
}

fn last_errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn errno(e: &io::Error) -> i32 {
    e.raw_os_error().unwrap_or(0)
}

fn mount(
    source: &str,
    target: &str,
    fstype: &str,
    flags: libc::c_ulong,
    data: &str,
) -> Result<(), i32> {
    let (s, t, f, d) = (cstr(source), cstr(target), cstr(fstype), cstr(data));
    // SAFETY: C strings that live across the call.
    let ret = unsafe { libc::mount(s.as_ptr(), t.as_ptr(), f.as_ptr(), flags, d.as_ptr().cast()) };
    if ret == 0 {
        Ok(())
    } else {
        Err(last_errno())
    }
}

fn umount(target: &str) -> Result<(), i32> {
    let t = cstr(target);
    // SAFETY: a C string that lives across the call.
    if unsafe { libc::umount2(t.as_ptr(), libc::MNT_DETACH) } == 0 {
        Ok(())
    } else {
        Err(last_errno())
    }
}

fn mknod_block(path: &str, major: u32, minor: u32) -> Result<(), i32> {
    let _ = fs::remove_file(path);
    let p = cstr(path);
    // SAFETY: a C string that lives across the call.
    let ret = unsafe {
        libc::mknod(
            p.as_ptr(),
            libc::S_IFBLK | 0o600,
            libc::makedev(major, minor),
        )
    };
    if ret == 0 {
        Ok(())
    } else {
        Err(last_errno())
    }
}

/// The first whole disk of `/proc/partitions` (not namespaced: the host's).
fn first_disk() -> Option<(u32, u32)> {
    let text = fs::read_to_string("/proc/partitions").ok()?;
    text.lines().skip(2).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        let name = *f.get(3)?;
        let whole = !name.starts_with("loop") && !name.starts_with("ram");
        whole.then(|| Some((f[0].parse().ok()?, f[1].parse().ok()?)))?
    })
}

/// Filesystems that live on a device (`/proc/filesystems` without `nodev`).
fn block_filesystems() -> Vec<String> {
    fs::read_to_string("/proc/filesystems")
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with("nodev"))
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// Mount options for a cgroup v1 hierarchy this process belongs to
/// (`freezer`, `cpu,cpuacct`, `none,name=systemd`), preferring one whose
/// root, with its `release_agent`, shows under `/sys/fs/cgroup` (the
/// container was not put in a cgroup of its own there), and a controller
/// over a named hierarchy.
fn v1_hierarchy() -> Option<String> {
    let text = fs::read_to_string("/proc/self/cgroup").ok()?;
    let mut v1: Vec<&str> = text
        .lines()
        .filter_map(|l| {
            let mut it = l.splitn(3, ':');
            let (id, ctl) = (it.next()?, it.next()?);
            (id != "0" && !ctl.is_empty()).then_some(ctl)
        })
        .collect();
    let agent_visible = |ctl: &str| {
        let dir = ctl.strip_prefix("name=").unwrap_or(ctl);
        fs::metadata(format!("/sys/fs/cgroup/{dir}/release_agent")).is_ok()
    };
    // false sorts first: visible agents, then controllers before names.
    v1.sort_by_key(|c| (!agent_visible(c), c.starts_with("name=")));
    let ctl = v1.first()?;
    Some(match ctl.strip_prefix("name=") {
        Some(name) => format!("none,name={name}"),
        None => ctl.to_string(),
    })
}

/// The errno's name, as `man 3 errno` writes it.
pub fn errno_name(e: i32) -> &'static str {
    match e {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ESRCH => "ESRCH",
        libc::EIO => "EIO",
        libc::ENXIO => "ENXIO",
        libc::ENOEXEC => "ENOEXEC",
        libc::EBADF => "EBADF",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::ENODEV => "ENODEV",
        libc::ENOTDIR => "ENOTDIR",
        libc::EINVAL => "EINVAL",
        libc::ENOTTY => "ENOTTY",
        libc::ENOSPC => "ENOSPC",
        libc::EROFS => "EROFS",
        libc::ENOSYS => "ENOSYS",
        libc::ENOKEY => "ENOKEY",
        libc::EKEYREJECTED => "EKEYREJECTED",
        libc::EBADMSG => "EBADMSG",
        libc::EUSERS => "EUSERS",
        libc::EAFNOSUPPORT => "EAFNOSUPPORT",
        libc::EPROTONOSUPPORT => "EPROTONOSUPPORT",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        _ => "E?",
    }
}

/// The errno in Brazilian Portuguese (glibc's pt_BR wording, shortened).
pub fn errno_pt(e: i32) -> String {
    let text = match e {
        libc::EPERM => "operação não permitida",
        libc::ENOENT => "arquivo ou diretório inexistente",
        libc::ESRCH => "processo inexistente",
        libc::EIO => "erro de entrada/saída",
        libc::ENXIO => "dispositivo ou endereço inexistente",
        libc::ENOEXEC => "formato de executável inválido",
        libc::EBADF => "descritor de arquivo inválido",
        libc::EACCES => "permissão negada",
        libc::EFAULT => "endereço inválido",
        libc::EBUSY => "dispositivo ou recurso ocupado",
        libc::EEXIST => "arquivo já existe",
        libc::ENODEV => "dispositivo inexistente",
        libc::ENOTDIR => "não é um diretório",
        libc::EINVAL => "argumento inválido",
        libc::ENOTTY => "ioctl inapropriado para o dispositivo",
        libc::ENOSPC => "limite atingido",
        libc::EROFS => "sistema de arquivos somente leitura",
        libc::ENOSYS => "função não implementada",
        libc::ENOKEY => "chave indisponível",
        libc::EKEYREJECTED => "chave rejeitada",
        libc::EBADMSG => "mensagem inválida",
        libc::EUSERS => "usuários demais",
        libc::EAFNOSUPPORT => "família de endereços não suportada",
        libc::EPROTONOSUPPORT => "protocolo não suportado",
        libc::EOPNOTSUPP => "operação não suportada",
        _ => return format!("erro {e}"),
    };
    text.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_errnos_have_words() {
        let mut names: Vec<&str> = ATTACKS.iter().map(|(n, _)| *n).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ATTACKS.len());
        assert_eq!(errno_pt(libc::EPERM), "operação não permitida");
        assert_eq!(errno_name(libc::EROFS), "EROFS");
        assert_eq!(errno_pt(9999), "erro 9999");
    }

    #[test]
    fn the_result_word_is_read_back() {
        let a = Attempt::new("x", Outcome::Refused(Some(libc::EPERM))).json("y");
        assert_eq!(result_word(&a), "recusado");
        assert_eq!(
            result_word(&Json::Raw(r#"{"resultado":"contido"}"#.into())),
            "contido"
        );
        assert_eq!(result_word(&Json::Raw("lixo".into())), "falhou");
    }
}
