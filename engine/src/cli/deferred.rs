//! Subcommands whose arguments clap builds only when they are parsed.
//!
//! Each `casulo` runs one subcommand, but clap's derive builds the
//! arguments of all ~40 up front: ~0.45 M instructions of every `casulo`
//! (callgrind, #19: `casulo run`'s parent 2.46 → 2.01 M, `casulo --version`
//! 1.45 → 0.89 M), and in the bench's VM each costs ~10× more. Wrapped in
//! [`Deferred`] (arguments) or [`DeferredCommands`] (a group such as
//! `image`), a subcommand's name and one-line help exist from the start —
//! `casulo --help` lists them — and the rest is made by
//! [`clap::Command::defer`] when clap builds that subcommand: when it is
//! the one typed.
//!
//! The Portuguese help (`super::localize_in`) changes a subcommand's
//! arguments, so it must run after they exist: inside the deferred build.
//! A deferred build is a plain `fn` and captures nothing; what it needs —
//! the parent's path and the words after the subcommand's name — is left
//! by [`localize_root`] in a thread-local before parsing.

use std::cell::RefCell;
use std::ffi::OsString;
use std::ops::Deref;

use clap::{ArgMatches, Args, Command, FromArgMatches, Subcommand};

/// A subcommand's arguments `T`, built when clap builds the subcommand.
#[derive(Debug)]
pub struct Deferred<T>(pub T);

/// A group of subcommands `T` (`casulo image …`), built when clap builds
/// the group: its subcommands are then all built, but only for `image`.
#[derive(Debug)]
pub struct DeferredCommands<T>(pub T);

/// A subcommand without arguments (`casulo info`), deferred all the same:
/// its help is localized when it is built, like the others'.
#[derive(Debug, clap::Args)]
pub struct NoArgs;

impl<T: Args> Args for Deferred<T> {
    fn augment_args(cmd: Command) -> Command {
        cmd.defer(build_args::<T>)
    }
    // casulo never updates parsed arguments: not deferred.
    fn augment_args_for_update(cmd: Command) -> Command {
        T::augment_args_for_update(cmd)
    }
    fn group_id() -> Option<clap::Id> {
        T::group_id()
    }
}

impl<T: Subcommand> Args for DeferredCommands<T> {
    fn augment_args(cmd: Command) -> Command {
        // What the derive sets on a `#[command(subcommand)]` variant, eagerly:
        // `casulo image` alone is an error (`falta o comando`), not a parse.
        cmd.subcommand_required(true)
            .arg_required_else_help(true)
            .defer(build_commands::<T>)
    }
    fn augment_args_for_update(cmd: Command) -> Command {
        T::augment_subcommands_for_update(cmd)
    }
}

fn build_args<T: Args>(cmd: Command) -> Command {
    build(cmd, T::augment_args)
}

fn build_commands<T: Subcommand>(cmd: Command) -> Command {
    build(cmd, T::augment_subcommands)
}

/// The deferred build: `augment`, then the Portuguese help, as if the
/// arguments had been there all along.
fn build(cmd: Command, augment: fn(Command) -> Command) -> Command {
    // Before the build, the parent gave its global arguments (`--root`).
    // Built eagerly, the subcommand was localized without them: hidden
    // meanwhile, they don't add `[OPÇÕES]` to its usage line.
    let inherited: Vec<(clap::Id, bool)> = cmd
        .get_arguments()
        .map(|a| (a.get_id().clone(), a.is_hide_set()))
        .collect();
    let cmd = keep_variant_about(cmd, augment);
    let cmd = inherited
        .iter()
        .fold(cmd, |cmd, (id, _)| cmd.mut_arg(id, |a| a.hide(true)));
    let cmd = localize_built(cmd);
    // And they came after its own arguments and its help flag: the help's
    // headings follow the arguments' order ("Argumentos" before "Opções"),
    // and `mut_arg` moves an argument to the end.
    inherited.iter().fold(cmd, |cmd, (id, hidden)| {
        cmd.mut_arg(id, |a| a.hide(*hidden))
    })
}

/// Eagerly, the derive set the about of the enum variant (its doc comment)
/// after the struct's: the variant's won. Deferred, the struct's comes
/// last; put the variant's back. A doc comment sets both about and
/// long_about (None for one paragraph), so both are restored.
fn keep_variant_about(cmd: Command, augment: fn(Command) -> Command) -> Command {
    match cmd.get_about().cloned() {
        Some(about) => {
            let long = cmd.get_long_about().cloned();
            let cmd = augment(cmd).about(about);
            match long {
                Some(long) => cmd.long_about(long),
                None => cmd.long_about(None::<&str>),
            }
        }
        None => augment(cmd),
    }
}

impl<T: FromArgMatches> FromArgMatches for Deferred<T> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches(matches).map(Deferred)
    }
    fn from_arg_matches_mut(matches: &mut ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches_mut(matches).map(Deferred)
    }
    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches(matches)
    }
    fn update_from_arg_matches_mut(&mut self, matches: &mut ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches_mut(matches)
    }
}

impl<T: FromArgMatches> FromArgMatches for DeferredCommands<T> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches(matches).map(DeferredCommands)
    }
    fn from_arg_matches_mut(matches: &mut ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches_mut(matches).map(DeferredCommands)
    }
    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches(matches)
    }
    fn update_from_arg_matches_mut(&mut self, matches: &mut ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches_mut(matches)
    }
}

impl<T> Deref for Deferred<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> Deref for DeferredCommands<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// The subcommand typed at the root, as `localize_in` would have passed it
/// on: its name, the root's path (`casulo`) and the words after the name.
struct Pending {
    name: String,
    parent: String,
    rest: Vec<OsString>,
}

