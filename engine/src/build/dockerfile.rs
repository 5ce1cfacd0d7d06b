//! The Dockerfile parser: text → a list of [`Instruction`]s, each with the
//! line it starts on.
//!
//! What it understands (the subset of docker's syntax a course needs):
//!
//! - comments (`# …` at the start of a line) and blank lines;
//! - `\` at the end of a line continues the instruction on the next one
//!   (comment lines in between are dropped, as docker does);
//! - shell form (`RUN echo oi`) and exec/JSON form (`CMD ["sh", "-c", "…"]`)
//!   for RUN, CMD and ENTRYPOINT;
//! - FROM, RUN, COPY, ADD, ENV, ARG, WORKDIR, USER, CMD, ENTRYPOINT, EXPOSE,
//!   LABEL, VOLUME, STOPSIGNAL, SHELL.
//!
//! Variables (`$VAR`, `${VAR}`, `${VAR:-padrão}`, `${VAR:+outro}`) are *not*
//! replaced here: their values depend on the ENV and ARG steps before, so
//! the builder expands each word with [`expand`] when it reaches the step,
//! only in the instructions docker expands (not RUN, CMD, ENTRYPOINT: there
//! the shell of the container does it).
//!
//! Every error names the file and line, in Portuguese:
//! `Dockerfile:3: instrução desconhecida "RUNN"`.

use std::collections::BTreeMap;

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

/// The flags of a RUN: `--mount=…` and `--network=…`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFlags {
    pub mounts: Vec<RunMount>,
    /// `--network=default`: the step's container on the default bridge
    /// (casulo's steps have no network otherwise, as `docker build
    /// --network none`).
    pub network: bool,
}

/// `RUN --mount=type=cache|tmpfs,target=…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunMount {
    pub cache: Option<CacheMount>,
    /// Absolute path in the step's container.
    pub target: String,
}

/// A `type=cache` mount: a directory casulo keeps between builds of the
/// same context (`id`, by default the target), never part of a layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheMount {
    pub id: String,
    /// `shared` (default), `locked` (one build at a time) or `private` (a
    /// fresh one when it is in use).
    pub sharing: String,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// `--mount=type=cache,target=/x,…` or `type=tmpfs`.
fn run_mount(spec: &str) -> Result<RunMount, String> {
    let mut kind = "bind";
    let mut target = None;
    let mut cache = CacheMount {
        id: String::new(),
        sharing: "shared".into(),
        mode: 0o755,
        uid: 0,
        gid: 0,
    };
    let bad = |what: &str| format!("RUN --mount={spec}: {what}");
    for part in spec.split(',') {
        let (key, value) = part.split_once('=').unwrap_or((part, ""));
        match key {
            "type" => kind = value,
            "target" | "dst" | "destination" => target = Some(value.to_string()),
            "id" => cache.id = value.to_string(),
            "sharing" => {
                if !matches!(value, "shared" | "locked" | "private") {
                    return Err(bad("sharing é shared, locked ou private"));
                }
                cache.sharing = value.to_string();
            }
            "mode" => {
                cache.mode = u32::from_str_radix(value, 8)
                    .ok()
                    .filter(|m| *m <= 0o7777)
                    .ok_or_else(|| bad("mode é octal, como mode=0755"))?
            }
            "uid" => cache.uid = value.parse().map_err(|_| bad("uid é um número"))?,
            "gid" => cache.gid = value.parse().map_err(|_| bad("gid é um número"))?,
            _ => return Err(bad(&format!("opção {key:?} desconhecida"))),
        }
    }
    if !matches!(kind, "cache" | "tmpfs") {
        return Err(bad(&format!(
            "type={kind} ainda não é suportado pelo casulo (só cache e tmpfs)"
        )));
    }
    let target = target
        .filter(|t| t.starts_with('/'))
        .ok_or_else(|| bad("falta target=/caminho (absoluto)"))?;
    if cache.id.is_empty() {
        cache.id = target.clone();
    }
    Ok(RunMount {
        cache: (kind == "cache").then_some(cache),
        target,
    })
}

/// A parsed `HEALTHCHECK … CMD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub command: Command,
    /// In nanoseconds; 0: not given.
    pub interval: u64,
    pub timeout: u64,
    pub start_period: u64,
    pub start_interval: u64,
    pub retries: u64,
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

/// Splits the instructions into stages (each starts at a FROM) and checks
/// the names and every `COPY --from` against them.
fn stages(df: &Dockerfile) -> Result<Vec<StageDef>, SyntaxError> {
    let mut out: Vec<StageDef> = Vec::new();
    for (n, inst) in df.instructions.iter().enumerate() {
        if let Op::From { alias, .. } = &inst.op {
            if let Some(last) = out.last_mut() {
                last.end = n;
            }
            let name = alias.as_ref().map(|a| a.to_ascii_lowercase());
            if let Some(name) = &name {
                let ok = name.starts_with(|c: char| c.is_ascii_lowercase())
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
                if !ok {
                    return Err(df.error(
                        inst.line,
                        format!(
                            "nome de estágio inválido {name:?} (comece com uma letra; use letras, dígitos, -, _ e .)"
                        ),
                    ));
                }
                if let Some(prev) = out.iter().find(|s| s.name.as_deref() == Some(name)) {
                    return Err(df.error(
                        inst.line,
                        format!(
                            "o nome de estágio {name:?} já foi usado na linha {}",
                            df.instructions[prev.from].line
                        ),
                    ));
                }
            }
            out.push(StageDef {
                name,
                from: n,
                end: df.instructions.len(),
            });
        }
    }
    // Now every stage is known: a reference to a later one is an error.
    for (index, stage) in out.iter().enumerate() {
        for inst in &df.instructions[stage.from..stage.end] {
            let Op::Copy {
                from: Some(from), ..
            } = &inst.op
            else {
                continue;
            };
            stage_ref(&out, index, from)
                .map_err(|m| df.error(inst.line, format!("COPY --from={from}: {m}")))?;
        }
    }
    Ok(out)
}

