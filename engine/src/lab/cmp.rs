//! Numeric comparisons in lab files: `3`, `">= 3"`, `"< 100"`, `"!= 0"`.

/// A numeric comparison: `3`, `">= 3"`, `"< 100"`, `"!= 0"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cmp {
    pub op: CmpOp,
    pub n: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Ge,
    Gt,
    Le,
    Lt,
}

impl Cmp {
    /// From a TOML integer or a string like `">= 3"`.
    pub fn from_value(v: &toml::Value) -> Option<Cmp> {
        match v {
            toml::Value::Integer(n) => Some(Cmp {
                op: CmpOp::Eq,
                n: *n,
            }),
            toml::Value::String(s) => Cmp::parse(s),
            _ => None,
        }
    }

    pub fn parse(s: &str) -> Option<Cmp> {
        let s = s.trim();
        let (op, rest) = [
            (">=", CmpOp::Ge),
            ("<=", CmpOp::Le),
            ("!=", CmpOp::Ne),
            ("==", CmpOp::Eq),
            (">", CmpOp::Gt),
            ("<", CmpOp::Lt),
            ("=", CmpOp::Eq),
        ]
        .iter()
        .find_map(|(p, op)| s.strip_prefix(p).map(|r| (*op, r)))
        .unwrap_or((CmpOp::Eq, s));
        rest.trim().parse().ok().map(|n| Cmp { op, n })
    }

    pub fn holds(&self, x: i64) -> bool {
        match self.op {
            CmpOp::Eq => x == self.n,
            CmpOp::Ne => x != self.n,
            CmpOp::Ge => x >= self.n,
            CmpOp::Gt => x > self.n,
            CmpOp::Le => x <= self.n,
            CmpOp::Lt => x < self.n,
        }
    }
}

impl std::fmt::Display for Cmp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let op = match self.op {
            CmpOp::Eq => "",
            CmpOp::Ne => "≠ ",
            CmpOp::Ge => "≥ ",
            CmpOp::Gt => "> ",
            CmpOp::Le => "≤ ",
            CmpOp::Lt => "< ",
        };
        write!(f, "{op}{}", self.n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons() {
        assert!(Cmp::parse(">= 3").unwrap().holds(3));
        assert!(!Cmp::parse("< 3").unwrap().holds(3));
        assert!(Cmp::parse("7").unwrap().holds(7));
        assert!(Cmp::parse("três").is_none());
    }
}
