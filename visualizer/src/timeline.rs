//! The scrubber's coloured marks: the trace cut into at most `bins` columns,
//! each coloured by the most telling event in it.

use casulo_trace::Event;

/// The colour group of an event (a CSS class `area-<name>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Area {
    Other,
    Process,
    Layer,
    Fs,
    Net,
    Mount,
    Cgroup,
    Namespace,
    /// The operation failed (or the OOM killer struck).
    Error,
}

impl Area {
    pub fn of(e: &Event) -> Area {
        if !e.outcome.is_ok() {
            return Area::Error;
        }
        Area::of_kind(e.body.kind())
    }

    pub fn of_kind(kind: &str) -> Area {
        match kind.split('.').next().unwrap_or("") {
            _ if kind == "cgroup.oom" || kind == "cgroup.pids_max" => Area::Error,
            "process" | "terminal" => Area::Process,
            "namespace" => Area::Namespace,
            "mount" => Area::Mount,
            "device" | "fs" => Area::Fs,
            "uts" | "net" => Area::Net,
            "layer" | "build" => Area::Layer,
            "cgroup" => Area::Cgroup,
            _ => Area::Other,
        }
    }

    pub fn class(self) -> &'static str {
        match self {
            Area::Other => "area-outro",
            Area::Process => "area-processo",
            Area::Layer => "area-camada",
            Area::Fs => "area-arquivo",
            Area::Net => "area-rede",
            Area::Mount => "area-montagem",
            Area::Cgroup => "area-cgroup",
            Area::Namespace => "area-namespace",
            Area::Error => "area-erro",
        }
    }

    /// Legend text.
    pub fn label(self) -> &'static str {
        match self {
            Area::Other => "outros",
            Area::Process => "processos",
            Area::Layer => "camadas",
            Area::Fs => "arquivos e dispositivos",
            Area::Net => "rede e hostname",
            Area::Mount => "montagens",
            Area::Cgroup => "cgroups",
            Area::Namespace => "namespaces",
            Area::Error => "erros e OOM",
        }
    }

    pub const LEGEND: [Area; 8] = [
        Area::Namespace,
        Area::Mount,
        Area::Fs,
        Area::Layer,
        Area::Cgroup,
        Area::Process,
        Area::Net,
        Area::Error,
    ];
}

/// One column of the timeline: events `[start, end)` and their strongest area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    pub start: usize,
    pub end: usize,
    pub area: Area,
}

/// Cuts `events` into at most `bins` columns (one per event when fewer).
pub fn marks(events: &[Event], bins: usize) -> Vec<Mark> {
    let n = events.len();
    let bins = bins.max(1).min(n);
    (0..bins)
        .map(|b| {
            let start = b * n / bins;
            let end = ((b + 1) * n / bins).max(start + 1);
            let area = events[start..end]
                .iter()
                .map(Area::of)
                .max()
                .unwrap_or(Area::Other);
            Mark { start, end, area }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_cover_every_event_once() {
        let events = casulo_trace::sample::sample_events();
        for bins in [1, 3, 7, events.len(), 1000] {
            let m = marks(&events, bins);
            assert_eq!(m.len(), bins.min(events.len()));
            assert_eq!(m[0].start, 0);
            assert_eq!(m.last().unwrap().end, events.len());
            for w in m.windows(2) {
                assert_eq!(w[0].end, w[1].start);
            }
        }
        // One column for everything: the failed write wins.
        assert_eq!(marks(&events, 1)[0].area, Area::Error);
        assert!(marks(&[], 10).is_empty());
        assert_eq!(Area::of_kind("gpu.attach"), Area::Other);
    }
}
