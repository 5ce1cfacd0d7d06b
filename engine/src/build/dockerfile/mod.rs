//! The Dockerfile parser: text → a list of [`Instruction`]s, each with the
//! line it starts on.
//!
//! What it understands (the subset of docker's syntax a course needs):
//!
//! - comments (`# …` at the start of a line) and blank lines;
//! - `\` at the end of a line continues the instruction on the next one
//!   (comment lines in between are dropped, as docker does);
//! - the parser directives `# escape=` and `# syntax=` at the top;
//! - here-documents (`RUN <<EOF`, `COPY <<EOF /f`), as BuildKit reads them;
//! - shell form (`RUN echo oi`) and exec/JSON form (`CMD ["sh", "-c", "…"]`)
//!   for RUN, CMD and ENTRYPOINT;
//! - FROM, RUN, COPY, ADD, ENV, ARG, WORKDIR, USER, CMD, ENTRYPOINT, EXPOSE,
//!   LABEL, VOLUME, STOPSIGNAL, SHELL, HEALTHCHECK, ONBUILD.
//!
//! Variables (`$VAR`, `${VAR}`, `${VAR:-padrão}`, `${VAR:+outro}`) are *not*
//! replaced here: their values depend on the ENV and ARG steps before, so
//! the builder expands each word with [`expand`] when it reaches the step,
//! only in the instructions docker expands (not RUN, CMD, ENTRYPOINT: there
//! the shell of the container does it).
//!
//! Every error names the file and line, in Portuguese:
//! `Dockerfile:3: instrução desconhecida "RUNN"`.
//!
//! Where each part lives:
//!
//! | file             | what it holds                                                        |
//! |------------------|----------------------------------------------------------------------|
//! | `mod.rs`         | the types, [`parse`], [`parse_instruction`], and `parse_op`: one arm |
//! |                  | per keyword, the short ones (CMD, ENTRYPOINT, ENV, ARG, LABEL, USER, |
//! |                  | WORKDIR, EXPOSE, VOLUME, STOPSIGNAL, SHELL, ONBUILD) written there   |
//! | `lines.rs`       | logical lines (`\` continuation, comments), `# escape=`/`# syntax=`  |
//! | `heredoc.rs`     | here-document markers and bodies, and where they go (RUN, COPY)      |
//! | `from.rs`        | FROM and `--platform`                                                |
//! | `run.rs`         | RUN and its `--mount=` / `--network=` flags                          |
//! | `copy.rs`        | COPY and ADD and their flags (`--from`, `--chown`, `--chmod`, URLs)  |
//! | `healthcheck.rs` | HEALTHCHECK and Go durations (`1m30s`)                               |
//! | `stages.rs`      | the stages (`FROM … AS`), what `COPY --from` and `--target` name     |
//! | `words.rs`       | shell words, JSON arrays, `KEY=value` pairs, shell/exec form         |
//! | `expand.rs`      | `$VAR`, `${VAR:-…}`, `${VAR:+…}`, quotes and escapes                 |

mod copy;
mod expand;
mod from;
mod healthcheck;
mod heredoc;
mod lines;
mod run;
mod stages;
mod words;

pub use expand::expand;
pub use from::host_platform;
pub use healthcheck::Health;
pub use heredoc::Heredoc;
pub use lines::Directives;
pub use run::{CacheMount, RunFlags, RunMount};
pub use words::words;

use copy::parse_copy;
use from::parse_from;
use healthcheck::healthcheck;
use heredoc::with_heredocs;
use lines::{backslash_syntax, directives, logical_lines};
use run::parse_run;
use stages::stages;
use words::{check_var_name, command, json_array, pairs, split_first_word};

/// A syntax error: where, and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct SyntaxError {
    pub file: String,
    pub line: u32,
    pub message: String,
}

/// The command of RUN, CMD and ENTRYPOINT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `RUN echo oi`: runs as `/bin/sh -c "echo oi"`.
    Shell(String),
    /// `RUN ["echo", "oi"]`: runs as is, no shell.
    Exec(Vec<String>),
}

/// The shell of the shell form until a SHELL instruction changes it.
pub fn default_shell() -> Vec<String> {
    vec!["/bin/sh".into(), "-c".into()]
}

