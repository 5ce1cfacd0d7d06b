//! Who can do a lab. A lab needs root (its steps use cgroups, the bridge,
//! `--privileged`, the daemon, `unshare` on the host…) unless its
//! `lab.toml` says `sem_root = true`: then it is made for a student without
//! root, done with a rootless casulo, whose traces and state are the
//! student's own (`$XDG_DATA_HOME/casulo`). Each side is told, before
//! anything is made, which labs are theirs.

use super::{Lab, LabError};

/// May this casulo (rootless or not) start `lab`? `all` are the labs to
/// point to instead.
pub fn may_start(lab: &Lab, rootless: bool, all: &[Lab]) -> Result<(), LabError> {
    match (lab.spec.rootless, rootless) {
        (false, true) => Err(LabError::NeedsRoot {
            lab: lab.number,
            title: lab.spec.title.clone(),
            instead: list(all.iter().filter(|l| l.spec.rootless)),
        }),
        (true, false) => Err(LabError::NeedsNoRoot {
            lab: lab.number,
            title: lab.spec.title.clone(),
        }),
        _ => Ok(()),
    }
}

/// `14 (Sem root: …)`, joined with "ou"; or a sentence when there is none.
fn list<'a>(labs: impl Iterator<Item = &'a Lab>) -> String {
    let names: Vec<String> = labs
        .map(|l| {
            format!(
                "o {} («{}»: `casulo lab iniciar {}`)",
                l.number, l.spec.title, l.number
            )
        })
        .collect();
    if names.is_empty() {
        "nenhum laboratório é feito sem root".into()
    } else {
        format!("sem root, faça {}", names.join(" ou "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_side_is_pointed_to_its_labs() {
        let labs = crate::lab::bundle::all().unwrap();
        let rootless: Vec<&Lab> = labs.iter().filter(|l| l.spec.rootless).collect();
        assert_eq!(
            rootless.iter().map(|l| l.number).collect::<Vec<_>>(),
            [14],
            "só o laboratório 14 é feito sem root"
        );
        let three = labs.iter().find(|l| l.number == 3).unwrap();
        assert!(may_start(three, false, &labs).is_ok());
        let e = may_start(three, true, &labs).unwrap_err().to_string();
        assert!(e.contains("o laboratório 3 precisa de root"), "{e}");
        assert!(e.contains("`casulo lab iniciar 14`"), "{e}");
        assert!(may_start(rootless[0], true, &labs).is_ok());
        let e = may_start(rootless[0], false, &labs)
            .unwrap_err()
            .to_string();
        assert!(e.contains("sem sudo"), "{e}");
    }
}
