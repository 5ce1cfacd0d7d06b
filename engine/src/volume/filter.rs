//! docker's volume filters, for `volume ls` and `volume prune` (the CLI's
//! `--filter` and the API's `filters`): `label` / `label!` (`KEY` or
//! `KEY=VALUE`), `name` (a part of the name), `dangling` (no container
//! uses it). A key casulo cannot apply is refused by name, never ignored:
//! a prune that removes more than asked is the worst kind of wrong answer.

use std::collections::BTreeMap;

use super::Volume;

/// What `volume ls` filters by.
pub const LS_FILTERS: &[&str] = &["label", "label!", "name", "dangling"];
/// What `volume prune` filters by (it only removes unused ones).
pub const PRUNE_FILTERS: &[&str] = &["label", "label!"];

/// One `label` (`wanted`) or `label!` test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelTest {
    pub wanted: bool,
    pub key: String,
    pub value: Option<String>,
}

impl LabelTest {
    /// `KEY` or `KEY=VALUE`, after the filter's name (`label` or `label!`).
    pub fn parse(filter: &str, text: &str) -> LabelTest {
        let (key, value) = match text.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (text.to_string(), None),
        };
        LabelTest {
            wanted: filter == "label",
            key,
            value,
        }
    }

    pub fn holds(&self, labels: &BTreeMap<String, String>) -> bool {
        let has = labels
            .get(&self.key)
            .is_some_and(|v| self.value.as_deref().is_none_or(|want| want == v));
        has == self.wanted
    }
}

/// Every test a volume must pass (none: every volume passes).
#[derive(Debug, Default, Clone)]
pub struct VolumeFilter {
    labels: Vec<LabelTest>,
    names: Vec<String>,
    dangling: Option<bool>,
}

impl VolumeFilter {
    /// From `(key, value)` pairs; `known` are the keys this caller takes
    /// (prune: no `name`, `dangling`: it only removes unused ones).
    pub fn parse<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
        known: &[&str],
    ) -> Result<VolumeFilter, String> {
        let mut f = VolumeFilter::default();
        for (key, value) in pairs {
            if !known.contains(&key) {
                return Err(format!(
                    "o filtro {key}={value} de volumes (o casulo aplica: {})",
                    known.join(", ")
                ));
            }
            match key {
                "label" | "label!" => f.labels.push(LabelTest::parse(key, value)),
                "name" => f.names.push(value.to_string()),
                "dangling" => {
                    f.dangling = Some(match value {
                        "1" | "true" | "True" => true,
                        "0" | "false" | "False" => false,
                        _ => {
                            return Err(format!(
                                "o filtro dangling={value:?} tem de ser true ou false"
                            ))
                        }
                    })
                }
                _ => unreachable!("known keys are handled above"),
            }
        }
        Ok(f)
    }

    /// `KEY=VALUE` as the CLI's `--filter` gives it.
    pub fn from_flags(flags: &[String], known: &[&str]) -> Result<VolumeFilter, String> {
        let mut pairs = Vec::new();
        for flag in flags {
            let Some(pair) = flag.split_once('=') else {
                return Err(format!(
                    "--filter {flag:?}: use CHAVE=VALOR (por exemplo label=projeto=aula)"
                ));
            };
            pairs.push(pair);
        }
        VolumeFilter::parse(pairs, known)
    }

    /// Whether `v` passes; `unused` (asked only for `dangling`) says
    /// whether no container uses it.
    pub fn lets_through(&self, v: &Volume, unused: impl FnOnce() -> bool) -> bool {
        self.labels.iter().all(|t| t.holds(&v.labels))
            && (self.names.is_empty() || self.names.iter().any(|n| v.name.contains(n.as_str())))
            && self.dangling.is_none_or(|d| unused() == d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_tests_read_as_docker_reads_them() {
        let labels = BTreeMap::from([("projeto".to_string(), "aula".to_string())]);
        assert!(LabelTest::parse("label", "projeto").holds(&labels));
        assert!(LabelTest::parse("label", "projeto=aula").holds(&labels));
        assert!(!LabelTest::parse("label", "projeto=prova").holds(&labels));
        assert!(!LabelTest::parse("label!", "projeto").holds(&labels));
        assert!(LabelTest::parse("label!", "projeto=prova").holds(&labels));
        assert!(LabelTest::parse("label!", "outro").holds(&labels));
        let err = VolumeFilter::parse([("driver", "local")], &["label", "label!"]).unwrap_err();
        assert!(err.contains("driver=local"), "{err}");
        assert!(VolumeFilter::from_flags(&["label".into()], &["label"]).is_err());
    }
}
