//! The instructions that only change the image's config, not its files
//! (ENV, WORKDIR, USER, CMD, ENTRYPOINT, EXPOSE, LABEL, VOLUME, STOPSIGNAL,
//! HEALTHCHECK, ONBUILD):
//! one place that applies them, for the build's steps and for
//! `casulo commit --change`, so both read and check them the same way.

use std::collections::BTreeMap;

use super::dockerfile::{self, Op};
use super::step::join_path;
use super::{json, shell_quote};
use crate::image::oci::{Healthcheck, RunConfig};

/// What a config instruction acts on.
pub struct ConfigTarget<'a> {
    pub config: &'a mut RunConfig,
    /// CMD was set here (by this Dockerfile, by this commit): a later
    /// ENTRYPOINT then keeps it.
    pub cmd_set: &'a mut bool,
    /// The shell of the shell form (`CMD echo oi`).
    pub shell: &'a [String],
}

/// Applies `op` when it is a config instruction: `Some` with its history
/// text (`ENV A=1`, words expanded from `vars`) or why it is wrong; `None`
/// for the other instructions (FROM, RUN, COPY, ARG, SHELL).
pub fn apply(
    op: &Op,
    t: ConfigTarget<'_>,
    vars: &BTreeMap<String, String>,
) -> Option<Result<String, String>> {
    if matches!(
        op,
        Op::From { .. } | Op::Run(..) | Op::Copy { .. } | Op::Arg { .. } | Op::Shell(_)
    ) {
        return None;
    }
    let x = |w: &str| dockerfile::expand(w, vars, true);
    let x: &Expand = &x;
    let rc = t.config;
    Some((|| {
        Ok(match op {
            Op::Env(pairs) => env(rc, pairs, x)?,
            Op::Workdir(w) => {
                let w = x(w)?;
                let base = rc
                    .working_dir
                    .clone()
                    .filter(|w| !w.is_empty())
                    .unwrap_or_else(|| "/".into());
                let new = join_path(&base, &w);
                rc.working_dir = Some(new.clone());
                format!("WORKDIR {new}")
            }
            Op::User(u) => {
                let u = x(u)?;
                rc.user = Some(u.clone());
                format!("USER {u}")
            }
            Op::Cmd(c) => {
                let argv = c.argv(t.shell);
                rc.cmd = Some(argv.clone());
                *t.cmd_set = true;
                format!("CMD {}", json(&argv))
            }
            Op::Entrypoint(c) => {
                let argv = c.argv(t.shell);
                rc.entrypoint = Some(argv.clone());
                if !*t.cmd_set {
                    // Like docker: a new ENTRYPOINT drops the base image's CMD.
                    rc.cmd = None;
                }
                format!("ENTRYPOINT {}", json(&argv))
            }
            Op::Expose(ports) => expose(rc, ports, x)?,
            Op::Label(pairs) => label(rc, pairs, x)?,
            Op::Volume(paths) => volume(rc, paths, x)?,
            Op::StopSignal(s) => stop_signal(rc, s, x)?,
            Op::Healthcheck(health) => {
                let check = match health {
                    None => Healthcheck {
                        test: vec!["NONE".into()],
                        ..Default::default()
                    },
                    Some(h) => Healthcheck {
                        test: match &h.command {
                            dockerfile::Command::Shell(text) => {
                                vec!["CMD-SHELL".into(), text.clone()]
                            }
                            dockerfile::Command::Exec(argv) => std::iter::once("CMD".to_string())
                                .chain(argv.clone())
                                .collect(),
                        },
                        interval: h.interval,
                        timeout: h.timeout,
                        start_period: h.start_period,
                        start_interval: h.start_interval,
                        retries: h.retries,
                    },
                };
                let text = format!("HEALTHCHECK {}", json(&check.test));
                rc.healthcheck = Some(check);
                text
            }
            // Stored as written: the build that uses the image expands it.
            Op::OnBuild(text) => {
                rc.on_build.get_or_insert_with(Vec::new).push(text.clone());
                format!("ONBUILD {text}")
            }
            Op::From { .. } | Op::Run(..) | Op::Copy { .. } | Op::Arg { .. } | Op::Shell(_) => {
                unreachable!("not a config instruction: returned above")
            }
        })
    })())
}

/// `${VAR}` expanded with the build's variables.
type Expand<'a> = dyn Fn(&str) -> Result<String, String> + 'a;

/// `ENV`: a variable set again keeps its place in the list, as docker.
fn env(rc: &mut RunConfig, pairs: &[(String, String)], x: &Expand) -> Result<String, String> {
    let mut env_list = rc.env.clone().unwrap_or_default();
    let mut shown = Vec::new();
    for (k, v) in pairs {
        let v = x(v)?;
        // As docker: a variable set again keeps its place.
        let entry = format!("{k}={v}");
        match env_list
            .iter_mut()
            .find(|e| e.split('=').next() == Some(k.as_str()))
        {
            Some(old) => *old = entry,
            None => env_list.push(entry),
        }
        shown.push(format!("{k}={}", shell_quote(&v)));
    }
    rc.env = Some(env_list);
    Ok(format!("ENV {}", shown.join(" ")))
}