impl Command {
    /// The argv the container runs: the shell form goes through `shell`
    /// (`/bin/sh -c` unless SHELL changed it).
    pub fn argv(&self, shell: &[String]) -> Vec<String> {
        match self {
            Command::Shell(text) => shell.iter().cloned().chain([text.clone()]).collect(),
            Command::Exec(argv) => argv.clone(),
        }
    }
}

/// One instruction, parsed; words that may hold variables are kept raw
/// (quotes included) for [`expand`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    From {
        image: String,
        alias: Option<String>,
    },
    Run(Command, RunFlags),
    /// COPY and ADD (`add`: ADD; local files only, no URLs; a local tar
    /// archive is unpacked).
    Copy {
        add: bool,
        sources: Vec<String>,
        dest: String,
        chown: Option<String>,
        /// `--chmod=0750`: the mode of what is copied (octal).
        chmod: Option<u32>,
        from: Option<String>,
        /// `COPY <<EOF /caminho`: the sources are these documents (each
        /// named after its delimiter), not files of the context.
        heredocs: Vec<Heredoc>,
        /// `ADD --checksum=sha256:…` of a URL source.
        checksum: Option<String>,
    },
    /// Pairs of raw key and raw value.
    Env(Vec<(String, String)>),
    Arg {
        name: String,
        default: Option<String>,
    },
    Workdir(String),
    User(String),
    Cmd(Command),
    Entrypoint(Command),
    Expose(Vec<String>),
    Label(Vec<(String, String)>),
    Volume(Vec<String>),
    StopSignal(String),
    /// `SHELL ["bash", "-c"]`: the shell of later shell-form commands.
    Shell(Vec<String>),
    /// `HEALTHCHECK [opções] CMD …` (`None`: `HEALTHCHECK NONE`, which
    /// turns off the base image's).
    Healthcheck(Option<Health>),
    /// `ONBUILD INSTRUÇÃO`: stored in the image for the builds `FROM` it.
    OnBuild(String),
}

impl Op {
    /// RUN, COPY and ADD add a filesystem layer; the rest change the config.
    pub fn creates_layer(&self) -> bool {
        matches!(self, Op::Run(..) | Op::Copy { .. })
    }
}

/// An instruction and where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// 1-based line where it starts.
    pub line: u32,
    /// Upper-case keyword: `RUN`.
    pub keyword: String,
    /// The arguments as written (continuations joined by a space).
    pub args: String,
    pub op: Op,
}

/// A parsed Dockerfile: ARGs before the first FROM (they may be used in
/// FROM), then the instructions (the first is FROM; each FROM starts a
/// stage).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    /// What errors call the file (`Dockerfile`, or the `-f` path).
    pub name: String,
    pub directives: Directives,
    /// What the user should hear of how it was read, `(line, text)`: a
    /// `# syntax=` ignored, an exec form that is not JSON.
    pub notes: Vec<(u32, String)>,
    pub global_args: Vec<Instruction>,
    pub instructions: Vec<Instruction>,
    /// The stages, in order: each starts at a FROM (at least one).
    pub stages: Vec<StageDef>,
}

/// One stage of a multi-stage Dockerfile: `FROM image [AS name]` and the
/// instructions up to the next FROM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageDef {
    /// `AS name`, lower-cased (docker's names are case-insensitive).
    pub name: Option<String>,
    /// Index of its FROM in `instructions`; `end`: one past its last.
    pub from: usize,
    pub end: usize,
}

impl Dockerfile {
    /// Error at `line` of this file.
    pub fn error(&self, line: u32, message: impl Into<String>) -> SyntaxError {
        SyntaxError {
            file: self.name.clone(),
            line,
            message: message.into(),
        }
    }
}

