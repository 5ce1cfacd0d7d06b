//! `{{#medida NOME}}`: a measurement made on a real machine, shown in a
//! chapter as a table and a bar chart.
//!
//! The figures live in `book/medidas/NOME.json`. Today there is one,
//! `conteineres-vms` (chapter 1: N containers against N VMs), written by
//! `cargo xtask medir`; its shape is documented in `book/medidas/README.md`.
//! [`render`] turns that JSON into plain HTML that mdBook passes through:
//!
//! - a table: median start time and memory of one container and of one VM,
//!   the memory of all N together, and how many times bigger the VM's
//!   figure is;
//! - an inline SVG bar chart with two groups (start time, memory), each
//!   with its own axis and unit. Text and axes are drawn in `currentColor`,
//!   so they follow the text colour of every mdBook theme, light or dark;
//!   the two bar colours read well on both;
//! - a caption saying what was measured, where (and how busy the machine
//!   was), when, and the caveat.
//!
//! The HTML has no blank line in it: in Markdown a blank line would end the
//! HTML block and the rest would be read as Markdown.

use serde_json::Value;

/// Bar colours: containers, VMs (mid tones, visible on light and dark).
const COLOR_CONTAINER: &str = "#2a9d8f";
const COLOR_VM: &str = "#e07a3f";

/// The numbers and words the page shows, read from the JSON.
struct Figures {
    n: f64,
    date: String,
    cpus: f64,
    cpu_model: String,
    memory_mib: f64,
    kernel: String,
    acceleration: String,
    caveat: String,
    /// Load average of the minute before the measurement (optional).
    load: Option<String>,
    container_what: String,
    vm_what: String,
    /// Median start time (ms) and memory (MiB): containers, then VMs.
    container_start: f64,
    container_memory: f64,
    vm_start: f64,
    vm_memory: f64,
    /// Memory of all N together (MiB): containers, VMs.
    container_total: f64,
    vm_total: f64,
}

/// The HTML for `{{#medida nome}}` from the measurement's JSON text, or a
/// pt-BR error naming the field that is missing or wrong.
pub fn render(nome: &str, json: &str) -> Result<String, String> {
    let fig = read(json).map_err(|e| format!("medida {nome}: {e}"))?;
    let id = format!("medida-{}", slug(nome));
    let mut html = format!("<figure class=\"casulo-medida\" id=\"{id}\">\n");
    html.push_str(&table(&fig));
    html.push_str(&chart(&fig, &id));
    html.push_str(&caption(&fig));
    html.push_str("</figure>\n");
    Ok(html)
}

/// Reads every field the page needs; the error names the first one that
/// is missing or of the wrong type, by its path (`summary.vms.start_ms.median`).
fn read(json: &str) -> Result<Figures, String> {
    let root: Value =
        serde_json::from_str(json).map_err(|e| format!("o JSON não é válido: {e}"))?;
    let number = |path: &str| -> Result<f64, String> {
        field(&root, path)?
            .as_f64()
            .ok_or_else(|| format!("o campo `{path}` precisa ser um número"))
    };
    let positive = |path: &str| -> Result<f64, String> {
        let x = number(path)?;
        if x > 0.0 {
            Ok(x)
        } else {
            Err(format!("o campo `{path}` precisa ser maior que zero"))
        }
    };
    let text = |path: &str| -> Result<String, String> {
        field(&root, path)?
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("o campo `{path}` precisa ser um texto"))
    };
    Ok(Figures {
        n: positive("meta.n")?,
        date: text("meta.date")?,
        cpus: number("meta.machine.cpus")?,
        cpu_model: text("meta.machine.cpu_model")?,
        memory_mib: number("meta.machine.memory_mib")?,
        kernel: text("meta.machine.kernel")?,
        acceleration: text("meta.machine.acceleration")?,
        caveat: text("meta.caveat")?,
        load: field(&root, "meta.machine.load_average")
            .ok()
            .and_then(Value::as_str)
            .and_then(|l| l.split_whitespace().next())
            .map(|l| comma(l.to_string())),
        container_what: text("meta.container.what")?,
        vm_what: text("meta.vm.what")?,
        container_start: positive("summary.containers.start_ms.median")?,
        container_memory: positive("summary.containers.memory_mib.median")?,
        vm_start: positive("summary.vms.start_ms.median")?,
        vm_memory: positive("summary.vms.memory_mib.median")?,
        container_total: positive("summary.containers.memory_mib.total")?,
        vm_total: positive("summary.vms.memory_mib.total")?,
    })
}

