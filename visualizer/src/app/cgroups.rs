//! The cgroups panel: the container's cgroups, their limits, and the
//! memory and pids charts from the samples.

use std::rc::Rc;

use casulo_trace::replay::World;
use yew::prelude::*;

use casulo_trace::replay::Sample;

use super::panels::{scale, Px};
use super::Loaded;
use crate::chart::{self, Line};
use crate::format::{mib, short_path};

#[derive(Properties)]
pub struct CgroupsProps {
    pub trace: Rc<Loaded>,
    pub world: Rc<World>,
    /// [`crate::state::Model::scene`]: with the samples seen, what the
    /// panel draws.
    pub scene: u64,
    #[prop_or_default]
    pub large: bool,
}

impl PartialEq for CgroupsProps {
    fn eq(&self, o: &Self) -> bool {
        (self.scene, self.world.samples_seen, self.large)
            == (o.scene, o.world.samples_seen, o.large)
            && Rc::ptr_eq(&self.trace, &o.trace)
    }
}

#[function_component(CgroupsPanel)]
pub fn cgroups_panel(p: &CgroupsProps) -> Html {
    let lines = {
        let (t, large) = (p.trace.clone(), p.large);
        use_memo(lines_key(p), move |_| Lines::new(&t, large))
    };
    let w = &p.world;
    let replay = p.trace.replay();
    let samples = &replay.samples()[..w.samples_seen];
    let rootless = p.trace.header.rootless;
    if w.cgroups.is_empty() && samples.is_empty() && rootless {
        return html! {
            <section class="painel cgroups" aria-labelledby="titulo-cg">
                <h2 id="titulo-cg">{"cgroups"}</h2>
                <p class="vazio" id="cg-rootless"><strong>{"Sem limites: rootless sem cgroup delegado."}</strong>
                    {" Sem root, o casulo só cria um cgroup na subárvore que o systemd delega ao seu usuário (user@UID.service, nos sistemas só com cgroup v2), e só quando há limites ("}
                    <code>{"--memory"}</code>{", "}<code>{"--cpus"}</code>{", "}<code>{"--pids-limit"}</code>
                    {"). Este contêiner rodou sem nenhum: nada contou nem limitou a memória, a CPU ou os processos dele."}</p>
            </section>
        };
    }
    if w.cgroups.is_empty() && samples.is_empty() {
        return html! {
            <section class="painel cgroups" aria-labelledby="titulo-cg">
                <h2 id="titulo-cg">{"cgroups"}</h2>
                <p class="vazio" id="cg-vazio">{"Nenhum cgroup até aqui. Com limites (por exemplo "}
                    <code>{"--memory 64m"}</code>{"), o contêiner ganha um grupo no kernel que conta e limita memória, CPU e processos."}</p>
            </section>
        };
    }
    let groups = w.cgroups.values().map(|cg| {
        let limits: Vec<String> = cg
            .limits
            .iter()
            .map(|(f, v)| match v.parse::<u64>() {
                Ok(n) if f.starts_with("memory.") && n >= 1 << 20 => format!("{f} = {} ({})", v, mib(n)),
                _ => format!("{f} = {v}"),
            })
            .collect();
        html! {
            <li class={classes!("cgroup", cg.deleted.then_some("removido"), cg.frozen.then_some("congelado"))}>
                <code title={cg.path.clone()}>{short_path(&cg.path)}</code>
                {format!(" · {}{}", cg.version, if cg.controller.is_empty() { String::new() } else { format!(" · {}", cg.controller) })}
                if !limits.is_empty() { <div class="limites">{limits.join(" · ")}</div> }
                if !cg.procs.is_empty() {
                    <div class="procs-grupo">{procs_text(&cg.procs)}</div>
                }
                if cg.oom_kills > 0 {
                    <div class="oom" id="oom">{format!("OOM: o kernel matou {} processo(s) por falta de memória", cg.oom_kills)}</div>
                }
                if cg.pids_refused > 0 {
                    <div class="oom">{format!("pids.max: {} fork(s) recusado(s)", cg.pids_refused)}</div>
                }
                if cg.frozen {
                    <div class="estado-congelado" id="congelado">{"❄ congelado: os processos existem, mas o kernel não os escalona (pause)"}</div>
                }
                if cg.deleted { <div>{"(removido)"}</div> }
            </li>
        }
    });
    html! {
        <section class="painel cgroups" aria-labelledby="titulo-cg">
            <h2 id="titulo-cg">{"cgroups"}</h2>
            if rootless {
                <p id="cg-delegado">{"Rootless: o cgroup abaixo fica na subárvore delegada ao seu usuário (a que o systemd entrega em user@UID.service); o casulo o criou e limitou sem root, com as mesmas escritas de sempre."}</p>
            }
            <ul class="arvore-cgroups">{ for groups }</ul>
            { usage_chart(p, &lines, samples.len()) }
        </section>
    }
}