/// What `--from=value` names, seen from stage `current`: `Ok(Some(i))` an
/// earlier stage (by name or number), `Ok(None)` an image of the store.
fn stage_ref(stages: &[StageDef], current: usize, value: &str) -> Result<Option<usize>, String> {
    let named = |i: usize| match &stages[i].name {
        Some(n) => format!("{i} ({n})"),
        None => i.to_string(),
    };
    let found = match value.parse::<usize>() {
        Ok(i) if i < stages.len() => Some(i),
        Ok(i) => {
            return Err(format!(
                "não existe o estágio {i} (os estágios são numerados de 0 a {})",
                stages.len() - 1
            ))
        }
        Err(_) => {
            let lower = value.to_ascii_lowercase();
            stages
                .iter()
                .position(|s| s.name.as_deref() == Some(&lower))
        }
    };
    match found {
        Some(i) if i == current => Err(format!(
            "o estágio {} não pode copiar de si mesmo",
            named(i)
        )),
        Some(i) if i > current => Err(format!(
            "o estágio {} vem depois deste: só dá para copiar de estágios anteriores",
            named(i)
        )),
        other => Ok(other),
    }
}

impl Dockerfile {
    /// See [`stage_ref`]: what `--from=value` (or a FROM image) names
    /// from stage `current`.
    pub fn stage_ref(&self, current: usize, value: &str) -> Result<Option<usize>, String> {
        stage_ref(&self.stages, current, value)
    }

    /// The stage named `name` (or numbered), for `--target`.
    pub fn stage_named(&self, name: &str) -> Option<usize> {
        match name.parse::<usize>() {
            Ok(i) if i < self.stages.len() => Some(i),
            _ => {
                let lower = name.to_ascii_lowercase();
                self.stages
                    .iter()
                    .position(|s| s.name.as_deref() == Some(&lower))
            }
        }
    }

    /// How errors and the output call stage `i`: its name, or its number.
    pub fn stage_label(&self, i: usize) -> String {
        match &self.stages[i].name {
            Some(n) => n.clone(),
            None => i.to_string(),
        }
    }
}

/// An instruction as read from the file: where it starts, its text
/// (continuations joined) and its here-documents, in order.
struct Logical {
    line: u32,
    text: String,
    heredocs: Vec<Heredoc>,
}

/// A here-document (`<<EOF` … `EOF`) of RUN, COPY or ADD, as BuildKit
/// reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// The delimiter (`EOF`); a COPY names the file after it.
    pub name: String,
    /// The lines between, each ending in `\n` (`<<-`: leading tabs gone).
    pub content: String,
    /// Unquoted delimiter: `$VAR` in the content is expanded (by the shell
    /// for RUN, by the build for COPY); `<<"EOF"` or `<<'EOF'`: as written.
    pub expand: bool,
    /// As written in the instruction (`<<-"EOF"`), for RUN's shell.
    marker: String,
}

/// The here-document markers of an instruction's text, in order:
/// (as written, `-`, quoted, delimiter).
fn heredoc_markers(text: &str) -> Vec<(String, bool, bool, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("<<") {
        let after = &rest[at + 2..];
        let (dash, after) = match after.strip_prefix('-') {
            Some(a) => (true, a),
            None => (false, after),
        };
        let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'');
        let body = &after[quote.map_or(0, |_| 1)..];
        let len = body
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(body.len());
        let name = &body[..len];
        let closed = quote.is_none_or(|q| body[len..].starts_with(q));
        let first_ok = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
        if name.is_empty() || !closed || !first_ok {
            rest = &rest[at + 2..];
            continue;
        }
        let used = 2 + usize::from(dash) + quote.map_or(0, |_| 2) + len;
        out.push((
            rest[at..at + used].to_string(),
            dash,
            quote.is_some(),
            name.to_string(),
        ));
        rest = &rest[at + used..];
    }
    out
}

