//! `/etc/subuid` and `/etc/subgid` lines of a user made for a test or a
//! book scenario. Each file is written whole by a rename: a `newuidmap`
//! reading it meanwhile (another test's casulo) sees the old or the new
//! text, never a truncated one. (`useradd` on Debian adds a line of its
//! own; this replaces it.)

use std::os::unix::fs::PermissionsExt;

pub const FILES: [&str; 2] = ["/etc/subuid", "/etc/subgid"];

/// The `(start, count)` to give, from the file's current text.
pub type Range<'a> = &'a dyn Fn(&str) -> (u32, u32);

/// Gives `name` the line `name:start:count` in `file`, or none; `start`
/// is computed from the file's text (see [`free_start`]).
pub fn set(file: &str, name: &str, range: Option<Range>) -> std::io::Result<()> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let mut kept: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with(&format!("{name}:")))
        .map(String::from)
        .collect();
    if let Some(range) = range {
        let (start, count) = range(&text);
        kept.push(format!("{name}:{start}:{count}"));
    }
    let mut out = kept.join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    let tmp = format!("{file}.casulo-teste");
    std::fs::write(&tmp, out)?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644))?;
    std::fs::rename(&tmp, file)
}

/// The first id after every range in `text` (at least 1 000 000: clear of
/// what `useradd` hands out).
pub fn free_start(text: &str) -> u32 {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some(f.get(1)?.parse::<u32>().ok()? + f.get(2)?.parse::<u32>().ok()?)
        })
        .max()
        .unwrap_or(0)
        .max(1_000_000)
}