/// The processes put in a cgroup: how many, then their host PIDs (numbers
/// that name a process, not a count).
fn procs_text(procs: &[i32]) -> String {
    let pids = procs
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    match procs.len() {
        1 => format!("1 processo colocado no grupo: PID {pids} no host"),
        n => format!("{n} processos colocados no grupo: PIDs {pids} no host"),
    }
}

/// Where a sample goes on the charts: time across, memory or pids up.
struct Frame {
    t0: f64,
    t1: f64,
    k: f64,
    /// Left margin: room for the axis' values (and the pids chart's label).
    left: f64,
    max_mem: f64,
    max_pids: f64,
}

/// Width of the charts, height of the memory chart.
const CW: f64 = 600.0;
const CH: f64 = 160.0;

impl Frame {
    fn new(t: &Loaded, large: bool) -> Frame {
        let replay = t.replay();
        let all = replay.samples();
        let t0 = all.first().map_or(0, |s| s.t_us) as f64;
        let k = scale(large);
        Frame {
            t0,
            t1: (all.last().map_or(0, |s| s.t_us) as f64).max(t0 + 1.0),
            k,
            left: 64.0 * k,
            max_mem: t.max_memory as f64,
            max_pids: t.max_pids as f64,
        }
    }
    fn x(&self, t: u64) -> f64 {
        self.left + (t as f64 - self.t0) / (self.t1 - self.t0) * (CW - self.left - 10.0)
    }
    fn mem_y(&self, v: u64) -> f64 {
        10.0 + CH - v as f64 / self.max_mem * CH
    }
    fn pids_h(&self) -> f64 {
        60.0 * self.k
    }
    fn pids_y(&self, v: u64) -> f64 {
        8.0 + self.pids_h() - v as f64 / self.max_pids * self.pids_h()
    }
    fn memory(&self, s: &Sample) -> Option<(f64, f64)> {
        Some((self.x(s.t_us), self.mem_y(s.memory_bytes?)))
    }
    fn peak(&self, s: &Sample) -> Option<(f64, f64)> {
        Some((self.x(s.t_us), self.mem_y(s.memory_peak_bytes?)))
    }
    fn pids(&self, s: &Sample) -> Option<(f64, f64)> {
        Some((self.x(s.t_us), self.pids_y(s.pids?)))
    }
}

/// The three lines over the whole trace, made once per trace (and per
/// chunk read, while it is read): a move takes a prefix of each.
pub struct Lines {
    frame: Frame,
    memory: Line,
    peak: Line,
    pids: Line,
}

impl Lines {
    fn new(t: &Loaded, large: bool) -> Lines {
        let f = Frame::new(t, large);
        let replay = t.replay();
        let all = replay.samples();
        let stride = chart::stride(all.len());
        Lines {
            memory: Line::new(all, stride, |s| f.memory(s)),
            peak: Line::new(all, stride, |s| f.peak(s)),
            pids: Line::new(all, stride, |s| f.pids(s)),
            frame: f,
        }
    }
}

/// What the memo of the lines depends on.
fn lines_key(p: &CgroupsProps) -> (usize, usize, u64, u64, bool) {
    let t = &p.trace;
    (
        t.replay_id(),
        t.replay().samples().len(),
        t.max_memory,
        t.max_pids,
        p.large,
    )
}