/// The value at a dotted path, or an error naming the path.
fn field<'a>(root: &'a Value, path: &str) -> Result<&'a Value, String> {
    let mut at = root;
    for key in path.split('.') {
        at = at
            .get(key)
            .filter(|v| !v.is_null())
            .ok_or_else(|| format!("falta o campo `{path}`"))?;
    }
    Ok(at)
}

fn table(f: &Figures) -> String {
    let row = |what: &str, c: String, v: String, ratio: f64| {
        format!(
            "<tr><th scope=\"row\">{what}</th><td>{c}</td><td>{v}</td><td>{}</td></tr>\n",
            show_ratio(ratio)
        )
    };
    let mut t = String::from("<table>\n<thead>\n");
    t.push_str(&format!(
        "<tr><th>N = {:.0} de cada lado</th><th>contêiner</th><th>VM</th>\
         <th>VM ÷ contêiner</th></tr>\n",
        f.n
    ));
    t.push_str("</thead>\n<tbody>\n");
    t.push_str(&row(
        "tempo de partida (mediana, até dizer “pronto”)",
        show_ms(f.container_start),
        show_ms(f.vm_start),
        f.vm_start / f.container_start,
    ));
    t.push_str(&row(
        "memória ocupada por um (mediana, PSS)",
        show_mib(f.container_memory),
        show_mib(f.vm_memory),
        f.vm_memory / f.container_memory,
    ));
    t.push_str(&row(
        &format!("memória dos {:.0} juntos (soma)", f.n),
        show_mib(f.container_total),
        show_mib(f.vm_total),
        f.vm_total / f.container_total,
    ));
    t.push_str("</tbody>\n</table>\n");
    t
}

// The chart's geometry, in SVG user units (it scales with the page).
const WIDTH: f64 = 560.0;
const HEIGHT: f64 = 270.0;
/// Top of the plot area (room for the panel titles) and its height.
const TOP: f64 = 46.0;
const PLOT: f64 = 170.0;
/// Left edge of each panel's plot area (room for the tick labels).
const PANELS: [f64; 2] = [60.0, 340.0];
const BAR: f64 = 56.0;
const GAP: f64 = 36.0;

/// Two panels side by side, each with its own axis: start time, memory.
fn chart(f: &Figures, id: &str) -> String {
    // Times in seconds when the larger one reaches a second.
    let (start_unit, scale) = if f.vm_start.max(f.container_start) >= 1000.0 {
        ("s", 1000.0)
    } else {
        ("ms", 1.0)
    };
    let mut svg = format!(
        "<svg role=\"img\" aria-labelledby=\"{id}-titulo\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" \
         width=\"100%\" style=\"max-width:{WIDTH}px\" font-family=\"sans-serif\" font-size=\"13\" \
         fill=\"currentColor\">\n<title id=\"{id}-titulo\">Um contêiner e uma VM: tempo de \
         partida {} contra {}; memória {} contra {} (medianas de N = {:.0})</title>\n",
        show_ms(f.container_start),
        show_ms(f.vm_start),
        show_mib(f.container_memory),
        show_mib(f.vm_memory),
        f.n
    );
    svg.push_str(&panel(
        PANELS[0],
        &format!("tempo de partida ({start_unit})"),
        [f.container_start / scale, f.vm_start / scale],
        [show_ms(f.container_start), show_ms(f.vm_start)],
    ));
    svg.push_str(&panel(
        PANELS[1],
        "memória ocupada (MiB)",
        [f.container_memory, f.vm_memory],
        [show_mib(f.container_memory), show_mib(f.vm_memory)],
    ));
    svg.push_str("</svg>\n");
    svg
}