/// Joins continuation lines (ending in `escape`), drops comments and blank
/// lines, and takes the here-documents of RUN, COPY and ADD (the lines
/// after the instruction, up to each delimiter alone on its line). As
/// docker: a comment or a blank line inside a continuation is skipped, it
/// does not end the instruction.
fn logical_lines(text: &str, escape: char) -> Result<Vec<Logical>, (u32, String)> {
    let mut out: Vec<Logical> = Vec::new();
    let mut current: Option<(u32, String)> = None;
    let mut lines = text.lines().enumerate();
    while let Some((i, raw)) = lines.next() {
        let number = i as u32 + 1;
        let trimmed = raw.trim();
        if trimmed.starts_with('#') || trimmed.is_empty() {
            continue;
        }
        let (content, continues) = match raw.trim_end().strip_suffix(escape) {
            Some(before) => (before, true),
            None => (raw.trim_end(), false),
        };
        match &mut current {
            Some((_, text)) => {
                let piece = content.trim_start();
                if !piece.is_empty() {
                    if !text.is_empty() && !text.ends_with(' ') {
                        text.push(' ');
                    }
                    text.push_str(piece);
                }
            }
            None => current = Some((number, content.trim_start().to_string())),
        }
        if continues {
            continue;
        }
        let Some((line, text)) = current.take() else {
            continue;
        };
        let keyword = split_first_word(&text).0.to_ascii_uppercase();
        let mut heredocs = Vec::new();
        if matches!(keyword.as_str(), "RUN" | "COPY" | "ADD") {
            for (marker, dash, quoted, name) in heredoc_markers(&text) {
                let mut content = String::new();
                let mut closed = false;
                for (_, body) in lines.by_ref() {
                    let body = if dash {
                        body.trim_start_matches('\t')
                    } else {
                        body
                    };
                    if body == name {
                        closed = true;
                        break;
                    }
                    content.push_str(body);
                    content.push('\n');
                }
                if !closed {
                    return Err((
                        line,
                        format!(
                            "o here-document {marker} não termina: falta uma linha só com {name}"
                        ),
                    ));
                }
                heredocs.push(Heredoc {
                    name,
                    content,
                    expand: !quoted,
                    marker,
                });
            }
        }
        out.push(Logical {
            line,
            text,
            heredocs,
        });
    }
    // A trailing escape on the last line: the instruction ends with the file.
    if let Some((line, text)) = current {
        out.push(Logical {
            line,
            text,
            heredocs: Vec::new(),
        });
    }
    out.retain(|l| !l.text.trim().is_empty());
    Ok(out)
}

/// The parser directives (`# escape=`` ` ``, `# syntax=…`): comments of the
/// form `# chave=valor` at the very top, before any blank line, other
/// comment or instruction (after that they are plain comments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directives {
    /// The escape character: `\` (default) or `` ` `` (handy on Windows
    /// paths). It continues lines and escapes in words.
    pub escape: char,
    /// `# syntax=`: for BuildKit, which frontend parses the file; casulo
    /// has its own parser and says it ignores it.
    pub syntax: Option<String>,
}

fn directives(text: &str) -> Result<Directives, (u32, String)> {
    let mut d = Directives {
        escape: '\\',
        syntax: None,
    };
    let mut seen = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let Some(body) = line.trim().strip_prefix('#') else {
            break;
        };
        let Some((key, value)) = body.split_once('=') else {
            break;
        };
        let key = key.trim().to_ascii_lowercase();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric()) {
            break;
        }
        let value = value.trim();
        let line = i as u32 + 1;
        if seen.contains(&key) {
            return Err((line, format!("a diretiva {key} aparece duas vezes")));
        }
        seen.push(key.clone());
        match key.as_str() {
            "escape" => {
                d.escape = match value {
                    "\\" => '\\',
                    "`" => '`',
                    _ => {
                        return Err((
                            line,
                            format!("# escape={value}: o caractere de escape é \\ ou `"),
                        ))
                    }
                }
            }
            "syntax" => d.syntax = Some(value.to_string()),
            // `check` and the ones to come: comments for casulo.
            _ => {}
        }
    }
    Ok(d)
}

