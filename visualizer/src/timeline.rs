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
    let mut marks = Vec::new();
    extend_marks(&mut marks, events, events.len(), bins);
    marks
}

/// The columns of a trace of `total` events cut into at most `bins`,
/// after those already in `marks`, as far as `events` (its first events,
/// as read so far) fill them: a trace read in chunks gets its columns as
/// they complete, each made once.
pub fn extend_marks(marks: &mut Vec<Mark>, events: &[Event], total: usize, bins: usize) {
    let bins = bins.max(1).min(total);
    // In u128: `total` may be a placeholder as large as `usize::MAX`.
    let edge = |b: usize| (b as u128 * total as u128 / bins as u128) as usize;
    for b in marks.len()..bins {
        let start = edge(b);
        let end = edge(b + 1).max(start + 1);
        let Some(span) = events.get(start..end) else {
            break;
        };
        let area = span.iter().map(Area::of).max().unwrap_or(Area::Other);
        marks.push(Mark { start, end, area });
    }
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

    #[test]
    fn marks_made_in_chunks_are_the_marks_of_the_whole() {
        let events = casulo_trace::sample::sample_events();
        let n = events.len();
        for bins in [1, 5, n, 1000] {
            let mut m = vec![];
            for read in [0, 1, n / 3, n / 2, n - 1, n] {
                extend_marks(&mut m, &events[..read], n, bins);
                // Only the columns whose events are all read.
                assert!(m.last().is_none_or(|c| c.end <= read));
            }
            assert_eq!(m, marks(&events, bins));
        }
    }
}
