//! Panel "Rede": the host with its bridge, the veth cable into the
//! container's network namespace, the addresses, the default route and the
//! published ports, as far as the trace got; below it, the user network's
//! DNS (each question and its answer) and casulo's firewall rules.

use casulo_trace::replay::{Network, Veth, World};
use casulo_trace::NsKind;
use yew::prelude::*;

use super::panels::{scale, WorldProps};
use crate::markup::{class_list, w, Attr, Esc, C};

/// A box with up to three lines of text (the overflow test checks that
/// every `g.caixa`'s text stays inside its rect).
#[allow(clippy::too_many_arguments)]
fn text_box(
    s: &mut String,
    id: &'static str,
    class: &'static str,
    x: f64,
    y: f64,
    w: f64,
    k: f64,
    lines: &[String],
    tip: &str,
) {
    let h = 10.0 * k + lines.len() as f64 * 18.0 * k;
    let id = (!id.is_empty()).then_some(id);
    w!(
        s,
        r#"<g class="caixa {class}"{}><rect x="{}" y="{}" width="{}" height="{}" rx="6"><title>{}</title></rect>"#,
        Attr("id", id),
        C(x),
        C(y),
        C(w),
        C(h),
        Esc(tip)
    );
    for (i, l) in lines.iter().enumerate() {
        w!(
            s,
            r#"<text x="{}" y="{}" class="{}">{}</text>"#,
            C(x + 10.0),
            C(y + (19.0 + 18.0 * i as f64) * k),
            if i == 0 { "nome-if" } else { "detalhe-if" },
            Esc(l)
        );
    }
    s.push_str("</g>");
}

/// Everything the diagram shows, said in one paragraph (screen readers).
fn spoken(net: &Network, world: &World) -> String {
    let mut parts = vec![];
    match net.bridges.last() {
        Some(b) => parts.push(format!("bridge {} com o endereço {}", b.name, b.address)),
        None => parts.push("sem bridge no host".into()),
    }
    if let Some(v) = net.veth() {
        let state = if v.deleted { ", já removido" } else { "" };
        parts.push(format!(
            "cabo veth de {} (host) até {} (contêiner){state}",
            v.host_ifname, v.container_ifname
        ));
        if let Some(a) = net.addrs_of(&v.container_ifname, true).last() {
            parts.push(format!(
                "{} tem o endereço {}",
                v.container_ifname, a.address
            ));
        }
    }
    for r in net.routes.iter().filter(|r| r.inside) {
        parts.push(format!(
            "rota {} via {} pela {}",
            if r.destination == "default" {
                "padrão"
            } else {
                &r.destination
            },
            r.gateway.as_deref().unwrap_or("(direto)"),
            r.ifname
        ));
    }
    for p in &net.ports {
        let state = if p.is_open() {
            "leva a"
        } else {
            "fechada, levava a"
        };
        parts.push(format!(
            "porta {}:{} do host {state} {}:{} ({}, {})",
            p.host_ip, p.host_port, p.container_ip, p.container_port, p.protocol, p.mechanism
        ));
    }
    if net.veths.len() > 1 {
        for v in &net.veths {
            let state = if v.deleted { ", removido" } else { "" };
            parts.push(format!(
                "cabo {} (contêiner) a {} na bridge {}{state}",
                v.container_ifname,
                v.host_ifname,
                v.bridge.as_deref().unwrap_or("nenhuma")
            ));
        }
    }
    if let Some(d) = &net.dns_server {
        parts.push(format!("DNS da rede {} em {}", d.network, d.address));
    }
    for q in &net.dns {
        parts.push(format!(
            "perguntou quem é {}: {}",
            q.name,
            answer_text(&q.answer)
        ));
    }
    for r in &net.rules {
        let state = if r.is_active() { "" } else { " (apagada)" };
        parts.push(format!("regra {} em {}{state}", r.purpose, r.chain));
    }
    if world.namespaces.iter().any(|n| n.kind == NsKind::Net) {
        parts.push(format!(
            "lo {}",
            if net.is_up("lo") {
                "ativa"
            } else {
                "desligada"
            }
        ));
    }
    format!("Rede: {}.", parts.join("; "))
}

fn answer_text(answer: &[String]) -> String {
    if answer.is_empty() {
        "nenhum endereço".into()
    } else {
        answer.join(", ")
    }
}

/// What a `resolved_by` means, in Portuguese.
fn resolved_text(by: &str) -> &'static str {
    match by {
        "network" => "um contêiner da rede",
        "upstream" => "o DNS do host",
        _ => "ninguém",
    }
}

