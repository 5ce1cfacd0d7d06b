//! `casulo ps`: the containers kept on disk.

use super::template::{self, Template};
use super::{CliError, CliResult};
use crate::container;
use crate::state::StateDir;

/// Lista os contêineres (como `docker ps`).
#[derive(Debug, clap::Args)]
pub struct PsArgs {
    /// Mostra todos: também os que já terminaram ou só foram criados.
    #[arg(short, long)]
    pub all: bool,
    /// Só os ids.
    #[arg(short, long)]
    pub quiet: bool,
    /// Formato da saída: `table` (o padrão), `json` (um objeto por linha,
    /// com nomes de campo do `docker ps --format json`: ID, Image, Command,
    /// CreatedAt, State, Status, Ports, Names, Networks) ou um modelo como o do
    /// docker: '{{.Names}} {{.Status}}', 'table {{.ID}}\t{{.Names}}'.
    #[arg(long, value_name = "FORMATO")]
    pub format: Option<String>,
}

pub fn ps(state: &StateDir, args: PsArgs) -> CliResult {
    let records: Vec<_> = container::list(state)
        .into_iter()
        .filter(|r| args.all || r.is_up())
        .collect();
    if args.quiet {
        for r in &records {
            println!("{}", &r.id[..12]);
        }
        return Ok(0);
    }
    match args.format.as_deref() {
        None | Some("table") => {}
        Some("json") => {
            for r in &records {
                println!("{}", docker_ps_json(r));
            }
            return Ok(0);
        }
        Some(text) => return print_template(text, &records),
    }
    println!(
        "{:<12}  {:<20}  {:<24}  {:<28}  {:<18}  {:<24}  NOME",
        "ID", "IMAGEM", "COMANDO", "CRIADO", "ESTADO", "PORTAS"
    );
    for r in &records {
        let state = r.status_in_words();
        let mut command = r.process.args.join(" ");
        if command.chars().count() > 24 {
            command = command.chars().take(23).collect::<String>() + "…";
        }
        let ports = crate::network::ports::list(&r.ports);
        println!(
            "{:<12}  {:<20}  {:<24}  {:<28}  {:<18}  {:<24}  {}",
            &r.id[..12],
            r.image,
            command,
            r.created,
            state,
            ports,
            r.name
        );
    }
    Ok(0)
}

/// `--format` with a docker-style template (see [`super::template`]).
fn print_template(text: &str, records: &[container::ContainerRecord]) -> CliResult {
    let template = Template::parse(text).map_err(|e| CliError::msg(125, e))?;
    let mut lines = Vec::new();
    if template.table {
        lines.push(template.header(docker_header));
    }
    for r in records {
        lines.push(
            template
                .render(&docker_ps_json(r))
                .map_err(|e| CliError::msg(125, e))?,
        );
    }
    match template.table {
        true => print!("{}", template::align(&lines)),
        false => lines.iter().for_each(|l| println!("{l}")),
    }
    Ok(0)
}

/// The column title docker prints for a field in `ps --format 'table …'`.
fn docker_header(field: &str) -> String {
    match field {
        "ID" => "CONTAINER ID".into(),
        "CreatedAt" => "CREATED AT".into(),
        other => other.to_uppercase(),
    }
}

/// One line of `docker ps --format json`: docker's field names (all strings).
fn docker_ps_json(r: &container::ContainerRecord) -> serde_json::Value {
    let (state, status) = (r.docker_state(), r.docker_status());
    serde_json::json!({
        "ID": &r.id[..12],
        "Image": r.image,
        "Command": format!("{:?}", r.process.args.join(" ")),
        "CreatedAt": r.created,
        "State": state,
        "Status": status,
        "Ports": crate::network::ports::list(&r.ports),
        "Names": r.name,
        "Networks": r.network,
    })
}
