//! Who the container's process runs as: `-u`/`--user` or the image's
//! `User`, resolved like docker does, through the *image's* `/etc/passwd`
//! and `/etc/group` (not the host's: user 1000 may be "aluno" in the image
//! and someone else on the host).
//!
//! Accepted forms: `name`, `uid`, `name:group`, `uid:gid`, `name:gid`,
//! `uid:group`. A name must exist in the image's files; a number need not
//! (docker runs unknown uids with gid 0 and `HOME=/`). The supplementary
//! groups are the groups of `/etc/group` that list the user by name.
//! Resolution happens inside the container, after `pivot_root`, so it reads
//! the container's own files.

/// The resolved user lives in the facade, which switches to it.
pub use crate::kernel::User;

struct PasswdEntry<'a> {
    name: &'a str,
    uid: u32,
    gid: u32,
    home: &'a str,
}

fn passwd_entries(passwd: &str) -> impl Iterator<Item = PasswdEntry<'_>> {
    passwd.lines().filter_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 7 || line.starts_with('#') {
            return None;
        }
        Some(PasswdEntry {
            name: f[0],
            uid: f[2].parse().ok()?,
            gid: f[3].parse().ok()?,
            home: f[5],
        })
    })
}

/// `(name, gid, members)` of each `/etc/group` line.
fn group_entries(group: &str) -> impl Iterator<Item = (&str, u32, Vec<&str>)> {
    group.lines().filter_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 4 || line.starts_with('#') {
            return None;
        }
        let members = f[3].split(',').filter(|m| !m.is_empty()).collect();
        Some((f[0], f[2].parse().ok()?, members))
    })
}

/// Resolves `spec` (empty means root) with the image's passwd and group
/// file contents; the error is a pt-BR sentence.
pub fn resolve(spec: &str, passwd: &str, group: &str) -> Result<User, String> {
    let spec = if spec.is_empty() { "0" } else { spec };
    let (user_part, group_part) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    if user_part.is_empty() || group_part == Some("") {
        return Err(format!(
            "usuário inválido {spec:?} (use NOME, UID ou UID:GID)"
        ));
    }
    let entry = match user_part.parse::<u32>() {
        Ok(uid) => passwd_entries(passwd).find(|e| e.uid == uid),
        Err(_) => Some(
            passwd_entries(passwd)
                .find(|e| e.name == user_part)
                .ok_or_else(|| {
                    format!("o usuário {user_part:?} não existe no /etc/passwd da imagem")
                })?,
        ),
    };
    let uid = match &entry {
        Some(e) => e.uid,
        None => user_part.parse().expect("numeric when not found by name"),
    };
    let gid = match group_part {
        None => entry.as_ref().map_or(0, |e| e.gid),
        Some(g) => match g.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => group_entries(group)
                .find(|(name, _, _)| *name == g)
                .map(|(_, gid, _)| gid)
                .ok_or_else(|| format!("o grupo {g:?} não existe no /etc/group da imagem"))?,
        },
    };
    let mut groups = vec![gid];
    if let Some(e) = &entry {
        for (_, g, members) in group_entries(group) {
            if members.contains(&e.name) && !groups.contains(&g) {
                groups.push(g);
            }
        }
    }
    Ok(User {
        uid,
        gid,
        groups,
        home: entry
            .as_ref()
            .map(|e| e.home)
            .filter(|h| !h.is_empty())
            .unwrap_or("/")
            .to_string(),
        name: entry.map(|e| e.name.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
        aluno:x:1000:1000:Aluno:/home/aluno:/bin/sh\n\
        # comentário\n\
        www:x:33:33::/var/www:/bin/false\n";
    const GROUP: &str = "root:x:0:\naluno:x:1000:\nwheel:x:10:aluno,www\nvideo:x:44:aluno\n";

    #[test]
    fn users_resolve_like_docker() {
        let root = resolve("", PASSWD, GROUP).unwrap();
        assert_eq!((root.uid, root.gid, root.home.as_str()), (0, 0, "/root"));
        let aluno = resolve("aluno", PASSWD, GROUP).unwrap();
        assert_eq!((aluno.uid, aluno.gid), (1000, 1000));
        assert_eq!(aluno.groups, [1000, 10, 44]);
        assert_eq!(aluno.home, "/home/aluno");
        assert_eq!(aluno.name.as_deref(), Some("aluno"));
        let by_uid = resolve("1000", PASSWD, GROUP).unwrap();
        assert_eq!(by_uid, aluno);
        let with_group = resolve("aluno:wheel", PASSWD, GROUP).unwrap();
        assert_eq!((with_group.gid, with_group.groups[0]), (10, 10));
        let unknown = resolve("4242:4343", PASSWD, GROUP).unwrap();
        assert_eq!(
            (unknown.uid, unknown.gid, unknown.home.as_str()),
            (4242, 4343, "/")
        );
        assert_eq!(resolve("4242", "", "").unwrap().gid, 0);
    }

    #[test]
    fn unknown_names_are_errors_in_portuguese() {
        assert!(resolve("fantasma", PASSWD, GROUP)
            .unwrap_err()
            .contains("/etc/passwd"));
        assert!(resolve("aluno:fantasmas", PASSWD, GROUP)
            .unwrap_err()
            .contains("/etc/group"));
        assert!(resolve(":1", PASSWD, GROUP).is_err());
        assert!(resolve("1:", PASSWD, GROUP).is_err());
    }
}