/// What a rule is for, in Portuguese.
fn purpose_text(purpose: &str) -> &'static str {
    match purpose {
        "isolation" => "isolamento entre redes",
        "masquerade" => "saída com NAT (masquerade)",
        "dnat" => "porta publicada por DNAT",
        "forward" => "roteamento do host ligado",
        "table" => "tabela inet casulo",
        _ => "regra",
    }
}

/// The DNS questions and the firewall rules, as lists under the diagram;
/// with more than one veth (a network joined by `network connect`), every
/// cable first: the diagram draws only the latest.
fn dns_and_rules(net: &Network, fresh: &dyn Fn(usize) -> bool) -> Html {
    let cables = net.veths.len() > 1;
    if !cables && net.dns_server.is_none() && net.dns.is_empty() && net.rules.is_empty() {
        return html! {};
    }
    html! {
        <div class="rede-extras">
            if cables {
                <h3 id="rede-cabos-titulo">{format!("Cabos veth ({}): uma interface por rede", net.veths.len())}</h3>
                <ul class="rede-cabos" id="rede-cabos">
                    { for net.veths.iter().map(|v| html! {
                        <li class={classes!(fresh(v.at).then_some("novo"), v.deleted.then_some("removido"))}>
                            {format!("{} {} · {} na bridge {}{}",
                                v.container_ifname,
                                net.addrs_of(&v.container_ifname, true).last().map_or("(sem endereço)", |a| a.address.as_str()),
                                v.host_ifname,
                                v.bridge.as_deref().unwrap_or("(nenhuma)"),
                                if v.deleted { " · removido" } else { "" })}
                        </li>
                    }) }
                </ul>
            }
            if let Some(d) = &net.dns_server {
                <h3 id="rede-dns-titulo">{format!("DNS da rede {} ({})", d.network, d.address)}</h3>
                <ul class="rede-dns" id="rede-dns">
                    { for net.dns.iter().map(|q| html! {
                        <li class={classes!(fresh(q.at).then_some("novo"), q.answer.is_empty().then_some("sem-resposta"))}>
                            {format!("perguntou quem é {} ({}) → {} · respondeu {}",
                                q.name, q.qtype, answer_text(&q.answer), resolved_text(&q.resolved_by))}
                        </li>
                    }) }
                    if net.dns.is_empty() {
                        <li class="vazio">{"nenhuma pergunta ainda"}</li>
                    }
                </ul>
            }
            if !net.rules.is_empty() {
                <h3 id="rede-regras-titulo">{"Regras do firewall (tabela inet casulo)"}</h3>
                <ul class="rede-regras" id="rede-regras">
                    { for net.rules.iter().map(|r| html! {
                        <li class={classes!(fresh(r.at).then_some("novo"), (!r.is_active()).then_some("removido"))}>
                            <strong>{purpose_text(&r.purpose)}</strong>
                            {format!(" · {} · ", r.chain)}<code>{r.rule.clone()}</code>
                            if !r.is_active() { {" · apagada"} }
                        </li>
                    }) }
                </ul>
            }
        </div>
    }
}

/// Where the diagram's rows go: the host's (bridge, veth's host end), the
/// container's namespace (lo, eth0, routes), the published ports.
struct Rows {
    k: f64,
    /// Left and right columns, and a box's width.
    lx: f64,
    rx: f64,
    bw: f64,
    /// The host's row.
    y1: f64,
    /// Height of a box of three and of two lines.
    box3: f64,
    box2: f64,
    /// The container's namespace, and its interfaces' row.
    yc: f64,
    eth_y: f64,
}

impl Rows {
    fn new(large: bool) -> Rows {
        let k = scale(large);
        let y1 = 36.0 * k;
        let box3 = 10.0 * k + 3.0 * 18.0 * k;
        let yc = y1 + box3 + 44.0 * k;
        Rows {
            k,
            lx: 20.0,
            rx: 350.0,
            bw: 290.0,
            y1,
            box3,
            box2: 10.0 * k + 2.0 * 18.0 * k,
            yc,
            eth_y: yc + 30.0 * k,
        }
    }
}

