//! The namespaces panel: the container's namespaces as boxes side by side,
//! its init and the processes that joined it (`casulo exec`).

use casulo_trace::replay::{ns_kind, Process, World};
use casulo_trace::NsKind;
use yew::prelude::*;

use super::panels::{scale, Px, WorldProps};

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
    let body = match w.init() {
        None => html! {
            <>
                <text x="24" y={(70.0 * k).px()} class="rotulo">{"Ainda não há contêiner:"}</text>
                <text x="24" y={(94.0 * k).px()} class="rotulo">{"só os namespaces do host existem."}</text>
            </>
        },
        Some(init) => container(w, init, &l),
    };
    let height = l.height(w.init());
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
            <svg viewBox={super::panels::view_box(660.0, height)} role="img" id="svg-ns"
                aria-label="Os namespaces do contêiner lado a lado, o processo ligado a cada um, o host em volta">
                <rect class="host" x="2" y="2" width="656" height={(height - 4.0).px()} rx="12" />
                <text x="16" y={(24.0 * k).px()} class="rotulo-host">{"Host (namespaces iniciais)"}</text>
                if let Some(pid) = engine {
                    { engine_box(pid, &l) }
                }
                {body}
            </svg>
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
fn engine_box(pid: i32, l: &Layout) -> Html {
    let (x, y, k) = (l.engine_x, l.engine_y, l.k);
    html! {
        <g class="processo motor">
            <rect x={x.px()} y={y.px()} width={(150.0 * k).px()}
                height={(58.0 * k).px()} rx="10" />
            <text x={(x + 12.0).px()} y={(y + 24.0 * k).px()}>{"casulo"}</text>
            <text x={(x + 12.0).px()} y={(y + 46.0 * k).px()} class="pid-host">{format!("PID {pid} no host")}</text>
        </g>
    }
}

/// The container: its namespace boxes side by side, its init under them,
/// and the links from the init to each box.
fn container(w: &World, init: &Process, l: &Layout) -> Html {
    let ended = init.exit.is_some();
    let grid = l.grid(init);
    let last = w.applied.checked_sub(1);
    let boxes =
        init.namespaces.iter().enumerate().map(|(i, (key, inode))| {
            ns_box(w, ns_kind(*key), *inode, grid.tile(i), last, ended, l.k)
        });
    let top = grid.bottom(init.namespaces.len()) + NS_LINK;
    // A trunk from the process up between the columns, and from it
    // one branch to each namespace: the process is in all of them
    // at once, and they sit side by side, not nested.
    let first = grid.tile(0);
    let trunk_x = first.x + first.w + NS_GAP / 2.0;
    let link_class = classes!("liga-ns", ended.then_some("encerrado"));
    let links = (0..init.namespaces.len()).map(|i| {
        let t = grid.tile(i);
        let edge = if t.x < trunk_x { t.x + t.w } else { t.x };
        let cy = (t.y + t.h / 2.0).px();
        html! {
            <line class={link_class.clone()} x1={edge.px()} y1={cy.clone()} x2={trunk_x.px()} y2={cy} />
        }
    });
    html! {
        <>
            <line class={classes!("tronco-ns", ended.then_some("encerrado"))} x1={trunk_x.px()} y1={(first.y + first.h / 2.0).px()}
                x2={trunk_x.px()} y2={top.px()} />
            { for links }
            { for boxes }
            { init_box(w, init, l, top) }
        </>
    }
}

/// One namespace of the container; `fresh` when the last event made it.
fn ns_box(
    w: &World,
    kind: NsKind,
    inode: u64,
    t: Tile,
    last: Option<usize>,
    ended: bool,
    k: f64,
) -> Html {
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
    let name = match inode {
        0 => kind.proc_name().to_string(),
        i => format!("{} [{i}]", kind.proc_name()),
    };
    let mut tip = match host_inode {
        Some(h) => format!(
            "namespace {} do contêiner: inode {inode}; o do host é {h}",
            kind.proc_name()
        ),
        None => format!("namespace {} do contêiner", kind.proc_name()),
    };
    if ended {
        tip.push_str(" — sem nenhum processo dentro, o kernel o liberou");
    }
    html! {
        <g class={classes!("ns", format!("ns-{}", kind.proc_name()), fresh.then_some("novo"), ended.then_some("encerrado"))}>
            <rect x={t.x.px()} y={t.y.px()} width={t.w.px()}
                height={t.h.px()} rx="8"><title>{tip}</title></rect>
            <text x={(t.x + 8.0).px()} y={(t.y + 19.0 * k).px()} class="rotulo-ns">{name}</text>
            <text x={(t.x + 8.0).px()} y={(t.y + 38.0 * k).px()} class="rotulo-ns isola">{ns_what(kind)}</text>
            if ended {
                <text x={(t.x + 8.0).px()} y={(t.y + 57.0 * k).px()} class="rotulo-ns acabou">{"acabou (sem processos)"}</text>
            }
        </g>
    }
}

/// The container's init, at `top`: its pids inside and on the host, its
/// user, command and state.
fn init_box(w: &World, init: &Process, l: &Layout, top: f64) -> Html {
    let (px, pw, k) = (l.x0, l.w0, l.k);
    let ended = init.exit.is_some();
    let pid_inside = match init.container_pid {
        Some(pid) => format!("PID {pid} dentro do contêiner"),
        None => "PID (o mesmo do host)".into(),
    };
    html! {
        <g class={classes!("processo", "init", ended.then_some("terminado"))} id="processo-init">
            <rect x={px.px()} y={top.px()} width={pw.px()} height={(96.0 * k).px()} rx="10" />
            <text x={(px + 12.0).px()} y={(top + 26.0 * k).px()} class="pid-dentro">{pid_inside}</text>
            <text x={(px + 12.0).px()} y={(top + 48.0 * k).px()} class="pid-host">
                {match init.user {
                    Some((uid, gid)) => format!("PID {} no host · uid {uid}, gid {gid}", init.host_pid),
                    None => format!("PID {} no host · root", init.host_pid),
                }}</text>
            <text x={(px + 12.0).px()} y={(top + 68.0 * k).px()} class="comando">
                {command_text(&init.exec)}</text>
            <text x={(px + 12.0).px()} y={(top + 88.0 * k).px()} class="estado">{init_status(w, init)}</text>
        </g>
    }
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
