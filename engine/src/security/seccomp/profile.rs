//! Docker's seccomp profile format, read and checked.
//!
//! The same JSON `docker run --security-opt seccomp=ARQUIVO.json` takes
//! (moby's `profiles/seccomp` types), so a profile written for docker works
//! here and casulo's own ([`super::DEFAULT_PROFILE`]) can be copied to
//! docker:
//!
//! ```json
//! { "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
//!   "syscalls": [
//!     { "names": ["read", "write"], "action": "SCMP_ACT_ALLOW" },
//!     { "names": ["clone"], "action": "SCMP_ACT_ALLOW",
//!       "args": [{ "index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ" }],
//!       "excludes": { "caps": ["CAP_SYS_ADMIN"] } } ] }
//! ```
//!
//! Every word is checked while the JSON is read (an action, an operator,
//! a capability, a system call's name), so a mistake is reported with its
//! place: the field's path (`syscalls[3].names[1]`) and the file's line
//! and column. A name that is a system call of another architecture
//! (`_llseek`, `arm_fadvise64_64`) is accepted and left out on x86_64, as
//! docker does; a name no architecture has is refused, with the nearest.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

/// A whole profile (moby's `Seccomp`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Profile {
    /// What a call no rule names gets.
    pub default_action: Action,
    /// The errno of `SCMP_ACT_ERRNO` as default action (`EPERM` if absent).
    #[serde(default)]
    pub default_errno_ret: Option<u32>,
    /// The ABIs the filter accepts (`SCMP_ARCH_X86_64`, …). Casulo's
    /// filter always accepts x86_64 only; the field is read and checked.
    #[serde(default, deserialize_with = "nullable")]
    pub architectures: Vec<ArchName>,
    /// Docker's per-machine list of ABIs; read and checked, as above.
    #[serde(default, deserialize_with = "nullable")]
    pub arch_map: Vec<ArchMap>,
    /// The rules, in order.
    #[serde(default, deserialize_with = "nullable")]
    pub syscalls: Vec<Rule>,
    /// Filter flags (`SECCOMP_FILTER_FLAG_LOG`, …): accepted, not used.
    #[serde(default, deserialize_with = "nullable")]
    pub flags: Vec<String>,
    /// `SCMP_ACT_NOTIFY`'s agent: casulo has none, so it must be empty.
    #[serde(default, deserialize_with = "no_listener")]
    pub listener_path: Option<String>,
    #[serde(default)]
    pub listener_metadata: Option<String>,
}

/// One entry of `archMap`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArchMap {
    pub architecture: ArchName,
    #[serde(default, deserialize_with = "nullable")]
    pub sub_architectures: Vec<ArchName>,
}

/// One rule: these calls, under these conditions, get this action.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rule {
    #[serde(default, deserialize_with = "nullable")]
    pub names: Vec<SyscallName>,
    /// The older one-name form (`"name": "mkdir"`).
    #[serde(default)]
    pub name: Option<SyscallName>,
    pub action: Action,
    /// The errno of `SCMP_ACT_ERRNO` (`EPERM` if absent), or the message
    /// of `SCMP_ACT_TRACE`.
    #[serde(default)]
    pub errno_ret: Option<u32>,
    /// Conditions on the arguments: all must hold (libseccomp's AND).
    #[serde(default, deserialize_with = "nullable")]
    pub args: Vec<Arg>,
    #[serde(default)]
    pub comment: Option<String>,
    /// The rule applies only if all of these hold…
    #[serde(default, deserialize_with = "nullable")]
    pub includes: Filter,
    /// …and none of these.
    #[serde(default, deserialize_with = "nullable")]
    pub excludes: Filter,
}

impl Rule {
    /// `names` and `name` together.
    pub fn all_names(&self) -> impl Iterator<Item = &SyscallName> {
        self.names.iter().chain(self.name.iter())
    }
}

/// Conditions of `includes`/`excludes` on the container, not on the call.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Filter {
    /// Capabilities the container has (`CAP_SYS_ADMIN`).
    #[serde(default, deserialize_with = "nullable")]
    pub caps: Vec<CapName>,
    /// Machines, in Go's spelling (`amd64`, `arm64`, `s390x`).
    #[serde(default, deserialize_with = "nullable")]
    pub arches: Vec<String>,
    /// The lowest kernel (`"4.8"`).
    #[serde(default)]
    pub min_kernel: Option<KernelVersion>,
}

