//! The course's embed mode: what the page's URL asks for, checked, with a
//! pt-BR message naming the parameter and the value when something is wrong.
//!
//! The book's `{{#replay nome paineis=namespaces,eventos de=3 ate=12}}`
//! becomes an iframe on
//! `visualizador/index.html?trace=../exemplos/nome.trace.jsonl&embed=1&paineis=namespaces,eventos&de=3&ate=12`:
//!
//! - `embed=1`: compact page (no header, file picker, list of traces,
//!   comparison or large type); a slim player (◀, ▷ Reproduzir/⏸ Pausar, ▶,
//!   "evento N de M", the timeline of the range only) and a link
//!   "abrir no visualizador completo ↗" to `index.html?trace=…#evento=N`.
//! - `paineis=`: which panels, in that order (`eventos` goes left/on top
//!   when it comes first); names in [`Panel::name`]; default: the full
//!   app's panels for that trace.
//! - `de=N`, `ate=M`: seq numbers; the page opens at `de` (applied and
//!   selected); ←/→, Home/End, the scrubber and playback stay in `de..=ate`.
//!   Defaults: the trace's first and last events.
//! - After every render (and every change of size) the page posts
//!   `{casuloAltura: <px>, casuloTrace: <the trace parameter>}` to
//!   `window.parent`, for the book to size the iframe.
//!
//! Event numbers are the trace's `seq` everywhere: the numbers
//! `casulo trace show` prints, the `#evento=N` of a link, the header's
//! "evento N de M" (M: the last reachable event) and the events panel's `#N`.

/// The page's `?a=b&c=d`, decoded (one value per name, the last one).
pub type Params = casulo_trace::replay::SortedMap<String, String>;

/// A panel the page can show; its name is the one the URL (and the book's
/// `{{#replay … paineis=…}}`) uses, and the CSS class of its `<section>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Panel {
    Events,
    Build,
    Namespaces,
    Files,
    Cgroups,
    Network,
    Security,
    Registry,
}

impl Panel {
    /// In the full app's order (the build's layer stack right after the events).
    pub const ALL: [Panel; 8] = [
        Panel::Events,
        Panel::Build,
        Panel::Namespaces,
        Panel::Files,
        Panel::Cgroups,
        Panel::Network,
        Panel::Security,
        Panel::Registry,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Panel::Events => "eventos",
            Panel::Build => "build",
            Panel::Namespaces => "namespaces",
            Panel::Files => "arquivos",
            Panel::Cgroups => "cgroups",
            Panel::Network => "rede",
            Panel::Security => "seguranca",
            Panel::Registry => "registry",
        }
    }

    pub fn from_name(name: &str) -> Option<Panel> {
        Panel::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The panels the full app shows for a trace (Build only for a build,
    /// Segurança only when it has `security.*` events, Registry only for a
    /// push or pull).
    pub fn defaults(has_build: bool, has_security: bool, has_registry: bool) -> Vec<Panel> {
        Panel::ALL
            .into_iter()
            .filter(|p| *p != Panel::Build || has_build)
            .filter(|p| *p != Panel::Security || has_security)
            .filter(|p| *p != Panel::Registry || has_registry)
            .collect()
    }
}

/// `eventos, namespaces, arquivos, cgroups, rede, seguranca, registry, build`: for the messages.
fn panel_names() -> String {
    let mut names: Vec<&str> = Panel::ALL.iter().map(|p| p.name()).collect();
    // The order the book's README lists them in.
    names.retain(|n| *n != "build");
    names.push("build");
    names.join(", ")
}

/// What an embedding page asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Embed {
    /// The `trace=` parameter, as given (the full app's link reuses it).
    pub trace: String,
    /// `paineis=`, in the order given; `None`: the full app's panels.
    pub panels: Option<Vec<Panel>>,
    /// `de=` and `ate=`: seq numbers.
    pub from: Option<u64>,
    pub to: Option<u64>,
}