/// One panel at `left`: title with the unit, a y axis from 0 to a round
/// maximum with three ticks, the x axis, two bars labelled with their value
/// on top and their name below.
fn panel(left: f64, title: &str, values: [f64; 2], labels: [String; 2]) -> String {
    let max = nice_max(values[0].max(values[1]));
    let bottom = TOP + PLOT;
    // Coordinates rounded to a tenth: shorter SVG, same picture.
    let y = |v: f64| round1(bottom - v / max * PLOT);
    let mut s = format!(
        "<text x=\"{left}\" y=\"{}\" font-weight=\"bold\">{title}</text>\n",
        TOP - 22.0
    );
    // Axes: the y axis at `left`, the x axis at `bottom`.
    let right = left + 2.0 * (BAR + GAP) + GAP;
    s.push_str(&format!(
        "<path d=\"M{left} {TOP}V{bottom}H{right}\" fill=\"none\" stroke=\"currentColor\"/>\n"
    ));
    for tick in [0.0, max / 2.0, max] {
        s.push_str(&format!(
            "<path d=\"M{} {y}H{left}\" stroke=\"currentColor\"/>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n",
            left - 5.0,
            left - 8.0,
            round1(y(tick) + 4.0),
            show_number(tick),
            y = y(tick),
        ));
    }
    for (i, (name, color)) in [("contêiner", COLOR_CONTAINER), ("VM", COLOR_VM)]
        .into_iter()
        .enumerate()
    {
        let x = left + GAP + i as f64 * (BAR + GAP);
        // At least one unit tall, so a tiny value still shows a bar.
        let h = round1(bottom - y(values[i])).max(1.0);
        s.push_str(&format!(
            "<rect x=\"{x}\" y=\"{}\" width=\"{BAR}\" height=\"{h}\" fill=\"{color}\"/>\n\
             <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n\
             <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{name}</text>\n",
            round1(bottom - h),
            x + BAR / 2.0,
            round1(bottom - h - 6.0),
            labels[i],
            x + BAR / 2.0,
            bottom + 18.0,
        ));
    }
    s
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// The smallest 1, 2 or 5 × 10^k at or above `x` (the top of an axis).
fn nice_max(x: f64) -> f64 {
    let power = 10f64.powf(x.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|m| *m >= x)
        .unwrap_or(10.0 * power)
}

fn caption(f: &Figures) -> String {
    format!(
        "<figcaption>O que foi medido: {c} contra {v}, {n:.0} de cada lado, os de um \
         lado partindo todos juntos; o tempo vai do lançamento até a linha “pronto”. \
         Medido em {date} numa máquina com {cpus:.0} núcleos ({cpu}), {mem} de memória, \
         kernel {kernel}{load}. <strong>{accel}.</strong> {caveat}</figcaption>\n",
        n = f.n,
        c = escape(&f.container_what),
        v = escape(&f.vm_what),
        date = show_date(&f.date),
        cpus = f.cpus,
        cpu = escape(&f.cpu_model),
        mem = show_gib(f.memory_mib),
        kernel = escape(&f.kernel),
        accel = escape(&capitalized(&f.acceleration)),
        caveat = escape(&f.caveat),
        load = f.load.as_ref().map_or(String::new(), |l| format!(
            ", carga média de {} no minuto antes da medição",
            escape(l)
        )),
    )
}

/// `45 ms` below a second, `12,3 s` from there (decimal comma).
fn show_ms(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        comma(format!("{:.1} s", ms / 1000.0))
    }
}

fn show_mib(mib: f64) -> String {
    comma(format!("{mib:.1} MiB"))
}

fn show_gib(mib: f64) -> String {
    comma(format!("{:.1} GiB", mib / 1024.0))
}

/// `27×`, or `2,5×` below ten.
fn show_ratio(r: f64) -> String {
    if r < 10.0 {
        comma(format!("{r:.1}×"))
    } else {
        format!("{r:.0}×")
    }
}

/// A tick label: no decimals when whole.
fn show_number(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        comma(format!("{x:.1}"))
    }
}

/// `2026-12-02T03:56:10Z` → `02/12/2026` (as dates are written in Brazil).
fn show_date(iso: &str) -> String {
    match (iso.get(0..4), iso.get(5..7), iso.get(8..10)) {
        (Some(y), Some(m), Some(d)) => format!("{d}/{m}/{y}"),
        _ => escape(iso),
    }
}

/// The first letter in upper case (`sem KVM` → `Sem KVM`).
fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map_or(String::new(), |c| c.to_uppercase().chain(chars).collect())
}

fn comma(s: String) -> String {
    s.replace('.', ",")
}

