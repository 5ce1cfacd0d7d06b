//! A usage chart's line (`<polyline points>`), laid out once per trace.
//!
//! A long run has ~100 000 samples; the line shows about [`MAX_POINTS`] of
//! them, one every [`stride`] over the *whole* trace, so the line up to any
//! position is a prefix of one text made once, plus the last sample seen.
//! Thinned by the samples seen instead, every point moved at every move of
//! the scrubber, and formatting ~1 800 numbers was most of a move's cost.

use crate::format::fixed;
use casulo_trace::replay::Sample;

/// About how many points a line has.
pub const MAX_POINTS: usize = 600;

/// One sample in every this many is drawn, for a trace of `total` samples.
pub fn stride(total: usize) -> usize {
    (total / MAX_POINTS).max(1)
}

/// One series of the samples (memory, peak, pids…) as `points` text.
pub struct Line {
    text: String,
    /// Per point: the sample it draws, and where its text ends.
    points: Vec<(usize, usize)>,
}

/// `"x,y "` of one point, as the line's text has it.
pub fn point(x: f64, y: f64) -> String {
    format!("{},{} ", fixed(x, 1), fixed(y, 1))
}

impl Line {
    /// The points of every `stride`-th sample that has a value.
    pub fn new(
        samples: &[Sample],
        stride: usize,
        at: impl Fn(&Sample) -> Option<(f64, f64)>,
    ) -> Line {
        let mut line = Line {
            text: String::new(),
            points: vec![],
        };
        for (i, s) in samples.iter().enumerate().step_by(stride.max(1)) {
            if let Some((x, y)) = at(s) {
                line.text.push_str(&point(x, y));
                line.points.push((i, line.text.len()));
            }
        }
        line
    }

    /// The line over the first `seen` samples: its points before `seen`,
    /// then the last sample seen (when it has a value).
    pub fn upto(
        &self,
        samples: &[Sample],
        seen: usize,
        at: impl Fn(&Sample) -> Option<(f64, f64)>,
    ) -> String {
        let k = self.points.partition_point(|(i, _)| *i < seen);
        let end = k.checked_sub(1).map_or(0, |k| self.points[k].1);
        let mut text = self.text[..end].to_string();
        if let Some((x, y)) = seen
            .checked_sub(1)
            .and_then(|i| samples.get(i))
            .and_then(at)
        {
            text.push_str(&point(x, y));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(n: usize) -> Vec<Sample> {
        (0..n)
            .map(|i| Sample {
                index: i * 2,
                t_us: i as u64 * 1000,
                // Some samples without a reading.
                memory_bytes: (i % 7 != 3).then_some(i as u64 * 4096),
                memory_peak_bytes: None,
                memory_limit_bytes: None,
                pids: None,
                pids_limit: None,
                cpu_usage_us: None,
                cpu_throttled_us: None,
            })
            .collect()
    }

    fn at(s: &Sample) -> Option<(f64, f64)> {
        Some((s.t_us as f64 / 3.0, s.memory_bytes? as f64 / 7.0))
    }

    #[test]
    fn the_line_up_to_a_sample_is_every_stride_th_seen_then_the_last() {
        for n in [0, 1, 5, 599, 600, 1201, 10_000] {
            let all = samples(n);
            let stride = stride(n);
            let line = Line::new(&all, stride, at);
            for seen in [0, 1, 2, 3, 4, n / 3, n / 2 + 1, n.saturating_sub(1), n] {
                let seen = seen.min(n);
                let want: String = all[..seen]
                    .iter()
                    .step_by(stride)
                    .chain(all[..seen].last())
                    .filter_map(at)
                    .map(|(x, y)| point(x, y))
                    .collect();
                assert_eq!(line.upto(&all, seen, at), want, "n {n}, seen {seen}");
            }
            assert!(line.points.len() <= MAX_POINTS * 2 + 1);
        }
    }
}
