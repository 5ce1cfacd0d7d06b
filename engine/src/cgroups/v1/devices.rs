//! v1 devices controller: the allow-list is text written into the
//! container's directory of the `devices` hierarchy. A new cgroup inherits
//! its parent's list (`a *:* rwm`: everything), so casulo first writes `a`
//! into `devices.deny` (nothing allowed) and then one rule per write into
//! `devices.allow` (`c 1:3 rwm`, …; see [`crate::cgroups::devices`]).
//! `devices.list` reads back what is in force. Under `--privileged` it
//! writes `a` into `devices.allow` instead: everything, said explicitly.

use std::path::Path;

use crate::cgroups::{devices, CgroupError};
use crate::kernel::Kernel;

pub fn apply(k: &Kernel, dir: &Path, privileged: bool) -> Result<(), CgroupError> {
    let rules = devices::rules(privileged);
    let writes: Vec<(&str, String)> = if privileged {
        vec![("devices.allow", "a".to_string())]
    } else {
        std::iter::once(("devices.deny", "a".to_string()))
            .chain(rules.iter().map(|r| ("devices.allow", r.to_string())))
            .collect()
    };
    k.cgroup_devices_v1(dir, &writes, privileged, devices::texts(&rules))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::double::FakeSyscalls;
    use crate::recorder::Recorder;
    use casulo_trace::EventBody;

    #[test]
    fn deny_all_first_then_one_allow_line_per_rule_in_one_event() {
        let sys = FakeSyscalls::new();
        let rec = Recorder::in_memory();
        let k = Kernel::new(&sys, &rec);
        let dir = Path::new("/sys/fs/cgroup/devices/casulo/c1");
        apply(&k, dir, false).unwrap();
        let calls = sys.calls();
        assert_eq!(calls[0], format!("write {}/devices.deny a", dir.display()));
        assert_eq!(
            calls[1],
            format!("write {}/devices.allow c *:* m", dir.display())
        );
        assert_eq!(calls.len(), 1 + devices::DEFAULT.len());
        let events = rec.events();
        assert_eq!(events.len(), 1);
        let EventBody::CgroupDevices {
            version,
            privileged,
            default_action,
            allowed,
            program_insns,
            ..
        } = &events[0].body
        else {
            panic!("{:?}", events[0].body)
        };
        assert_eq!((version.as_str(), *privileged), ("v1", false));
        assert_eq!(default_action, "deny");
        assert_eq!(allowed.len(), devices::DEFAULT.len());
        assert_eq!(*program_insns, None);
        assert!(events[0]
            .op
            .starts_with("write /sys/fs/cgroup/devices/casulo/c1/devices.deny = a; "));
    }

    #[test]
    fn privileged_allows_everything_and_a_refused_write_is_an_error() {
        let sys = FakeSyscalls::new();
        let rec = Recorder::in_memory();
        let k = Kernel::new(&sys, &rec);
        let dir = Path::new("/cg/devices/casulo/c2");
        apply(&k, dir, true).unwrap();
        assert_eq!(sys.calls(), ["write /cg/devices/casulo/c2/devices.allow a"]);
        let sys = FakeSyscalls::new();
        sys.fail_on(
            "write /cg/devices/casulo/c2/devices.allow c 1:3",
            nix::errno::Errno::EINVAL,
        );
        let k = Kernel::new(&sys, &rec);
        let err = apply(&k, dir, false).unwrap_err();
        assert!(
            err.to_string().contains("devices.allow = c 1:3 rwm"),
            "{err}"
        );
        // It stopped at the refused line.
        assert_eq!(sys.calls().len(), 4);
        assert!(!rec.events().last().unwrap().outcome.is_ok());
    }
}