#[function_component(NetworkPanel)]
pub fn network_panel(p: &WorldProps) -> Html {
    let w = &p.world;
    let net = &w.network;
    let net_ns = w.namespaces.iter().rev().find(|n| n.kind == NsKind::Net);
    if net_ns.is_none() && net.links_up.is_empty() && w.hostname.is_none() && !net.is_bridged() {
        if !p.compact {
            return html! {};
        }
        return html! {
            <section class="painel rede" aria-labelledby="titulo-rede">
                <h2 id="titulo-rede">{"Rede e hostname"}</h2>
                <p class="vazio" id="rede-vazio">{"Ainda não há rede do contêiner: o namespace de rede não foi criado."}</p>
            </section>
        };
    }
    let r = Rows::new(p.large);
    let k = r.k;
    let last = w.applied.checked_sub(1);
    let fresh = |at: usize| Some(at) == last;
    let mut host_items = String::new();
    host_row(&mut host_items, net, &r, &fresh);
    let mut inside = String::new();
    let routes = container_row(&mut inside, net, &r, &fresh);
    let hc = 30.0 * k + r.box2 + 16.0 * k + routes as f64 * 20.0 * k + 4.0;
    let ports_y = r.yc + hc + 16.0 * k;
    let height = ports_y
        + net.ports.len() as f64 * (PORT_H * k + 12.0 * k)
        + if net.ports.is_empty() { 0.0 } else { 6.0 };
    let title = match net_ns {
        Some(ns) => format!("contêiner · namespace net [{}]", ns.inode.unwrap_or(0)),
        None => "contêiner: seu namespace de rede ainda não existe".into(),
    };
    let label = spoken(net, w);
    let (lx, yc) = (r.lx, r.yc);
    let mut svg = String::new();
    w!(
        &mut svg,
        r#"<svg viewBox="0 0 660 {}" role="img" id="svg-rede" aria-label="{}"><defs>"#,
        C(height),
        Esc(&label)
    );
    for (id, class) in [
        ("seta", "ponta-seta"),
        ("seta-fechada", "ponta-seta fechada"),
    ] {
        w!(
            &mut svg,
            r#"<marker id="{id}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" class="{class}"/></marker>"#
        );
    }
    w!(
        &mut svg,
        r#"</defs><rect x="4" y="4" width="652" height="{}" rx="10" class="host"/><text x="16" y="{}" class="rotulo-host">Host</text><g class="ns ns-net" id="rede-conteiner"><rect x="{}" y="{}" width="620" height="{}" rx="8"/><text x="{}" y="{}" class="rotulo-ns">{}</text></g>{inside}{host_items}"#,
        C(height - 8.0),
        C(24.0 * k),
        C(lx),
        C(yc),
        C(hc),
        C(lx + 10.0),
        C(yc + 19.0 * k),
        Esc(&title)
    );
    ports(&mut svg, net, &r, hc, ports_y, &fresh);
    svg.push_str("</svg>");

    html! {
        <section class="painel rede" aria-labelledby="titulo-rede">
            <h2 id="titulo-rede">{"Rede e hostname"}</h2>
            { Html::from_html_unchecked(svg.into()) }
            <p class="escondido" id="rede-descricao">{label}</p>
            { dns_and_rules(net, &fresh) }
            if let Some(h) = &w.hostname {
                <p id="hostname">{"Hostname dentro do contêiner: "}<code>{h.clone()}</code></p>
            }
        </section>
    }
}