/// A condition on one argument of the call.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Arg {
    /// Which argument, 0 to 5.
    pub index: ArgIndex,
    pub value: u64,
    /// The second operand of `SCMP_CMP_MASKED_EQ` (`value` is the mask).
    #[serde(default)]
    pub value_two: u64,
    pub op: Op,
}

/// What the filter does with a call (`SCMP_ACT_*`). Ordered so it can key
/// a map; the kernel's own order of strictness is [`Action::strictness`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    Allow,
    /// `SCMP_ACT_ERRNO`: the call fails with this errno (`None`: the
    /// rule's `errnoRet`, else `EPERM`).
    Errno(Option<u32>),
    KillThread,
    KillProcess,
    Trap,
    Trace(Option<u32>),
    Log,
}

const ACTIONS: &[&str] = &[
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_TRAP",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_LOG",
];

impl FromStr for Action {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "SCMP_ACT_ALLOW" => Action::Allow,
            "SCMP_ACT_ERRNO" => Action::Errno(None),
            "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => Action::KillThread,
            "SCMP_ACT_KILL_PROCESS" => Action::KillProcess,
            "SCMP_ACT_TRAP" => Action::Trap,
            "SCMP_ACT_TRACE" => Action::Trace(None),
            "SCMP_ACT_LOG" => Action::Log,
            "SCMP_ACT_NOTIFY" => {
                return Err("a ação SCMP_ACT_NOTIFY precisa de um agente que responda \
                            pelo kernel (listenerPath), e o casulo não tem um"
                    .to_string())
            }
            other => return Err(unknown("ação", other, ACTIONS)),
        })
    }
}

impl Action {
    /// This action with the rule's `errnoRet` filled in.
    pub fn with_ret(self, ret: Option<u32>) -> Action {
        match self {
            Action::Errno(None) => Action::Errno(Some(ret.unwrap_or(libc::EPERM as u32))),
            Action::Trace(None) => Action::Trace(Some(ret.unwrap_or(0))),
            other => other,
        }
    }

    /// The kernel's order when stacked filters disagree (`man 2 seccomp`):
    /// the highest wins.
    pub fn strictness(self) -> u8 {
        match self {
            Action::KillProcess => 6,
            Action::KillThread => 5,
            Action::Trap => 4,
            Action::Errno(_) => 3,
            Action::Trace(_) => 2,
            Action::Log => 1,
            Action::Allow => 0,
        }
    }
}

impl fmt::Display for Action {
    /// The trace's spelling: `allow`, `errno(EPERM)`, `kill_process`, …
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Action::Allow => write!(f, "allow"),
            Action::Errno(e) => {
                let e = e.unwrap_or(libc::EPERM as u32);
                let name = nix::errno::Errno::from_raw(e as i32);
                if name == nix::errno::Errno::UnknownErrno {
                    write!(f, "errno({e})")
                } else {
                    write!(f, "errno({name:?})")
                }
            }
            Action::KillThread => write!(f, "kill_thread"),
            Action::KillProcess => write!(f, "kill_process"),
            Action::Trap => write!(f, "trap"),
            Action::Trace(m) => write!(f, "trace({})", m.unwrap_or(0)),
            Action::Log => write!(f, "log"),
        }
    }
}

/// A comparison of an argument (`SCMP_CMP_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Ne,
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
    MaskedEq,
}

const OPS: &[&str] = &[
    "SCMP_CMP_NE",
    "SCMP_CMP_LT",
    "SCMP_CMP_LE",
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_MASKED_EQ",
];

impl FromStr for Op {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "SCMP_CMP_NE" => Op::Ne,
            "SCMP_CMP_LT" => Op::Lt,
            "SCMP_CMP_LE" => Op::Le,
            "SCMP_CMP_EQ" => Op::Eq,
            "SCMP_CMP_GE" => Op::Ge,
            "SCMP_CMP_GT" => Op::Gt,
            "SCMP_CMP_MASKED_EQ" => Op::MaskedEq,
            other => return Err(unknown("operador", other, OPS)),
        })
    }
}

