//! The diagrams (SVG) of the world at the current position.

use std::rc::Rc;

use casulo_trace::replay::{ns_kind, World};
use casulo_trace::NsKind;
use yew::prelude::*;

use super::Loaded;
use crate::format::{bytes, mib, short_digest, short_path};

/// How much the diagrams' text, spacing and marks grow in large-type mode:
/// the same factor as `--k` in `style.css` (`.app.grande .painel svg`).
pub const LARGE: f64 = 1.4;

pub fn scale(large: bool) -> f64 {
    if large {
        LARGE
    } else {
        1.0
    }
}

#[derive(Properties)]
pub struct WorldProps {
    pub world: Rc<World>,
    /// Large-type mode (for projecting).
    #[prop_or_default]
    pub large: bool,
    /// Embed mode: a panel with nothing to draw yet says so instead of
    /// vanishing (the book's frame asked for it).
    #[prop_or_default]
    pub compact: bool,
}

impl PartialEq for WorldProps {
    fn eq(&self, o: &Self) -> bool {
        Rc::ptr_eq(&self.world, &o.world) && (self.large, self.compact) == (o.large, o.compact)
    }
}

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

#[function_component(NamespacesPanel)]
pub fn namespaces_panel(p: &WorldProps) -> Html {
    let w = &p.world;
    let engine = w
        .init()
        .and_then(|i| i.parent)
        .or_else(|| w.processes.keys().next().copied());
    let last = w.applied.checked_sub(1);
    let k = scale(p.large);
    // Normal: the engine to the left, the namespaces to its right. Large:
    // the engine on top, the namespaces below it across the whole width.
    let (engine_x, engine_y) = if p.large {
        (16.0, 36.0 * k)
    } else {
        (16.0, 110.0)
    };
    let (x0, y0) = if p.large {
        (16.0, engine_y + 58.0 * k + 14.0)
    } else {
        (190.0, 30.0)
    };
    let w0 = 660.0 - x0 - 30.0;

    let body = match w.init() {
        None => html! {
            <>
                <text x="24" y={(70.0 * k).to_string()} class="rotulo">{"Ainda não há contêiner:"}</text>
                <text x="24" y={(94.0 * k).to_string()} class="rotulo">{"só os namespaces do host existem."}</text>
            </>
        },
        Some(init) => {
            let ended = init.exit.is_some();
            let grid = NsGrid::new(x0, y0, w0, k, ended);
            let boxes = init.namespaces.iter().enumerate().map(|(i, (key, inode))| {
                let kind = ns_kind(*key);
                let t = grid.tile(i);
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
                    Some(h) => format!("namespace {} do contêiner: inode {inode}; o do host é {h}", kind.proc_name()),
                    None => format!("namespace {} do contêiner", kind.proc_name()),
                };
                if ended {
                    tip.push_str(" — sem nenhum processo dentro, o kernel o liberou");
                }
                html! {
                    <g class={classes!("ns", format!("ns-{}", kind.proc_name()), fresh.then_some("novo"), ended.then_some("encerrado"))}>
                        <rect x={t.x.to_string()} y={t.y.to_string()} width={t.w.to_string()}
                            height={t.h.to_string()} rx="8"><title>{tip}</title></rect>
                        <text x={(t.x + 8.0).to_string()} y={(t.y + 19.0 * k).to_string()} class="rotulo-ns">{name}</text>
                        <text x={(t.x + 8.0).to_string()} y={(t.y + 38.0 * k).to_string()} class="rotulo-ns isola">{ns_what(kind)}</text>
                        if ended {
                            <text x={(t.x + 8.0).to_string()} y={(t.y + 57.0 * k).to_string()} class="rotulo-ns acabou">{"acabou (sem processos)"}</text>
                        }
                    </g>
                }
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
                let cy = (t.y + t.h / 2.0).to_string();
                html! {
                    <line class={link_class.clone()} x1={edge.to_string()} y1={cy.clone()} x2={trunk_x.to_string()} y2={cy} />
                }
            });
            let trunk = html! {
                <line class={classes!("tronco-ns", ended.then_some("encerrado"))} x1={trunk_x.to_string()} y1={(first.y + first.h / 2.0).to_string()}
                    x2={trunk_x.to_string()} y2={top.to_string()} />
            };
            let (px, pw) = (x0, w0);
            let pid_inside = match init.container_pid {
                Some(pid) => format!("PID {pid} dentro do contêiner"),
                None => "PID (o mesmo do host)".into(),
            };
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
            html! {
                <>
                    {trunk}
                    { for links }
                    { for boxes }
                    <g class={classes!("processo", "init", ended.then_some("terminado"))} id="processo-init">
                        <rect x={px.to_string()} y={top.to_string()} width={pw.to_string()} height={(96.0 * k).to_string()} rx="10" />
                        <text x={(px + 12.0).to_string()} y={(top + 26.0 * k).to_string()} class="pid-dentro">{pid_inside}</text>
                        <text x={(px + 12.0).to_string()} y={(top + 48.0 * k).to_string()} class="pid-host">
                            {match init.user {
                                Some((uid, gid)) => format!("PID {} no host · uid {uid}, gid {gid}", init.host_pid),
                                None => format!("PID {} no host · root", init.host_pid),
                            }}</text>
                        <text x={(px + 12.0).to_string()} y={(top + 68.0 * k).to_string()} class="comando">
                            {command_text(&init.exec)}</text>
                        <text x={(px + 12.0).to_string()} y={(top + 88.0 * k).to_string()} class="estado">{status}</text>
                    </g>
                </>
            }
        }
    };
    let height = w
        .init()
        .map_or(140.0 * k, |i| {
            NsGrid::new(x0, y0, w0, k, i.exit.is_some()).bottom(i.namespaces.len())
                + NS_LINK
                + 96.0 * k
                + 14.0
        })
        .max(200.0 * k)
        .max(engine_y + 58.0 * k + 14.0);
    // `casulo exec`: the processes in every namespace of the init, and
    // the casulo that forked each (on the host, in the pid one only).
    let joined: Vec<_> = w.joined().collect();
    let exec_parent = |pid: i32| joined.iter().any(|j| j.parent == Some(pid));
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
            <svg viewBox={format!("0 0 660 {height}")} role="img" id="svg-ns"
                aria-label="Os namespaces do contêiner lado a lado, o processo ligado a cada um, o host em volta">
                <rect class="host" x="2" y="2" width="656" height={(height - 4.0).to_string()} rx="12" />
                <text x="16" y={(24.0 * k).to_string()} class="rotulo-host">{"Host (namespaces iniciais)"}</text>
                if let Some(pid) = engine {
                    <g class="processo motor">
                        <rect x={engine_x.to_string()} y={engine_y.to_string()} width={(150.0 * k).to_string()}
                            height={(58.0 * k).to_string()} rx="10" />
                        <text x={(engine_x + 12.0).to_string()} y={(engine_y + 24.0 * k).to_string()}>{"casulo"}</text>
                        <text x={(engine_x + 12.0).to_string()} y={(engine_y + 46.0 * k).to_string()} class="pid-host">{format!("PID {pid} no host")}</text>
                    </g>
                }
                {body}
            </svg>
            if w.init().is_some_and(|i| !i.namespaces.is_empty()) {
                <p class="dica" id="ns-dica">{"Cada namespace isola uma coisa, independente dos outros \
                    (nenhum fica dentro de outro): o processo está em todos ao mesmo tempo."}</p>
            }
            if let Some(pr) = rootless {
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
            if !joined.is_empty() {
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
            }
            if !others.is_empty() {
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
        </section>
    }
}