/// Parses the text of a Dockerfile; `name` is what errors call the file.
pub fn parse(name: &str, text: &str) -> Result<Dockerfile, SyntaxError> {
    let err = |line: u32, message: String| SyntaxError {
        file: name.to_string(),
        line,
        message,
    };
    let directives = directives(text).map_err(|(line, m)| err(line, m))?;
    let mut notes = Vec::new();
    if let Some(syntax) = &directives.syntax {
        let line = text
            .lines()
            .position(|l| l.contains("syntax"))
            .map_or(1, |n| n as u32 + 1);
        notes.push((
            line,
            format!(
                "# syntax={syntax} ignorado: ele escolhe o leitor de Dockerfile do BuildKit; \
                 o casulo usa o seu próprio"
            ),
        ));
    }
    let mut global_args = Vec::new();
    let mut instructions: Vec<Instruction> = Vec::new();
    for logical in logical_lines(text, directives.escape).map_err(|(line, m)| err(line, m))? {
        let line = logical.line;
        let (word, rest) = split_first_word(&logical.text);
        let keyword = word.to_ascii_uppercase();
        let args = rest.trim().to_string();
        // The shell's text (RUN, CMD, ENTRYPOINT) and JSON are not words:
        // the escape character means nothing to them.
        let words_of_docker = !matches!(keyword.as_str(), "RUN" | "CMD" | "ENTRYPOINT" | "SHELL")
            && !args.starts_with('[');
        let op = if directives.escape == '`' && words_of_docker {
            parse_op(&keyword, &backslash_syntax(&args))
        } else {
            parse_op(&keyword, &args)
        }
        .map_err(|m| err(line, m))?;
        let op = with_heredocs(op, logical.heredocs).map_err(|m| err(line, m))?;
        if let Op::Run(Command::Shell(t), _)
        | Op::Cmd(Command::Shell(t))
        | Op::Entrypoint(Command::Shell(t)) = &op
        {
            if t.starts_with('[') {
                notes.push((
                    line,
                    format!(
                        "{keyword} começa com [ mas não é uma lista JSON válida (aspas duplas, \
                         vírgulas, ] no fim): vira a forma shell, como no docker, e roda \
                         /bin/sh -c '{t}'"
                    ),
                ));
            }
        }
        let inst = Instruction {
            line,
            keyword: keyword.clone(),
            args,
            op,
        };
        if instructions.is_empty() {
            match inst.op {
                Op::From { .. } => {}
                Op::Arg { .. } => {
                    global_args.push(inst);
                    continue;
                }
                _ => {
                    return Err(err(
                        line,
                        format!("a primeira instrução deve ser FROM (encontrei {keyword})"),
                    ))
                }
            }
        }
        instructions.push(inst);
    }
    if instructions.is_empty() {
        return Err(err(
            text.lines().count().max(1) as u32,
            "o Dockerfile não tem nenhuma instrução FROM".into(),
        ));
    }
    let mut df = Dockerfile {
        name: name.to_string(),
        directives,
        notes,
        global_args,
        instructions,
        stages: Vec::new(),
    };
    df.stages = stages(&df)?;
    Ok(df)
}

/// One instruction on its own, as `docker commit --change 'CMD ["x"]'`
/// gives it: the same syntax as a line of a Dockerfile (continuations
/// included), exactly one instruction.
pub fn parse_instruction(text: &str) -> Result<Instruction, String> {
    let mut lines = logical_lines(text, '\\').map_err(|(_, m)| m)?.into_iter();
    let Some(logical) = lines.next() else {
        return Err("instrução vazia".into());
    };
    if lines.next().is_some() {
        return Err("uma instrução por vez (repita a opção para mais de uma)".into());
    }
    let line = logical.line;
    let (word, rest) = split_first_word(&logical.text);
    let keyword = word.to_ascii_uppercase();
    let args = rest.trim().to_string();
    let op = with_heredocs(parse_op(&keyword, &args)?, logical.heredocs)?;
    Ok(Instruction {
        line,
        keyword,
        args,
        op,
    })
}

