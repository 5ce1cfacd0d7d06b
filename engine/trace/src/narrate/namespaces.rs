//! The `namespace.*` kinds and the hostname the UTS namespace isolates.

use super::words::say;
use crate::{Event, EventBody, NsVia};

/// The narration of this area's kinds; `None` for other kinds.
pub(super) fn describe(event: &Event) -> Option<String> {
    let ok = event.outcome.is_ok();
    // Past tense when it worked, "não conseguiu" + infinitive when it failed.
    let say = |done: String, todo: String| say(ok, done, todo);
    Some(match &event.body {
        EventBody::NamespaceCreate {
            ns,
            via,
            inode,
            host_inode,
        } => {
            let how = match via {
                NsVia::Clone => "",
                NsVia::Unshare => " com unshare()",
            };
            let ids = match (inode, host_inode) {
                (Some(i), Some(h)) => format!(" (inode {i}; o do host era {h})"),
                (Some(i), None) => format!(" (inode {i})"),
                (None, Some(h)) => format!(" (o do host era o inode {h})"),
                (None, None) => String::new(),
            };
            let ns = ns.proc_name();
            say(
                format!("criou namespace {ns}{how}{ids}"),
                format!("criar namespace {ns}{how}{ids}"),
            )
        }
        EventBody::NamespaceJoin {
            ns,
            target_pid,
            inode,
        } => {
            let ns = ns.proc_name();
            let id = inode.map(|i| format!(", inode {i}")).unwrap_or_default();
            say(
                format!("entrou no namespace {ns} do processo {target_pid} (setns{id})"),
                format!("entrar no namespace {ns} do processo {target_pid} (setns{id})"),
            )
        }
        EventBody::NamespaceUser {
            target_pid,
            map,
            ranges,
        } => {
            let lines: Vec<String> = ranges
                .iter()
                .map(|r| format!("{} {} {}", r.inside, r.outside, r.count))
                .collect();
            let what = format!("o {map}_map do processo {target_pid}: {}", lines.join("; "));
            say(format!("escreveu {what}"), format!("escrever {what}"))
        }
        EventBody::UtsSethostname { hostname } => say(
            format!("definiu o hostname como {hostname:?}"),
            format!("definir o hostname como {hostname:?}"),
        ),
        _ => return None,
    })
}