#[derive(Properties)]
pub struct FsProps {
    pub world: Rc<World>,
    pub pos: usize,
    #[prop_or_default]
    pub large: bool,
}

impl PartialEq for FsProps {
    fn eq(&self, o: &Self) -> bool {
        Rc::ptr_eq(&self.world, &o.world) && self.large == o.large
    }
}

/// `casulo commit`s of the container: its upperdir became a layer of a new image.
fn commit_lines(w: &World) -> Vec<String> {
    w.commits
        .iter()
        .map(|c| {
            let image = if c.tag.is_empty() {
                short_digest(&c.image_id).to_string()
            } else {
                format!("{} ({})", c.tag, short_digest(&c.image_id))
            };
            let changes = if c.changes.is_empty() {
                String::new()
            } else {
                format!(" · --change {}", c.changes.join(", "))
            };
            let count =
                |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
            format!(
                "upperdir → camada {} ({}, {}, {}) → imagem {image}{changes}",
                short_digest(&c.diff_id),
                count(c.files, "entrada", "entradas"),
                count(c.whiteouts, "whiteout", "whiteouts"),
                bytes(c.size)
            )
        })
        .collect()
}

#[function_component(FilesystemPanel)]
pub fn filesystem_panel(p: &FsProps) -> Html {
    let w = &p.world;
    let last = w.applied.checked_sub(1);
    let commits = commit_lines(w);
    let Some(o) = &w.overlay else {
        let layers = w.layers.iter().map(|l| {
            let how = match &l.unpacked {
                Some(u) => format!(
                    "desempacotada agora: {} de conteúdo, {} arquivos",
                    bytes(u.bytes),
                    u.files
                ),
                None => "reutilizada (já estava desempacotada)".into(),
            };
            html! { <li class={classes!((Some(l.at) == last).then_some("novo"))}>
            <code>{short_digest(&l.diff_id).to_string()}</code>{format!(" · {how}")}
            if !l.whiteouts.is_empty() {
                <ul>{ for l.whiteouts.iter().map(|(path, opaque)| html! {
                    <li class="whiteout-item">{format!("✕ apaga {path}{}", if *opaque { " (diretório opaco)" } else { "" })}</li>
                }) }</ul>
            }
            </li> }
        });
        return html! {
            <section class="painel arquivos" aria-labelledby="titulo-fs">
                <h2 id="titulo-fs">{"Sistema de arquivos"}</h2>
                <p class="vazio" id="fs-vazio">{"O contêiner ainda não tem sistema de arquivos próprio (falta o mount overlay)."}</p>
                if !w.layers.is_empty() {
                    <p>{"Camadas da imagem prontas:"}</p>
                    <ul class="camadas-prontas">{ for layers }</ul>
                }
                if !commits.is_empty() {
                    <p class="commit" id="fs-commit"><strong>{"Commit (casulo commit): "}</strong>{commits.join("; ")}</p>
                }
            </section>
        };
    };

    // Rows top to bottom: merged, upper, each lowerdir. Large: the stack
    // takes the whole width and the mounts go below it, in two columns.
    let k = scale(p.large);
    let row_h = 54.0 * k;
    let row_w = if p.large { 640.0 } else { 400.0 };
    let (rw, rh, t1, t2) = (
        row_w.to_string(),
        (row_h - 8.0).to_string(),
        20.0 * k,
        38.0 * k,
    );
    let mut rows: Vec<Html> = vec![];
    let mut y = 10.0;
    // The overlay lives in the container's mount namespace: when its last
    // process ends, the kernel unmounts it (the upperdir stays on disk).
    let ended = w.init().is_some_and(|i| i.exit.is_some());
    let merged_label = if ended {
        "merged: desmontado (o contêiner terminou)"
    } else if w.pivoted {
        "merged = / do contêiner (depois do pivot_root)"
    } else {
        "merged: a visão unificada"
    };
    rows.push(html! {
        <g class={classes!("camada", "merged", (o.at + 1 == p.pos).then_some("novo"), ended.then_some("encerrado"))}>
            <rect x="10" y={y.to_string()} width={rw.clone()} height={rh.clone()} rx="6" />
            <text x="22" y={(y + t1).to_string()}>{merged_label}</text>
            <text x="22" y={(y + t2).to_string()} class="caminho">{short_path(&o.target)}</text>
        </g>
    });
    y += row_h;
    rows.push(html! {
        <g class="camada upper">
            <rect x="10" y={y.to_string()} width={rw.clone()} height={rh.clone()} rx="6" />
            <text x="22" y={(y + t1).to_string()}>{"upperdir: leitura e escrita (só deste contêiner)"}</text>
            <text x="22" y={(y + t2).to_string()} class="caminho">{short_path(&o.upperdir)}</text>
        </g>
    });
    y += row_h;
    for (i, dir) in o.lowerdirs.iter().enumerate() {
        let layer = w.layer_of_dir(dir);
        let title = match layer {
            Some(l) => format!(
                "camada {} · {}",
                o.lowerdirs.len() - i,
                short_digest(&l.diff_id)
            ),
            None => format!("camada {}", o.lowerdirs.len() - i),
        };
        let info = match layer.and_then(|l| l.unpacked) {
            Some(u) => format!(
                "somente leitura · {} de conteúdo · {} arquivos",
                bytes(u.bytes),
                u.files
            ),
            None => "somente leitura · reutilizada".into(),
        };
        let whiteouts = layer.map(|l| l.whiteouts.clone()).unwrap_or_default();
        rows.push(html! {
            <g class="camada lower">
                <rect x="10" y={y.to_string()} width={rw.clone()} height={rh.clone()} rx="6" />
                <text x="22" y={(y + t1).to_string()}>{title}</text>
                <text x="22" y={(y + t2).to_string()} class="caminho">{info}</text>
                { for whiteouts.iter().take(2).enumerate().map(|(i, (path, opaque))| html! {
                    <text x={(row_w * 0.6).to_string()} y={(y + t1 + 18.0 * k * i as f64).to_string()} class="whiteout">
                        {format!("✕ {path}{}", if *opaque { " (opaco)" } else { "" })}</text>
                }) }
            </g>
        });
        y += row_h;
    }
    let stack_h = y;
    // Mounts: to the right (normal), or below the stack in two columns (large).
    let (cols, mx0, my0, mw) = if p.large {
        (2, 10.0, stack_h + 6.0, 310.0)
    } else {
        (1, 440.0, 10.0, 210.0)
    };
    let mounts = w.mounts.iter().enumerate().map(|(i, m)| {
        let mx = mx0 + (i % cols) as f64 * (mw + 20.0);
        let my = my0 + (i / cols) as f64 * 30.0 * k;
        html! {
            <g class={classes!("montagem", (Some(m.at) == last).then_some("novo"), ended.then_some("encerrado"))}>
                <rect x={mx.to_string()} y={my.to_string()} width={mw.to_string()} height={(24.0 * k).to_string()} rx="4" />
                <text x={(mx + 10.0).to_string()} y={(my + 17.0 * k).to_string()}>{format!("{} · {}", m.inside, m.fstype)}</text>
            </g>
        }
    });
    let mount_rows = w.mounts.len().div_ceil(cols) as f64;
    let height = if p.large {
        my0 + mount_rows * 30.0 * k + 10.0
    } else {
        stack_h.max(20.0 + mount_rows * 30.0) + 10.0
    };
    let devices: Vec<String> = w.devices.iter().map(|d| d.inside.clone()).collect();
    // Volumes beside the overlay: data that is not in any layer.
    let volumes: Vec<String> = w
        .volumes
        .iter()
        .map(|v| {
            let name = if v.anonymous {
                format!("anônimo {}", &v.name[..v.name.len().min(12)])
            } else {
                v.name.clone()
            };
            format!("{name} em {} ({})", v.target, short_path(&v.path))
        })
        .collect();

    html! {
        <section class="painel arquivos" aria-labelledby="titulo-fs">
            <h2 id="titulo-fs">{"Sistema de arquivos"}</h2>
            <svg viewBox={format!("0 0 660 {height}")} role="img" id="svg-fs"
                aria-label="A pilha do overlay: visão unificada, camada de escrita e camadas da imagem; à direita, as montagens">
                { for rows }
                { for mounts }
            </svg>
            if !devices.is_empty() {
                <p class="dispositivos"><strong>{"Dispositivos em /dev: "}</strong>{devices.join(", ")}</p>
            }
            if !volumes.is_empty() {
                <p class="volumes" id="fs-volumes"><strong>{"Volumes (fora das camadas, sobrevivem ao contêiner): "}</strong>{volumes.join("; ")}</p>
            }
            if !commits.is_empty() {
                <p class="commit" id="fs-commit"><strong>{"Commit (casulo commit): "}</strong>{commits.join("; ")}</p>
            }
        </section>
    }
}