/// With `# escape=`` ` ``, the words of an instruction rewritten in the
/// backslash syntax the rest of the parser knows: `` `x `` is `\x` and a
/// backslash is just a backslash (`\\`).
fn backslash_syntax(args: &str) -> String {
    let mut out = String::with_capacity(args.len());
    for c in args.chars() {
        match c {
            '`' => out.push('\\'),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out
}

fn split_first_word(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    }
}

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

/// `FROM [--platform=P] IMAGE [AS NAME]`.
fn parse_from(keyword: &str, args: &str) -> Result<Op, String> {
    need_args(keyword, args)?;
    let (flags, words) = take_flags(&words(args)?);
    for (flag, value) in &flags {
        match (flag.as_str(), value) {
            ("platform", Some(p)) => check_platform(p)?,
            _ => return Err(format!("FROM: opção --{flag} não é suportada")),
        }
    }
    match words.as_slice() {
        [image] => Ok(Op::From {
            image: image.clone(),
            alias: None,
        }),
        [image, as_, alias] if as_.eq_ignore_ascii_case("as") => Ok(Op::From {
            image: image.clone(),
            alias: Some(alias.clone()),
        }),
        _ => Err("FROM espera uma imagem (FROM busybox) ou FROM imagem AS nome".into()),
    }
}

/// `RUN [--mount=…] [--network=…] COMMAND` (shell or exec form, here-documents).
fn parse_run(keyword: &str, args: &str) -> Result<Op, String> {
    need_args(keyword, args)?;
    let mut flags = RunFlags::default();
    let mut rest = args;
    while rest.starts_with("--") {
        let (flag, after) = split_first_word(rest);
        match flag[2..].split_once('=') {
            Some(("mount", spec)) => flags.mounts.push(run_mount(spec)?),
            Some(("network", "default")) => flags.network = true,
            Some(("network", "none")) => flags.network = false,
            Some(("network", other)) => {
                return Err(format!(
                    "RUN --network={other}: use none (o padrão do casulo) ou default \
                     (a bridge casulo0); a rede do host não é dada a um passo do build"
                ))
            }
            _ => return Err(format!("RUN: opção {flag} não é suportada")),
        }
        rest = after.trim_start();
    }
    if rest.is_empty() {
        return Err("RUN precisa de um comando depois das opções".into());
    }
    Ok(Op::Run(command(keyword, rest)?, flags))
}

/// `COPY`/`ADD [--from] [--chown] [--chmod] [--link] [--checksum] SRC… DEST`, here-documents too.
fn parse_copy(keyword: &str, args: &str) -> Result<Op, String> {
    need_args(keyword, args)?;
    // Flags come first, also before a JSON form: `COPY --chown=1:1 ["a", "b"]`.
    let mut rest = args;
    let mut flag_words = Vec::new();
    loop {
        let (word, after) = split_first_word(rest);
        if !word.starts_with("--") || word.len() <= 2 {
            break;
        }
        flag_words.push(word.to_string());
        rest = after.trim_start();
    }
    let (flags, _) = take_flags(&flag_words);
    let mut paths = if rest.starts_with('[') {
        json_array(keyword, rest)?
    } else {
        words(rest)?
    };
    let mut chown = None;
    let mut chmod = None;
    let mut checksum: Option<String> = None;
    let mut from = None;
    for (flag, value) in flags {
        match (flag.as_str(), value) {
            ("chown", Some(v)) if !v.is_empty() => chown = Some(v),
            ("chmod", Some(v)) => {
                chmod = Some(
                    u32::from_str_radix(&v, 8)
                        .ok()
                        .filter(|m| *m <= 0o7777 && !v.is_empty())
                        .ok_or_else(|| {
                            format!(
                                "--chmod={v}: o modo é um número octal, como --chmod=0755 \
                                 ou --chmod=644"
                            )
                        })?,
                )
            }
            // BuildKit's layer that can be rebased: here every COPY
            // layer is already independent of what is below it.
            ("link", None | Some(_)) => {}
            ("checksum", Some(v)) if keyword == "ADD" => {
                let hex = v.strip_prefix("sha256:").unwrap_or("");
                if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(format!(
                        "--checksum={v}: espero sha256: e 64 dígitos hexadecimais"
                    ));
                }
                checksum = Some(v.to_ascii_lowercase());
            }
            ("from", Some(v)) if !v.is_empty() && keyword == "COPY" => from = Some(v),
            ("from", _) if keyword == "COPY" => {
                return Err("COPY --from precisa de um valor: --from=estágio".into())
            }
            ("chown", _) => {
                return Err("--chown precisa de um valor: --chown=UID:GID (números)".into())
            }
            (other, _) => return Err(format!("{keyword}: opção --{other} não é suportada")),
        }
    }
    if paths.len() < 2 {
        return Err(format!(
            "{keyword} precisa de pelo menos uma origem e um destino ({keyword} origem destino)"
        ));
    }
    let dest = paths.pop().expect("two or more");
    let urls = paths.iter().filter(|p| p.contains("://")).count();
    if urls > 0 {
        if keyword == "COPY" {
            return Err("COPY não baixa URLs: use ADD URL destino".into());
        }
        if urls != paths.len() {
            return Err("ADD: misturar URLs com arquivos do contexto ainda não é \
                        suportado pelo casulo: use um ADD para cada"
                .into());
        }
        if let Some(bad) = paths
            .iter()
            .find(|p| !(p.starts_with("http://") || p.starts_with("https://")))
        {
            return Err(format!("ADD {bad}: só URLs http:// e https://"));
        }
    } else if checksum.is_some() {
        return Err(
            "ADD --checksum só vale para URLs (ADD --checksum=sha256:… URL destino)".into(),
        );
    }
    Ok(Op::Copy {
        add: keyword == "ADD",
        sources: paths,
        dest,
        chown,
        chmod,
        from,
        heredocs: Vec::new(),
        checksum,
    })
}

/// Puts an instruction's here-documents where they go. RUN (shell form):
/// the shell gets them back, as a script — the text then the documents,
/// each ended by its delimiter — so `cat <<EOF > /f`, `<<-` and a quoted
/// delimiter mean what they mean in `sh`; a RUN that is only `<<EOF` runs
/// the document itself. COPY/ADD: each `<<NOME` source is a file made of
/// its document.
fn with_heredocs(op: Op, heredocs: Vec<Heredoc>) -> Result<Op, String> {
    if heredocs.is_empty() {
        return Ok(op);
    }
    match op {
        Op::Run(Command::Shell(text), flags) => {
            if heredocs.len() == 1 && text.trim() == heredocs[0].marker {
                return Ok(Op::Run(Command::Shell(heredocs[0].content.clone()), flags));
            }
            let mut script = text;
            for h in &heredocs {
                script.push('\n');
                script.push_str(&h.content);
                script.push_str(&h.name);
            }
            Ok(Op::Run(Command::Shell(script), flags))
        }
        Op::Run(Command::Exec(_), _) => {
            Err("RUN na forma exec não tem here-documents (use a forma shell: RUN <<EOF)".into())
        }
        Op::Copy {
            add,
            sources,
            dest,
            chown,
            chmod,
            from,
            checksum,
            ..
        } => {
            let mut inline = Vec::new();
            for source in &sources {
                match heredocs.iter().find(|h| &h.marker == source) {
                    Some(h) => inline.push(h.clone()),
                    None => {
                        return Err(format!(
                            "{}: misturar here-documents com arquivos do contexto ({source}) \
                             ainda não é suportado pelo casulo: use um {} para cada",
                            if add { "ADD" } else { "COPY" },
                            if add { "ADD" } else { "COPY" }
                        ))
                    }
                }
            }
            Ok(Op::Copy {
                add,
                sources: inline.iter().map(|h| h.name.clone()).collect(),
                dest,
                chown,
                chmod,
                from,
                heredocs: inline,
                checksum,
            })
        }
        other => Ok(other),
    }
}