/// Reads the embed parameters. `Ok(None)`: not in embed mode (no `embed=1`).
/// `Err`: embed mode with a wrong parameter (the message for the student).
pub fn parse(params: &Params) -> Result<Option<Embed>, String> {
    if params.get("embed").map(|v| v.trim()) != Some("1") {
        return Ok(None);
    }
    let trace = match params.get("trace").map(|t| t.trim()) {
        Some(t) if !t.is_empty() => t.to_string(),
        _ => {
            return Err("O modo embutido precisa do parâmetro trace \
                 (o endereço do arquivo .trace.jsonl), e ele não veio no endereço."
                .into())
        }
    };
    let panels = match params.get("paineis") {
        None => None,
        Some(list) => Some(parse_panels(list)?),
    };
    let from = params.get("de").map(|v| parse_seq("de", v)).transpose()?;
    let to = params.get("ate").map(|v| parse_seq("ate", v)).transpose()?;
    if let (Some(a), Some(b)) = (from, to) {
        if a > b {
            return Err(format!(
                "O parâmetro de={a} vem depois de ate={b}: o trecho precisa começar \
                 num evento anterior (ou igual) ao último."
            ));
        }
    }
    Ok(Some(Embed {
        trace,
        panels,
        from,
        to,
    }))
}

fn parse_panels(list: &str) -> Result<Vec<Panel>, String> {
    let mut panels = vec![];
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let Some(p) = Panel::from_name(&crate::format::fold_case(name)) else {
            return Err(format!(
                "O parâmetro paineis tem um painel desconhecido: «{name}» (em paineis={list}). \
                 Os painéis são: {}.",
                panel_names()
            ));
        };
        if !panels.contains(&p) {
            panels.push(p);
        }
    }
    if panels.is_empty() {
        return Err(format!(
            "O parâmetro paineis está vazio: diga ao menos um painel ({}).",
            panel_names()
        ));
    }
    Ok(panels)
}

fn parse_seq(param: &str, value: &str) -> Result<u64, String> {
    value.trim().parse().map_err(|_| {
        format!(
            "O parâmetro {param}={value} não é um número de evento: use o número \
             que `casulo trace show` mostra (por exemplo {param}=3)."
        )
    })
}

impl Embed {
    /// The range `[from, to]` of seq numbers inside a trace whose events go
    /// from `first` to `last` (`None` for a trace with no events); a missing
    /// end is the trace's own.
    pub fn range(&self, bounds: Option<(u64, u64)>) -> Result<(u64, u64), String> {
        let Some((first, last)) = bounds else {
            return Err(format!(
                "O trace {} não tem eventos: não há o que reproduzir.",
                self.trace
            ));
        };
        let outside = |param: &str, v: u64| {
            format!(
                "O parâmetro {param}={v} está fora deste trace: os eventos de {} vão do {first} ao {last}.",
                self.trace
            )
        };
        let from = self.from.unwrap_or(first);
        let to = self.to.unwrap_or(last);
        if !(first..=last).contains(&from) {
            return Err(outside("de", from));
        }
        if !(first..=last).contains(&to) {
            return Err(outside("ate", to));
        }
        Ok((from, to))
    }

    /// The panels to show for a trace (`has_build`: it has `build.*`
    /// events; `has_security`: `security.*` events; `has_registry`:
    /// `registry.*` events).
    pub fn panels_for(
        &self,
        has_build: bool,
        has_security: bool,
        has_registry: bool,
    ) -> Vec<Panel> {
        self.panels
            .clone()
            .unwrap_or_else(|| Panel::defaults(has_build, has_security, has_registry))
    }
}