#[derive(Properties)]
pub struct CgroupsProps {
    pub trace: Rc<Loaded>,
    pub world: Rc<World>,
    #[prop_or_default]
    pub large: bool,
}

impl PartialEq for CgroupsProps {
    fn eq(&self, o: &Self) -> bool {
        Rc::ptr_eq(&self.world, &o.world)
            && Rc::ptr_eq(&self.trace, &o.trace)
            && self.large == o.large
    }
}

#[function_component(CgroupsPanel)]
pub fn cgroups_panel(p: &CgroupsProps) -> Html {
    let w = &p.world;
    let samples = &p.trace.replay.samples()[..w.samples_seen];
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
            <ul class="arvore-cgroups">{ for groups }</ul>
            { usage_chart(p, samples) }
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

fn usage_chart(p: &CgroupsProps, samples: &[casulo_trace::replay::Sample]) -> Html {
    if samples.is_empty() {
        return html! { <p class="vazio">{"Sem amostras de uso ainda."}</p> };
    }
    let all = p.trace.replay.samples();
    let t0 = all.first().map_or(0, |s| s.t_us) as f64;
    let t1 = (all.last().map_or(0, |s| s.t_us) as f64).max(t0 + 1.0);
    let max_mem = p.trace.max_memory as f64;
    let k = scale(p.large);
    let (cw, ch) = (600.0, 160.0);
    // Left margin: room for the axis' values (and the pids chart's label).
    let left = 64.0 * k;
    let x = |t: u64| left + (t as f64 - t0) / (t1 - t0) * (cw - left - 10.0);
    let y = |v: u64| 10.0 + ch - v as f64 / max_mem * ch;
    // At most ~600 points drawn: a long run is thinned.
    let stride = (samples.len() / 600).max(1);
    let points: String = samples
        .iter()
        .step_by(stride)
        .chain(samples.last())
        .filter_map(|s| Some(format!("{:.1},{:.1} ", x(s.t_us), y(s.memory_bytes?))))
        .collect();
    // The kernel's peak: a climb between two samples (one big allocation)
    // shows here even when the usage read before and after is low.
    let peaks: String = samples
        .iter()
        .step_by(stride)
        .chain(samples.last())
        .filter_map(|s| Some(format!("{:.1},{:.1} ", x(s.t_us), y(s.memory_peak_bytes?))))
        .collect();
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
                <line x1={(left - 4.0).to_string()} y1={ty.to_string()} x2={cw.to_string()} y2={ty.to_string()} class="grade" />
                <text x={(left - 8.0).to_string()} y={(ty + 4.0 * k).to_string()} text-anchor="end">{mib(b)}</text>
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
        .map(|c| format!(" · CPU usada: {:.2} s", c as f64 / 1e6).replace('.', ","))
        .unwrap_or_default();
    let ooms = p.world.cgroups.values().filter_map(|c| c.last_oom);
    html! {
        <>
            <p class="uso" id="uso-atual">{format!("{now}{pids}{cpu}")}</p>
            <svg viewBox={format!("0 0 {cw} {}", ch + 30.0 * k)} role="img" id="grafico-memoria"
                aria-label="Gráfico do uso de memória ao longo do tempo, com o limite tracejado">
                { for ticks }
                <line x1={left.to_string()} y1={(10.0 + ch).to_string()} x2={cw.to_string()} y2={(10.0 + ch).to_string()} class="eixo" />
                if let Some(l) = limit {
                    <line x1={left.to_string()} y1={y(l).to_string()} x2={cw.to_string()} y2={y(l).to_string()} class="limite" />
                    <text x={(left + 4.0).to_string()} y={(y(l) + 16.0 * k).to_string()} class="rotulo-limite">{format!("limite {}", mib(l))}</text>
                }
                if !peaks.is_empty() {
                    <polyline points={peaks.clone()} class="pico"><title>{"pico de memória (o maior uso até ali, guardado pelo kernel)"}</title></polyline>
                }
                <polyline points={points} class="memoria"><title>{"memória em uso na hora da medição"}</title></polyline>
                if samples.len() <= 60 {
                    { for samples.iter().filter_map(|s| Some(html! {
                        <circle cx={format!("{:.1}", x(s.t_us))} cy={format!("{:.1}", y(s.memory_bytes?))} r="4" class="ponto" />
                    })) }
                }
                { for ooms.map(|i| {
                    let t = p.trace.replay.events()[i].t_us;
                    html! { <line x1={x(t).to_string()} x2={x(t).to_string()} y1="10" y2={(10.0 + ch).to_string()} class="marca-oom" /> }
                }) }
                <text x={left.to_string()} y={(ch + 28.0 * k).to_string()} class="rotulo">{"tempo →"}</text>
            </svg>
            if !peaks.is_empty() {
                <p class="legenda-grafico" id="legenda-memoria">
                    <span class="amostra-linha memoria"></span>{"em uso na medição "}
                    <span class="amostra-linha pico"></span>{"pico (o maior uso até ali, que o kernel guarda: mostra uma subida entre duas medições)"}
                </p>
            }
            { pids_chart(p, samples, &x, stride, left) }
        </>
    }
}

/// Processes in the cgroup over time, against `pids.max` (dashed).
fn pids_chart(
    p: &CgroupsProps,
    samples: &[casulo_trace::replay::Sample],
    x: &dyn Fn(u64) -> f64,
    stride: usize,
    left: f64,
) -> Html {
    let max = p.trace.max_pids;
    if max == 0 {
        return html! {};
    }
    let k = scale(p.large);
    let (cw, ch) = (600.0, 60.0 * k);
    let y = |v: u64| 8.0 + ch - v as f64 / max as f64 * ch;
    let points: String = samples
        .iter()
        .step_by(stride)
        .chain(samples.last())
        .filter_map(|s| Some(format!("{:.1},{:.1} ", x(s.t_us), y(s.pids?))))
        .collect();
    let limit = samples.iter().rev().find_map(|s| s.pids_limit);
    html! {
        <svg viewBox={format!("0 0 {cw} {}", ch + 14.0)} role="img" id="grafico-pids"
            aria-label="Gráfico do número de processos no cgroup, com o pids.max tracejado">
            <line x1={left.to_string()} y1={(8.0 + ch).to_string()} x2={cw.to_string()} y2={(8.0 + ch).to_string()} class="eixo" />
            if let Some(l) = limit {
                <line x1={left.to_string()} y1={y(l).to_string()} x2={cw.to_string()} y2={y(l).to_string()} class="limite" />
                <text x={(left + 4.0).to_string()} y={(y(l) + 14.0 * k).to_string()} class="rotulo-limite">{format!("pids.max {l}")}</text>
            }
            <polyline points={points} class="pids" />
            if samples.len() <= 60 {
                { for samples.iter().filter_map(|s| Some(html! {
                    <circle cx={format!("{:.1}", x(s.t_us))} cy={format!("{:.1}", y(s.pids?))} r="4" class="ponto-pids" />
                })) }
            }
            <text x="4" y={(22.0 * k).to_string()} class="rotulo">{"proc."}</text>
        </svg>
    }
}
