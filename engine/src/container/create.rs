//! `create`: everything a container needs on disk, before any process runs.
//!
//! Resolves the image, checks the user's options, picks id and name, makes
//! `containers/<id>/{upper,work,merged}`, opens the trace (header first),
//! unpacks (or reuses) each image layer — recorded as `layer.unpack` /
//! `layer.reuse` — and writes `container.json`. On any error it removes what
//! it made (the trace stays: it tells what went wrong).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use casulo_trace::{ContainerInfo, EventBody, Header, Outcome};

use super::{
    generated_name, new_id, ContainerRecord, ContainerState, HostConfig, ProcessSpec, RunError,
    RunOptions, DEFAULT_PATH,
};
use crate::image::{Image, Store};
use crate::mounts::RootfsPlan;
use crate::recorder::Recorder;
use crate::state::StateDir;

/// A created container, ready for [`super::start`].
pub struct Created {
    pub record: ContainerRecord,
    pub dir: PathBuf,
    pub plan: RootfsPlan,
    /// Shared with the caller when it gave its own trace ([`Prepared`]).
    pub recorder: Arc<Recorder>,
}

/// A container whose image is not looked up by name and whose events go
/// into a trace that is already open: a `RUN` step of `casulo build` runs
/// on the layers built so far (stored, not tagged) and records into the
/// build's trace.
pub struct Prepared {
    /// The image to run; its layer blobs must be in the store.
    pub image: Image,
    pub recorder: Arc<Recorder>,
    /// The file `recorder` writes (kept in `container.json`).
    pub trace: PathBuf,
}

pub fn create(state: &StateDir, opts: &RunOptions) -> Result<Created, RunError> {
    create_with(state, opts, None)
}

/// [`create`], with the image and trace given by the caller when `prepared`.
///
/// The steps: [`check_options`] (before touching the disk), the image, id
/// and [`process_spec`], [`plan_mounts`], the name claimed, then
/// [`make_on_disk`] — undone on any error.
pub fn create_with(
    state: &StateDir,
    opts: &RunOptions,
    prepared: Option<Prepared>,
) -> Result<Created, RunError> {
    state
        .ensure()
        .map_err(|e| RunError::io("não consegui criar o diretório de estado", state.root(), e))?;
    // Check everything the user typed before touching the disk.
    let user_env = check_options(opts)?;
    let image = match &prepared {
        Some(p) => p.image.clone(),
        None => Store::open(state)?.resolve(&opts.image)?,
    };
    let id = new_id();
    let mut process = process_spec(&image, opts, &id, user_env)?;
    let wanted = plan_mounts(opts, prepared.is_some(), &mut process)?;
    process.read_only = opts.read_only;

    let name = match &opts.name {
        Some(name) => claim_name(state, name, &id).map(|()| name.clone())?,
        None => claim_generated_name(state, &id)?,
    };
    let mut new_volumes: Vec<String> = Vec::new();
    let made = make_on_disk(
        state,
        opts,
        prepared,
        Identity {
            id: &id,
            name: &name,
            image: &image,
        },
        process,
        &wanted,
        &mut new_volumes,
    );
    if made.is_err() {
        super::rm::remove_dirs(state, &id, &name);
        // Volumes made for this container only: nothing half-made stays.
        for v in &new_volumes {
            let _ = crate::volume::remove_unchecked(state, v);
        }
    }
    made
}

/// The options a user typed that can be refused before anything exists:
/// `-e`, `-w`, `--name`, `-p` without a bridge, a user network that does
/// not exist, `--ip`/`--network-alias` off a user network. Returns the
/// `-e` entries, resolved ([`parse_env`]).
fn check_options(opts: &RunOptions) -> Result<Vec<String>, RunError> {
    let user_env = parse_env(&opts.env)?;
    if let Some(w) = &opts.workdir {
        if !w.starts_with('/') {
            return Err(RunError::BadWorkdir(w.clone()));
        }
    }
    if let Some(name) = &opts.name {
        check_name(name)?;
    }
    // Rootless: the ports go through pasta, without a bridge.
    if !opts.publish.is_empty() && !opts.network.is_bridged() && !crate::rootless::active() {
        return Err(crate::network::NetworkError::PublishWithoutBridge.into());
    }
    // A user network must exist now (it is looked up again at each start).
    if let crate::network::NetworkMode::Named(n) = &opts.network {
        crate::network::NetDir::host().networks().load(n)?;
    } else if opts.ip.is_some() || !opts.network_aliases.is_empty() {
        return Err(crate::network::NetworkError::UserNetworkOnly.into());
    }
    Ok(user_env)
}

