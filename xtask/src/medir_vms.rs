//! The VM side of `cargo xtask medir` (see `medir.rs`).
//!
//! N `qemu-system-x86_64` launched at once, each under `timeout` (vm.rs'
//! [`crate::vm::qemu`]: TCG, one vCPU, [`MEMORY_MB`] of RAM, serial console
//! on stdout), booting the same Debian kernel as `cargo xtask vm` with a
//! minimal initramfs (busybox and `xtask/vm/pronto.sh` as `/init`, which
//! prints `pronto uptime=<s>` and sleeps). The memory of a VM is the PSS of
//! its qemu process. The stop: SIGTERM to each `timeout`, which passes it
//! on to qemu; then no qemu of ours may be left.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::cmd::{self, step};
use crate::medir_tools::{self as medir, Launched, Side, Unit};
use crate::{fail, vm, Result};

/// RAM of each VM (`qemu -m`), MB.
pub const MEMORY_MB: u32 = 128;
/// `timeout` around each qemu: it can never outlive a broken run by much.
const TIMEOUT_SECS: &str = "180";
/// Longest wait for all N to say `pronto`.
const READY_LIMIT: Duration = Duration::from_secs(150);
/// `/init` of the measured VMs.
const INIT: &str = include_str!("../vm/pronto.sh");