/// One instruction's keyword and arguments → its [`Op`]. One arm per
/// keyword: the instructions with flags or a syntax of their own are
/// parsed in their file (`from.rs`, `run.rs`, `copy.rs`,
/// `healthcheck.rs`), the short ones right here.
fn parse_op(keyword: &str, args: &str) -> Result<Op, String> {
    let need_args = || need_args(keyword, args);
    match keyword {
        "FROM" => parse_from(keyword, args),
        "RUN" => parse_run(keyword, args),
        "CMD" => {
            need_args()?;
            Ok(Op::Cmd(command(keyword, args)?))
        }
        "ENTRYPOINT" => {
            need_args()?;
            Ok(Op::Entrypoint(command(keyword, args)?))
        }
        "COPY" | "ADD" => parse_copy(keyword, args),
        "ENV" => {
            need_args()?;
            Ok(Op::Env(pairs(keyword, args)?))
        }
        "LABEL" => {
            need_args()?;
            let pairs = pairs(keyword, args)?;
            Ok(Op::Label(pairs))
        }
        "ARG" => {
            need_args()?;
            let w = words(args)?;
            if w.len() != 1 {
                return Err(
                    "ARG espera um nome (ARG VERSAO) ou nome=padrão (ARG VERSAO=1.0)".into(),
                );
            }
            let (name, default) = match w[0].split_once('=') {
                Some((n, d)) => (n.to_string(), Some(d.to_string())),
                None => (w[0].clone(), None),
            };
            check_var_name(keyword, &name)?;
            Ok(Op::Arg { name, default })
        }
        "WORKDIR" => {
            need_args()?;
            Ok(Op::Workdir(args.to_string()))
        }
        "USER" => {
            need_args()?;
            let w = words(args)?;
            if w.len() != 1 {
                return Err("USER espera um usuário: USER nome, USER uid ou USER uid:gid".into());
            }
            Ok(Op::User(w[0].clone()))
        }
        "EXPOSE" => {
            need_args()?;
            Ok(Op::Expose(words(args)?))
        }
        "VOLUME" => {
            need_args()?;
            if args.starts_with('[') {
                Ok(Op::Volume(json_array(keyword, args)?))
            } else {
                Ok(Op::Volume(words(args)?))
            }
        }
        "STOPSIGNAL" => {
            need_args()?;
            let w = words(args)?;
            if w.len() != 1 {
                return Err(
                    "STOPSIGNAL espera um sinal: STOPSIGNAL SIGQUIT ou STOPSIGNAL 3".into(),
                );
            }
            Ok(Op::StopSignal(w[0].clone()))
        }
        "" => Err("linha sem instrução".into()),
        "SHELL" => {
            need_args()?;
            if !args.starts_with('[') {
                return Err("SHELL usa a forma JSON: SHELL [\"/bin/sh\", \"-c\"]".into());
            }
            let shell = json_array(keyword, args)?;
            if shell.is_empty() {
                return Err(
                    "SHELL com lista vazia: diga qual shell, como [\"/bin/sh\", \"-c\"]".into(),
                );
            }
            Ok(Op::Shell(shell))
        }
        "HEALTHCHECK" => {
            need_args()?;
            healthcheck(args).map(Op::Healthcheck)
        }
        "ONBUILD" => {
            need_args()?;
            let (word, _) = split_first_word(args);
            let inner = word.to_ascii_uppercase();
            if matches!(inner.as_str(), "ONBUILD" | "FROM" | "MAINTAINER") {
                return Err(format!("ONBUILD {inner} não é permitido (como no docker)"));
            }
            // Checked now, run by the builds that use this image.
            parse_instruction(args).map_err(|m| format!("ONBUILD {inner}: {m}"))?;
            Ok(Op::OnBuild(args.to_string()))
        }
        "MAINTAINER" => Err(
            "a instrução MAINTAINER ainda não é suportada pelo casulo (e o docker a considera \
             obsoleta: use LABEL org.opencontainers.image.authors=\"…\")"
                .into(),
        ),
        _ => Err(format!("instrução desconhecida {keyword:?}")),
    }
}

