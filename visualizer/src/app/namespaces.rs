//! The namespaces panel: the container's namespaces as boxes side by side,
//! its init and the processes that joined it (`casulo exec`).

use casulo_trace::replay::{ns_kind, Process, World};
use casulo_trace::NsKind;
use yew::prelude::*;

use super::panels::{scale, WorldProps};
use crate::markup::{w, Esc, C};

/// What each namespace kind isolates, in a few words.
fn ns_what(kind: NsKind) -> &'static str {
    match kind {
        NsKind::Pid => "números de processo",
        NsKind::Mnt => "montagens",
        NsKind::Uts => "hostname",
        NsKind::Ipc => "comunicação entre processos",
        NsKind::Net => "rede",
        NsKind::Cgroup => "visão dos cgroups",
        NsKind::User => "usuários",
        NsKind::Time => "relógios",
    }
}

/// Namespace boxes per row: side by side, never one inside another.
const NS_COLUMNS: usize = 2;
/// Room between the namespace boxes and the process (its links).
const NS_LINK: f64 = 22.0;

/// One namespace box.
struct Tile {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

/// Room between two namespace boxes (the links to the process run there).
const NS_GAP: f64 = 18.0;

/// The namespace boxes: [`NS_COLUMNS`] per row from `(x0, y0)` across `w0`;
/// a third line (the namespace is gone) once the process has ended.
struct NsGrid {
    x0: f64,
    y0: f64,
    w0: f64,
    /// Height of a box.
    h: f64,
}

impl NsGrid {
    fn new(x0: f64, y0: f64, w0: f64, k: f64, ended: bool) -> NsGrid {
        let lines = if ended { 3.0 } else { 2.0 };
        NsGrid {
            x0,
            y0,
            w0,
            h: (10.0 + 19.0 * lines) * k,
        }
    }

    fn tile(&self, i: usize) -> Tile {
        let w = (self.w0 - NS_GAP * (NS_COLUMNS - 1) as f64) / NS_COLUMNS as f64;
        Tile {
            x: self.x0 + (i % NS_COLUMNS) as f64 * (w + NS_GAP),
            y: self.y0 + (i / NS_COLUMNS) as f64 * (self.h + 10.0),
            w,
            h: self.h,
        }
    }

    /// The bottom of the last row of `n` boxes.
    fn bottom(&self, n: usize) -> f64 {
        let rows = n.div_ceil(NS_COLUMNS).max(1) as f64;
        self.y0 + rows * (self.h + 10.0) - 10.0
    }
}

fn command_text(argv: &Option<Vec<String>>) -> String {
    match argv {
        Some(a) => {
            let s = a.join(" ");
            if s.chars().count() > 34 {
                format!("{}…", s.chars().take(33).collect::<String>())
            } else {
                s
            }
        }
        None => "(ainda o código do casulo)".into(),
    }
}

/// Where the engine and the namespace boxes go. Normal: the engine to the
/// left, the namespaces to its right. Large: the engine on top, the
/// namespaces below it across the whole width.
struct Layout {
    k: f64,
    engine_x: f64,
    engine_y: f64,
    x0: f64,
    y0: f64,
    w0: f64,
}

impl Layout {
    fn new(large: bool) -> Layout {
        let k = scale(large);
        let (engine_x, engine_y) = if large {
            (16.0, 36.0 * k)
        } else {
            (16.0, 110.0)
        };
        let (x0, y0) = if large {
            (16.0, engine_y + 58.0 * k + 14.0)
        } else {
            (190.0, 30.0)
        };
        Layout {
            k,
            engine_x,
            engine_y,
            x0,
            y0,
            w0: 660.0 - x0 - 30.0,
        }
    }

    fn grid(&self, init: &Process) -> NsGrid {
        NsGrid::new(self.x0, self.y0, self.w0, self.k, init.exit.is_some())
    }

