//! `casulo commit`: a container becomes an image (like `docker commit`).
//!
//! What a container wrote is all in its overlay *upper* directory
//! (`containers/<id>/upper/`), so the new image is the container's image
//! plus one layer made of that directory:
//!
//! - the upper dir becomes layer entries exactly as a build's RUN step does
//!   ([`crate::build::layer_from_upper`]: overlayfs whiteouts → `.wh.NOME`,
//!   opaque directories → `.wh..wh..opq`), walked through file descriptors
//!   because the container may still be running and writing there;
//! - the entries become a gzip tar with the build's reproducible writer
//!   ([`crate::image::layer_tar`]: sorted, fixed mtime, no xattrs); with
//!   `--userns`, owners are mapped back to the ids the container saw;
//! - the config is the image's, with what the container really ran (its
//!   command, environment, working dir and user: docker keeps them too),
//!   then the `--change` instructions (parsed and applied as a
//!   Dockerfile's, [`crate::build::config_step`]), one more history line
//!   and one more diff_id;
//! - config, manifest and tag are written with the store's APIs, under the
//!   store's writers' lock (a concurrent `gc` waits): until the tag is
//!   written, nothing points at the new blobs, so a failure at any step
//!   leaves the store as `image fsck` finds it clean (unreferenced blobs
//!   are what `image prune` removes).
//!
//! **Pause.** As docker does (`--pause`, on by default), a running
//! container is frozen ([`crate::container::pause`], the cgroup freezer) from the
//! first read of its upper dir to the last byte of the layer, and thawed on
//! every path after: so the layer is one instant of it, never a file caught
//! half written. A container the user had already paused stays paused.
//! With `--pause=false` it is read as it runs (a file that shrinks while
//! read then fails the commit).
//!
//! The commit is recorded in the container's own trace (`image.commit`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use casulo_trace::{EventBody, Outcome};

use super::dockerfile::{self, Op};
use super::{config_step, layer_from_upper};
use crate::container::{record, ContainerRecord, ContainerState, RunError, DEFAULT_PATH};
use crate::image::layer_tar;
use crate::image::oci::{self, ConfigFile, History};
use crate::image::{Image, ImageError, Layer, Reference, Store};
use crate::state::StateDir;

/// What `casulo commit` was asked.
#[derive(Debug, Clone, Default)]
pub struct CommitOptions {
    /// The container: name, id or unique id prefix.
    pub container: String,
    /// `NOME[:TAG]` for the new image; none: untagged (only its id).
    pub reference: Option<String>,
    /// `-m`: the history line's comment.
    pub message: Option<String>,
    /// `-a`: the image's author.
    pub author: Option<String>,
    /// `-c`/`--change`: Dockerfile instructions for the config.
    pub changes: Vec<String>,
    /// `-p`/`--pause`: freeze a running container while its layer is read.
    pub pause: bool,
}

/// What the commit made.
#[derive(Debug, Clone)]
pub struct CommitOutcome {
    /// `sha256:` of the new image's config.
    pub image_id: String,
    /// The tag written, if one was given.
    pub tag: Option<String>,
    pub container: String,
    /// The new layer (blob digest, diff_id, size).
    pub layer: Layer,
    /// Uncompressed tar bytes, entries, whiteouts among them.
    pub bytes: u64,
    pub files: u64,
    pub whiteouts: u64,
    /// The container was running; `paused`: it was frozen while its layer
    /// was read (see the module docs).
    pub was_running: bool,
    pub paused: bool,
}

/// A running container frozen for the commit, thawed when dropped (on
/// every path: the layer written, or an error on the way).
struct Frozen<'a> {
    state: &'a StateDir,
    record: ContainerRecord,
}

impl<'a> Frozen<'a> {
    fn pause(state: &'a StateDir, record: &ContainerRecord) -> Result<Self, RunError> {
        let record = crate::container::pause::pause(state, record)?;
        Ok(Frozen { state, record })
    }
}

