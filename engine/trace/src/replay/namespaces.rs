//! Namespaces: created, joined, and the user namespace's id maps.

use super::World;
use crate::{Event, EventBody, NsKind, NsVia};

/// [`NsKind`] ordered (for maps), in the order casulo creates namespaces.
pub type NsKindKey = u8;

/// The map key of a namespace kind.
pub fn ns_key(kind: NsKind) -> NsKindKey {
    NsKind::ALL.iter().position(|k| *k == kind).unwrap_or(0) as u8
}

/// The namespace kind of a map key.
pub fn ns_kind(key: NsKindKey) -> NsKind {
    NsKind::ALL[usize::from(key) % NsKind::ALL.len()]
}

/// A namespace created by the trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    pub kind: NsKind,
    /// Its inode (identity), when known.
    pub inode: Option<u64>,
    /// The inode of the namespace it replaced (the host's), when known.
    pub host_inode: Option<u64>,
    /// Host pid of the process born in it (clone) or that moved into it (unshare).
    pub owner: i32,
    pub via: NsVia,
    /// Index of the event that created it.
    pub at: usize,
}

impl World {
    /// Applies this area's kinds; other kinds are left alone.
    pub(super) fn apply_namespaces(&mut self, event: &Event, at: usize) {
        let pid = event.pid;
        match &event.body {
            EventBody::NamespaceCreate {
                ns,
                via,
                inode,
                host_inode,
            } => {
                // With clone, the new namespace is the child's: the last
                // process this pid cloned. With unshare, the caller's own.
                let owner = match via {
                    NsVia::Clone => self.last_child_of(pid).unwrap_or(pid),
                    NsVia::Unshare => pid,
                };
                self.process(owner)
                    .namespaces
                    .insert(ns_key(*ns), inode.unwrap_or(0));
                self.namespaces.push(Namespace {
                    kind: *ns,
                    inode: *inode,
                    host_inode: *host_inode,
                    owner,
                    via: *via,
                    at,
                });
            }
            EventBody::NamespaceJoin {
                ns,
                target_pid,
                inode,
            } => {
                let known = || {
                    self.processes
                        .get(target_pid)
                        .and_then(|p| p.namespaces.get(&ns_key(*ns)).copied())
                };
                let inode = inode.or_else(known).unwrap_or(0);
                self.process(pid).namespaces.insert(ns_key(*ns), inode);
            }
            EventBody::NamespaceUser {
                target_pid,
                map,
                ranges,
            } => {
                let p = self.process(*target_pid);
                match map.as_str() {
                    "gid" => p.gid_map = ranges.clone(),
                    _ => p.uid_map = ranges.clone(),
                }
            }
            _ => {}
        }
    }
}