/// Row 1, on the host: the bridge (left; pasta when rootless) and the
/// veth's host end (right), plugged into it, and the cable down.
fn host_row(s: &mut String, net: &Network, r: &Rows, fresh: &dyn Fn(usize) -> bool) {
    let (lx, y1, bw, k) = (r.lx, r.y1, r.bw, r.k);
    let veth = net.veth();
    let bridge = match veth.and_then(|v| v.bridge.as_deref()) {
        Some(name) => net.bridge(name),
        None => net.bridges.last(),
    };
    match bridge {
        Some(b) => {
            w!(
                s,
                r#"<g class="{}">"#,
                class_list(&["rede-bridge", if fresh(b.at) { "novo" } else { "" }])
            );
            text_box(
                s,
                "rede-bridge",
                "bridge",
                lx,
                y1,
                bw,
                k,
                &[
                    format!(
                        "{} · bridge{}",
                        b.name,
                        if net.is_up(&b.name) { " ▲ ativa" } else { "" }
                    ),
                    format!(
                        "{} (gateway)",
                        net.addrs_of(&b.name, false)
                            .last()
                            .map_or(b.address.as_str(), |a| a.address.as_str())
                    ),
                    if b.deleted {
                        "removida".into()
                    } else if b.created {
                        "criada agora".into()
                    } else {
                        "já existia".into()
                    },
                ],
                "A bridge: um switch virtual no host, onde os cabos veth dos contêineres se ligam",
            );
            s.push_str("</g>");
        }
        // Rootless `-p`: pasta, a process of the user, instead of a bridge.
        None if net.pasta.is_some() => {
            s.push_str(r#"<g class="rede-pasta">"#);
            text_box(s, "rede-pasta", "bridge", lx, y1, bw, k, &[
                format!("pasta · PID {}", net.pasta.unwrap_or_default()),
                "rede sem root, no espaço do usuário".into(),
                "escuta as portas -p no host".into(),
            ], "Sem root não há bridge: o pasta (pacote passt) dá ao contêiner uma interface tap e copia as conexões das portas publicadas");
            s.push_str("</g>");
        }
        None => {
            w!(
                s,
                r#"<text x="{}" y="{}" class="rotulo" id="rede-sem-bridge">Sem bridge: este contêiner não tem rede para fora</text>"#,
                C(lx),
                C(y1 + 24.0 * k)
            );
        }
    }
    if let Some(v) = veth {
        veth_host_end(s, net, v, bridge.is_some(), r, fresh);
    }
}

/// The veth's host end, its plug into the bridge, and the cable from it
/// down into the container's network namespace.
fn veth_host_end(
    s: &mut String,
    net: &Network,
    v: &Veth,
    has_bridge: bool,
    r: &Rows,
    fresh: &dyn Fn(usize) -> bool,
) {
    let (lx, rx, y1, bw, box3, k) = (r.lx, r.rx, r.y1, r.bw, r.box3, r.k);
    let plugged = v.bridge.is_some() && has_bridge;
    let state = if v.deleted {
        "removida (fim do contêiner)".to_string()
    } else {
        match &v.bridge {
            Some(b) => format!("plugada em {b}"),
            None => "ainda solta".into(),
        }
    };
    let removed = if v.deleted { "removido" } else { "" };
    w!(
        s,
        r#"<g class="{}">"#,
        class_list(&["rede-veth", if fresh(v.at) { "novo" } else { "" }, removed])
    );
    text_box(
        s,
        "rede-veth-host",
        "veth",
        rx,
        y1,
        bw,
        k,
        &[
            format!(
                "{}{}",
                v.host_ifname,
                if !v.deleted && net.is_up(&v.host_ifname) {
                    " ▲ ativa"
                } else {
                    ""
                }
            ),
            "ponta do host do par veth".into(),
            state,
        ],
        "Uma ponta do par veth: fica no host",
    );
    s.push_str("</g>");
    if plugged {
        w!(
            s,
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}" class="{}" id="plugue-bridge"/>"#,
            C(lx + bw),
            C(y1 + box3 / 2.0),
            C(rx),
            C(y1 + box3 / 2.0),
            class_list(&["plugue", removed])
        );
    }
    let cx = rx + bw / 2.0;
    w!(
        s,
        r#"<g class="{}"><line x1="{}" y1="{}" x2="{}" y2="{}" id="cabo-veth"><title>o cabo veth: o que entra por uma ponta sai pela outra</title></line><text x="{}" y="{}" class="rotulo-cabo" text-anchor="end">{}</text></g>"#,
        class_list(&["cabo", removed]),
        C(cx),
        C(y1 + box3),
        C(cx),
        C(r.eth_y),
        C(cx - 10.0),
        C(y1 + box3 + 26.0 * k),
        if v.deleted {
            "cabo veth (removido)"
        } else {
            "cabo veth"
        }
    );
}