impl Drop for Frozen<'_> {
    fn drop(&mut self) {
        // Ended meanwhile (a SIGKILL still kills on v2): nothing to thaw.
        let _ = crate::container::pause::unpause(self.state, &self.record);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error(transparent)]
    Container(#[from] RunError),
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error("--change {text:?}: {why}")]
    BadChange { text: String, why: String },
    #[error(
        "--change {0:?}: o commit só aceita CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, \
         WORKDIR e STOPSIGNAL (as instruções que mudam só a configuração da imagem)"
    )]
    NotAllowed(String),
    #[error(
        "a imagem do contêiner {container} ({image}, {id}) não está mais no store: sem as \
         camadas de baixo não há sobre o que empilhar a nova"
    )]
    ImageGone {
        container: String,
        image: String,
        id: String,
    },
    #[error("não consegui ler a camada de escrita do contêiner {container} ({path})")]
    Upper {
        container: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Commits the container `opts.container` as a new image.
pub fn commit(state: &StateDir, opts: &CommitOptions) -> Result<CommitOutcome, CommitError> {
    let rec = crate::container::find(state, &opts.container)?;
    // Everything the user typed is checked before anything is written.
    let changes = opts
        .changes
        .iter()
        .map(|text| parse_change(text).map(|op| (text.clone(), op)))
        .collect::<Result<Vec<_>, _>>()?;
    let reference = opts
        .reference
        .as_deref()
        .map(Reference::parse)
        .transpose()?;
    let upper = crate::mounts::upper_of(&state.container(&rec.id));
    let upper_error = |source| CommitError::Upper {
        container: rec.name.clone(),
        path: upper.clone(),
        source,
    };
    // The trace is opened first: a commit that could not be recorded is
    // not made.
    let recorder = record::reopen_trace(state, &rec)?;
    let was_running = matches!(rec.state, ContainerState::Running);

    let store = Store::open(state)?;
    store.init()?;
    let _writing = store.writing()?;
    let (base, base_config) = base_image(&store, &rec)?;
    // The config first: a --change that does not apply (`EXPOSE 0`) stops
    // the commit before any blob is written.
    let (mut config, shown) = new_config(&rec, &base, base_config, &changes)?;

    // Frozen from the first read of the upper dir to the last byte written.
    let frozen = match opts.pause && was_running {
        true => Some(Frozen::pause(state, &rec)?),
        false => None,
    };
    let mut entries = layer_from_upper::entries(&upper).map_err(upper_error)?;
    if let Some(map) = &rec.process.security.userns {
        unmap_owners(&mut entries, map);
    }
    let whiteouts = entries
        .values()
        .filter(|e| matches!(e, layer_tar::Entry::Whiteout))
        .count() as u64;
    let written =
        layer_tar::write(&store, &entries, crate::build::build_epoch()).map_err(|e| match e {
            ImageError::Io { source, .. } => upper_error(source),
            other => CommitError::Image(other),
        })?;
    drop(entries);
    let paused = frozen.is_some();
    drop(frozen);

    let created = created_now();
    config.created = Some(created.clone());
    if opts.author.is_some() {
        config.author = opts.author.clone();
    }
    if config.architecture.is_empty() {
        config.architecture = oci::host_architecture().into();
    }
    config.history.push(History {
        created: Some(created),
        created_by: Some(created_by(&rec, &shown)),
        author: opts.author.clone(),
        comment: Some(
            opts.message
                .clone()
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| "casulo commit".into()),
        ),
        empty_layer: false,
    });
    let mut layers = base.layers.clone();
    layers.push(written.layer.clone());
    let tags: Vec<Reference> = reference.iter().cloned().collect();
    let image_id = crate::build::commit(&store, config, &layers, &tags)?;
    let tag = reference.map(|r| r.to_string());
    recorder.record(
        EventBody::ImageCommit {
            container: rec.name.clone(),
            digest: written.layer.digest.clone(),
            diff_id: written.layer.diff_id.clone(),
            size: written.layer.size,
            bytes: written.bytes,
            files: written.files,
            whiteouts,
            image_id: image_id.clone(),
            tag: tag.clone().unwrap_or_default(),
            changes: shown,
        },
        format!(
            "tar+gzip {} → {}/index.json",
            upper.display(),
            store.dir().display()
        ),
        Outcome::Ok,
    );
    Ok(CommitOutcome {
        image_id,
        tag,
        container: rec.name,
        layer: written.layer,
        bytes: written.bytes,
        files: written.files,
        whiteouts,
        was_running,
        paused,
    })
}