thread_local! {
    // Per thread: the unit tests parse in parallel.
    static PENDING: RefCell<Option<Pending>> = const { RefCell::new(None) };
}

/// Localizes the root `cmd` (the words after the program's name: `args`),
/// whose subcommands are all deferred, and leaves to the deferred build of
/// the one typed what it needs to localize itself.
pub(super) fn localize_root(cmd: Command, args: &[OsString]) -> Command {
    let (cmd, path, next) = super::localize_level(cmd, "", args);
    let pending = next.map(|(i, name)| Pending {
        name,
        parent: path,
        rest: args[i + 1..].to_vec(),
    });
    PENDING.with(|p| *p.borrow_mut() = pending);
    cmd
}

/// A deferred subcommand just built: localized with what [`localize_root`]
/// left if it is the one typed; otherwise (clap building others, as for a
/// suggestion) as if nothing followed its name.
fn localize_built(cmd: Command) -> Command {
    let pending = PENDING.with(|p| {
        p.borrow()
            .as_ref()
            .filter(|p| p.name == cmd.get_name())
            .map(|p| (p.parent.clone(), p.rest.clone()))
    });
    match pending {
        Some((parent, rest)) => super::localize_in(cmd, &parent, &rest),
        None => super::localize_in(cmd, "casulo", &[]),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::{localize_root, ArgMatches, Command, OsString};
    use crate::cli::Cli;

    /// Parses `words` as `main` does; the command (as clap left it) and
    /// the help or error text.
    fn parse(words: &str) -> (Command, Result<ArgMatches, String>) {
        let args: Vec<OsString> = words.split(' ').map(OsString::from).collect();
        let mut cmd = localize_root(Cli::command(), &args[1..]);
        let result = cmd
            .try_get_matches_from_mut(&args)
            .map_err(|e| e.to_string());
        (cmd, result)
    }

    #[test]
    fn only_the_subcommand_typed_is_built() {
        let (cmd, matches) = parse("casulo --root /tmp/x run --rm busybox true");
        assert!(matches.is_ok(), "{matches:?}");
        // Besides the `--root` every subcommand inherits, the arguments of
        // one never built: `ps`'s and `image`'s subcommands.
        let own = |cmd: &Command, name: &str| {
            let sub = cmd.find_subcommand(name).unwrap();
            sub.get_arguments().filter(|a| a.get_id() != "root").count()
                + sub.get_subcommands().count()
        };
        assert!(own(&cmd, "run") > 20, "run tem as suas opções");
        assert_eq!(own(&cmd, "ps"), 0);
        assert_eq!(own(&cmd, "image"), 0);
        let (cmd, matches) = parse("casulo image ls -q");
        assert!(matches.is_ok(), "{matches:?}");
        assert!(own(&cmd, "image") > 10, "os subcomandos de image");
        assert_eq!(own(&cmd, "run"), 0);
    }

    #[test]
    fn every_subcommands_help_is_in_portuguese() {
        let names: Vec<String> = Cli::command()
            .get_subcommands()
            .map(|s| s.get_name().to_string())
            .collect();
        assert!(names.len() > 30, "{names:?}");
        for name in names {
            let (_, help) = parse(&format!("casulo {name} --help"));
            let help = help.expect_err("--help mostra a ajuda");
            assert!(help.contains(&format!("Uso: casulo {name}")), "{help}");
            assert!(
                help.contains("-h, --help") && help.contains("Mostra esta ajuda"),
                "{help}"
            );
            assert!(help.contains("--root <DIR>"), "{help}");
            assert!(
                !help.contains("Usage") && !help.contains("Options"),
                "{help}"
            );
        }
    }

    #[test]
    fn the_help_of_a_nested_subcommand_and_the_variants_about() {
        let (_, help) = parse("casulo image ls --help");
        let help = help.unwrap_err();
        assert!(help.starts_with("Lista as imagens"), "{help}");
        assert!(help.contains("Uso: casulo image ls [OPÇÕES]"), "{help}");
        // The variant's doc comment, not `StopArgs`'s, as when built eagerly.
        let (_, help) = parse("casulo stop --help");
        let help = help.unwrap_err();
        assert!(
            help.starts_with("Para contêineres: o sinal de parada da imagem (SIGTERM"),
            "{help}"
        );
        // Arguments before options, and no `[OPÇÕES]` for `--root` alone.
        let (_, help) = parse("casulo wait --help");
        let help = help.unwrap_err();
        assert!(help.contains("Uso: casulo wait <CONTÊINER>..."), "{help}");
        let (arguments, options) = (help.find("Argumentos:"), help.find("Opções:"));
        assert!(arguments.unwrap() < options.unwrap(), "{help}");
    }

    /// A long help (`--help`; `-h` shows the one-line about) shows, deferred
    /// or not, at the top level and under `image`.
    #[test]
    fn the_long_help_shows_with_help() {
        for (words, says) in [
            ("casulo push --help", "CASULO_INSECURE_REGISTRIES"),
            ("casulo image push --help", "CASULO_INSECURE_REGISTRIES"),
            ("casulo pull --help", "multiplataforma"),
            ("casulo image pull --help", "multiplataforma"),
            ("casulo login --help", "modo 0600"),
            ("casulo image bootstrap --help", "reprodutível"),
        ] {
            let help = parse(words).1.unwrap_err();
            assert!(help.contains(says), "{words}:\n{help}");
        }
        let short = parse("casulo push -h").1.unwrap_err();
        assert!(!short.contains("CASULO_INSECURE_REGISTRIES"), "{short}");
    }
}