    /// The diagram's height: the init's box under its namespaces, or room
    /// for the "no container yet" words; never shorter than the engine.
    fn height(&self, init: Option<&Process>) -> f64 {
        let k = self.k;
        init.map_or(140.0 * k, |i| {
            self.grid(i).bottom(i.namespaces.len()) + NS_LINK + 96.0 * k + 14.0
        })
        .max(200.0 * k)
        .max(self.engine_y + 58.0 * k + 14.0)
    }
}

#[function_component(NamespacesPanel)]
pub fn namespaces_panel(p: &WorldProps) -> Html {
    let w = &p.world;
    let engine = w
        .init()
        .and_then(|i| i.parent)
        .or_else(|| w.processes.keys().next().copied());
    let l = Layout::new(p.large);
    let k = l.k;
    let height = l.height(w.init());
    let mut svg = String::new();
    w!(
        &mut svg,
        r#"<svg viewBox="0 0 660 {}" role="img" id="svg-ns" aria-label="Os namespaces do contêiner lado a lado, o processo ligado a cada um, o host em volta"><rect class="host" x="2" y="2" width="656" height="{}" rx="12"/><text x="16" y="{}" class="rotulo-host">Host (namespaces iniciais)</text>"#,
        C(height),
        C(height - 4.0),
        C(24.0 * k)
    );
    if let Some(pid) = engine {
        engine_box(&mut svg, pid, &l);
    }
    match w.init() {
        None => {
            w!(
                &mut svg,
                r#"<text x="24" y="{}" class="rotulo">Ainda não há contêiner:</text><text x="24" y="{}" class="rotulo">só os namespaces do host existem.</text>"#,
                C(70.0 * k),
                C(94.0 * k)
            );
        }
        Some(init) => container(&mut svg, w, init, &l),
    }
    svg.push_str("</svg>");
    // `casulo exec`: the processes in every namespace of the init, and
    // the casulo that forked each (on the host, in the pid one only).
    let joined: Vec<_> = w.joined().collect();
    // Rootless: the casulo whose own user namespace has maps (not the
    // init's, which `--userns` maps).
    let rootless = w
        .processes
        .values()
        .find(|pr| Some(pr.host_pid) != w.init_pid && !pr.uid_map.is_empty());
    let others: Vec<_> = w
        .processes
        .values()
        .filter(|pr| Some(pr.host_pid) != w.init_pid && Some(pr.host_pid) != engine)
        .filter(|pr| pr.uid_map.is_empty())
        .filter(|pr| !joined.iter().any(|j| j.host_pid == pr.host_pid))
        .collect();

    html! {
        <section class="painel namespaces" aria-labelledby="titulo-ns">
            <h2 id="titulo-ns">{"Namespaces e processos"}</h2>
            { Html::from_html_unchecked(svg.into()) }
            if w.init().is_some_and(|i| !i.namespaces.is_empty()) {
                <p class="dica" id="ns-dica">{"Cada namespace isola uma coisa, independente dos outros \
                    (nenhum fica dentro de outro): o processo está em todos ao mesmo tempo."}</p>
            }
            if let Some(pr) = rootless {
                { rootless_note(pr) }
            }
            if !joined.is_empty() {
                { joined_list(&joined) }
            }
            if !others.is_empty() {
                { others_list(&others, &joined) }
            }
        </section>
    }
}

/// The casulo that started the container, on the host.
fn engine_box(s: &mut String, pid: i32, l: &Layout) {
    let (x, y, k) = (l.engine_x, l.engine_y, l.k);
    w!(
        s,
        r#"<g class="processo motor"><rect x="{}" y="{}" width="{}" height="{}" rx="10"/><text x="{}" y="{}">casulo</text><text x="{}" y="{}" class="pid-host">PID {pid} no host</text></g>"#,
        C(x),
        C(y),
        C(150.0 * k),
        C(58.0 * k),
        C(x + 12.0),
        C(y + 24.0 * k),
        C(x + 12.0),
        C(y + 46.0 * k)
    );
}

/// The container: its namespace boxes side by side, its init under them,
/// and the links from the init to each box.
fn container(s: &mut String, w: &World, init: &Process, l: &Layout) {
    let ended = init.exit.is_some();
    let grid = l.grid(init);
    let last = w.applied.checked_sub(1);
    let top = grid.bottom(init.namespaces.len()) + NS_LINK;
    // A trunk from the process up between the columns, and from it
    // one branch to each namespace: the process is in all of them
    // at once, and they sit side by side, not nested.
    let first = grid.tile(0);
    let trunk_x = first.x + first.w + NS_GAP / 2.0;
    let ended_class = if ended { " encerrado" } else { "" };
    w!(
        s,
        r#"<line class="tronco-ns{ended_class}" x1="{}" y1="{}" x2="{}" y2="{}"/>"#,
        C(trunk_x),
        C(first.y + first.h / 2.0),
        C(trunk_x),
        C(top)
    );
    for i in 0..init.namespaces.len() {
        let t = grid.tile(i);
        let edge = if t.x < trunk_x { t.x + t.w } else { t.x };
        let cy = C(t.y + t.h / 2.0);
        w!(
            s,
            r#"<line class="liga-ns{ended_class}" x1="{}" y1="{cy}" x2="{}" y2="{cy}"/>"#,
            C(edge),
            C(trunk_x)
        );
    }
    for (i, (key, inode)) in init.namespaces.iter().enumerate() {
        ns_box(s, w, ns_kind(*key), *inode, grid.tile(i), last, ended, l.k);
    }
    init_box(s, w, init, l, top);
}

/// One namespace of the container; `fresh` when the last event made it.
#[allow(clippy::too_many_arguments)]
fn ns_box(
    s: &mut String,
    w: &World,
    kind: NsKind,
    inode: u64,
    t: Tile,
    last: Option<usize>,
    ended: bool,
    k: f64,
) {
    let fresh = w
        .namespaces
        .iter()
        .any(|ns| ns.kind == kind && Some(ns.at) == last);
    let host_inode = w
        .namespaces
        .iter()
        .rev()
        .find(|ns| ns.kind == kind)
        .and_then(|ns| ns.host_inode);
    let proc_name = kind.proc_name();
    let name = match inode {
        0 => proc_name.to_string(),
        i => format!("{proc_name} [{i}]"),
    };
    let mut tip = match host_inode {
        Some(h) => format!("namespace {proc_name} do contêiner: inode {inode}; o do host é {h}"),
        None => format!("namespace {proc_name} do contêiner"),
    };
    if ended {
        tip.push_str(" — sem nenhum processo dentro, o kernel o liberou");
    }
    w!(
        s,
        r#"<g class="ns ns-{proc_name}{}{}"><rect x="{}" y="{}" width="{}" height="{}" rx="8"><title>{}</title></rect><text x="{}" y="{}" class="rotulo-ns">{}</text><text x="{}" y="{}" class="rotulo-ns isola">{}</text>"#,
        if fresh { " novo" } else { "" },
        if ended { " encerrado" } else { "" },
        C(t.x),
        C(t.y),
        C(t.w),
        C(t.h),
        Esc(&tip),
        C(t.x + 8.0),
        C(t.y + 19.0 * k),
        Esc(&name),
        C(t.x + 8.0),
        C(t.y + 38.0 * k),
        ns_what(kind)
    );
    if ended {
        w!(
            s,
            r#"<text x="{}" y="{}" class="rotulo-ns acabou">acabou (sem processos)</text>"#,
            C(t.x + 8.0),
            C(t.y + 57.0 * k)
        );
    }
    s.push_str("</g>");
}

/// The container's init, at `top`: its pids inside and on the host, its
/// user, command and state.
fn init_box(s: &mut String, w: &World, init: &Process, l: &Layout, top: f64) {
    let (px, pw, k) = (l.x0, l.w0, l.k);
    let ended = init.exit.is_some();
    let pid_inside = match init.container_pid {
        Some(pid) => format!("PID {pid} dentro do contêiner"),
        None => "PID (o mesmo do host)".into(),
    };
    let user = match init.user {
        Some((uid, gid)) => format!("PID {} no host · uid {uid}, gid {gid}", init.host_pid),
        None => format!("PID {} no host · root", init.host_pid),
    };
    w!(
        s,
        r#"<g class="processo init{}" id="processo-init"><rect x="{px}" y="{}" width="{pw}" height="{}" rx="10"/><text x="{x}" y="{}" class="pid-dentro">{}</text><text x="{x}" y="{}" class="pid-host">{}</text><text x="{x}" y="{}" class="comando">{}</text><text x="{x}" y="{}" class="estado">{}</text></g>"#,
        if ended { " terminado" } else { "" },
        C(top),
        C(96.0 * k),
        C(top + 26.0 * k),
        Esc(&pid_inside),
        C(top + 48.0 * k),
        Esc(&user),
        C(top + 68.0 * k),
        Esc(&command_text(&init.exec)),
        C(top + 88.0 * k),
        Esc(&init_status(w, init)),
        px = C(px),
        pw = C(pw),
        x = C(px + 12.0)
    );
}

/// "rodando", "terminou com código 0", "morto por SIGKILL"…, and the
/// restarts by `--restart`.
fn init_status(w: &World, init: &Process) -> String {
    let mut status = match &init.exit {
        None => "rodando".to_string(),
        Some(x) => match (&x.code, &x.signal_name) {
            (Some(c), _) => format!("terminou com código {c}"),
            (None, Some(s)) => format!("morto por {s}"),
            _ => "terminou".into(),
        },
    };
    // A container its supervisor started again (--restart).
    if let Some(r) = w.restarts.last() {
        status.push_str(&format!(
            " · reiniciado {} vez(es) (--restart {})",
            r.attempt, r.policy
        ));
    }
    status
}

/// The rootless casulo's own user namespace and its maps.
fn rootless_note(pr: &Process) -> Html {
    html! {
        <p class="dica" id="ns-rootless">
            <strong>{"Rootless: "}</strong>
            {format!(
                "o casulo (PID {} no host) rodou sem root, como root de um user namespace \
                 seu, e criou os namespaces do contêiner lá dentro. Mapa de uids: {}",
                pr.host_pid,
                crate::security::map_text(&pr.uid_map)
            )}
            if !pr.gid_map.is_empty() {
                {format!("; de gids: {}", crate::security::map_text(&pr.gid_map))}
            }
            {" (o 0 de dentro é o seu usuário no host)."}
        </p>
    }
}

/// The processes that joined the container (`casulo exec`, setns).
fn joined_list(joined: &[&Process]) -> Html {
    html! {
        <>
            <h3 class="titulo-exec">{"Entraram no contêiner (casulo exec, setns)"}</h3>
            <ul class="processos-exec" id="processos-exec">
                { for joined.iter().map(|pr| html! {
                    <li class={classes!(pr.exit.is_some().then_some("terminado"))}>
                        <strong>{command_text(&pr.exec)}</strong>
                        {format!(" · PID {} no host", pr.host_pid)}
                        {match pr.user {
                            Some((uid, gid)) => format!(" · uid {uid}, gid {gid}"),
                            None => " · root".to_string(),
                        }}
                        <span class="etiqueta">{" os mesmos namespaces do PID 1 "}</span>
                        {match &pr.exit {
                            None => " · rodando".to_string(),
                            Some(x) => match (&x.code, &x.signal_name) {
                                (Some(c), _) => format!(" · terminou com código {c}"),
                                (None, Some(s)) => format!(" · morto por {s}"),
                                _ => " · terminou".into(),
                            },
                        }}
                    </li>
                }) }
            </ul>
        </>
    }
}

/// Other processes of the trace (the casulo that forked a `casulo exec`
/// into the pid namespace…), with the namespaces each entered.
fn others_list(others: &[&Process], joined: &[&Process]) -> Html {
    let exec_parent = |pid: i32| joined.iter().any(|j| j.parent == Some(pid));
    html! {
        <ul class="outros-processos">
            { for others.iter().map(|pr| html! {
                <li>{format!("PID {} no host", pr.host_pid)}
                    if exec_parent(pr.host_pid) {
                        {" · o casulo exec: entrou só no namespace pid, para o filho nascer lá"}
                    }
                    { for pr.namespaces.keys().map(|k| html! {
                        <span class="etiqueta">{format!(" {} ", ns_kind(*k).proc_name())}</span>
                    }) }
                    if let Some(x) = &pr.exit {
                        {format!(" · terminou{}", x.signal_name.as_ref().map(|s| format!(" por {s}")).unwrap_or_default())}
                    }
                </li>
            }) }
        </ul>
    }
}
