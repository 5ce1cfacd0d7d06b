//! Facts of the replay model: what the world looks like at the end of a
//! trace (`casulo_trace::replay::World`), named for lab files.
//!
//! | fact | what it reads |
//! |---|---|
//! | `pid_no_conteiner` | the pid the container's init has inside its pid namespace |
//! | `comando` | the program the init ran (`argv[0]`, or its file name) |
//! | `hostname` | the hostname set in the container's UTS namespace |
//! | `namespaces` | kinds of the namespaces the trace created (`["pid", "uts"]`) |
//! | `codigo_saida` | the init's exit code (128 + N when signal N killed it) |
//! | `sinal` | the signal that killed the init (`SIGKILL`) |
//! | `oom` | the kernel's OOM killer killed a process of the container |
//! | `limite_memoria` | the memory limit written to the cgroup, in bytes |
//! | `rede_bridge` | the container got a veth on the bridge |
//! | `portas` | how many ports were published |
//! | `camadas` | how many image layers the container used |
//! | `whiteouts` | paths deleted by a layer unpacked in the run |
//! | `upper_adicionados`, `upper_alterados`, `upper_apagados` | the read/write layer in the end |
//! | `build_passos`, `build_cache`, `build_camadas_novas` | a build's steps, cache hits, new layers |
//! | `build_passos_cache`, `build_passos_executados` | step numbers found in the cache / that ran |
//! | `build_tag` | the tag the build gave the image |
//! | `registry_camadas` | layers of the image a push/pull moved |
//! | `camadas_enviadas`, `camadas_baixadas`, `camadas_montadas`, `camadas_ja_estavam` | its layers sent, downloaded, mounted from another repository, already there |
//! | `rootless` | the trace's header says a casulo without root wrote it |
//! | `root_e_voce` | its uid map makes the container's root the host uid of whoever checks |

use casulo_trace::replay::StepResult;
use casulo_trace::EventBody;
use toml::Value as Toml;

use super::spec::Cmp;
use super::traces::StudentTrace;

/// The verdict on one fact.
#[derive(Debug, Clone)]
pub struct FactResult {
    pub ok: bool,
    /// What the trace has, in words (`"sereno_caracol"`, `0`, `nada`).
    pub have: String,
    /// The event that shows it (index into the trace's events).
    pub at: Option<usize>,
}

/// Evaluates fact `name` expecting `want` on trace `t`.
pub fn eval(name: &str, want: &Toml, t: &StudentTrace) -> FactResult {
    let cx = Cx {
        w: &t.world,
        events: &t.trace.events,
        header: &t.trace.header,
    };
    match name {
        "pid_no_conteiner" | "comando" | "codigo_saida" | "sinal" => process(name, want, &cx),
        "hostname" | "namespaces" => uts_and_namespaces(name, want, &cx),
        "oom" | "limite_memoria" => cgroups(name, want, &cx),
        "rede_bridge" | "portas" => network(name, want, &cx),
        "camadas" | "whiteouts" | "upper_adicionados" | "upper_alterados" | "upper_apagados" => {
            layers(name, want, &cx)
        }
        "build_passos"
        | "build_cache"
        | "build_camadas_novas"
        | "build_passos_cache"
        | "build_passos_executados"
        | "build_tag" => build(name, want, &cx),
        "registry_camadas" | "camadas_enviadas" | "camadas_baixadas" | "camadas_montadas"
        | "camadas_ja_estavam" => registry(name, want, &cx),
        "rootless" | "root_e_voce" => user_namespace(name, want, &cx, host_uid()),
        _ => FactResult {
            ok: false,
            have: format!("fato desconhecido {name}"),
            at: None,
        },
    }
}

/// What every fact reads: the world at the end and the events.
struct Cx<'a> {
    w: &'a casulo_trace::replay::World,
    events: &'a [casulo_trace::Event],
    header: &'a casulo_trace::Header,
}