/// Text made safe to put inside HTML.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Letters, digits and `-` only (for the element id).
fn slug(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A measurement as `cargo xtask medir` writes it (only the fields the
    /// page reads, plus one it does not, which must be ignored).
    fn good() -> Value {
        serde_json::json!({
            "meta": {
                "n": 5,
                "date": "2026-12-02T03:56:10Z",
                "machine": {
                    "cpus": 2, "cpu_model": "AMD EPYC", "memory_mib": 24105,
                    "kernel": "6.18.44", "acceleration": "sem KVM: emulação TCG",
                    "load_average": "9.52 6.69 3.53"
                },
                "caveat": "As VMs rodaram em emulação <TCG>.",
                "container": {"what": "contêiner busybox do casulo"},
                "vm": {"what": "VM qemu (TCG, -m 128)"},
                "extra": "ignorado"
            },
            "summary": {
                "containers": {
                    "start_ms": {"median": 444.6},
                    "memory_mib": {"median": 2.87, "total": 14.37}
                },
                "vms": {
                    "start_ms": {"median": 11987.6},
                    "memory_mib": {"median": 204.05, "total": 1020.31}
                }
            }
        })
    }

    #[test]
    fn a_good_measurement_gives_table_chart_and_caption() {
        let html = render("conteineres-vms", &good().to_string()).unwrap();
        assert!(html.starts_with("<figure class=\"casulo-medida\" id=\"medida-conteineres-vms\">"));
        assert!(html.contains("<table>") && html.contains("<svg") && html.contains("<figcaption>"));
        // The medians, in pt-BR, and the ratios.
        for expected in ["445 ms", "12,0 s", "2,9 MiB", "204,1 MiB", "27×", "71×"] {
            assert!(html.contains(expected), "falta {expected} em:\n{html}");
        }
        assert!(html.contains("N = 5 de cada lado"));
        assert!(
            html.contains("memória dos 5 juntos (soma)</th><td>14,4 MiB</td><td>1020,3 MiB</td>")
        );
        // Axes with units; text in the theme's colour.
        assert!(html.contains("tempo de partida (s)"));
        assert!(html.contains("memória ocupada (MiB)"));
        assert!(html.contains("fill=\"currentColor\"") && html.contains("stroke=\"currentColor\""));
        // The caption: date, machine, the caveat (escaped).
        assert!(html.contains("02/12/2026"));
        assert!(html.contains("2 núcleos (AMD EPYC)"));
        assert!(html.contains("23,5 GiB"));
        assert!(html.contains("<strong>Sem KVM: emulação TCG.</strong>"));
        assert!(html.contains("O que foi medido: contêiner busybox do casulo contra VM qemu"));
        assert!(html.contains("carga média de 9,52"));
        assert!(html.contains("emulação &lt;TCG&gt;."));
        // mdBook must see one HTML block: no blank line inside.
        assert!(!html.contains("\n\n"));
        // Coordinates are rounded (no 55.400000000000006).
        assert!(!html.contains("0000"), "{html}");
    }

    #[test]
    fn bars_are_proportional_to_the_values() {
        // nice_max(204.05) = 500: the VM's memory bar is 204.05/500 of the plot.
        let html = render("x", &good().to_string()).unwrap();
        let h = round1(204.05 / 500.0 * PLOT);
        assert!(html.contains(&format!("height=\"{h}\"")), "{html}");
        assert_eq!(nice_max(11.98), 20.0);
        assert_eq!(nice_max(0.44), 0.5);
        assert_eq!(nice_max(100.0), 100.0);
    }

    #[test]
    fn a_missing_or_wrong_field_is_named() {
        let mut j = good();
        j["summary"]["vms"]["memory_mib"]
            .as_object_mut()
            .unwrap()
            .remove("median");
        let e = render("conteineres-vms", &j.to_string()).unwrap_err();
        assert_eq!(
            e,
            "medida conteineres-vms: falta o campo `summary.vms.memory_mib.median`"
        );

        let mut j = good();
        j["meta"]["n"] = "cinco".into();
        let e = render("conteineres-vms", &j.to_string()).unwrap_err();
        assert!(e.contains("`meta.n` precisa ser um número"), "{e}");

        let mut j = good();
        j["summary"]["containers"]["start_ms"]["median"] = 0.into();
        let e = render("conteineres-vms", &j.to_string()).unwrap_err();
        assert!(e.contains("`summary.containers.start_ms.median` precisa ser maior que zero"));

        let mut j = good();
        j["meta"]["machine"] = Value::Null;
        let e = render("conteineres-vms", &j.to_string()).unwrap_err();
        assert!(e.contains("falta o campo `meta.machine.cpus`"), "{e}");

        let e = render("conteineres-vms", "{ nao é json").unwrap_err();
        assert!(
            e.starts_with("medida conteineres-vms: o JSON não é válido"),
            "{e}"
        );
    }

    /// The measurement committed in `book/medidas/` renders (xtask's
    /// output and this page agree on the shape).
    #[test]
    fn the_committed_measurement_renders() {
        let json = include_str!("../../medidas/conteineres-vms.json");
        let html = render("conteineres-vms", json).unwrap();
        assert!(html.contains("<svg") && html.contains("VM ÷ contêiner"));
    }
}