/// The container's network namespace: lo, the veth's container end, the
/// routes; returns how many routes (the namespace's box grows with them).
fn container_row(s: &mut String, net: &Network, r: &Rows, fresh: &dyn Fn(usize) -> bool) -> usize {
    let (lx, rx, bw, eth_y, k) = (r.lx, r.rx, r.bw, r.eth_y, r.k);
    let lo_up = net.is_up("lo");
    w!(
        s,
        r#"<g class="{}">"#,
        class_list(&["interface", if lo_up { "" } else { "desligada" }])
    );
    text_box(
        s,
        "rede-lo",
        "lo",
        lx + 10.0,
        eth_y,
        bw - 10.0,
        k,
        &[
            format!("lo {}", if lo_up { "▲ ativa" } else { "▽ desligada" }),
            "loopback (127.0.0.1)".into(),
        ],
        "lo: a interface de loopback do namespace",
    );
    s.push_str("</g>");
    if let Some(v) = net.veth() {
        let name = &v.container_ifname;
        let up = !v.deleted && net.is_up(name);
        let addr = net
            .addrs_of(name, true)
            .filter(|a| a.at > v.at)
            .last()
            .map(|a| a.address.clone())
            .unwrap_or_else(|| "sem endereço ainda".into());
        let fresh_addr = net.addrs.last().is_some_and(|a| fresh(a.at));
        w!(
            s,
            r#"<g class="{}">"#,
            class_list(&[
                "interface",
                "eth",
                if up { "" } else { "desligada" },
                if fresh_addr { "novo" } else { "" }
            ])
        );
        text_box(
            s,
            "rede-eth0",
            "eth",
            rx,
            eth_y,
            bw,
            k,
            &[
                format!(
                    "{name} {}",
                    if v.deleted {
                        "✕ removida"
                    } else if up {
                        "▲ ativa"
                    } else {
                        "▽ desligada"
                    }
                ),
                addr,
            ],
            &format!("{name}: a outra ponta do cabo, dentro do contêiner"),
        );
        s.push_str("</g>");
    }
    let route_y = eth_y + r.box2 + 22.0 * k;
    let mut routes = 0;
    for route in net.routes.iter().filter(|r| r.inside) {
        let text = match (&route.gateway, route.destination.as_str()) {
            (Some(g), "default") => format!("rota padrão: via {g} pela {}", route.ifname),
            (Some(g), d) => format!("rota para {d}: via {g} pela {}", route.ifname),
            (None, d) => format!("rota para {d}: direto pela {}", route.ifname),
        };
        w!(
            s,
            r#"<text x="{}" y="{}" class="rota"{}>{}</text>"#,
            C(lx + 12.0),
            C(route_y + routes as f64 * 20.0 * k),
            Attr("id", (routes == 0).then_some("rede-rota")),
            Esc(&text)
        );
        routes += 1;
    }
    routes
}

/// Height of a published port's box (times the scale).
const PORT_H: f64 = 26.0;

/// Published ports: from a box on the host, an arrow into the container's
/// end. Once closed (`net.port_close`), the arrow is dashed and grey, with
/// the word "fechada": not only a colour.
fn ports(
    s: &mut String,
    net: &Network,
    r: &Rows,
    hc: f64,
    ports_y: f64,
    fresh: &dyn Fn(usize) -> bool,
) {
    let (lx, k) = (r.lx, r.k);
    let port_h = PORT_H * k;
    // Into the container's end once it has one; to its box before.
    let end_y = if net.veth().is_some() {
        r.eth_y + r.box2
    } else {
        r.yc + hc
    };
    for (i, pt) in net.ports.iter().enumerate() {
        let y = ports_y + i as f64 * (port_h + 12.0 * k);
        let mid = y + port_h / 2.0;
        let tx = r.rx + r.bw / 2.0 + 20.0 + i as f64 * 14.0;
        let pw = 230.0;
        let closed = !pt.is_open();
        let is_fresh = fresh(pt.at) || pt.closed_at.is_some_and(fresh);
        let (tip, marker, state) = if closed {
            (
                "a porta publicada, já fechada: o host a liberou",
                "url(#seta-fechada)",
                " · fechada",
            )
        } else {
            ("a porta publicada, no host", "url(#seta)", "")
        };
        w!(
            s,
            r#"<g class="{}"><g class="caixa porta-host"><rect x="{}" y="{}" width="{}" height="{}" rx="6"><title>{tip}</title></rect><text x="{}" y="{}" class="nome-if">{}</text></g>"#,
            class_list(&[
                "porta",
                if is_fresh { "novo" } else { "" },
                if closed { "fechada" } else { "" }
            ]),
            C(lx),
            C(y),
            C(pw),
            C(port_h),
            C(lx + 10.0),
            C(y + 18.0 * k),
            Esc(&format!("{}:{}/{}", pt.host_ip, pt.host_port, pt.protocol))
        );
        w!(
            s,
            r#"<path d="M{} {} H{} V{}" class="seta-porta" marker-end="{marker}"/><text x="{}" y="{}" class="rotulo-porta">{}</text></g>"#,
            C(lx + pw),
            C(mid),
            C(tx),
            C(end_y),
            C(lx + pw + 8.0),
            C(mid - 6.0),
            Esc(&format!(
                "→ {}:{} · {}{state}",
                pt.container_ip, pt.container_port, pt.mechanism
            ))
        );
    }
}
