//! What a scenario leaves running goes when it ends, passed or failed.
//!
//! A scenario cleans up in its own last steps (`kill $(cat daemon.pid)`,
//! `casulo rm web`, `casulo network rm app`); a failed step ends it before
//! those run, and what it had started kept running after its folder was
//! removed: a `casulo daemon … &`, a `casulo run … &`, `sleep`s, and the
//! containers under a supervisor (`run -d`, or through the daemon), which
//! nothing could find any more. So after every scenario the recorder
//! removes its containers with `casulo rm -f` (see `record.rs`) and then
//! stops what is left of the process group of each of its steps
//! ([`Groups::stop`]): every step runs in a group of its own.
//!
//! Not reached: what a step moved out of its group with `setsid`, and what
//! lives outside the scenario's state dir (a netns, a network another
//! `--root` made); a scenario's `preparo` removes those before it runs, as
//! `09-para-fora` does.

use std::cell::RefCell;
use std::time::{Duration, Instant};

/// How long the leftovers get between SIGTERM and SIGKILL (a daemon
/// removes its socket on SIGTERM).
pub const GRACE: Duration = Duration::from_secs(3);

/// The process groups the steps ran in (each one's number is the pid of
/// the process that led it).
#[derive(Debug, Default)]
pub struct Groups(RefCell<Vec<u32>>);

impl Groups {
    pub fn add(&self, leader: u32) {
        self.0.borrow_mut().push(leader);
    }

    /// SIGTERM to every live process of the groups, SIGKILL to those
    /// still there after `grace`, and a wait for them to be gone; returns
    /// how many there were. Only processes of this process's session are
    /// signalled: the number of a group that emptied may be a new group's
    /// now, of someone else.
    pub fn stop(&self, grace: Duration) -> usize {
        let groups = self.0.borrow();
        let found = members(&groups).len();
        if found == 0 {
            return 0;
        }
        for signal in [libc::SIGTERM, libc::SIGKILL] {
            let began = Instant::now();
            // Members are looked up again each time: one may have forked.
            let mut live = members(&groups);
            while !live.is_empty() && began.elapsed() < grace {
                for &pid in &live {
                    // SAFETY: a plain kill(2) of a process of our session
                    // and of a group this recorder started.
                    unsafe { libc::kill(pid as i32, signal) };
                }
                std::thread::sleep(Duration::from_millis(50));
                live = members(&groups);
            }
        }
        found
    }
}

/// The live processes (zombies left out: they cannot be signalled and
/// are reaped by whoever inherited them) of the groups `groups` that are
/// of this process's session.
fn members(groups: &[u32]) -> Vec<u32> {
    // SAFETY: getsid(0) only reads this process's session id.
    let session = unsafe { libc::getsid(0) };
    let Ok(proc) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    proc.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            // After the name's ")": state, ppid, pgrp, session…
            let Some((_, rest)) = stat.rsplit_once(") ") else {
                return false;
            };
            let f: Vec<&str> = rest.split(' ').collect();
            let group = f.get(2).and_then(|g| g.parse::<u32>().ok());
            let sid = f.get(3).and_then(|s| s.parse::<i32>().ok());
            f.first() != Some(&"Z")
                && group.is_some_and(|g| groups.contains(&g))
                && sid == Some(session)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};

    fn alive(pid: u32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
            s.rsplit_once(") ")
                .is_some_and(|(_, r)| !r.starts_with('Z'))
        })
    }

    /// A step that left a background child (its shell already gone) and
    /// one that left a child deaf to SIGTERM: both are gone after `stop`,
    /// the second once the grace is over; a group with nobody left is no
    /// error.
    #[test]
    fn stop_ends_what_the_steps_left_in_their_groups() {
        let groups = Groups::default();
        let mut pids = Vec::new();
        for script in [
            // (Not on the pipe: the wait for its end would wait for them.)
            "sleep 100 >/dev/null & echo $!",
            "(trap '' TERM; exec sleep 100) >/dev/null & echo $!",
            "true",
        ] {
            let out = Command::new("sh")
                .args(["-c", script])
                .process_group(0)
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            groups.add(out.id());
            let out = out.wait_with_output().unwrap();
            if let Ok(pid) = String::from_utf8_lossy(&out.stdout).trim().parse::<u32>() {
                pids.push(pid);
            }
        }
        assert_eq!(pids.len(), 2);
        // Let the second set its trap (else SIGTERM ends it at once).
        std::thread::sleep(Duration::from_millis(300));
        assert!(pids.iter().all(|&p| alive(p)), "{pids:?}");
        let began = Instant::now();
        assert_eq!(groups.stop(Duration::from_millis(500)), 2);
        assert!(began.elapsed() >= Duration::from_millis(500));
        assert!(pids.iter().all(|&p| !alive(p)), "{pids:?}");
        assert_eq!(groups.stop(Duration::from_millis(500)), 0);
    }
}