/// A system call's name: its number here, or known only on another
/// architecture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallName {
    pub name: String,
    /// The x86_64 number; `None` for another architecture's call.
    pub nr: Option<i64>,
}

/// System calls some architecture has outside the kernel's generic table
/// (ARM's private calls): known, never on x86_64.
const PRIVATE_CALLS: &[&str] = &["breakpoint", "cacheflush", "set_tls", "usr26", "usr32"];

/// Whether another architecture knows `name`.
fn other_arch_has(name: &str) -> bool {
    use syscalls::{aarch64, arm, mips, mips64, powerpc, powerpc64, riscv64, s390x, x86};
    PRIVATE_CALLS.contains(&name)
        || x86::Sysno::from_str(name).is_ok()
        || arm::Sysno::from_str(name).is_ok()
        || aarch64::Sysno::from_str(name).is_ok()
        || s390x::Sysno::from_str(name).is_ok()
        || powerpc::Sysno::from_str(name).is_ok()
        || powerpc64::Sysno::from_str(name).is_ok()
        || mips::Sysno::from_str(name).is_ok()
        || mips64::Sysno::from_str(name).is_ok()
        || riscv64::Sysno::from_str(name).is_ok()
}

impl FromStr for SyscallName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if let Ok(nr) = syscalls::x86_64::Sysno::from_str(s) {
            return Ok(SyscallName {
                name: s.to_string(),
                nr: Some(nr.id() as i64),
            });
        }
        if other_arch_has(s) {
            return Ok(SyscallName {
                name: s.to_string(),
                nr: None,
            });
        }
        let names: Vec<&str> = syscalls::x86_64::Sysno::iter().map(|n| n.name()).collect();
        Err(unknown("chamada de sistema", s, &names))
    }
}

/// A capability's kernel name (`CAP_SYS_ADMIN`), as its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapName(pub u32);

impl FromStr for CapName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let names = &crate::security::capabilities::NAMES;
        names
            .iter()
            .position(|n| *n == s)
            .map(|i| CapName(i as u32))
            .ok_or_else(|| unknown("capability", s, names))
    }
}

/// A libseccomp architecture (`SCMP_ARCH_X86_64`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchName(pub String);

const ARCHES: &[&str] = &[
    "SCMP_ARCH_NATIVE",
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X86_64",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64",
    "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",
    "SCMP_ARCH_PARISC64",
    "SCMP_ARCH_RISCV64",
    "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",
    "SCMP_ARCH_SH",
    "SCMP_ARCH_SHEB",
];

impl FromStr for ArchName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if ARCHES.contains(&s) {
            Ok(ArchName(s.to_string()))
        } else {
            Err(unknown("arquitetura", s, ARCHES))
        }
    }
}

/// An argument's position, 0 to 5 (a system call has at most six).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArgIndex(pub u8);

impl<'de> Deserialize<'de> for ArgIndex {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let i = u64::deserialize(d)?;
        if i > 5 {
            return Err(serde::de::Error::custom(format!(
                "índice de argumento {i} fora do intervalo: uma chamada de sistema tem no \
                 máximo 6 argumentos (índices 0 a 5)"
            )));
        }
        Ok(ArgIndex(i as u8))
    }
}

/// `"4.8"`: a kernel version, major and minor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct KernelVersion(pub u32, pub u32);

impl FromStr for KernelVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let mut parts = s.trim().splitn(3, |c: char| !c.is_ascii_digit());
        let major = parts.next().and_then(|p| p.parse().ok());
        let minor = parts.next().and_then(|p| p.parse().ok());
        match (major, minor) {
            (Some(a), Some(b)) => Ok(KernelVersion(a, b)),
            _ => Err(format!(
                "versão de kernel {s:?} inválida: escreva MAIOR.MENOR, como \"4.8\""
            )),
        }
    }
}