impl Cx<'_> {
    /// The init's successful exec (where "its program" shows).
    fn init_exec(&self) -> Option<usize> {
        let init = self.w.init_pid?;
        self.events.iter().position(|e| {
            e.pid == init && matches!(e.body, EventBody::ProcessExec { .. }) && e.outcome.is_ok()
        })
    }

    /// The last successful event `f` picks.
    fn last(&self, f: &dyn Fn(&EventBody) -> bool) -> Option<usize> {
        self.events
            .iter()
            .rposition(|e| e.outcome.is_ok() && f(&e.body))
    }
}

/// Facts of the container's init: its pid inside, its program, how it ended.
fn process(name: &str, want: &Toml, cx: &Cx) -> FactResult {
    let w = cx.w;
    let events = cx.events;
    match name {
        "pid_no_conteiner" => number(
            want,
            w.init().and_then(|p| p.container_pid).map(i64::from),
            cx.init_exec(),
        ),
        "comando" => {
            let argv0 = w
                .init()
                .and_then(|p| p.exec.as_ref())
                .and_then(|a| a.first().cloned());
            let want = want.as_str().unwrap_or_default();
            let ok = argv0
                .as_deref()
                .is_some_and(|a| a == want || a.rsplit('/').next() == Some(want));
            FactResult {
                ok,
                have: argv0.map(|a| format!("{a:?}")).unwrap_or_else(nothing),
                at: cx.init_exec(),
            }
        }
        "codigo_saida" | "sinal" => {
            let exit = w.init().and_then(|p| p.exit.clone());
            let at = exit.as_ref().map(|x| x.at);
            let signal = at.and_then(|i| match &events[i].body {
                EventBody::ProcessExit { signal, .. } => *signal,
                _ => None,
            });
            if name == "sinal" {
                let name = exit.as_ref().and_then(|x| x.signal_name.clone());
                FactResult {
                    ok: name.as_deref() == want.as_str(),
                    have: name.unwrap_or_else(|| "nenhum sinal".into()),
                    at,
                }
            } else {
                let code = exit
                    .as_ref()
                    .and_then(|x| x.code.or(signal.map(|s| 128 + s)))
                    .map(i64::from);
                number(want, code, at)
            }
        }
        _ => unreachable!("eval sends only this area's names here"),
    }
}

/// Facts of the hostname and the namespaces made.
fn uts_and_namespaces(name: &str, want: &Toml, cx: &Cx) -> FactResult {
    let w = cx.w;
    match name {
        "hostname" => {
            let want = want.as_str().unwrap_or_default();
            FactResult {
                ok: w.hostname.as_deref() == Some(want),
                have: w
                    .hostname
                    .as_ref()
                    .map(|h| format!("{h:?}"))
                    .unwrap_or_else(nothing),
                at: cx.last(&|b| matches!(b, EventBody::UtsSethostname { .. })),
            }
        }
        "namespaces" => {
            let have: Vec<String> = w.namespaces.iter().map(|n| ns_name(n.kind)).collect();
            let wants: Vec<&str> = want
                .as_array()
                .map(|a| a.iter().filter_map(Toml::as_str).collect())
                .unwrap_or_default();
            let ok = wants.iter().all(|k| have.iter().any(|h| h == k));
            let at = w
                .namespaces
                .iter()
                .filter(|n| wants.contains(&ns_name(n.kind).as_str()))
                .map(|n| n.at)
                .max();
            FactResult {
                ok,
                have: if have.is_empty() {
                    nothing()
                } else {
                    have.join(", ")
                },
                at,
            }
        }
        _ => unreachable!("eval sends only this area's names here"),
    }
}

