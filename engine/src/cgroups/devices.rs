//! The device allow-list: which device files a container may open.
//!
//! A device file is only a name for a kernel driver: a type (`c`haracter or
//! `b`lock) and two numbers, *major:minor* (`c 1:3` is `/dev/null`, `b 8:0`
//! or `b 254:0` a whole disk). The container's root keeps `CAP_MKNOD` (one
//! of docker's 14), so it can make such a file anywhere (`mknod /tmp/disco b
//! 254 0`) — a small `/dev` alone protects nothing. What protects the host
//! is the cgroup: the kernel asks it on every `open` and `mknod` of a device
//! (`devcgroup_check_permission`), and it says no to anything not listed.
//!
//! **The list is docker's default** (moby's `DefaultLinuxSpec` plus runc's
//! `AllowedDevices`), cut to the devices casulo's minimal `/dev` holds:
//!
//! - deny everything, then allow
//! - `c *:* m` and `b *:* m`: **`mknod` of any device is allowed**, as in
//!   docker — making the file gives nothing, opening it is what is checked
//!   (and image layers and build steps may carry device files). So the
//!   attack `mknod` + `open` of the host disk fails at the `open`, with
//!   `EPERM`;
//! - `c 1:3` null, `c 1:5` zero, `c 1:7` full, `c 1:8` random, `c 1:9`
//!   urandom, `c 5:0` tty, `c 5:2` ptmx and `c 136:*` (every pty of the
//!   container's own devpts), each `rwm`.
//!
//! Left out of docker's list on purpose: `c 5:1` (`/dev/console`: casulo
//! makes none, and the host's console is not the container's business) and
//! `c 10:200` (`/dev/net/tun`, which casulo's `/dev` does not have either).
//! `--privileged` allows everything (`a *:* rwm`), still recorded.
//!
//! v1 writes the list into the `devices` controller ([`super::v1::devices`]);
//! v2 has no such files and attaches an eBPF program built from the same
//! list ([`super::v2::devices`]).

use std::fmt;

/// What a rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevType {
    /// `a`: every device, of both types.
    All,
    /// `c`: character devices (terminals, `/dev/null`, …).
    Char,
    /// `b`: block devices (disks, partitions).
    Block,
}

/// One line of the list, in the kernel's v1 syntax: `c 1:3 rwm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub dev_type: DevType,
    /// `None`: any (`*`).
    pub major: Option<u32>,
    pub minor: Option<u32>,
    /// Any of `r` (open for reading), `w` (for writing), `m` (`mknod`).
    pub access: &'static str,
}

impl Rule {
    const fn char(major: u32, minor: Option<u32>, access: &'static str) -> Rule {
        Rule {
            dev_type: DevType::Char,
            major: Some(major),
            minor,
            access,
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let t = match self.dev_type {
            DevType::All => 'a',
            DevType::Char => 'c',
            DevType::Block => 'b',
        };
        let n = |v: Option<u32>| v.map_or("*".to_string(), |v| v.to_string());
        write!(f, "{t} {}:{} {}", n(self.major), n(self.minor), self.access)
    }
}

/// Docker's default allow-list, cut to casulo's `/dev` (see the module docs).
pub const DEFAULT: [Rule; 10] = [
    Rule {
        dev_type: DevType::Char,
        major: None,
        minor: None,
        access: "m",
    },
    Rule {
        dev_type: DevType::Block,
        major: None,
        minor: None,
        access: "m",
    },
    Rule::char(1, Some(3), "rwm"), // null
    Rule::char(1, Some(5), "rwm"), // zero
    Rule::char(1, Some(7), "rwm"), // full
    Rule::char(1, Some(8), "rwm"), // random
    Rule::char(1, Some(9), "rwm"), // urandom
    Rule::char(5, Some(0), "rwm"), // tty
    Rule::char(5, Some(2), "rwm"), // ptmx
    Rule::char(136, None, "rwm"),  // pts/N
];

/// `--privileged`: everything.
pub const ALL: Rule = Rule {
    dev_type: DevType::All,
    major: None,
    minor: None,
    access: "rwm",
};

/// The allowed rules: [`DEFAULT`], or [`ALL`] when `privileged`.
pub fn rules(privileged: bool) -> Vec<Rule> {
    if privileged {
        vec![ALL]
    } else {
        DEFAULT.to_vec()
    }
}

/// The rules as the trace lists them (`c 1:3 rwm`, …).
pub fn texts(rules: &[Rule]) -> Vec<String> {
    rules.iter().map(Rule::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_written_in_the_kernels_syntax() {
        assert_eq!(DEFAULT[0].to_string(), "c *:* m");
        assert_eq!(DEFAULT[1].to_string(), "b *:* m");
        assert_eq!(DEFAULT[2].to_string(), "c 1:3 rwm");
        assert_eq!(DEFAULT[9].to_string(), "c 136:* rwm");
        assert_eq!(ALL.to_string(), "a *:* rwm");
        assert_eq!(texts(&rules(true)), ["a *:* rwm"]);
    }

    /// Every device casulo's `/dev` holds can be opened; no block device can.
    #[test]
    fn the_list_covers_the_minimal_dev_and_no_disk() {
        for (name, major, minor) in crate::mounts::DEVICES {
            let (major, minor) = (major as u32, minor as u32);
            assert!(
                DEFAULT.iter().any(|r| r.dev_type == DevType::Char
                    && r.major == Some(major)
                    && r.minor.is_none_or(|m| m == minor)
                    && r.access == "rwm"),
                "/dev/{name} ({major}:{minor}) não está na lista"
            );
        }
        assert!(DEFAULT
            .iter()
            .filter(|r| r.dev_type != DevType::Char)
            .all(|r| r.access == "m"));
    }
}