/// The words read through [`FromStr`], so serde_json reports the place.
macro_rules! from_str_deserialize {
    ($($t:ty),*) => {$(
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}
from_str_deserialize!(Action, Op, SyscallName, CapName, ArchName, KernelVersion);

/// `null` read as empty, as Go's `json` does for lists and structs.
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn no_listener<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let path = Option::<String>::deserialize(d)?.filter(|p| !p.is_empty());
    if path.is_some() {
        return Err(serde::de::Error::custom(
            "listenerPath (o agente de SCMP_ACT_NOTIFY) não é suportado pelo casulo",
        ));
    }
    Ok(None)
}

/// "ação desconhecida: "SCMP_ACT_ALOW" (você quis dizer SCMP_ACT_ALLOW?)".
fn unknown(what: &str, got: &str, known: &[&str]) -> String {
    let nearest = known
        .iter()
        .map(|k| (strsim::levenshtein(k, got), *k))
        .min()
        .filter(|(d, k)| *d <= (k.len() / 3).max(2))
        .map(|(_, k)| format!(" (você quis dizer {k}?)"))
        .unwrap_or_default();
    format!("{what} desconhecida: {got:?}{nearest}")
}

/// A profile that could not be read: where and why, in Portuguese.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileError {
    /// The field's path (`syscalls[2].action`), empty for the whole file.
    pub field: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "linha {}, coluna {}", self.line, self.column)?;
        if !self.field.is_empty() && self.field != "." {
            write!(f, ", campo {}", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Reads a profile from its JSON text.
pub fn parse(text: &str) -> Result<Profile, ProfileError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let profile: Profile = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.into_inner();
        let (line, column) = token_start(text, inner.line(), inner.column());
        ProfileError {
            field,
            line,
            column,
            message: in_portuguese(&inner),
        }
    })?;
    de.end().map_err(|e| ProfileError {
        field: String::new(),
        line: e.line(),
        column: e.column(),
        message: "há texto depois do fim do perfil".to_string(),
    })?;
    Ok(profile)
}

/// Where the value an error is about starts. serde_json reports the
/// character it looked at *after* the value (often the next line's `}`);
/// a student looks for the value itself.
fn token_start(text: &str, line: usize, column: usize) -> (usize, usize) {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let b = text.as_bytes();
    let mut i = (line_start + column).min(b.len());
    if i > 0 && b",}]".contains(&b[i - 1]) {
        i -= 1;
    }
    while i > 0 && b[i - 1].is_ascii_whitespace() {
        i -= 1;
    }
    let start = match b.get(i.wrapping_sub(1)) {
        Some(b'"') => {
            let mut j = i - 1;
            while j > 0 && !(b[j - 1] == b'"' && (j < 2 || b[j - 2] != b'\\')) {
                j -= 1;
            }
            j.saturating_sub(1)
        }
        Some(c) if c.is_ascii_digit() => {
            let mut j = i - 1;
            while j > 0 && (b[j - 1].is_ascii_alphanumeric() || b"-+.".contains(&b[j - 1])) {
                j -= 1;
            }
            j
        }
        _ => return (line, column),
    };
    let before = &text[..start];
    let line = before.matches('\n').count() + 1;
    let column = start - before.rfind('\n').map_or(0, |n| n + 1) + 1;
    (line, column)
}