/// What gets mounted in the container besides its layers: the user's
/// `-v`/`--mount`/`--tmpfs`, plus (for a plain run) an anonymous volume
/// at each of the image's `VOLUME` paths, taken out of `process`.
fn plan_mounts(
    opts: &RunOptions,
    building: bool,
    process: &mut ProcessSpec,
) -> Result<Vec<crate::volume::MountSpec>, RunError> {
    if building {
        // A RUN's `--mount`s only (cache dirs, tmpfs); the image's VOLUME
        // paths stay plain directories of the layer, as in docker.
        wanted_mounts(&opts.mounts, &[])
    } else if opts.security.userns.is_some() {
        // The init mounts volumes after it became the user namespace's root,
        // which cannot reach the host's 0700 state dir: volumes and binds
        // are refused, and the image's VOLUME paths stay plain directories
        // of the upper layer (as in a build's RUN).
        refuse_host_mounts_with_userns(&opts.mounts)?;
        wanted_mounts(&opts.mounts, &[])
    } else {
        // A run mounts anonymous volumes at the image's VOLUME paths.
        let wanted = wanted_mounts(&opts.mounts, &process.volumes)?;
        process.volumes.clear();
        Ok(wanted)
    }
}

/// Who the container is: its id, its (claimed) name and its image.
#[derive(Clone, Copy)]
struct Identity<'a> {
    id: &'a str,
    name: &'a str,
    image: &'a Image,
}

/// `containers/<id>/{upper,work,merged}`, the trace opened, the layers
/// unpacked (or reused), the volumes planned, `container.json` written.
/// On an error the caller removes the directories and `new_volumes`.
fn make_on_disk(
    state: &StateDir,
    opts: &RunOptions,
    prepared: Option<Prepared>,
    who: Identity,
    mut process: ProcessSpec,
    wanted: &[crate::volume::MountSpec],
    new_volumes: &mut Vec<String>,
) -> Result<Created, RunError> {
    let dir = state.container(who.id);
    // Its upper layer goes when it ends: `--rm`, or a build's `RUN` (the
    // build copies it into a layer first).
    let throwaway = opts.rm || prepared.is_some();
    // The container's own dir is private (its record holds the -e
    // values); upper/ keeps 0755: it becomes the container's `/`.
    crate::state::create_private_dir_all(&dir)
        .map_err(|e| RunError::io("não consegui criar o diretório do contêiner", &dir, e))?;
    // Until the record is written: gc must not take us for half-made.
    let creation = super::record::Creation::begin(&dir)?;
    for sub in crate::mounts::CONTAINER_DIRS {
        std::fs::create_dir_all(dir.join(sub)).map_err(|e| {
            RunError::io(
                "não consegui criar o diretório do contêiner",
                dir.join(sub),
                e,
            )
        })?;
    }
    let (trace, recorder) = match prepared {
        Some(p) => (p.trace, p.recorder),
        None => open_trace(state, opts, &dir, who, &process)?,
    };
    let lowerdirs = unpack_layers(state, who.image, &recorder, opts.unpack_progress)?;
    // Held until the record naming our volumes is written (see volume::lock).
    let _volumes_lock = match wanted
        .iter()
        .any(|m| m.kind == crate::volume::MountKind::Volume)
    {
        true => Some(crate::volume::lock(state, false)?),
        false => None,
    };
    process.mounts =
        crate::volume::plan(state, wanted, &recorder, new_volumes).map_err(|e| match e {
            crate::volume::VolumeError::BindSourceMissing(m) => RunError::BadMount(m),
            other => other.into(),
        })?;
    let record = record_of(opts, who, process, lowerdirs.clone(), trace);
    creation.save(&dir, &record)?;
    let mut plan = RootfsPlan::in_dir(&dir, lowerdirs, crate::mounts::CgroupView::of_host());
    plan.volatile = throwaway;
    Ok(Created {
        record,
        dir,
        plan,
        recorder,
    })
}