/// Facts of the memory limit and the OOM killer.
fn cgroups(name: &str, want: &Toml, cx: &Cx) -> FactResult {
    let w = cx.w;
    let events = cx.events;
    match name {
        "oom" => {
            let kills: u64 = w.cgroups.values().map(|c| c.oom_kills).sum();
            let at = w.cgroups.values().filter_map(|c| c.last_oom).max();
            FactResult {
                ok: (kills > 0) == want.as_bool().unwrap_or(true),
                have: format!("{kills} morte(s) por OOM"),
                at,
            }
        }
        "limite_memoria" => {
            let is_mem = |b: &EventBody| {
                matches!(b, EventBody::CgroupLimit { file, .. }
                        if file.ends_with("memory.max") || file.ends_with("memory.limit_in_bytes"))
            };
            let at = cx.last(&is_mem);
            let value = at.and_then(|i| match &events[i].body {
                EventBody::CgroupLimit { value, .. } => value.parse::<i64>().ok(),
                _ => None,
            });
            number(want, value, at)
        }
        _ => unreachable!("eval sends only this area's names here"),
    }
}

/// Facts of the bridge and the published ports.
fn network(name: &str, want: &Toml, cx: &Cx) -> FactResult {
    let w = cx.w;
    match name {
        "rede_bridge" => FactResult {
            ok: w.network.is_bridged() == want.as_bool().unwrap_or(true),
            have: if w.network.is_bridged() {
                "ligado à bridge"
            } else {
                "sem bridge (só lo)"
            }
            .into(),
            at: w.network.veth().map(|v| v.at),
        },
        "portas" => number(
            want,
            Some(w.network.ports.len() as i64),
            w.network.ports.last().map(|p| p.at),
        ),
        _ => unreachable!("eval sends only this area's names here"),
    }
}

/// Facts of the image's layers, their whiteouts and the upper dir.
fn layers(name: &str, want: &Toml, cx: &Cx) -> FactResult {
    let w = cx.w;
    match name {
        "camadas" => number(
            want,
            Some(w.layers.len() as i64),
            w.layers.last().map(|l| l.at),
        ),
        "whiteouts" => {
            let have: Vec<(&str, usize)> = w
                .layers
                .iter()
                .flat_map(|l| l.whiteouts.iter().map(move |(p, _)| (p.as_str(), l.at)))
                .collect();
            let wants: Vec<&str> = want
                .as_array()
                .map(|a| a.iter().filter_map(Toml::as_str).collect())
                .unwrap_or_default();
            let ok = wants.iter().all(|x| have.iter().any(|(p, _)| p == x));
            let at = cx.last(
                    &|b| matches!(b, EventBody::LayerWhiteout { path, .. } if wants.contains(&path.as_str())),
                );
            let list: Vec<&str> = have.iter().map(|(p, _)| *p).collect();
            FactResult {
                ok,
                have: if list.is_empty() {
                    nothing()
                } else {
                    list.join(", ")
                },
                at,
            }
        }
        "upper_adicionados" | "upper_alterados" | "upper_apagados" => {
            let n = w.upper.as_ref().map(|u| match name {
                "upper_adicionados" => u.added,
                "upper_alterados" => u.changed,
                _ => u.deleted,
            } as i64);
            number(
                want,
                n,
                cx.last(&|b| matches!(b, EventBody::LayerUpper { .. })),
            )
        }
        _ => unreachable!("eval sends only this area's names here"),
    }
}