/// With `--userns`, what the container's root wrote is owned by the host
/// ids of its range (root is 100000 on the host): the layer says the ids
/// the container saw (0), as they must be for any other container. An id
/// outside the range is what the container saw as `nobody` (65534).
fn unmap_owners(
    entries: &mut BTreeMap<String, layer_tar::Entry>,
    map: &crate::security::userns::IdMapping,
) {
    let back = |id: &mut u64, start: u32| {
        let (start, count) = (u64::from(start), u64::from(map.count));
        *id = if (start..start + count).contains(id) {
            *id - start
        } else {
            65534
        };
    };
    for entry in entries.values_mut() {
        use layer_tar::Entry::*;
        match entry {
            Dir { uid, gid, .. }
            | File { uid, gid, .. }
            | Symlink { uid, gid, .. }
            | Fifo { uid, gid, .. } => {
                back(uid, map.uid);
                back(gid, map.gid);
            }
            HardLink { .. } | Whiteout => {}
        }
    }
}

/// One `--change`, parsed as a Dockerfile line; only the instructions that
/// change the config (docker's list for commit).
fn parse_change(text: &str) -> Result<Op, CommitError> {
    let inst = dockerfile::parse_instruction(text).map_err(|why| CommitError::BadChange {
        text: text.to_string(),
        why,
    })?;
    match inst.op {
        Op::Cmd(_)
        | Op::Entrypoint(_)
        | Op::Env(_)
        | Op::Expose(_)
        | Op::Label(_)
        | Op::User(_)
        | Op::Volume(_)
        | Op::Workdir(_)
        | Op::StopSignal(_) => Ok(inst.op),
        _ => Err(CommitError::NotAllowed(text.to_string())),
    }
}

/// The container's image, by the id the container was created from (its
/// tag may point at another image by now).
fn base_image(store: &Store, rec: &ContainerRecord) -> Result<(Image, ConfigFile), CommitError> {
    if let Ok((image, config)) = store.resolve_with_config(&rec.image) {
        if image.id == rec.image_id {
            return Ok((image, config));
        }
    }
    for desc in store.read_index()?.manifests {
        let Some(name) = desc.ref_name() else {
            continue;
        };
        if let Ok((image, config)) = store.resolve_with_config(name) {
            if image.id == rec.image_id {
                return Ok((image, config));
            }
        }
    }
    Err(CommitError::ImageGone {
        container: rec.name.clone(),
        image: rec.image.clone(),
        id: rec.image_id.clone(),
    })
}

/// `created`: `SOURCE_DATE_EPOCH` when set (as the build honours it),
/// otherwise now.
fn created_now() -> String {
    let when = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .map(|s| UNIX_EPOCH + Duration::from_secs(s))
        .unwrap_or_else(SystemTime::now);
    humantime::format_rfc3339_seconds(when).to_string()
}

