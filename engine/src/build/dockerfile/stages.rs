//! The stages of a multi-stage Dockerfile: each starts at a FROM; their
//! names, and what `COPY --from=` and `--target` name.

use super::{Dockerfile, Op, StageDef, SyntaxError};

/// Splits the instructions into stages (each starts at a FROM) and checks
/// the names and every `COPY --from` against them.
pub(super) fn stages(df: &Dockerfile) -> Result<Vec<StageDef>, SyntaxError> {
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
pub(super) fn stage_ref(
    stages: &[StageDef],
    current: usize,
    value: &str,
) -> Result<Option<usize>, String> {
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

#[cfg(test)]
mod tests {
    use super::super::tests::assert_errors;
    use super::super::*;

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
    fn bad_stage_names_and_references() {
        assert_errors(&[
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
        ]);
    }
}