/// The container's own trace (`--trace FILE`, or `traces/<name>-<id8>`),
/// its header written, its counters beside the record.
fn open_trace(
    state: &StateDir,
    opts: &RunOptions,
    dir: &std::path::Path,
    who: Identity,
    process: &ProcessSpec,
) -> Result<(PathBuf, Arc<Recorder>), RunError> {
    let trace = opts.trace.clone().unwrap_or_else(|| {
        state
            .traces()
            .join(format!("{}-{}.trace.jsonl", who.name, &who.id[..8]))
    });
    let recorder = Recorder::create_shared(
        &trace,
        &header(who.id, who.name, who.image, process),
        &dir.join(crate::recorder::COUNTERS),
    )
    .map_err(|e| RunError::io("não consegui criar o arquivo de trace", &trace, e))?;
    crate::rootless::record_maps(&recorder);
    Ok((trace, Arc::new(recorder)))
}

/// The new container's `container.json`: state `created`, and every
/// option that a later `start` (or the supervisor) needs again.
fn record_of(
    opts: &RunOptions,
    who: Identity,
    process: ProcessSpec,
    lowerdirs: Vec<PathBuf>,
    trace: PathBuf,
) -> ContainerRecord {
    let image = who.image;
    ContainerRecord {
        id: who.id.to_string(),
        name: who.name.to_string(),
        image: image.reference.clone(),
        image_id: image.id.clone(),
        process,
        lowerdirs,
        trace,
        created: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        state: ContainerState::Created,
        pid: None,
        exit_code: None,
        stop_signal: (!image.config.stop_signal.is_empty())
            .then(|| image.config.stop_signal.clone()),
        network: opts.network.clone(),
        ip: None,
        ports: opts.publish.clone(),
        host: HostConfig {
            resources: opts.resources,
            auto_remove: opts.rm,
            restart: opts.restart,
            tty: opts.tty,
            interactive: opts.interactive,
            console_size: opts
                .tty
                .then(crate::terminal::caller_size)
                .filter(|s| !s.is_unknown())
                .map(|s| [s.rows, s.cols]),
            sample_interval_ms: opts.sample_interval.map(|d| d.as_millis() as u64),
            network_aliases: opts.network_aliases.clone(),
            ip: opts.ip,
            publish_dnat: opts.publish_dnat,
            pasta: opts.pasta,
            ..HostConfig::default()
        },
        supervisor: None,
        started_at: None,
        finished_at: None,
        restart_count: 0,
        stopped_by_user: false,
    }
}

/// The user's mounts (checked: one mount per target) plus an anonymous
/// volume for each of the image's `VOLUME` paths nobody mounted, parents
/// before children (so `/a/b` lands inside the mount at `/a`).
/// `--userns` with `-v`/`--mount` of a volume or a host directory: not yet.
fn refuse_host_mounts_with_userns(user: &[crate::volume::MountSpec]) -> Result<(), RunError> {
    match user
        .iter()
        .find(|m| m.kind != crate::volume::MountKind::Tmpfs)
    {
        Some(m) => Err(RunError::BadMount(format!(
            "--userns ainda não funciona com volumes nem com diretórios do host \
             (-v/--mount em {:?}): o root do namespace do contêiner não alcança o \
             diretório de estado do casulo; use --tmpfs, ou rode sem --userns",
            m.target
        ))),
        None => Ok(()),
    }
}