/// Facts of a build's steps and cache.
fn build(name: &str, want: &Toml, cx: &Cx) -> FactResult {
    let w = cx.w;
    match name {
        "build_passos" | "build_cache" | "build_camadas_novas" => {
            let b = w.build.as_ref();
            let n = b.map(|b| match name {
                "build_passos" => b.steps.len() as i64,
                "build_cache" => b.cache_hits() as i64,
                _ => b
                    .steps
                    .iter()
                    .filter(|s| matches!(s.result, StepResult::NewLayer { .. }))
                    .count() as i64,
            });
            number(want, n, b.and_then(|b| b.commit.as_ref().map(|c| c.at)))
        }
        "build_passos_cache" | "build_passos_executados" => {
            let want_cached = name == "build_passos_cache";
            let wants: Vec<i64> = want
                .as_array()
                .map(|a| a.iter().filter_map(Toml::as_integer).collect())
                .unwrap_or_default();
            let Some(b) = w.build.as_ref() else {
                return FactResult {
                    ok: false,
                    have: "nenhum build".into(),
                    at: None,
                };
            };
            let cached: Vec<u32> = b
                .steps
                .iter()
                .filter(|s| matches!(s.result, StepResult::CacheHit { .. }))
                .map(|s| s.step)
                .collect();
            let ok = wants.iter().all(|n| {
                let step = b.step(*n as u32);
                step.is_some() && cached.contains(&(*n as u32)) == want_cached
            });
            let at = wants
                .iter()
                .filter_map(|n| b.step(*n as u32).map(|s| s.at))
                .max();
            let list: Vec<String> = cached.iter().map(u32::to_string).collect();
            FactResult {
                ok,
                have: format!(
                    "passos do cache: {}",
                    if list.is_empty() {
                        "nenhum".into()
                    } else {
                        list.join(", ")
                    }
                ),
                at,
            }
        }
        "build_tag" => {
            let commit = w.build.as_ref().and_then(|b| b.commit.as_ref());
            let tag = commit.map(|c| c.tag.clone()).unwrap_or_default();
            let want = want.as_str().unwrap_or_default();
            let norm =
                |s: &str| crate::image::reference::normalize(s).unwrap_or_else(|_| s.to_string());
            FactResult {
                ok: !tag.is_empty() && norm(&tag) == norm(want),
                have: if tag.is_empty() {
                    "sem tag".into()
                } else {
                    format!("{tag:?}")
                },
                at: commit.map(|c| c.at),
            }
        }
        _ => unreachable!("eval sends only this area's names here"),
    }
}

/// Facts of a push's or pull's layers.
fn registry(name: &str, want: &Toml, cx: &Cx) -> FactResult {
    let w = cx.w;
    match name {
        "registry_camadas" => {
            let r = w.registry.as_ref();
            number(
                want,
                r.map(|r| r.layers.len() as i64),
                r.and_then(|r| r.layers.iter().map(|l| l.at).max()),
            )
        }
        "camadas_enviadas" | "camadas_baixadas" | "camadas_montadas" | "camadas_ja_estavam" => {
            use casulo_trace::replay::LayerTransfer;
            let state = match name {
                "camadas_enviadas" => LayerTransfer::Sent,
                "camadas_baixadas" => LayerTransfer::Downloaded,
                "camadas_montadas" => LayerTransfer::Mounted,
                _ => LayerTransfer::Present,
            };
            let Some(r) = w.registry.as_ref() else {
                return FactResult {
                    ok: false,
                    have: "nenhum push ou pull".into(),
                    at: None,
                };
            };
            let these: Vec<_> = r.layers.iter().filter(|l| l.state == state).collect();
            let n = these.len() as i64;
            let mut result = number(
                want,
                Some(n),
                these
                    .iter()
                    .map(|l| l.at)
                    .max()
                    .or(r.layers.iter().map(|l| l.at).max()),
            );
            result.have = format!("{n} de {} camadas", r.layers.len());
            result
        }
        _ => unreachable!("eval sends only this area's names here"),
    }
}

/// Facts of a rootless run: the header's mode and uid map. `me` is the
/// host uid of whoever checks (the student, in a lab done without root).
fn user_namespace(name: &str, want: &Toml, cx: &Cx, me: u32) -> FactResult {
    let h = cx.header;
    let want = want.as_bool().unwrap_or(true);
    let at = cx.events.iter().position(|e| {
        matches!(&e.body, EventBody::NamespaceUser { map, .. } if map == "uid") && e.outcome.is_ok()
    });
    match name {
        "rootless" => FactResult {
            ok: h.rootless == want,
            have: if h.rootless {
                "sem root (rootless)".into()
            } else {
                "com o root do host".into()
            },
            at,
        },
        "root_e_voce" => {
            let root = h.uid_map.iter().find(|r| r.inside == 0).map(|r| r.outside);
            FactResult {
                ok: (h.rootless && root == Some(me)) == want,
                have: match root {
                    Some(uid) if h.rootless => {
                        format!("o root do contêiner é o uid {uid} do host; você é o uid {me}")
                    }
                    _ => "sem mapa de uids: o root do contêiner é o root do host".into(),
                },
                at,
            }
        }
        _ => unreachable!("eval sends only this area's names here"),
    }
}

