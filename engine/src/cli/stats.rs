//! `casulo stats`: a live table of what running containers use (as
//! `docker stats`), redrawn every second until Ctrl-C; `--no-stream`
//! prints one reading and ends. The numbers: [`container::stats`].

use std::io::{IsTerminal, Write};
use std::time::Duration;

use super::CliResult;
use crate::container::{self, stats::Usage, ContainerRecord, ContainerState, RunError};
use crate::kernel::{Kernel, LinuxSyscalls};
use crate::recorder::Recorder;
use crate::state::StateDir;
use casulo_trace::text::bytes as bytes_text;

/// Time between two readings (the CPU % is measured over it).
const INTERVAL: Duration = Duration::from_secs(1);

/// `casulo stats`'s arguments (its help is the variant's, in `cli/mod.rs`).
#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    /// Uma leitura só e sai (a CPU % é medida ao longo de um segundo).
    #[arg(long = "no-stream")]
    pub no_stream: bool,
    /// `table`: a tabela; `json`: um objeto JSON por contêiner, um por linha.
    #[arg(long, value_name = "FORMATO", default_value = "table", value_parser = ["table", "json"])]
    pub format: String,
    /// Nome, id ou começo do id; nenhum: todos os que estão rodando.
    #[arg(value_name = "CONTÊINER")]
    pub containers: Vec<String>,
}

pub fn cmd(state: &StateDir, args: StatsArgs) -> CliResult {
    // Named containers must exist and run now, as in docker.
    for key in &args.containers {
        let r = container::find(state, key)?;
        if !live(&r) {
            return Err(RunError::NotRunning(r.name).into());
        }
    }
    let rec = Recorder::in_memory();
    let k = Kernel::new(&LinuxSyscalls, &rec);
    let mut sampler = container::stats::Sampler::new();
    // The first reading only starts the CPU clock.
    sampler.read(&k, &targets(state, &args.containers));
    let redraw = !args.no_stream && args.format == "table" && std::io::stdout().is_terminal();
    loop {
        std::thread::sleep(INTERVAL);
        let records = targets(state, &args.containers);
        if records.is_empty() && !args.containers.is_empty() {
            // Every container named has ended.
            return Ok(0);
        }
        let rows = sampler.read(&k, &records);
        let mut out = std::io::stdout().lock();
        if redraw {
            // Clear the screen and go home: the table is drawn in place.
            let _ = write!(out, "\x1b[2J\x1b[H");
        }
        let text = match args.format.as_str() {
            "json" => json(&rows),
            _ => table(&rows),
        };
        if write!(out, "{text}").and_then(|()| out.flush()).is_err() {
            // The reader went away (`casulo stats | head`).
            return Ok(0);
        }
        if args.no_stream {
            return Ok(0);
        }
        if !redraw && args.format == "table" {
            let _ = writeln!(out);
        }
    }
}

fn live(r: &ContainerRecord) -> bool {
    matches!(r.state, ContainerState::Running | ContainerState::Paused)
}

/// The containers to read now: those named that still run, or every running one.
fn targets(state: &StateDir, keys: &[String]) -> Vec<ContainerRecord> {
    if keys.is_empty() {
        return container::list(state).into_iter().filter(live).collect();
    }
    keys.iter()
        .filter_map(|key| container::find(state, key).ok())
        .filter(live)
        .collect()
}

/// docker's columns, said in Portuguese.
pub fn table(rows: &[Usage]) -> String {
    let mut out = format!(
        "{:<20}  {:<12}  {:>8}  {:>24}  {:>7}  {:>5}\n",
        "NOME", "ID", "CPU %", "USO / LIMITE", "MEM %", "PIDS"
    );
    for u in rows {
        let name = if u.paused {
            format!("{} (pausado)", u.name)
        } else {
            u.name.clone()
        };
        let memory = format!(
            "{} / {}",
            u.memory_bytes.map_or("--".into(), bytes_text),
            u.memory_limit_bytes.map_or("--".into(), bytes_text)
        );
        let pids = u.pids.map_or("--".into(), |p| p.to_string());
        out += &format!(
            "{:<20}  {:<12}  {:>8}  {:>24}  {:>7}  {:>5}\n",
            name,
            &u.id[..12.min(u.id.len())],
            pct(u.cpu_percent),
            memory,
            pct(u.memory_percent),
            pids
        );
    }
    out
}

/// One JSON object per container, one per line.
pub fn json(rows: &[Usage]) -> String {
    rows.iter()
        .map(|u| serde_json::to_string(u).expect("json") + "\n")
        .collect()
}

/// `12,34%` (pt-BR decimal comma); `--` when unknown.
fn pct(p: Option<f64>) -> String {
    p.map_or("--".into(), |p| format!("{p:.2}%").replace('.', ","))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, paused: bool) -> Usage {
        Usage {
            name: name.into(),
            id: "0123456789abcdef".repeat(4),
            paused,
            cpu_percent: Some(99.5),
            cpu_usage_us: Some(1),
            memory_bytes: Some(3 << 20),
            memory_limit_bytes: Some(64 << 20),
            memory_limited: true,
            memory_percent: Some(4.6875),
            pids: Some(2),
            pids_limit: None,
        }
    }

    #[test]
    fn the_table_has_docker_columns_in_portuguese() {
        let t = table(&[row("quente", false), row("gelo", true)]);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("NOME"), "{t}");
        assert!(lines[0].contains("USO / LIMITE"));
        assert!(lines[1].contains("quente") && lines[1].contains("0123456789ab "));
        assert!(lines[1].contains("99,50%"));
        assert!(lines[1].contains("3 MiB / 64 MiB"));
        assert!(lines[1].contains("4,69%"));
        assert!(lines[1].trim_end().ends_with('2'));
        assert!(lines[2].contains("gelo (pausado)"));
        let first = Usage {
            cpu_percent: None,
            pids: None,
            ..row("novo", false)
        };
        assert!(table(&[first]).lines().nth(1).unwrap().contains("--"));
    }

    #[test]
    fn json_is_one_object_per_line() {
        let j = json(&[row("a", false), row("b", true)]);
        let parsed: Vec<serde_json::Value> = j
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[1]["name"], "b");
        assert_eq!(parsed[1]["paused"], true);
        assert_eq!(parsed[0]["memory_limit_bytes"], 64 << 20);
    }
}