/// serde_json's English, for the cases a hand-written profile meets. (A
/// table: one arm per message serde_json can give, so it is long.)
fn in_portuguese(e: &serde_json::Error) -> String {
    let text = e.to_string();
    // Display adds " at line L column C": the place is said apart.
    let text = match text.rfind(" at line ") {
        Some(i) => &text[..i],
        None => &text,
    };
    use serde_json::error::Category;
    if e.classify() == Category::Eof {
        return "o JSON acaba no meio (falta fechar um { ou [?)".to_string();
    }
    if e.classify() == Category::Syntax {
        return format!("JSON malformado ({text})");
    }
    if let Some(rest) = text.strip_prefix("unknown field ") {
        let (field, expected) = rest.split_once(", expected").unwrap_or((rest, ""));
        let expected = expected
            .trim_start_matches(" one of ")
            .trim_start_matches(' ');
        return format!("campo desconhecido {field} (os campos deste lugar são {expected})");
    }
    if let Some(field) = text.strip_prefix("missing field ") {
        return format!("falta o campo obrigatório {field}");
    }
    if let Some(rest) = text.strip_prefix("invalid type: ") {
        let (got, expected) = rest.split_once(", expected ").unwrap_or((rest, "?"));
        return format!("tipo errado: veio {got}, e o esperado era {expected}");
    }
    if let Some(rest) = text.strip_prefix("invalid value: ") {
        return format!("valor inválido: {rest}");
    }
    text.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockers_shapes_are_read() {
        let p = parse(
            r#"{
              "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
              "archMap": [{"architecture": "SCMP_ARCH_X86_64",
                           "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
                          {"architecture": "SCMP_ARCH_RISCV64", "subArchitectures": null}],
              "syscalls": [
                {"names": ["read", "_llseek", "set_tls"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"}],
                 "excludes": {"caps": ["CAP_SYS_ADMIN"], "arches": ["s390x"]},
                 "comment": "sem namespaces novos"},
                {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38,
                 "includes": {"minKernel": "4.8"}, "args": null}
              ]}"#,
        )
        .unwrap();
        assert_eq!(p.default_action, Action::Errno(None));
        assert_eq!(p.syscalls.len(), 3);
        let names: Vec<_> = p.syscalls[0].all_names().collect();
        assert_eq!(names[0].nr, Some(0));
        assert_eq!(names[1].nr, None, "_llseek is not x86_64's");
        assert_eq!(names[2].nr, None, "set_tls is ARM's");
        assert_eq!(p.syscalls[1].args[0].op, Op::MaskedEq);
        assert_eq!(p.syscalls[1].excludes.caps, [CapName(21)]);
        assert_eq!(p.syscalls[2].includes.min_kernel, Some(KernelVersion(4, 8)));
    }

    #[test]
    fn mistakes_say_the_field_the_line_and_the_column() {
        let e = parse("{\n \"defaultAction\": \"SCMP_ACT_ALOW\"\n}").unwrap_err();
        assert_eq!(
            (e.line, e.column, e.field.as_str()),
            (2, 19, "defaultAction")
        );
        assert!(e.message.contains("você quis dizer SCMP_ACT_ALLOW?"), "{e}");

        let e = parse(
            "{\"defaultAction\": \"SCMP_ACT_ALLOW\",\n \"syscalls\": [\n  \
             {\"names\": [\"mkdri\"], \"action\": \"SCMP_ACT_ERRNO\"}]}",
        )
        .unwrap_err();
        assert_eq!((e.line, e.column), (3, 14), "{e}");
        assert_eq!(e.field, "syscalls[0].names[0]");
        assert!(e.message.contains("\"mkdri\""), "{e}");
        assert!(e.message.contains("mkdir?"), "{e}");

        let e = parse("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscall\": []}").unwrap_err();
        assert!(e.message.starts_with("campo desconhecido `syscall`"), "{e}");
        assert!(e.message.contains("syscalls"), "{e}");

        let e = parse("{\"syscalls\": []}").unwrap_err();
        assert!(e.message.contains("defaultAction"), "{e}");

        let e = parse(
            "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \
             \"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 6, \"value\": 1, \
             \"op\": \"SCMP_CMP_EQ\"}]}]}",
        )
        .unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.column),
            ("syscalls[0].args[0].index", 117),
            "{e}"
        );
        assert!(e.message.contains("0 a 5"), "{e}");

        let e = parse("{\"defaultAction\": \"SCMP_ACT_ALLOW\",").unwrap_err();
        assert!(e.message.contains("acaba no meio"), "{e}");

        let e = parse("{\"defaultAction\": \"SCMP_ACT_NOTIFY\"}").unwrap_err();
        assert!(e.message.contains("listenerPath"), "{e}");
    }

    #[test]
    fn actions_print_as_the_trace_says_them() {
        assert_eq!(
            Action::Errno(None).with_ret(None).to_string(),
            "errno(EPERM)"
        );
        assert_eq!(
            Action::Errno(None).with_ret(Some(38)).to_string(),
            "errno(ENOSYS)"
        );
        assert_eq!(Action::KillProcess.to_string(), "kill_process");
    }
}