/// `?trace=…#evento=N`: the full visualizer at event `seq` (the `trace`
/// parameter encoded by `encode`, e.g. `encodeURIComponent`).
pub fn full_app_link(trace_encoded: &str, seq: Option<u64>) -> String {
    match seq {
        Some(n) => format!("index.html?trace={trace_encoded}#evento={n}"),
        None => format!("index.html?trace={trace_encoded}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn embed_parameters() {
        assert_eq!(parse(&params(&[("trace", "a.jsonl")])), Ok(None));
        assert_eq!(
            parse(&params(&[("trace", "a.jsonl"), ("embed", "0")])),
            Ok(None)
        );
        let e = parse(&params(&[
            ("embed", "1"),
            ("trace", "../exemplos/ola.trace.jsonl"),
            ("paineis", "namespaces, eventos,namespaces"),
            ("de", "3"),
            ("ate", "12"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(e.panels, Some(vec![Panel::Namespaces, Panel::Events]));
        assert_eq!((e.from, e.to), (Some(3), Some(12)));
        assert_eq!(e.range(Some((0, 34))), Ok((3, 12)));
        assert_eq!(
            e.panels_for(true, false, false),
            vec![Panel::Namespaces, Panel::Events]
        );

        let plain = parse(&params(&[("embed", "1"), ("trace", "t")]))
            .unwrap()
            .unwrap();
        assert_eq!(plain.range(Some((0, 34))), Ok((0, 34)));
        assert_eq!(plain.panels_for(false, false, false).len(), 5);
        assert_eq!(plain.panels_for(true, false, false)[1], Panel::Build);
        // Segurança: by name, and by default only for a trace with security.* events.
        assert_eq!(Panel::from_name("seguranca"), Some(Panel::Security));
        assert_eq!(
            plain.panels_for(false, true, false).last(),
            Some(&Panel::Security)
        );
        assert!(!plain
            .panels_for(true, false, false)
            .contains(&Panel::Security));
        // Registry: by name, and by default only for a push or pull.
        assert_eq!(Panel::from_name("registry"), Some(Panel::Registry));
        assert_eq!(
            plain.panels_for(false, false, true).last(),
            Some(&Panel::Registry)
        );
        assert!(!plain
            .panels_for(true, true, false)
            .contains(&Panel::Registry));
        assert!(plain.range(None).unwrap_err().contains("não tem eventos"));
    }

    #[test]
    fn errors_name_the_parameter_and_value() {
        let err = |pairs: &[(&str, &str)]| parse(&params(pairs)).unwrap_err();
        let e = err(&[("embed", "1"), ("trace", "t"), ("paineis", "eventos,redes")]);
        assert!(e.contains("paineis") && e.contains("«redes»"), "{e}");
        assert!(
            e.contains("eventos, namespaces, arquivos, cgroups, rede, seguranca, registry, build")
        );
        assert!(err(&[("embed", "1"), ("trace", "t"), ("paineis", "")]).contains("vazio"));
        assert!(err(&[("embed", "1")]).contains("parâmetro trace"));
        let e = err(&[("embed", "1"), ("trace", "t"), ("de", "três")]);
        assert!(e.contains("de=três"), "{e}");
        let e = err(&[("embed", "1"), ("trace", "t"), ("de", "9"), ("ate", "3")]);
        assert!(e.contains("de=9") && e.contains("ate=3"), "{e}");

        let e = parse(&params(&[("embed", "1"), ("trace", "t"), ("ate", "99")]))
            .unwrap()
            .unwrap();
        let msg = e.range(Some((0, 34))).unwrap_err();
        assert!(
            msg.contains("ate=99") && msg.contains("do 0 ao 34"),
            "{msg}"
        );
        let e = parse(&params(&[("embed", "1"), ("trace", "t"), ("de", "40")]))
            .unwrap()
            .unwrap();
        assert!(e.range(Some((0, 34))).unwrap_err().contains("de=40"));
    }

    #[test]
    fn link_to_the_full_app() {
        assert_eq!(
            full_app_link("..%2Fexemplos%2Fola.trace.jsonl", Some(7)),
            "index.html?trace=..%2Fexemplos%2Fola.trace.jsonl#evento=7"
        );
        assert_eq!(full_app_link("t", None), "index.html?trace=t");
    }
}