/// Every instruction but a few needs arguments.
fn need_args(keyword: &str, args: &str) -> Result<(), String> {
    if args.is_empty() {
        Err(format!("{keyword} precisa de argumentos"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A RUN with no flags.
    pub(super) fn run_op(c: Command) -> Op {
        Op::Run(c, RunFlags::default())
    }

    /// Each `(text, line, message)` fails at `line`, and the error names
    /// the file and line and says `message`.
    pub(super) fn assert_errors(cases: &[(&str, u32, &str)]) {
        for &(text, line, msg) in cases {
            let e = parse("Dockerfile", text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(
                e.to_string().starts_with(&format!("Dockerfile:{line}: ")),
                "{e}"
            );
            assert!(e.message.contains(msg), "{text:?}: {e}");
        }
    }

    #[test]
    fn parses_every_instruction_with_lines() {
        let text = "# comentário\n\nARG BASE=busybox\nFROM ${BASE} AS base\nRUN echo a \\\n  # comentário no meio\n  && echo b\nCOPY --chown=1:2 a b /dst/\nADD [\"x y\", \"/z\"]\nENV A=1 B=\"dois três\"\nENV C quatro cinco\nWORKDIR /app\nUSER 1000:1000\nCMD [\"sh\", \"-c\", \"echo oi\"]\nENTRYPOINT echo\nEXPOSE 80/tcp 53/udp\nLABEL versao=1.0 \"nome composto\"=x\nVOLUME [\"/dados\"]\nSTOPSIGNAL SIGQUIT\n";
        let df = parse("Dockerfile", text).unwrap();
        assert_eq!(df.global_args.len(), 1);
        let lines: Vec<(u32, &str)> = df
            .instructions
            .iter()
            .map(|i| (i.line, i.keyword.as_str()))
            .collect();
        assert_eq!(
            lines,
            [
                (4, "FROM"),
                (5, "RUN"),
                (8, "COPY"),
                (9, "ADD"),
                (10, "ENV"),
                (11, "ENV"),
                (12, "WORKDIR"),
                (13, "USER"),
                (14, "CMD"),
                (15, "ENTRYPOINT"),
                (16, "EXPOSE"),
                (17, "LABEL"),
                (18, "VOLUME"),
                (19, "STOPSIGNAL"),
            ]
        );
        let i = &df.instructions;
        assert_eq!(i[1].op, run_op(Command::Shell("echo a && echo b".into())));
        assert_eq!(i[1].args, "echo a && echo b");
        assert_eq!(
            i[2].op,
            Op::Copy {
                add: false,
                sources: vec!["a".into(), "b".into()],
                dest: "/dst/".into(),
                chown: Some("1:2".into()),
                chmod: None,
                from: None,
                heredocs: Vec::new(),
                checksum: None,
            }
        );
        assert!(matches!(&i[3].op, Op::Copy { add: true, sources, .. } if sources == &["x y"]));
        assert_eq!(
            i[4].op,
            Op::Env(vec![
                ("A".into(), "1".into()),
                ("B".into(), "\"dois três\"".into())
            ])
        );
        assert_eq!(i[5].op, Op::Env(vec![("C".into(), "quatro cinco".into())]));
        assert_eq!(
            i[8].op,
            Op::Cmd(Command::Exec(vec![
                "sh".into(),
                "-c".into(),
                "echo oi".into()
            ]))
        );
        assert_eq!(i[9].op, Op::Entrypoint(Command::Shell("echo".into())));
        assert_eq!(i[12].op, Op::Volume(vec!["/dados".into()]));
    }

    #[test]
    fn errors_name_file_and_line() {
        assert_errors(&[
            (
                "FROM busybox\n\nRUNN echo\n",
                3,
                "instrução desconhecida \"RUNN\"",
            ),
            ("RUN echo\n", 1, "a primeira instrução deve ser FROM"),
            ("\n# só comentário\n", 2, "não tem nenhuma instrução FROM"),
            (
                "FROM busybox\nSHELL [\"sh\", \n",
                2,
                "JSON inválido em SHELL",
            ),
            ("FROM busybox\nONBUILD FROM x\n", 2, "não é permitido"),
            (
                "FROM busybox\nONBUILD RUNN x\n",
                2,
                "instrução desconhecida",
            ),
            (
                "FROM busybox\nWORKDIR\n",
                2,
                "WORKDIR precisa de argumentos",
            ),
            ("FROM busybox\nSHELL bash -c\n", 2, "SHELL usa a forma JSON"),
        ]);
    }

    #[test]
    fn onbuild_is_kept_as_written() {
        let df = parse("Dockerfile", "FROM busybox\nONBUILD COPY . /app\n").unwrap();
        assert_eq!(df.instructions[1].op, Op::OnBuild("COPY . /app".into()));
    }

    #[test]
    fn one_instruction_alone() {
        let i = parse_instruction(r#"cmd ["cat", "/novo"]"#).unwrap();
        assert_eq!(i.keyword, "CMD");
        assert_eq!(
            i.op,
            Op::Cmd(Command::Exec(vec!["cat".into(), "/novo".into()]))
        );
        assert_eq!(
            parse_instruction("ENV A=1 \\\n  B=2").unwrap().op,
            Op::Env(vec![("A".into(), "1".into()), ("B".into(), "2".into())])
        );
        assert!(parse_instruction("").unwrap_err().contains("vazia"));
        assert!(parse_instruction("CMD a\nCMD b")
            .unwrap_err()
            .contains("uma instrução"));
        assert!(parse_instruction("NADA x").unwrap_err().contains("NADA"));
    }
}