fn wanted_mounts(
    user: &[crate::volume::MountSpec],
    image_volumes: &[String],
) -> Result<Vec<crate::volume::MountSpec>, RunError> {
    let clean = |t: &str| {
        let c: Vec<&str> = t
            .split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .collect();
        format!("/{}", c.join("/"))
    };
    let mut out: Vec<crate::volume::MountSpec> = Vec::new();
    for m in user {
        let mut m = m.clone();
        m.target = clean(&m.target);
        if out.iter().any(|o| o.target == m.target) {
            return Err(RunError::BadMount(format!(
                "dois pontos de montagem em {:?}: cada destino só pode ser usado uma vez",
                m.target
            )));
        }
        out.push(m);
    }
    for v in image_volumes.iter().filter(|v| v.starts_with('/')) {
        let target = clean(v);
        if target != "/" && !out.iter().any(|o| o.target == target) {
            out.push(crate::volume::MountSpec {
                kind: crate::volume::MountKind::Volume,
                source: String::new(),
                target,
                readonly: false,
                options: String::new(),
                anonymous: true,
            });
        }
    }
    out.sort_by_key(|m| m.target.matches('/').count());
    Ok(out)
}

/// Each `KEY=value` of `entries` replaces the entry of `env` with the same
/// key (later entries win), or is added at the end.
pub(crate) fn override_env<'a>(
    env: &mut Vec<String>,
    entries: impl IntoIterator<Item = &'a String>,
) {
    for entry in entries {
        let key = entry.split('=').next().unwrap_or_default();
        env.retain(|e| e.split('=').next() != Some(key));
        env.push(entry.clone());
    }
}

/// `-e` entries: `KEY=value` kept as is; `KEY` alone takes casulo's own
/// value (and is dropped if unset), as docker does.
pub(crate) fn parse_env(entries: &[String]) -> Result<Vec<String>, RunError> {
    let mut out = Vec::new();
    for entry in entries {
        match entry.split_once('=') {
            Some((key, _)) if !key.is_empty() => out.push(entry.clone()),
            Some(_) => return Err(RunError::BadEnv(entry.clone())),
            None if entry.is_empty() => return Err(RunError::BadEnv(entry.clone())),
            None => {
                if let Ok(value) = std::env::var(entry) {
                    out.push(format!("{entry}={value}"));
                }
            }
        }
    }
    Ok(out)
}

pub(super) fn check_name(name: &str) -> Result<(), RunError> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if first_ok && rest_ok && name.len() <= 128 {
        Ok(())
    } else {
        Err(RunError::BadName(name.to_string()))
    }
}

/// Names are unique: `names/<name>` is created exclusively and holds the id.
pub(super) fn claim_name(state: &StateDir, name: &str, id: &str) -> Result<(), RunError> {
    let names = state.names();
    crate::state::create_private_dir_all(&names)
        .map_err(|e| RunError::io("não consegui criar o diretório de nomes", &names, e))?;
    let path = names.join(name);
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
    {
        // Written through the descriptor that made it; a claim that could
        // not say its id goes again (an empty claim would hold the name).
        Ok(mut file) => std::io::Write::write_all(&mut file, id.as_bytes()).map_err(|e| {
            let _ = std::fs::remove_file(&path);
            RunError::io("não consegui registrar o nome", &path, e)
        }),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(RunError::NameInUse(name.to_string()))
        }
        Err(e) => Err(RunError::io("não consegui registrar o nome", &path, e)),
    }
}

/// How many generated names create tries before giving up.
const NAME_ATTEMPTS: usize = 32;