fn usage_chart(p: &CgroupsProps, lines: &Lines, seen: usize) -> Html {
    if seen == 0 {
        return html! { <p class="vazio">{"Sem amostras de uso ainda."}</p> };
    }
    let replay = p.trace.replay();
    let all = replay.samples();
    let samples = &all[..seen];
    let f = &lines.frame;
    let (k, left) = (f.k, f.left);
    let y = |v: u64| f.mem_y(v);
    let points = lines.memory.upto(all, seen, |s| f.memory(s));
    // The kernel's peak: a climb between two samples (one big allocation)
    // shows here even when the usage read before and after is low.
    let peaks = lines.peak.upto(all, seen, |s| f.peak(s));
    let limit = samples.iter().rev().find_map(|s| s.memory_limit_bytes);
    let last = samples.last().unwrap();
    let peak = last
        .memory_peak_bytes
        .map(|b| format!(" (pico {})", mib(b)))
        .unwrap_or_default();
    let now = match (last.memory_bytes, limit) {
        (Some(m), Some(l)) => format!("memória: {} de {}{peak}", mib(m), mib(l)),
        (Some(m), None) => format!("memória: {}{peak}", mib(m)),
        _ => String::new(),
    };
    let ticks = crate::format::mib_ticks(p.trace.max_memory).into_iter().map(|b| {
        let ty = y(b);
        html! {
            <g class="marca-eixo">
                <line x1={(left - 4.0).px()} y1={ty.px()} x2={CW.px()} y2={ty.px()} class="grade" />
                <text x={(left - 8.0).px()} y={(ty + 4.0 * k).px()} text-anchor="end">{mib(b)}</text>
            </g>
        }
    });
    let pids = match (last.pids, last.pids_limit) {
        (Some(n), Some(l)) => format!(" · processos: {n} de {l}"),
        (Some(n), None) => format!(" · processos: {n}"),
        _ => String::new(),
    };
    let cpu = last
        .cpu_usage_us
        .map(|c| {
            format!(
                " · CPU usada: {} s",
                crate::format::fixed(c as f64 / 1e6, 2)
            )
            .replace('.', ",")
        })
        .unwrap_or_default();
    let ooms = p.world.cgroups.values().filter_map(|c| c.last_oom);
    html! {
        <>
            <p class="uso" id="uso-atual">{format!("{now}{pids}{cpu}")}</p>
            <svg viewBox={super::panels::view_box(CW, CH + 30.0 * k)} role="img" id="grafico-memoria"
                aria-label="Gráfico do uso de memória ao longo do tempo, com o limite tracejado">
                { for ticks }
                <line x1={left.px()} y1={(10.0 + CH).px()} x2={CW.px()} y2={(10.0 + CH).px()} class="eixo" />
                if let Some(l) = limit {
                    <line x1={left.px()} y1={y(l).px()} x2={CW.px()} y2={y(l).px()} class="limite" />
                    <text x={(left + 4.0).px()} y={(y(l) + 16.0 * k).px()} class="rotulo-limite">{format!("limite {}", mib(l))}</text>
                }
                if !peaks.is_empty() {
                    <polyline points={peaks.clone()} class="pico"><title>{"pico de memória (o maior uso até ali, guardado pelo kernel)"}</title></polyline>
                }
                <polyline points={points} class="memoria"><title>{"memória em uso na hora da medição"}</title></polyline>
                if samples.len() <= 60 {
                    { for samples.iter().filter_map(|s| f.memory(s)).map(|(cx, cy)| html! {
                        <circle cx={crate::format::fixed(cx, 1)} cy={crate::format::fixed(cy, 1)} r="4" class="ponto" />
                    }) }
                }
                { for ooms.map(|i| {
                    let x = f.x(replay.events()[i].t_us);
                    html! { <line x1={x.px()} x2={x.px()} y1="10" y2={(10.0 + CH).px()} class="marca-oom" /> }
                }) }
                <text x={left.px()} y={(CH + 28.0 * k).px()} class="rotulo">{"tempo →"}</text>
            </svg>
            if !peaks.is_empty() {
                <p class="legenda-grafico" id="legenda-memoria">
                    <span class="amostra-linha memoria"></span>{"em uso na medição "}
                    <span class="amostra-linha pico"></span>{"pico (o maior uso até ali, que o kernel guarda: mostra uma subida entre duas medições)"}
                </p>
            }
            { pids_chart(p, lines, samples) }
        </>
    }
}

/// Processes in the cgroup over time, against `pids.max` (dashed).
fn pids_chart(p: &CgroupsProps, lines: &Lines, samples: &[Sample]) -> Html {
    if p.trace.max_pids == 0 {
        return html! {};
    }
    let f = &lines.frame;
    let (k, left, ch) = (f.k, f.left, f.pids_h());
    let replay = p.trace.replay();
    let points = lines
        .pids
        .upto(replay.samples(), samples.len(), |s| f.pids(s));
    let limit = samples.iter().rev().find_map(|s| s.pids_limit);
    html! {
        <svg viewBox={super::panels::view_box(CW, ch + 14.0)} role="img" id="grafico-pids"
            aria-label="Gráfico do número de processos no cgroup, com o pids.max tracejado">
            <line x1={left.px()} y1={(8.0 + ch).px()} x2={CW.px()} y2={(8.0 + ch).px()} class="eixo" />
            if let Some(l) = limit {
                <line x1={left.px()} y1={f.pids_y(l).px()} x2={CW.px()} y2={f.pids_y(l).px()} class="limite" />
                <text x={(left + 4.0).px()} y={(f.pids_y(l) + 14.0 * k).px()} class="rotulo-limite">{format!("pids.max {l}")}</text>
            }
            <polyline points={points} class="pids" />
            if samples.len() <= 60 {
                { for samples.iter().filter_map(|s| f.pids(s)).map(|(cx, cy)| html! {
                    <circle cx={crate::format::fixed(cx, 1)} cy={crate::format::fixed(cy, 1)} r="4" class="ponto-pids" />
                }) }
            }
            <text x="4" y={(22.0 * k).px()} class="rotulo">{"proc."}</text>
        </svg>
    }
}
