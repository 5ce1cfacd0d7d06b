//! Target `dockerfile`: any text through the parser, then through what
//! `casulo build` does with a parsed file (stage lookups, argv, words and
//! variable expansion), checking the invariants the builder relies on.

use std::collections::BTreeMap;

use casulo::build::dockerfile::{self, default_shell, Op};

pub fn fuzz(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let df = match dockerfile::parse("Dockerfile", text) {
        Ok(df) => df,
        Err(e) => {
            // An error names a line of the file (1-based).
            assert!(e.line >= 1, "erro sem linha: {e:?}");
            return;
        }
    };

    // What the builder indexes without checking.
    assert!(!df.stages.is_empty(), "Dockerfile aceito sem estágios");
    for (i, stage) in df.stages.iter().enumerate() {
        assert!(stage.from < stage.end && stage.end <= df.instructions.len());
        assert!(
            matches!(df.instructions[stage.from].op, Op::From { .. }),
            "o estágio {i} não começa num FROM"
        );
        if let Some(name) = &stage.name {
            assert_eq!(df.stage_named(name), Some(i), "estágio {name:?}");
        }
        let _ = df.stage_label(i);
    }
    assert_eq!(df.stages.last().map(|s| s.end), Some(df.instructions.len()));

    let mut vars = BTreeMap::new();
    for inst in &df.global_args {
        if let Op::Arg { name, default } = &inst.op {
            vars.insert(name.clone(), default.clone().unwrap_or_default());
        }
    }
    let mut shell = default_shell();
    for (index, stage) in df.stages.iter().enumerate() {
        for inst in &df.instructions[stage.from..stage.end] {
            assert!(inst.line >= 1);
            match &inst.op {
                Op::From { image, .. } => {
                    expand_all(image, &vars);
                    let _ = df.stage_ref(index, image);
                }
                Op::Run(cmd, _) | Op::Cmd(cmd) | Op::Entrypoint(cmd) => {
                    let _ = cmd.argv(&shell);
                }
                Op::Shell(argv) => shell = argv.clone(),
                Op::Copy {
                    sources,
                    dest,
                    chown,
                    from,
                    ..
                } => {
                    if let Some(from) = from {
                        // `parse` already checked every --from.
                        let found = df.stage_ref(index, from);
                        assert!(found.is_ok(), "--from={from} aceito e depois recusado");
                        if let Ok(Some(i)) = found {
                            assert!(i < index, "--from={from} aponta para o estágio {i}");
                        }
                    }
                    for s in sources {
                        expand_all(s, &vars);
                    }
                    expand_all(dest, &vars);
                    if let Some(c) = chown {
                        expand_all(c, &vars);
                    }
                }
                Op::Label(pairs) => {
                    for (k, v) in pairs {
                        expand_all(k, &vars);
                        expand_all(v, &vars);
                    }
                }
                Op::Env(pairs) => {
                    for (k, v) in pairs {
                        if let Ok(v) = dockerfile::expand(v, &vars, true) {
                            vars.insert(k.clone(), v);
                        }
                    }
                }
                Op::Arg { name, default } => {
                    let value = default
                        .as_deref()
                        .and_then(|d| dockerfile::expand(d, &vars, true).ok());
                    vars.insert(name.clone(), value.unwrap_or_default());
                }
                Op::Workdir(w) | Op::User(w) | Op::StopSignal(w) => expand_all(w, &vars),
                Op::Healthcheck(check) => {
                    if let Some(h) = check {
                        let _ = h.command.argv(&shell);
                    }
                }
                // `parse` checked the trigger; the build that uses the
                // image parses it again and must agree.
                Op::OnBuild(text) => {
                    assert!(
                        dockerfile::parse_instruction(text).is_ok(),
                        "ONBUILD {text:?} aceito e depois recusado"
                    );
                }
                Op::Expose(list) | Op::Volume(list) => {
                    for w in list {
                        expand_all(w, &vars);
                    }
                }
            }
            if let Ok(words) = dockerfile::words(&inst.args) {
                for w in words {
                    let _ = dockerfile::expand(&w, &vars, true);
                    let _ = dockerfile::expand(&w, &vars, false);
                }
            }
        }
    }
}

fn expand_all(raw: &str, vars: &BTreeMap<String, String>) {
    let _ = dockerfile::expand(raw, vars, true);
    let _ = dockerfile::expand(raw, vars, false);
}
