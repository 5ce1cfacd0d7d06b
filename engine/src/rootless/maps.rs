//! The maps of a rootless casulo's user namespace: the user itself as 0,
//! then its sub-ids from `/etc/subuid` and `/etc/subgid` (lines
//! `NAME:START:COUNT`, by user name or by uid, as shadow's `newuidmap`
//! accepts them). Without lines: a single-id map.

use std::path::Path;

use casulo_trace::IdRange;

/// The uid and gid maps to write, and where they came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Maps {
    pub uid: Vec<IdRange>,
    pub gid: Vec<IdRange>,
    /// Whether the sub-ids came from `/etc/subuid` and `/etc/subgid`
    /// (written with `newuidmap`/`newgidmap`); false: single-id map.
    pub subids: bool,
}

impl Maps {
    /// The maps for host user `uid`/`gid` named `name`, from `etc`'s
    /// `subuid` and `subgid`. Both files must have a line for the user, or
    /// neither counts (a map for uids and not for gids would leave the
    /// image's groups unmapped).
    pub fn for_user(etc: &Path, name: &str, uid: u32, gid: u32) -> Maps {
        let own = |id| IdRange {
            inside: 0,
            outside: id,
            count: 1,
        };
        let sub = |file: &str| find(&etc.join(file), name, uid);
        match (sub("subuid"), sub("subgid")) {
            (Some((us, uc)), Some((gs, gc))) => Maps {
                uid: vec![own(uid), next(us, uc)],
                gid: vec![own(gid), next(gs, gc)],
                subids: true,
            },
            _ => Maps {
                uid: vec![own(uid)],
                gid: vec![own(gid)],
                subids: false,
            },
        }
    }

    /// How many ids exist inside (1 with a single-id map).
    pub fn uid_count(&self) -> u64 {
        self.uid.iter().map(|r| u64::from(r.count)).sum()
    }

    /// `0→1000, 1–65536→100000…` for people.
    pub fn describe(ranges: &[IdRange]) -> String {
        let parts: Vec<String> = ranges
            .iter()
            .map(|r| {
                if r.count == 1 {
                    format!("{}→{}", r.inside, r.outside)
                } else {
                    format!(
                        "{}–{}→{}–{}",
                        r.inside,
                        r.inside as u64 + r.count as u64 - 1,
                        r.outside,
                        r.outside as u64 + r.count as u64 - 1
                    )
                }
            })
            .collect();
        parts.join(", ")
    }
}

/// Sub-ids start at 1 inside: 0 is the user.
fn next(start: u32, count: u32) -> IdRange {
    IdRange {
        inside: 1,
        outside: start,
        count,
    }
}

/// `(start, count)` of the first line of `file` for `name` or `uid`.
fn find(file: &Path, name: &str, uid: u32) -> Option<(u32, u32)> {
    let text = std::fs::read_to_string(file).ok()?;
    let uid = uid.to_string();
    text.lines().map(str::trim).find_map(|line| {
        let mut parts = line.split(':');
        let (who, start, count) = (parts.next()?, parts.next()?, parts.next()?);
        if who != name && who != uid {
            return None;
        }
        let (start, count) = (start.parse().ok()?, count.parse().ok()?);
        (count > 0).then_some((start, count))
    })
}

pub use crate::rootless_mode::parse_proc_map;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_ids_by_name_or_uid_else_a_single_id() {
        let etc = tempfile::tempdir().unwrap();
        let single = Maps::for_user(etc.path(), "aluna", 1000, 1000);
        assert!(!single.subids);
        assert_eq!(Maps::describe(&single.uid), "0→1000");
        assert_eq!(single.uid_count(), 1);

        std::fs::write(etc.path().join("subuid"), "root:10:5\naluna:100000:65536\n").unwrap();
        // A subuid line without a subgid line does not count.
        assert!(!Maps::for_user(etc.path(), "aluna", 1000, 1000).subids);
        std::fs::write(etc.path().join("subgid"), "1000:200000:65536\n").unwrap();
        let both = Maps::for_user(etc.path(), "aluna", 1000, 1001);
        assert!(both.subids);
        assert_eq!(Maps::describe(&both.uid), "0→1000, 1–65536→100000–165535");
        assert_eq!(Maps::describe(&both.gid), "0→1001, 1–65536→200000–265535");
        assert_eq!(both.uid_count(), 65_537);
    }

    #[test]
    fn proc_maps_are_read_back() {
        let m =
            parse_proc_map("         0       1000          1\n         1     100000      65536\n");
        assert_eq!(m.len(), 2);
        assert_eq!(
            (m[1].inside, m[1].outside, m[1].count),
            (1, 100_000, 65_536)
        );
    }
}