/// `HEALTHCHECK NONE` or `HEALTHCHECK [--interval=30s] [--timeout=…]
/// [--start-period=…] [--start-interval=…] [--retries=N] CMD comando`.
fn healthcheck(args: &str) -> Result<Option<Health>, String> {
    if args.trim().eq_ignore_ascii_case("NONE") {
        return Ok(None);
    }
    let mut rest = args;
    let mut h = Health {
        command: Command::Shell(String::new()),
        interval: 0,
        timeout: 0,
        start_period: 0,
        start_interval: 0,
        retries: 0,
    };
    loop {
        let (word, after) = split_first_word(rest);
        let Some(flag) = word.strip_prefix("--") else {
            break;
        };
        let (name, value) = flag.split_once('=').unwrap_or((flag, ""));
        let slot = match name {
            "interval" => &mut h.interval,
            "timeout" => &mut h.timeout,
            "start-period" => &mut h.start_period,
            "start-interval" => &mut h.start_interval,
            "retries" => &mut h.retries,
            _ => return Err(format!("HEALTHCHECK: opção --{name} desconhecida")),
        };
        *slot = if name == "retries" {
            value
                .parse()
                .map_err(|_| format!("HEALTHCHECK --retries={value}: espero um número"))?
        } else {
            duration_ns(value).ok_or_else(|| {
                format!(
                    "HEALTHCHECK --{name}={value}: espero uma duração, como 30s, 1m30s ou 500ms"
                )
            })?
        };
        rest = after.trim_start();
    }
    let (word, command) = split_first_word(rest);
    if !word.eq_ignore_ascii_case("CMD") || command.trim().is_empty() {
        return Err(
            "HEALTHCHECK espera CMD e um comando (HEALTHCHECK CMD wget -q -O- \
                    localhost) ou NONE"
                .into(),
        );
    }
    h.command = self::command("HEALTHCHECK", command.trim())?;
    Ok(Some(h))
}

/// A Go duration (`1m30s`, `500ms`, `2h`) in nanoseconds.
fn duration_ns(text: &str) -> Option<u64> {
    let mut total = 0u64;
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter(|n| *n > 0)?;
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let per = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total = total.checked_add((number * per) as u64)?;
        rest = &rest[unit_len..];
    }
    Some(total)
}

/// `FROM --platform=…`: casulo builds for this machine's platform only
/// (another would need an emulator, as docker's `binfmt`); the variables
/// docker predefines for it name this one.
fn check_platform(platform: &str) -> Result<(), String> {
    let here = host_platform();
    let named = match platform {
        "$BUILDPLATFORM" | "${BUILDPLATFORM}" | "$TARGETPLATFORM" | "${TARGETPLATFORM}" => {
            return Ok(())
        }
        p => p.to_ascii_lowercase(),
    };
    if named == here || named == format!("{here}/v1") || named == "linux" {
        Ok(())
    } else {
        Err(format!(
            "FROM --platform={platform}: o casulo só constrói para a plataforma desta máquina, \
             {here} (outra precisaria de um emulador, como o binfmt/qemu do docker)"
        ))
    }
}

/// This machine's platform in docker's words (`linux/amd64`).
pub fn host_platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    format!("linux/{arch}")
}

/// RUN/CMD/ENTRYPOINT: JSON array (exec form) or shell form. As docker, a
/// `[` that is not a JSON list of strings (`CMD [not, json]`) is shell form:
/// the shell gets the text as written.
fn command(keyword: &str, args: &str) -> Result<Command, String> {
    match serde_json::from_str::<Vec<String>>(args) {
        Ok(argv) if argv.is_empty() => {
            Err(format!("{keyword} com lista vazia: nada para executar"))
        }
        Ok(argv) => Ok(Command::Exec(argv)),
        Err(_) => Ok(Command::Shell(args.to_string())),
    }
}

fn json_array(keyword: &str, args: &str) -> Result<Vec<String>, String> {
    serde_json::from_str::<Vec<String>>(args).map_err(|e| {
        format!(
            "JSON inválido em {keyword}: {e} (a forma exec é uma lista de textos entre aspas duplas, como [\"sh\", \"-c\", \"echo oi\"])"
        )
    })
}

/// Leading `--name=value` (or `--name`) words, and the rest.
fn take_flags(words: &[String]) -> (Vec<(String, Option<String>)>, Vec<String>) {
    let mut flags = Vec::new();
    let mut i = 0;
    while i < words.len() && words[i].starts_with("--") && words[i].len() > 2 {
        let body = &words[i][2..];
        match body.split_once('=') {
            Some((name, value)) => flags.push((name.to_string(), Some(unquote(value)))),
            None => flags.push((body.to_string(), None)),
        }
        i += 1;
    }
    (flags, words[i..].to_vec())
}

