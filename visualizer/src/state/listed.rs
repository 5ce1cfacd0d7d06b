//! The machine's traces, as `traces/` (`cargo xtask serve`) or
//! `/casulo/traces` (`casulo daemon --ui`) list them.

/// One entry of `traces/` (JSON written by the xtask server): the file and
/// what its header says.
#[derive(Clone, PartialEq)]
pub struct Listed {
    pub name: String,
    pub url: String,
    pub bytes: u64,
    pub container: Option<String>,
    pub image: Option<String>,
    pub command: Vec<String>,
    pub started_at: Option<String>,
    /// From `casulo daemon --ui` (`/casulo/traces`): its container's id,
    /// and whether it runs now (then it can be followed live).
    pub id: Option<String>,
    pub running: bool,
}

impl Listed {
    pub fn from_json(v: &serde_json::Value) -> Option<Listed> {
        let text = |k: &str| v.get(k).and_then(|x| x.as_str()).map(String::from);
        Some(Listed {
            name: text("name")?,
            url: text("url")?,
            bytes: v.get("bytes").and_then(|b| b.as_u64()).unwrap_or(0),
            container: text("container"),
            image: text("image"),
            command: v
                .get("command")
                .and_then(|c| c.as_array())
                .map(|c| {
                    c.iter()
                        .filter_map(|a| a.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
            started_at: text("started_at"),
            id: text("id"),
            running: v.get("running").and_then(|r| r.as_bool()).unwrap_or(false),
        })
    }

    /// What it was, in one line: container, image, command (or the file
    /// name, for a file without a header).
    pub fn label(&self) -> String {
        crate::format::trace_label(
            self.container.as_deref(),
            self.image.as_deref(),
            &self.command,
        )
        .unwrap_or_else(|| self.name.clone())
    }

    /// The words a filter matches against.
    pub fn haystack(&self) -> String {
        let words = format!(
            "{} {} {}",
            self.label(),
            self.name,
            self.started_at.as_deref().unwrap_or("")
        );
        crate::format::fold_case(&words)
    }
}