/// The image's config with what the container really ran, then the
/// changes; returns it and the changes as the history shows them.
fn new_config(
    rec: &ContainerRecord,
    base: &Image,
    mut config: ConfigFile,
    changes: &[(String, Op)],
) -> Result<(ConfigFile, Vec<String>), CommitError> {
    let mut rc = config.config.take().unwrap_or_default();
    let (entrypoint, cmd) = split_command(&base.config.entrypoint, &rec.process.args);
    rc.entrypoint = (!entrypoint.is_empty()).then_some(entrypoint);
    rc.cmd = (!cmd.is_empty()).then_some(cmd);
    let env = container_env(&base.config.env, &rec.process.env, &rec.process.hostname);
    rc.env = (!env.is_empty()).then_some(env);
    rc.working_dir = Some(rec.process.cwd.clone()).filter(|w| !w.is_empty() && w != "/");
    rc.user = Some(rec.process.user.clone()).filter(|u| !u.is_empty());
    let mut cmd_set = false;
    let shell = dockerfile::default_shell();
    let mut shown = Vec::new();
    for (text, op) in changes {
        let vars: BTreeMap<String, String> = rc
            .env
            .iter()
            .flatten()
            .filter_map(|e| e.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let target = config_step::ConfigTarget {
            config: &mut rc,
            cmd_set: &mut cmd_set,
            shell: &shell,
        };
        match config_step::apply(op, target, &vars) {
            Some(Ok(text)) => shown.push(text),
            Some(Err(why)) => {
                return Err(CommitError::BadChange {
                    text: text.clone(),
                    why,
                })
            }
            None => unreachable!("parse_change lets only config instructions through"),
        }
    }
    config.config = Some(rc);
    Ok((config, shown))
}

/// The container's argv as the image's `Entrypoint` and `Cmd`: the image's
/// entrypoint when the argv starts with it, otherwise (`run --entrypoint`)
/// the first word.
fn split_command(image_entrypoint: &[String], args: &[String]) -> (Vec<String>, Vec<String>) {
    if image_entrypoint.is_empty() || args.is_empty() {
        return (vec![], args.to_vec());
    }
    if args.starts_with(image_entrypoint) {
        return (
            image_entrypoint.to_vec(),
            args[image_entrypoint.len()..].to_vec(),
        );
    }
    (vec![args[0].clone()], args[1..].to_vec())
}

/// The container's environment without what the runtime adds by itself
/// (`HOSTNAME`, the default `PATH`, `HOME=/root`) unless the image set it:
/// the image's variables and the `-e` ones, as docker keeps them.
fn container_env(image_env: &[String], process_env: &[String], hostname: &str) -> Vec<String> {
    let key = |e: &str| e.split('=').next().unwrap_or_default().to_string();
    let defaults = [
        format!("PATH={DEFAULT_PATH}"),
        format!("HOSTNAME={hostname}"),
        "HOME=/root".to_string(),
    ];
    process_env
        .iter()
        .filter(|e| !defaults.contains(e) || image_env.iter().any(|i| key(i) == key(e)))
        .cloned()
        .collect()
}

/// The history line: where the layer came from.
fn created_by(rec: &ContainerRecord, changes: &[String]) -> String {
    // Short, as `image history` shows 45 characters: the container and
    // what it ran (docker shows the command too); the image is the layer below.
    let mut text = format!(
        "casulo commit {} ({})",
        rec.name,
        rec.process.args.join(" ")
    );
    for c in changes {
        text.push_str(&format!(" --change '{c}'"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_splits_into_entrypoint_and_cmd() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            split_command(&[], &s(&["sh", "-c", "x"])),
            (vec![], s(&["sh", "-c", "x"]))
        );
        assert_eq!(
            split_command(&s(&["/ep"]), &s(&["/ep", "a"])),
            (s(&["/ep"]), s(&["a"]))
        );
        // `run --entrypoint outro`: the first word is the entrypoint.
        assert_eq!(
            split_command(&s(&["/ep"]), &s(&["outro", "a"])),
            (s(&["outro"]), s(&["a"]))
        );
    }

    #[test]
    fn runtime_defaults_are_not_kept_unless_the_image_had_them() {
        let env = vec![
            format!("PATH={DEFAULT_PATH}"),
            "HOSTNAME=abc".into(),
            "HOME=/root".into(),
            "A=1".into(),
        ];
        assert_eq!(container_env(&[], &env, "abc"), ["A=1"]);
        let image = vec!["PATH=/x".to_string()];
        assert_eq!(
            container_env(&image, &env, "abc"),
            [format!("PATH={DEFAULT_PATH}"), "A=1".into()]
        );
        // A HOSTNAME the user chose (-e) stays.
        assert_eq!(
            container_env(&[], &["HOSTNAME=meu".into()], "abc"),
            ["HOSTNAME=meu"]
        );
    }

    #[test]
    fn userns_owners_go_back_to_the_containers_ids() {
        let map = crate::security::userns::IdMapping {
            uid: 100000,
            gid: 200000,
            count: 65536,
            from: "padrão".into(),
        };
        let mut e = BTreeMap::from([
            (
                "a".to_string(),
                layer_tar::Entry::Dir {
                    mode: 0o755,
                    uid: 100005,
                    gid: 200000,
                },
            ),
            (
                "b".to_string(),
                layer_tar::Entry::Fifo {
                    mode: 0o644,
                    uid: 0,
                    gid: 300000,
                },
            ),
        ]);
        unmap_owners(&mut e, &map);
        assert!(matches!(
            e["a"],
            layer_tar::Entry::Dir { uid: 5, gid: 0, .. }
        ));
        assert!(matches!(
            e["b"],
            layer_tar::Entry::Fifo {
                uid: 65534,
                gid: 65534,
                ..
            }
        ));
    }

    #[test]
    fn changes_are_config_instructions_only() {
        assert!(matches!(
            parse_change(r#"CMD ["cat","/novo"]"#),
            Ok(Op::Cmd(_))
        ));
        let e = parse_change("RUN rm -rf /").unwrap_err().to_string();
        assert!(e.contains("só aceita CMD"), "{e}");
        let e = parse_change("BANANA 1").unwrap_err().to_string();
        assert!(e.contains("BANANA"), "{e}");
    }
}