/// ENV/LABEL: `K=V K2="V 2"` or the old `K V com espaços`.
fn pairs(keyword: &str, args: &str) -> Result<Vec<(String, String)>, String> {
    let w = words(args)?;
    let first_is_pair = w[0].contains('=');
    let mut out = Vec::new();
    if !first_is_pair {
        let (key, rest) = split_first_word(args);
        let value = rest.trim();
        if keyword == "ENV" && value.is_empty() {
            return Err(format!(
                "ENV {key} sem valor: use ENV {key}=valor (ou ENV {key} valor)"
            ));
        }
        if keyword == "ENV" {
            check_var_name(keyword, key)?;
        }
        out.push((key.to_string(), value.to_string()));
        return Ok(out);
    }
    for word in w {
        let Some((key, value)) = word.split_once('=') else {
            return Err(format!(
                "{keyword}: {word:?} não é CHAVE=valor (todas as palavras devem ter =)"
            ));
        };
        if key.is_empty() {
            return Err(format!("{keyword}: chave vazia em {word:?}"));
        }
        if keyword == "ENV" {
            check_var_name(keyword, key)?;
        }
        out.push((key.to_string(), value.to_string()));
    }
    Ok(out)
}

fn check_var_name(keyword: &str, name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{keyword}: nome de variável inválido {name:?} (use letras, dígitos e _)"
        ))
    }
}

/// Splits on whitespace outside quotes; quotes and backslashes are kept
/// (for [`expand`]).
pub fn words(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
                continue;
            }
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (q, '\\') if q != Some('\'') => {
                cur.push('\\');
                if let Some(next) = chars.next() {
                    cur.push(next);
                }
                in_word = true;
                continue;
            }
            _ => {}
        }
        cur.push(c);
        in_word = true;
    }
    if let Some(q) = quote {
        return Err(format!("aspas {q} abertas e não fechadas"));
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

/// Removes quotes and backslash escapes, without expanding variables.
fn unquote(word: &str) -> String {
    expand(word, &BTreeMap::new(), false).unwrap_or_else(|_| word.to_string())
}

/// Processes one raw word as docker does: quotes removed, `\x` → `x`
/// (outside single quotes), and with `substitute`, `$VAR`, `${VAR}`,
/// `${VAR:-padrão}` and `${VAR:+valor}` replaced from `vars` (outside single
/// quotes; unknown variables become empty).
pub fn expand(
    word: &str,
    vars: &BTreeMap<String, String>,
    substitute: bool,
) -> Result<String, String> {
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::new();
    let mut quote: Option<char> = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (Some('\''), c) => out.push(c),
            (_, '\\') => {
                i += 1;
                if let Some(&next) = chars.get(i) {
                    // Inside double quotes only \" \\ \$ are escapes.
                    if quote == Some('"') && !matches!(next, '"' | '\\' | '$') {
                        out.push('\\');
                    }
                    out.push(next);
                } else {
                    out.push('\\');
                }
            }
            (_, '$') if substitute => {
                let (value, used) = variable(&chars[i + 1..], vars)?;
                out.push_str(&value);
                i += used;
            }
            (_, c) => out.push(c),
        }
        i += 1;
    }
    Ok(out)
}