/// The host uid of this process: outside casulo's user namespace its uid;
/// inside it, the host uid its root stands for.
fn host_uid() -> u32 {
    let uid = nix::unistd::getuid().as_raw();
    if uid != 0 || !crate::rootless_mode::active() {
        return uid;
    }
    let (uids, _) = crate::rootless_mode::current_maps();
    uids.iter()
        .find(|r| r.inside == 0)
        .map_or(uid, |r| r.outside)
}

fn number(want: &Toml, have: Option<i64>, at: Option<usize>) -> FactResult {
    let cmp = Cmp::from_value(want);
    FactResult {
        ok: matches!((cmp, have), (Some(c), Some(h)) if c.holds(h)),
        have: have.map(|h| h.to_string()).unwrap_or_else(nothing),
        at,
    }
}

fn nothing() -> String {
    "nada".to_string()
}

fn ns_name(kind: casulo_trace::NsKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

/// The expected value in words: `= "lab"`, `≥ 3`.
pub fn describe_want(want: &Toml) -> String {
    match want {
        Toml::String(s) => match Cmp::parse(s) {
            Some(c) if s.trim_start().starts_with(['<', '>', '!', '=']) => c.to_string(),
            _ => format!("{s:?}"),
        },
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> StudentTrace {
        let trace = casulo_trace::read_trace(&casulo_trace::sample::sample_jsonl()).unwrap();
        StudentTrace::from_trace("amostra.trace.jsonl".into(), trace)
    }

    fn want(s: &str) -> Toml {
        let t: toml::Table = toml::from_str(&format!("v = {s}")).unwrap();
        t["v"].clone()
    }

    #[test]
    fn facts_of_the_sample_trace() {
        let t = sample();
        let r = eval("hostname", &want("\"ab12cd34ef56\""), &t);
        assert!(r.ok, "{r:?}");
        let at = r.at.expect("the uts.sethostname event");
        assert!(matches!(
            t.trace.events[at].body,
            EventBody::UtsSethostname { .. }
        ));
        let r = eval("hostname", &want("\"lab\""), &t);
        assert!(!r.ok && r.have == "\"ab12cd34ef56\"", "{r:?}");
        assert!(eval("namespaces", &want("[\"pid\", \"uts\"]"), &t).ok);
        assert!(eval("oom", &want("true"), &t).ok);
        assert!(!eval("oom", &want("false"), &t).ok);
        assert!(eval("camadas", &want("\">= 1\""), &t).ok);
        assert!(!eval("camadas", &want("\"> 100\""), &t).ok);
    }

    #[test]
    fn rootless_facts_read_the_header_and_the_uid_map() {
        let mut t = sample();
        assert!(eval("rootless", &want("false"), &t).ok);
        let r = eval("rootless", &want("true"), &t);
        assert!(!r.ok && r.have == "com o root do host", "{r:?}");
        t.trace.header.rootless = true;
        t.trace.header.uid_map = vec![
            casulo_trace::IdRange {
                inside: 0,
                outside: 2000,
                count: 1,
            },
            casulo_trace::IdRange {
                inside: 1,
                outside: 200000,
                count: 65536,
            },
        ];
        assert!(eval("rootless", &want("true"), &t).ok);
        let cx = Cx {
            w: &t.world,
            events: &t.trace.events,
            header: &t.trace.header,
        };
        assert!(user_namespace("root_e_voce", &want("true"), &cx, 2000).ok);
        let r = user_namespace("root_e_voce", &want("true"), &cx, 2001);
        assert!(!r.ok, "{r:?}");
        assert_eq!(
            r.have,
            "o root do contêiner é o uid 2000 do host; você é o uid 2001"
        );
    }
}
