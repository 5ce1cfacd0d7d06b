//! `/proc/PID/stat`, read the one safe way: the command name (field 2)
//! may hold spaces and `)`, so the fields are counted after its last `)`.

/// The fields of `/proc/<pid>/stat` from the state (field 3) on: `[0]` is
/// the state (`R`, `S`, `Z`…), `[4]` `tty_nr`, `[19]` `starttime`. `pid`
/// is a number, `self` or `thread-self`. None if the process is gone.
pub fn fields(pid: &str) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    Some(rest.split_whitespace().map(str::to_string).collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn proc_stat_fields_start_at_the_state() {
        // This thread is running (the process's main thread may wait).
        let me = super::fields("thread-self").unwrap();
        assert_eq!(me[0], "R");
        assert!(super::fields("999999999").is_none());
    }
}