/// After a `$`: the variable's value and how many chars it used.
fn variable(rest: &[char], vars: &BTreeMap<String, String>) -> Result<(String, usize), String> {
    let name_char = |c: &char| c.is_ascii_alphanumeric() || *c == '_';
    if rest.first() == Some(&'{') {
        let Some(end) = rest.iter().position(|c| *c == '}') else {
            return Err("${ sem o } que fecha".into());
        };
        let inner: String = rest[1..end].iter().collect();
        let (name, modifier) = match inner.find(":") {
            Some(pos) => (&inner[..pos], Some(&inner[pos..])),
            None => (inner.as_str(), None),
        };
        if name.is_empty() || !name.chars().all(|c| name_char(&c)) {
            return Err(format!("variável inválida ${{{inner}}}"));
        }
        let value = vars.get(name).filter(|v| !v.is_empty());
        let out = match modifier {
            None => vars.get(name).cloned().unwrap_or_default(),
            Some(m) if m.starts_with(":-") => value
                .cloned()
                .unwrap_or_else(|| expand(&m[2..], vars, true).unwrap_or_default()),
            Some(m) if m.starts_with(":+") => match value {
                Some(_) => expand(&m[2..], vars, true)?,
                None => String::new(),
            },
            Some(m) => return Err(format!("modificador {m:?} não suportado em ${{{inner}}}")),
        };
        return Ok((out, end + 1));
    }
    let len = rest.iter().take_while(|c| name_char(c)).count();
    if len == 0 {
        // A lone `$` stays.
        return Ok(("$".into(), 0));
    }
    let name: String = rest[..len].iter().collect();
    Ok((vars.get(&name).cloned().unwrap_or_default(), len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_op(c: Command) -> Op {
        Op::Run(c, RunFlags::default())
    }

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
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
        let cases = [
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
            ("# escape=x\nFROM busybox\n", 1, "o caractere de escape"),
            (
                "# escape=`\n# escape=\\\\\nFROM busybox\n",
                2,
                "aparece duas vezes",
            ),
            ("FROM busybox\nCOPY --chmod=9 a b\n", 2, "número octal"),
            (
                "FROM --platform=linux/arm64 busybox\n",
                1,
                "só constrói para a plataforma desta máquina",
            ),
            (
                "FROM busybox\nHEALTHCHECK --interval=5x CMD true\n",
                2,
                "duração",
            ),
            ("FROM busybox\nHEALTHCHECK true\n", 2, "espera CMD"),
            ("FROM busybox\nONBUILD FROM x\n", 2, "não é permitido"),
            (
                "FROM busybox\nONBUILD RUNN x\n",
                2,
                "instrução desconhecida",
            ),
            (
                "FROM busybox\nCOPY a\n",
                2,
                "pelo menos uma origem e um destino",
            ),
            (
                "FROM busybox\nWORKDIR\n",
                2,
                "WORKDIR precisa de argumentos",
            ),
            ("FROM busybox\nENV X\n", 2, "ENV X sem valor"),
            ("FROM busybox\nENV 1X=a\n", 2, "nome de variável inválido"),
            (
                "FROM busybox\nCOPY http://x/y /\n",
                2,
                "COPY não baixa URLs",
            ),
            ("FROM busybox\nADD http://x/y a /\n", 2, "misturar URLs"),
            ("FROM busybox\nADD ftp://x/y /\n", 2, "só URLs http"),
            (
                "FROM busybox\nADD --checksum=sha256:12 http://x/y /\n",
                2,
                "64 dígitos",
            ),
            (
                "FROM busybox\nADD --checksum=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef a /\n",
                2,
                "só vale para URLs",
            ),
            (
                "FROM a AS x\nFROM b AS X\n",
                2,
                "\"x\" já foi usado na linha 1",
            ),
            (
                "FROM a AS x\nCOPY --from=x a b\n",
                2,
                "não pode copiar de si mesmo",
            ),
            (
                "FROM a\nCOPY --from=y a b\nFROM b AS y\n",
                2,
                "vem depois deste",
            ),
            (
                "FROM a\nFROM b\nCOPY --from=5 a b\n",
                3,
                "não existe o estágio 5",
            ),
            ("FROM a AS 1x\n", 1, "nome de estágio inválido"),
            ("FROM busybox\nLABEL a=\"b\n", 2, "aspas \" abertas"),
            ("FROM busybox\nSHELL bash -c\n", 2, "SHELL usa a forma JSON"),
        ];
        for (text, line, msg) in cases {
            let e = parse("Dockerfile", text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(
                e.to_string().starts_with(&format!("Dockerfile:{line}: ")),
                "{e}"
            );
            assert!(e.message.contains(msg), "{text:?}: {e}");
        }
    }

    /// The classes docker accepts that casulo once refused or read
    /// otherwise (issue #18).
    #[test]
    fn reads_dockerfiles_as_people_write_them() {
        // Comments and blank lines inside a continuation are skipped.
        let df = parse(
            "Dockerfile",
            "FROM busybox\nRUN echo a \\\n# um comentário\n\n    && echo b\nCMD [not, json]\n",
        )
        .unwrap();
        let i = &df.instructions;
        assert_eq!(i[1].op, run_op(Command::Shell("echo a && echo b".into())));
        // Not JSON: shell form, the text as written.
        assert_eq!(i[2].op, Op::Cmd(Command::Shell("[not, json]".into())));
        // `# escape=``: backtick continues lines, backslashes are literal.
        let df = parse(
            "Dockerfile",
            "# escape=`\n# syntax=docker/dockerfile:1\nFROM busybox\nENV P=C:\\dir\\x `\n    Q=`$HOME\nWORKDIR C:\\w\nRUN echo \\n\n",
        )
        .unwrap();
        assert_eq!(df.directives.escape, '`');
        assert_eq!(df.directives.syntax.as_deref(), Some("docker/dockerfile:1"));
        let Op::Env(pairs) = &df.instructions[1].op else {
            panic!("{:?}", df.instructions[1])
        };
        let vars = BTreeMap::from([("HOME".to_string(), "/root".to_string())]);
        let values: Vec<String> = pairs
            .iter()
            .map(|(_, v)| expand(v, &vars, true).unwrap())
            .collect();
        assert_eq!(values, ["C:\\dir\\x", "$HOME"]);
        assert_eq!(
            df.instructions[3].op,
            run_op(Command::Shell("echo \\n".into()))
        );
        // A directive after an instruction is a comment.
        let df = parse("Dockerfile", "FROM busybox\n# escape=`\nRUN a \\\n b\n").unwrap();
        assert_eq!(df.directives.escape, '\\');
        assert_eq!(df.instructions[1].op, run_op(Command::Shell("a b".into())));
        // --chmod, --link, --platform of this machine, HEALTHCHECK, ONBUILD.
        let df = parse(
            "Dockerfile",
            "FROM --platform=$BUILDPLATFORM busybox\nCOPY --link --chmod=750 a /b\n\
             HEALTHCHECK --interval=1m30s --retries=3 CMD wget -q localhost\n\
             HEALTHCHECK NONE\nONBUILD COPY . /app\n",
        )
        .unwrap();
        let i = &df.instructions;
        assert!(
            matches!(
                &i[1].op,
                Op::Copy {
                    chmod: Some(0o750),
                    ..
                }
            ),
            "{:?}",
            i[1]
        );
        let Op::Healthcheck(Some(h)) = &i[2].op else {
            panic!("{:?}", i[2])
        };
        assert_eq!((h.interval, h.retries), (90_000_000_000, 3));
        assert_eq!(h.command, Command::Shell("wget -q localhost".into()));
        assert_eq!(i[3].op, Op::Healthcheck(None));
        assert_eq!(i[4].op, Op::OnBuild("COPY . /app".into()));
        assert!(parse(
            "Dockerfile",
            &format!("FROM --platform={} a\n", host_platform())
        )
        .is_ok());
    }

    #[test]
    fn here_documents_as_buildkit_reads_them() {
        let df = parse(
            "Dockerfile",
            "FROM busybox\nRUN <<EOF\necho um\n# não é comentário aqui\nEOF\n\
             RUN cat <<-'FIM' > /f && cat /f\n\tsem $X\n\tFIM\n\
             COPY <<A <<\"B\" /dir/\nprimeiro $X\nA\nsegundo\nB\nCMD x\n",
        )
        .unwrap();
        let i = &df.instructions;
        // Only a document: the document is the script.
        assert_eq!(
            i[1].op,
            run_op(Command::Shell("echo um\n# não é comentário aqui\n".into()))
        );
        // Part of a command: the shell gets it back, delimiter included.
        assert_eq!(
            i[2].op,
            run_op(Command::Shell(
                "cat <<-'FIM' > /f && cat /f\nsem $X\nFIM".into()
            ))
        );
        let Op::Copy {
            sources, heredocs, ..
        } = &i[3].op
        else {
            panic!("{:?}", i[3])
        };
        assert_eq!(sources, &["A", "B"]);
        assert_eq!(heredocs[0].content, "primeiro $X\n");
        assert!(heredocs[0].expand && !heredocs[1].expand);
        assert_eq!(i[4].line, 14);
        let e = parse("Dockerfile", "FROM a\nRUN <<EOF\necho\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("falta uma linha só com EOF"), "{e}");
        let e = parse("Dockerfile", "FROM a\nCOPY <<EOF x /d/\noi\nEOF\n").unwrap_err();
        assert!(e.message.contains("misturar"), "{e}");
    }

    #[test]
    fn run_flags_mount_and_network() {
        let df = parse(
            "Dockerfile",
            "FROM a\nRUN --mount=type=cache,target=/c,id=pip,sharing=locked,mode=0700,uid=1 \\\n  --network=default --mount=type=tmpfs,dst=/t make\n",
        )
        .unwrap();
        let Op::Run(Command::Shell(cmd), flags) = &df.instructions[1].op else {
            panic!("{:?}", df.instructions[1])
        };
        assert_eq!(cmd, "make");
        assert!(flags.network);
        let cache = flags.mounts[0].cache.as_ref().unwrap();
        assert_eq!(
            (
                cache.id.as_str(),
                cache.sharing.as_str(),
                cache.mode,
                cache.uid
            ),
            ("pip", "locked", 0o700, 1)
        );
        assert_eq!(flags.mounts[1].target, "/t");
        assert!(flags.mounts[1].cache.is_none());
        for (bad, says) in [
            (
                "RUN --mount=type=bind,target=/x true",
                "type=bind ainda não",
            ),
            ("RUN --mount=type=cache true", "falta target"),
            (
                "RUN --mount=type=cache,target=/x,sharing=todos true",
                "sharing",
            ),
            ("RUN --network=host true", "a rede do host"),
            ("RUN --network=default", "precisa de um comando"),
        ] {
            let e = parse("Dockerfile", &format!("FROM a\n{bad}\n")).unwrap_err();
            assert!(e.message.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn stages_split_at_each_from() {
        let df = parse(
            "Dockerfile",
            "ARG V=1\nFROM busybox:$V AS Construtor\nRUN x\nFROM construtor\nCOPY --from=0 /a /b\nCOPY --from=CONSTRUTOR /a /c\nCOPY --from=alpine /a /d\n",
        )
        .unwrap();
        let spans: Vec<(Option<&str>, usize, usize)> = df
            .stages
            .iter()
            .map(|s| (s.name.as_deref(), s.from, s.end))
            .collect();
        assert_eq!(spans, [(Some("construtor"), 0, 2), (None, 2, 6)]);
        assert_eq!(df.stage_ref(1, "0"), Ok(Some(0)));
        assert_eq!(df.stage_ref(1, "Construtor"), Ok(Some(0)));
        assert_eq!(df.stage_ref(1, "alpine"), Ok(None));
        assert!(df.stage_ref(0, "construtor").is_err());
        assert_eq!(df.stage_named("1"), Some(1));
        assert_eq!(df.stage_named("construtor"), Some(0));
        assert_eq!(df.stage_named("nada"), None);
    }

    #[test]
    fn expands_like_docker() {
        let v = vars(&[("A", "um"), ("E", "")]);
        let x = |w: &str| expand(w, &v, true).unwrap();
        assert_eq!(x("$A-${A}"), "um-um");
        assert_eq!(x("'$A'\"$A\""), "$Aum");
        assert_eq!(x("\\$A"), "$A");
        assert_eq!(
            x("${NADA:-pad}${E:-vazio}${A:+sim}${E:+nao}"),
            "padvaziosim"
        );
        assert_eq!(x("custa $ 5"), "custa $ 5");
        assert_eq!(x("\"a b\""), "a b");
        assert!(expand("${A", &v, true).is_err());
        assert_eq!(words("a \"b c\" 'd e'").unwrap(), ["a", "\"b c\"", "'d e'"]);
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