/// `EXPOSE`: `80`, `80/tcp`, `53/udp`, kept as docker's `80/tcp` keys.
fn expose(rc: &mut RunConfig, ports: &[String], x: &Expand) -> Result<String, String> {
    let mut keys = Vec::new();
    for p in ports {
        let p = x(p)?;
        let (num, proto) = p.split_once('/').unwrap_or((&p, "tcp"));
        let proto = proto.to_ascii_lowercase();
        if num.parse::<u16>().map_or(true, |n| n == 0)
            || !["tcp", "udp", "sctp"].contains(&proto.as_str())
        {
            return Err(format!(
                "EXPOSE: porta inválida {p:?} (use 80, 80/tcp ou 53/udp)"
            ));
        }
        keys.push(format!("{num}/{proto}"));
    }
    let map = rc.exposed_ports.get_or_insert_with(Default::default);
    for k in &keys {
        map.insert(k.clone(), serde_json::json!({}));
    }
    Ok(format!("EXPOSE {}", keys.join(" ")))
}

/// `LABEL`: keys and values both expanded.
fn label(rc: &mut RunConfig, pairs: &[(String, String)], x: &Expand) -> Result<String, String> {
    let mut shown = Vec::new();
    let mut resolved = Vec::new();
    for (k, v) in pairs {
        let (k, v) = (x(k)?, x(v)?);
        shown.push(format!("{}={}", shell_quote(&k), shell_quote(&v)));
        resolved.push((k, v));
    }
    let map = rc.labels.get_or_insert_with(Default::default);
    map.extend(resolved);
    Ok(format!("LABEL {}", shown.join(" ")))
}

/// `VOLUME`: absolute paths only.
fn volume(rc: &mut RunConfig, paths: &[String], x: &Expand) -> Result<String, String> {
    let paths: Vec<String> = paths.iter().map(|p| x(p)).collect::<Result<_, _>>()?;
    if let Some(bad) = paths.iter().find(|p| !p.starts_with('/')) {
        return Err(format!("VOLUME: {bad:?} não é um caminho absoluto"));
    }
    let map = rc.volumes.get_or_insert_with(Default::default);
    for p in &paths {
        map.insert(p.clone(), serde_json::json!({}));
    }
    Ok(format!("VOLUME {}", json(&paths)))
}

/// `STOPSIGNAL`: a number 1–64 or a signal's name, with or without `SIG`.
fn stop_signal(rc: &mut RunConfig, s: &str, x: &Expand) -> Result<String, String> {
    let s = x(s)?;
    let ok = s.parse::<u8>().is_ok_and(|n| (1..=64).contains(&n))
        || s.parse::<nix::sys::signal::Signal>().is_ok()
        || format!("SIG{s}")
            .parse::<nix::sys::signal::Signal>()
            .is_ok();
    if !ok {
        return Err(format!(
            "STOPSIGNAL: sinal desconhecido {s:?} (use SIGTERM, SIGQUIT, 3…)"
        ));
    }
    rc.stop_signal = Some(s.clone());
    Ok(format!("STOPSIGNAL {s}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::dockerfile::parse_instruction;

    fn run(lines: &[&str], rc: &mut RunConfig) -> Result<Vec<String>, String> {
        let mut cmd_set = false;
        let shell = dockerfile::default_shell();
        let mut out = Vec::new();
        for l in lines {
            let op = parse_instruction(l)?.op;
            let vars = BTreeMap::from([("V".to_string(), "um".to_string())]);
            let target = ConfigTarget {
                config: rc,
                cmd_set: &mut cmd_set,
                shell: &shell,
            };
            out.push(apply(&op, target, &vars).ok_or("não é de config")??);
        }
        Ok(out)
    }

    #[test]
    fn config_instructions_change_the_config_and_say_their_history() {
        let mut rc = RunConfig {
            cmd: Some(vec!["sh".into()]),
            working_dir: Some("/app".into()),
            ..Default::default()
        };
        let shown = run(
            &[
                "ENV A=$V",
                "WORKDIR sub",
                "EXPOSE 80 53/udp",
                "LABEL dono=ana",
                "USER 1000",
                "VOLUME /dados",
                "STOPSIGNAL SIGQUIT",
                r#"CMD ["cat", "/novo"]"#,
            ],
            &mut rc,
        )
        .unwrap();
        assert_eq!(shown[0], "ENV A=um");
        assert_eq!(rc.env.as_deref(), Some(&["A=um".to_string()][..]));
        assert_eq!(rc.working_dir.as_deref(), Some("/app/sub"));
        assert!(rc.exposed_ports.as_ref().unwrap().contains_key("53/udp"));
        assert_eq!(rc.labels.as_ref().unwrap()["dono"], "ana");
        assert_eq!(rc.user.as_deref(), Some("1000"));
        assert!(rc.volumes.as_ref().unwrap().contains_key("/dados"));
        assert_eq!(rc.stop_signal.as_deref(), Some("SIGQUIT"));
        // A variable set again keeps its place in Env (docker's order).
        run(&["ENV B=2 C=3", "ENV A=10"], &mut rc).unwrap();
        assert_eq!(
            rc.env.as_deref().unwrap(),
            ["A=10".to_string(), "B=2".into(), "C=3".into()]
        );
        assert_eq!(rc.cmd.as_deref().unwrap(), ["cat", "/novo"]);
        // ENTRYPOINT keeps a CMD set before it, drops the image's otherwise.
        run(&[r#"ENTRYPOINT ["x"]"#], &mut rc).unwrap();
        assert_eq!(rc.cmd, None);
        assert!(run(&["EXPOSE 0"], &mut rc).unwrap_err().contains("porta"));
        assert!(run(&["RUN true"], &mut rc).unwrap_err().contains("config"));
    }
}