/// A generated name, claimed: when it is taken (another `casulo run` at
/// the same moment, or an old container) the next one is tried, as docker
/// does. A name the user gave is never replaced (see [`claim_name`]).
fn claim_generated_name(state: &StateDir, id: &str) -> Result<String, RunError> {
    let mut last = RunError::NameInUse(String::new());
    for attempt in 0..NAME_ATTEMPTS {
        let name = generated_name(id, attempt);
        match claim_name(state, &name, id) {
            Ok(()) => return Ok(name),
            Err(e @ RunError::NameInUse(_)) => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

/// The command, environment, cwd and hostname, from the image and the options.
fn process_spec(
    image: &Image,
    opts: &RunOptions,
    id: &str,
    user_env: Vec<String>,
) -> Result<ProcessSpec, RunError> {
    let cfg = &image.config;
    // Like docker: --entrypoint replaces the image's Entrypoint and drops
    // its Cmd (`--entrypoint ""` means no entrypoint at all).
    let (entrypoint, image_cmd): (Vec<String>, &[String]) = match &opts.entrypoint {
        Some(ep) if ep.is_empty() => (vec![], &[]),
        Some(ep) => (vec![ep.clone()], &[]),
        None => (cfg.entrypoint.clone(), &cfg.cmd),
    };
    let cmd = if opts.command.is_empty() {
        image_cmd
    } else {
        &opts.command
    };
    let args: Vec<String> = entrypoint.iter().chain(cmd).cloned().collect();
    let user = opts.user.clone().unwrap_or_else(|| cfg.user.clone());
    if args.is_empty() {
        return Err(RunError::NoCommand(image.reference.clone()));
    }
    let hostname = opts
        .hostname
        .clone()
        .unwrap_or_else(|| id[..12].to_string());
    // Later entries win: defaults < image < -e.
    // HOME: /root for root; for another user the init takes it from the
    // image's /etc/passwd (unless the image or -e set it).
    let mut env: Vec<String> = vec![
        format!("PATH={DEFAULT_PATH}"),
        format!("HOSTNAME={hostname}"),
    ];
    if user.is_empty() {
        env.push("HOME=/root".to_string());
    }
    override_env(&mut env, cfg.env.iter().chain(&user_env));
    let cwd = opts
        .workdir
        .clone()
        .or_else(|| (!cfg.working_dir.is_empty()).then(|| cfg.working_dir.clone()))
        .unwrap_or_else(|| "/".to_string());
    Ok(ProcessSpec {
        args,
        env,
        cwd,
        hostname,
        user,
        volumes: cfg.volumes.clone(),
        mounts: vec![],
        read_only: false,
        security: opts.security.clone(),
    })
}

fn header(id: &str, name: &str, image: &Image, process: &ProcessSpec) -> Header {
    crate::recorder::header_for(
        ContainerInfo {
            id: id.to_string(),
            name: name.to_string(),
            image: image.reference.clone(),
            image_id: Some(image.id.clone()),
            command: process.args.clone(),
        },
        crate::cgroups::host_mode().as_str(),
    )
}

/// Makes sure every layer is unpacked (recorded as `layer.unpack` /
/// `layer.reuse`); returns the lowerdirs top-most first.
pub(crate) fn unpack_layers(
    state: &StateDir,
    image: &Image,
    rec: &Recorder,
    progress: Option<fn(&str, u64, u64)>,
) -> Result<Vec<PathBuf>, RunError> {
    let store = Store::open(state)?;
    let diff_ids: Vec<String> = image.layers.iter().map(|l| l.diff_id.clone()).collect();
    let chain_ids = crate::image::store::chain_ids(&diff_ids);
    let mut dirs: Vec<PathBuf> = Vec::new();
    for (layer, chain_id) in image.layers.iter().zip(&chain_ids) {
        // The layers below, top-most first: a hard link to one of their
        // files is resolved there.
        let lowers: Vec<PathBuf> = dirs.iter().rev().cloned().collect();
        let dir = store.ensure_layer_over(layer, chain_id, &lowers, &mut |done| {
            if let Some(report) = progress {
                report(&layer.digest, done, layer.size)
            }
        })?;
        let path = dir.path.display().to_string();
        let body = match &dir.unpacked {
            Some(stats) => EventBody::LayerUnpack {
                diff_id: layer.diff_id.clone(),
                path: path.clone(),
                bytes: stats.bytes,
                files: stats.files,
                duration_us: stats.duration_us,
            },
            None => EventBody::LayerReuse {
                diff_id: layer.diff_id.clone(),
                path: path.clone(),
            },
        };
        let op = match &dir.unpacked {
            // Rootless with a single-id map: said where the trace shows the
            // operation (`crate::rootless`, "Owners the map cannot hold").
            Some(stats) if stats.owners_to_root > 0 => format!(
                "unpack {} ({}) -> {path} (sem root, mapa de um só id: {} entradas de \
                 outros donos ficaram do uid 0)",
                layer.digest, layer.media_type, stats.owners_to_root
            ),
            Some(_) => format!("unpack {} ({}) -> {path}", layer.digest, layer.media_type),
            None => format!("stat {path} (já desempacotada)"),
        };
        rec.record(body, op, Outcome::Ok);
        for (path, opaque) in dir.unpacked.iter().flat_map(|s| &s.whiteouts) {
            let op = if *opaque {
                format!(
                    "fsetxattr({path:?}, {:?}, \"y\")",
                    crate::image::overlay::opaque_xattr()
                )
            } else {
                format!("mknodat({path:?}, S_IFCHR, makedev(0, 0))")
            };
            let body = EventBody::LayerWhiteout {
                diff_id: layer.diff_id.clone(),
                path: path.clone(),
                opaque: *opaque,
            };
            rec.record(body, op, Outcome::Ok);
        }
        dirs.push(dir.path);
    }
    dirs.reverse();
    Ok(without_repeats(dirs))
}

/// The same layer twice in one image (two `RUN`s that changed nothing make
/// the same empty layer) would hand overlayfs one directory twice, which it
/// refuses (ELOOP). The lower copy changes nothing: every path it has, its
/// upper copy has too, and that one wins. So only the top-most stays.
fn without_repeats(top_first: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut seen = std::collections::HashSet::new();
    top_first
        .into_iter()
        .filter(|d| seen.insert(d.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_layer_keeps_only_its_top_most_place() {
        let p = |s: &str| PathBuf::from(s);
        assert_eq!(
            without_repeats(vec![p("vazia"), p("b"), p("vazia"), p("a")]),
            [p("vazia"), p("b"), p("a")]
        );
    }

    #[test]
    fn env_entries_need_a_key() {
        assert!(matches!(
            parse_env(&["=x".into()]),
            Err(RunError::BadEnv(_))
        ));
        assert!(matches!(parse_env(&["".into()]), Err(RunError::BadEnv(_))));
        assert_eq!(
            parse_env(&["A=b=c".into(), "E=".into()]).unwrap(),
            ["A=b=c", "E="]
        );
        std::env::set_var("CASULO_TEST_FROM_HOST", "sim");
        assert_eq!(
            parse_env(&["CASULO_TEST_FROM_HOST".into(), "CASULO_TEST_UNSET_X".into()]).unwrap(),
            ["CASULO_TEST_FROM_HOST=sim"]
        );
    }

    #[test]
    fn a_taken_generated_name_is_retried_and_a_given_one_is_not() {
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir::new(tmp.path());
        let id = new_id();
        let first = generated_name(&id, 0);
        claim_name(&state, &first, &"0".repeat(64)).unwrap();
        let got = claim_generated_name(&state, &id).unwrap();
        assert_ne!(got, first);
        // The next attempt's name (unless it happens to be the same one).
        let next = (1..).map(|a| generated_name(&id, a)).find(|n| *n != first);
        assert_eq!(Some(got.clone()), next);
        assert_eq!(
            std::fs::read_to_string(state.names().join(&got)).unwrap(),
            id
        );
        // The old claim is untouched; a given name that is taken is an error.
        assert_eq!(
            std::fs::read_to_string(state.names().join(&first)).unwrap(),
            "0".repeat(64)
        );
        assert!(matches!(
            claim_name(&state, &first, &id),
            Err(RunError::NameInUse(n)) if n == first
        ));
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("web-1.a_b").is_ok());
        for bad in ["", "-x", "a b", "a/b", "ação"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn image_env_and_user_env_override_defaults_by_key() {
        let image = Image {
            reference: "x:latest".into(),
            id: "sha256:00".into(),
            manifest_digest: "sha256:00".into(),
            config: crate::image::ImageConfig {
                env: vec!["PATH=/bin".into(), "A=1".into()],
                entrypoint: vec![],
                cmd: vec!["sh".into()],
                working_dir: "/srv".into(),
                ..Default::default()
            },
            layers: vec![],
        };
        let opts = RunOptions {
            image: "x".into(),
            ..Default::default()
        };
        let spec = process_spec(&image, &opts, &"ab".repeat(32), vec!["A=2".into()]).unwrap();
        assert_eq!(spec.args, ["sh"]);
        assert_eq!(spec.cwd, "/srv");
        assert_eq!(spec.hostname, "abababababab");
        assert!(spec.env.contains(&"PATH=/bin".to_string()));
        assert!(spec.env.contains(&"A=2".to_string()));
        assert!(!spec.env.contains(&"A=1".to_string()));
    }
}
