//! [`RemoveOnDrop`]: the containers a test started are removed even when
//! the test fails.
//!
//! A container under a supervisor (`run -d`, `-dit`, or any run through
//! the daemon) outlives the test that started it: a failed assert unwinds
//! the test, the docker CLI and the daemon die with it, but the supervisor
//! and its container keep running (and their cgroups stay). The lab dir is
//! swept by a later run, and then nothing knows the container any more.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::Lab;

/// `casulo --root ROOT rm -f NAME…` when dropped, whatever the test's
/// outcome (a name already gone is no error here), then `casulo network
/// rm` of the networks given with [`RemoveOnDrop::with_networks`] (a
/// network is the host's: its bridge would stay on the host).
#[must_use = "the containers are removed when the guard is dropped"]
pub struct RemoveOnDrop {
    casulo: PathBuf,
    root: PathBuf,
    names: Vec<String>,
    networks: Vec<String>,
}

impl RemoveOnDrop {
    /// For containers of the state dir `root` (a daemon's private one).
    pub fn in_root(root: &Path, names: &[&str]) -> RemoveOnDrop {
        RemoveOnDrop {
            casulo: crate::casulo_bin(),
            root: root.to_path_buf(),
            names: names.iter().map(|n| n.to_string()).collect(),
            networks: Vec::new(),
        }
    }

    /// Also these networks, once the containers are gone.
    pub fn with_networks(mut self, networks: &[&str]) -> RemoveOnDrop {
        self.networks = networks.iter().map(|n| n.to_string()).collect();
        self
    }

    /// `casulo --root ROOT ARGS…`, its output thrown away; never panics.
    fn casulo(&self, args: &[&str], names: &[String]) {
        let _ = Command::new(&self.casulo)
            .arg("--root")
            .arg(&self.root)
            .args(args)
            .args(names)
            .env_remove("CASULO_ROOT")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

impl Lab {
    /// A [`RemoveOnDrop`] for containers of the lab's state dir.
    pub fn remove_on_drop(&self, names: &[&str]) -> RemoveOnDrop {
        RemoveOnDrop::in_root(self.root(), names)
    }
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        // Never panics: a panic while unwinding would abort the test
        // binary, and the other guards would not run.
        if !self.names.is_empty() {
            self.casulo(&["rm", "-f"], &self.names);
        }
        if !self.networks.is_empty() {
            self.casulo(&["network", "rm"], &self.networks);
        }
    }
}