pub fn measure(n: usize) -> Result<Side> {
    step("VMs: kernel do Debian (o mesmo de `cargo xtask vm`) e um initramfs mínimo");
    let (vmlinuz, _modules) = vm::kernel()?;
    let dir = cmd::target_dir().join("vm/medir");
    std::fs::create_dir_all(&dir)?;
    let initrd = dir.join("initrd.gz");
    vm::initramfs(&dir.join("initramfs"), INIT, &[], &initrd)?;
    let kernel = kernel_version(&vmlinuz).unwrap_or_else(|| "?".into());
    println!(
        "  kernel {kernel}; initramfs {} ({} KiB: busybox e /init)",
        initrd.display(),
        std::fs::metadata(&initrd)?.len() / 1024
    );

    step(&format!(
        "VMs: {n} × qemu (TCG, sem KVM, -m {MEMORY_MB}), todas de uma vez"
    ));
    let (tx, rx) = std::sync::mpsc::channel();
    let mut running = Running(Vec::new());
    let command = vm::qemu(TIMEOUT_SECS, MEMORY_MB, &vmlinuz, &initrd, "stdio", "");
    // Paths relative to the workspace: the command is shown in the book.
    let root = format!("{}/", cmd::workspace_root().display());
    let shown = cmd::show(&command).replace(&root, "");
    println!("$ {shown}");
    for i in 0..n {
        let mut c = vm::qemu(TIMEOUT_SECS, MEMORY_MB, &vmlinuz, &initrd, "stdio", "");
        c.stdin(std::process::Stdio::null());
        running.0.push(medir::launch(&mut c, i, &tx)?);
    }
    let ready = medir::wait_ready(&rx, &mut running.0, READY_LIMIT, "VMs")?;
    std::thread::sleep(medir::SETTLE);

    let mut units = Vec::new();
    for (l, (at, line)) in running.0.iter().zip(&ready) {
        // Below `timeout` there is exactly the qemu process.
        let qemu = medir::descendants(l.child.id());
        let (pss, rss) = medir::memory_kib(&qemu);
        let (guest_ram, tcg_code) = qemu.first().map_or((0, 0), |p| breakdown(*p));
        let start_ms = at.duration_since(l.launched).as_secs_f64() * 1e3;
        let uptime: Option<f64> = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("uptime="))
            .and_then(|v| v.parse().ok());
        println!(
            "  VM {}: pronto em {} (relógio do convidado: {} s), PSS {} (qemu; \
             RSS da RAM do convidado {}, do código traduzido pelo TCG {})",
            units.len() + 1,
            medir::show_ms(start_ms),
            uptime.map_or("?".into(), |u| u.to_string().replace('.', ",")),
            medir::show_mib(pss),
            medir::show_mib(guest_ram),
            medir::show_mib(tcg_code),
        );
        let mut extra = serde_json::Map::new();
        extra.insert("guest_uptime_s".into(), json!(uptime));
        extra.insert("guest_ram_rss_mib".into(), json!(medir::mib(guest_ram)));
        extra.insert("tcg_code_rss_mib".into(), json!(medir::mib(tcg_code)));
        units.push(Unit {
            start_ms,
            pss_kib: pss,
            rss_kib: rss,
            extra,
        });
    }

    step("VMs: desligando (SIGTERM ao timeout, que o passa ao qemu)");
    let left = running.stop();
    if !left.is_empty() {
        fail!(
            "sobraram processos qemu (pids {}): mate-os com kill -9",
            left.iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    println!("  nenhum qemu ficou rodando");

    Ok(Side {
        units,
        version: None,
        meta: json!({
            "command": shown,
            "qemu": medir::first_line(std::process::Command::new("qemu-system-x86_64").arg("--version")),
            "kernel": kernel,
            "memory_mb": MEMORY_MB,
            "init": "busybox; /init diz \"pronto\" no console serial e dorme",
            "start": "do lançamento do qemu até a linha \"pronto\" no console serial",
            "memory": "PSS do processo qemu, de /proc/<pid>/smaps_rollup; \
                       guest_ram_rss_mib: a parte residente da RAM do convidado \
                       (o mapeamento anônimo de -m MB); tcg_code_rss_mib: a do cache \
                       de código traduzido pelo TCG (o mapeamento rwx), de /proc/<pid>/smaps",
            "what": format!("VM qemu (TCG, -m {MEMORY_MB}) com o mesmo kernel Debian da VM de testes"),
        }),
    })
}

/// The VMs being measured; dropping it kills them (error paths).
struct Running(Vec<Launched>);

impl Running {
    /// SIGTERM to each `timeout` (it passes the signal to qemu, and its
    /// `-k 5` SIGKILLs qemu if that was not enough), waits for them, and
    /// returns the qemu pids still alive afterwards (none, normally).
    fn stop(&mut self) -> Vec<u32> {
        use nix::sys::signal::{kill, Signal};
        let qemus: Vec<u32> = self
            .0
            .iter()
            .flat_map(|l| medir::descendants(l.child.id()))
            .collect();
        for l in &self.0 {
            let _ = kill(
                nix::unistd::Pid::from_raw(l.child.id() as i32),
                Signal::SIGTERM,
            );
        }
        for mut l in self.0.drain(..) {
            let _ = l.child.wait();
            let _ = l.output();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left: Vec<u32> = qemus.iter().copied().filter(|p| medir::alive(*p)).collect();
            if left.is_empty() || Instant::now() > deadline {
                return left;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// Where a qemu's memory goes, RSS in KiB: `(guest RAM, TCG code cache)`.
/// In `/proc/<pid>/smaps` the guest's RAM is the anonymous mapping of
/// exactly `-m` MB, and TCG's translated code the anonymous `rwx` one.
fn breakdown(pid: u32) -> (u64, u64) {
    breakdown_of(&std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default())
}

/// [`breakdown`] of the text of a `/proc/<pid>/smaps`.
fn breakdown_of(smaps: &str) -> (u64, u64) {
    let (mut guest, mut tcg) = (0, 0);
    let mut current: Option<(u64, String)> = None; // (size in KiB, perms)
    for line in smaps.lines() {
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or_default();
        if let Some((from, to)) = first.split_once('-').filter(|_| !first.ends_with(':')) {
            let size = |h: &str| u64::from_str_radix(h, 16).unwrap_or(0);
            let perms = words.next().unwrap_or_default().to_string();
            // An anonymous mapping has no path after offset, dev and inode.
            let anonymous = words.nth(3).is_none();
            current = anonymous.then(|| ((size(to) - size(from)) / 1024, perms));
        } else if first == "Rss:" {
            let rss: u64 = words.next().and_then(|v| v.parse().ok()).unwrap_or(0);
            match &current {
                Some((size, _)) if *size == u64::from(MEMORY_MB) * 1024 => guest += rss,
                Some((_, perms)) if perms.starts_with("rwx") => tcg += rss,
                _ => {}
            }
        }
    }
    (guest, tcg)
}

/// The version string a bzImage carries (`6.1.0-57-cloud-amd64 (...)`):
/// the boot protocol puts a pointer at offset 0x20E to a NUL-terminated
/// string at that pointer + 0x200. Only its first word is kept.
fn kernel_version(vmlinuz: &std::path::Path) -> Option<String> {
    let bytes = std::fs::read(vmlinuz).ok()?;
    let ptr = u16::from_le_bytes([*bytes.get(0x20E)?, *bytes.get(0x20F)?]) as usize + 0x200;
    let end = bytes.get(ptr..)?.iter().position(|b| *b == 0)? + ptr;
    let text = String::from_utf8_lossy(&bytes[ptr..end]);
    text.split_whitespace().next().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn where_a_qemu_memory_goes() {
        // Guest RAM: anonymous, exactly MEMORY_MB; TCG code: anonymous rwx;
        // a file mapping of the same size does not count.
        let guest_end = 0x7f0000000000u64 + u64::from(MEMORY_MB) * 1024 * 1024;
        let smaps = format!(
            "7f0000000000-{guest_end:x} rw-p 00000000 00:00 0 \n\
             Size:             131072 kB\nRss:              114688 kB\n\
             7f1000000000-7f1040000000 rwxp 00000000 00:00 0 \n\
             Rss:               45056 kB\nVmFlags: rd wr ex\n\
             7f2000000000-{:x} r--p 00000000 fe:00 123   /usr/lib/big.so\n\
             Rss:                1000 kB\n",
            0x7f2000000000u64 + u64::from(MEMORY_MB) * 1024 * 1024
        );
        assert_eq!(breakdown_of(&smaps), (114_688, 45_056));
    }

    #[test]
    fn the_version_inside_a_bzimage() {
        // Boot protocol: a u16 at 0x20E points (minus 0x200) at the string.
        let mut image = vec![0u8; 0x800];
        image[0x20E..0x210].copy_from_slice(&0x300u16.to_le_bytes());
        let text = b"6.1.0-57-cloud-amd64 (debian-kernel@lists.debian.org) #1 SMP\0";
        image[0x500..0x500 + text.len()].copy_from_slice(text);
        let tmp = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(tmp.path(), &image).unwrap();
        assert_eq!(
            kernel_version(tmp.path()).as_deref(),
            Some("6.1.0-57-cloud-amd64")
        );
        std::fs::write(tmp.path(), b"curto").unwrap();
        assert_eq!(kernel_version(tmp.path()), None);
    }
}
