//! A small, realistic trace of `casulo run busybox sh -c 'echo oi'`, with one
//! event of every kind.
//!
//! Used by this crate's tests (every kind has an example, so the catalog, the
//! narration and the schema are checked against all of them), and handy for
//! the visualizer's and the book's demos when no real trace is at hand.

use crate::{
    AttachVia, ContainerInfo, DetachReason, DeviceType, Errno, Event, EventBody, Header, IdRange,
    NsKind, NsVia, Outcome, Propagation, TtyAction, FORMAT_NAME, FORMAT_VERSION,
};

const ID: &str = "ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12";
const LAYER: &str = "sha256:3f5a1b2c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8";
const LAYER2: &str = "sha256:9e8d7c6b5a4938271605f4e3d2c1b0a99e8d7c6b5a4938271605f4e3d2c1b0a9";

/// The header of the sample trace.
pub fn sample_header() -> Header {
    Header {
        format: FORMAT_NAME.into(),
        format_version: FORMAT_VERSION,
        engine_version: "0.1.0".into(),
        kernel: "6.1.0-28-amd64".into(),
        cgroup_mode: "hybrid".into(),
        container: ContainerInfo {
            id: ID.into(),
            name: "curioso_tucano".into(),
            image: "busybox:latest".into(),
            image_id: Some(
                "sha256:1c35c441208254cb7c3844ba95a96485388cef9ccc0646d562c7fc026e04c807".into(),
            ),
            command: vec!["sh".into(), "-c".into(), "echo oi".into()],
        },
        started_at: "2025-11-26T12:00:00.000000Z".into(),
        rootless: false,
        uid_map: Vec::new(),
        gid_map: Vec::new(),
    }
}

/// The events of the sample trace: one of every kind, `seq` 0, 1, 2, …
/// It is long because it is a table, one literal per kind, read top to
/// bottom in the order a run writes them.
pub fn sample_events() -> Vec<Event> {
    let c = format!("/var/lib/casulo/containers/{ID}");
    let merged = format!("{c}/merged");
    let layer = |d: &str| format!("/var/lib/casulo/layers/{}", &d[7..]);
    let host = 4242;
    let init = 4243;
    let ok = Outcome::Ok;
    let mut raw: Vec<(i32, EventBody, String, Outcome)> = vec![
        (
            host,
            EventBody::LayerReuse {
                diff_id: LAYER.into(),
                path: layer(LAYER),
            },
            format!("stat {}", layer(LAYER)),
            ok.clone(),
        ),
        (
            host,
            EventBody::LayerUnpack {
                diff_id: LAYER2.into(),
                path: layer(LAYER2),
                bytes: 2_195_456,
                files: 1_234,
                duration_us: 35_120,
            },
            format!("untar layer.tar -> {}", layer(LAYER2)),
            ok.clone(),
        ),
        (
            host,
            EventBody::ProcessClone {
                child_pid: init,
                flags: [
                    "CLONE_NEWPID",
                    "CLONE_NEWNS",
                    "CLONE_NEWUTS",
                    "CLONE_NEWIPC",
                    "CLONE_NEWNET",
                    "CLONE_NEWCGROUP",
                    "SIGCHLD",
                ]
                .map(String::from)
                .to_vec(),
            },
            "clone(CLONE_NEWPID|CLONE_NEWNS|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWNET|CLONE_NEWCGROUP|SIGCHLD)".into(),
            ok.clone(),
        ),
    ];
    let ns_inodes = [
        (NsKind::Pid, 4026532201, 4026531836),
        (NsKind::Mnt, 4026532199, 4026531841),
        (NsKind::Uts, 4026532200, 4026531838),
        (NsKind::Ipc, 4026532202, 4026531839),
        (NsKind::Net, 4026532204, 4026531840),
        (NsKind::Cgroup, 4026532203, 4026531835),
    ];
    for (ns, inode, host_inode) in ns_inodes {
        raw.push((
            host,
            EventBody::NamespaceCreate {
                ns,
                via: NsVia::Clone,
                inode: Some(inode),
                host_inode: Some(host_inode),
            },
            "clone(CLONE_NEWPID|CLONE_NEWNS|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWNET|CLONE_NEWCGROUP|SIGCHLD)".into(),
            ok.clone(),
        ));
    }
    for map in ["uid", "gid"] {
        raw.push((
            host,
            EventBody::NamespaceUser {
                target_pid: init,
                map: map.into(),
                ranges: vec![IdRange {
                    inside: 0,
                    outside: 100000,
                    count: 65536,
                }],
            },
            format!("write /proc/{init}/{map}_map = 0 100000 65536"),
            ok.clone(),
        ));
    }
    raw.push((
        host,
        EventBody::MountIdmap {
            source: layer(LAYER),
            userns_pid: init,
        },
        format!(
            "fd = open_tree(AT_FDCWD, \"{}\", OPEN_TREE_CLONE); \
             mount_setattr(fd, \"\", AT_EMPTY_PATH, {{attr_set=MOUNT_ATTR_IDMAP, \
             userns_fd=open(\"/proc/{init}/ns/user\")}})",
            layer(LAYER)
        ),
        ok.clone(),
    ));
    raw.extend([
        (
            init,
            EventBody::MountPropagation {
                target: "/".into(),
                propagation: Propagation::Private,
                recursive: true,
            },
            "mount(NULL, \"/\", NULL, MS_REC|MS_PRIVATE, NULL)".into(),
            ok.clone(),
        ),
        (
            init,
            EventBody::MountOverlay {
                target: merged.clone(),
                lowerdirs: vec![layer(LAYER2), layer(LAYER)],
                upperdir: format!("{c}/upper"),
                workdir: format!("{c}/work"),
            },
            format!(
                "mount(\"overlay\", \"{merged}\", \"overlay\", 0, \"lowerdir={}:{},upperdir={c}/upper,workdir={c}/work\")",
                layer(LAYER2),
                layer(LAYER)
            ),
            ok.clone(),
        ),
        (
            init,
            EventBody::MountFs {
                fstype: "proc".into(),
                source: "proc".into(),
                target: format!("{merged}/proc"),
                flags: ["MS_NOSUID", "MS_NODEV", "MS_NOEXEC"]
                    .map(String::from)
                    .to_vec(),
                data: String::new(),
            },
            format!("mount(\"proc\", \"{merged}/proc\", \"proc\", MS_NOSUID|MS_NODEV|MS_NOEXEC, NULL)"),
            ok.clone(),
        ),
        (
            init,
            EventBody::MountFs {
                fstype: "tmpfs".into(),
                source: "tmpfs".into(),
                target: format!("{merged}/dev"),
                flags: ["MS_NOSUID", "MS_STRICTATIME"].map(String::from).to_vec(),
                data: "mode=755,size=65536k".into(),
            },
            format!("mount(\"tmpfs\", \"{merged}/dev\", \"tmpfs\", MS_NOSUID|MS_STRICTATIME, \"mode=755,size=65536k\")"),
            ok.clone(),
        ),
        (
            init,
            EventBody::DeviceCreate {
                path: format!("{merged}/dev/null"),
                dev_type: DeviceType::Char,
                major: 1,
                minor: 3,
                mode: 0o666,
            },
            format!("mknod(\"{merged}/dev/null\", S_IFCHR|0666, makedev(1, 3))"),
            ok.clone(),
        ),
        (
            init,
            EventBody::FsSymlink {
                target: "/proc/self/fd".into(),
                link: format!("{merged}/dev/fd"),
            },
            format!("symlink(\"/proc/self/fd\", \"{merged}/dev/fd\")"),
            ok.clone(),
        ),
        (
            init,
            EventBody::MountPivotRoot {
                new_root: merged.clone(),
                put_old: format!("{merged}/.old_root"),
            },
            format!("pivot_root(\"{merged}\", \"{merged}/.old_root\")"),
            ok.clone(),
        ),
        (
            init,
            EventBody::ProcessChdir { path: "/".into() },
            "chdir(\"/\")".into(),
            ok.clone(),
        ),
        (
            init,
            EventBody::MountUmount {
                target: "/.old_root".into(),
                detach: true,
            },
            "umount2(\"/.old_root\", MNT_DETACH)".into(),
            ok.clone(),
        ),
        (
            init,
            EventBody::UtsSethostname {
                hostname: "ab12cd34ef56".into(),
            },
            "sethostname(\"ab12cd34ef56\")".into(),
            ok.clone(),
        ),
        (
            init,
            EventBody::NetLinkUp { ifname: "lo".into() },
            "ioctl(SIOCSIFFLAGS, \"lo\", IFF_UP)".into(),
            ok.clone(),
        ),
        (
            init,
            EventBody::FsWrite {
                path: "/proc/sys/net/ipv4/ip_unprivileged_port_start".into(),
                value: "0".into(),
            },
            "write /proc/sys/net/ipv4/ip_unprivileged_port_start = 0".into(),
            Outcome::Error(Errno {
                errno: 30,
                name: "EROFS".into(),
                message: "Read-only file system".into(),
            }),
        ),
        (
            init,
            EventBody::ProcessExec {
                path: "/bin/sh".into(),
                argv: vec!["sh".into(), "-c".into(), "echo oi".into()],
                env_keys: vec!["PATH".into(), "HOME".into(), "TERM".into()],
            },
            "execve(\"/bin/sh\", [\"sh\", \"-c\", \"echo oi\"], [PATH, HOME, TERM])".into(),
            ok.clone(),
        ),
        (
            host,
            EventBody::ProcessExit {
                exited_pid: init,
                code: Some(0),
                signal: None,
                signal_name: None,
            },
            format!("wait4({init})"),
            ok.clone(),
        ),
        // Other processes: one joins the container's mount namespace, one
        // chroots into its root, one is interrupted with Ctrl-C.
        (
            5000,
            EventBody::NamespaceJoin {
                ns: NsKind::Mnt,
                target_pid: init,
                inode: Some(4026532199),
            },
            format!("setns(open(\"/proc/{init}/ns/mnt\"), CLONE_NEWNS)"),
            ok.clone(),
        ),
        (
            5000,
            EventBody::ProcessChroot {
                path: merged.clone(),
            },
            format!("chroot(\"{merged}\")"),
            ok.clone(),
        ),
        (
            init,
            EventBody::SecurityCapabilities {
                kept: [
                    "CAP_CHOWN",
                    "CAP_DAC_OVERRIDE",
                    "CAP_FOWNER",
                    "CAP_FSETID",
                    "CAP_KILL",
                    "CAP_SETGID",
                    "CAP_SETUID",
                    "CAP_SETPCAP",
                    "CAP_NET_BIND_SERVICE",
                    "CAP_NET_RAW",
                    "CAP_SYS_CHROOT",
                    "CAP_MKNOD",
                    "CAP_AUDIT_WRITE",
                    "CAP_SETFCAP",
                ]
                .map(String::from)
                .to_vec(),
                dropped: ["CAP_SYS_ADMIN", "CAP_SYS_MODULE", "CAP_NET_ADMIN"]
                    .map(String::from)
                    .to_vec(),
                mask: "00000000a80425fb".into(),
                privileged: false,
                added: Vec::new(),
                removed: Vec::new(),
            },
            "prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN|CAP_SYS_MODULE|CAP_NET_ADMIN); \
             prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL); \
             capset({_LINUX_CAPABILITY_VERSION_3, 0}, {effective=permitted=inheritable=0xa80425fb})"
                .into(),
            ok.clone(),
        ),
        (
            init,
            EventBody::SecurityNoNewPrivs {},
            "prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)".into(),
            ok.clone(),
        ),
        (
            init,
            EventBody::SecuritySeccomp {
                mode: "filter".into(),
                profile: "padrão".into(),
                path: None,
                default_action: "errno(EPERM)".into(),
                rule_count: 3,
                allowed_count: 2,
                blocked_action: "errno(ENOSYS)".into(),
                blocked_count: 1,
                blocked: vec!["clone3".into()],
                filters: 3,
                ignored: vec!["_llseek".into()],
            },
            "seccomp(SECCOMP_SET_MODE_FILTER, 0, {len=...}) x3".into(),
            ok.clone(),
        ),
        (
            init,
            EventBody::SecurityNonDumpable {},
            "prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)".into(),
            ok.clone(),
        ),
        (
            init,
            EventBody::ProcessSetsid { had_terminal: true },
            "setsid()".into(),
            ok.clone(),
        ),
        (
            init,
            EventBody::ProcessFdsClosed {
                first: 3,
                inherited: vec![5],
            },
            "close_range(3, ~0U, CLOSE_RANGE_CLOEXEC)".into(),
            ok.clone(),
        ),
        (
            init,
            EventBody::ProcessUser {
                uid: 1000,
                gid: 1000,
                groups: vec![1000, 10],
                name: Some("aluno".into()),
            },
            "setgroups(2, [1000, 10]); setgid(1000); setuid(1000)".into(),
            ok.clone(),
        ),
        (
            init,
            EventBody::ProcessTty {
                action: TtyAction::Open,
                path: "/dev/pts/0".into(),
                rows: 24,
                cols: 80,
            },
            "open(\"/dev/ptmx\", O_RDWR|O_NOCTTY) → /dev/pts/0; ioctl(TIOCSWINSZ, 24x80); \
             ioctl(TIOCSCTTY); dup2 → 0, 1, 2; sendmsg(SCM_RIGHTS)"
                .into(),
            ok.clone(),
        ),
        (
            host,
            EventBody::ProcessTty {
                action: TtyAction::Resize,
                path: "/dev/pts/0".into(),
                rows: 40,
                cols: 120,
            },
            "ioctl(master, TIOCSWINSZ, {ws_row=40, ws_col=120})".into(),
            ok.clone(),
        ),
        (
            host,
            EventBody::ProcessSignal {
                target_pid: 5001,
                signal: 2,
                signal_name: "SIGINT".into(),
            },
            "kill(5001, SIGINT)".into(),
            ok.clone(),
        ),
        (
            host,
            EventBody::DaemonRequest {
                method: "POST".into(),
                path: "/v1.43/containers/create".into(),
                client: "curl/7.88.1".into(),
            },
            "POST /v1.43/containers/create (User-Agent: curl/7.88.1)".into(),
            ok.clone(),
        ),
        (
            host,
            EventBody::TerminalAttach {
                client: "casulo attach".into(),
                attached: 1,
            },
            "accept4(attach.sock)".into(),
            ok.clone(),
        ),
        (
            host,
            EventBody::TerminalDetach {
                client: "casulo attach".into(),
                reason: DetachReason::Keys,
                attached: 0,
            },
            "close(attach.sock)".into(),
            ok.clone(),
        ),
        (
            host,
            EventBody::ProcessRestart {
                policy: "on-failure:3".into(),
                attempt: 1,
                exit_code: 3,
                delay_ms: 100,
            },
            "nanosleep(100 ms)".into(),
            ok.clone(),
        ),
        (
            host,
            EventBody::ProcessExit {
                exited_pid: 5001,
                code: None,
                signal: Some(2),
                signal_name: Some("SIGINT".into()),
            },
            "wait4(5001)".into(),
            ok.clone(),
        ),
    ]);
    // A second container of the run, limited to 64 MiB, dies of OOM; its
    // image's second layer deleted a file.
    let cg = "/sys/fs/cgroup/memory/casulo/ab12".to_string();
    let devices_cg = "/sys/fs/cgroup/devices/casulo/ab12".to_string();
    let freezer_cg = "/sys/fs/cgroup/freezer/casulo/ab12".to_string();
    raw.extend([
        (
            host,
            EventBody::LayerUpper {
                upperdir: "/var/lib/casulo/containers/ab12/upper".into(),
                added: 1,
                changed: 2,
                deleted: 1,
                bytes: 12,
                sample: vec![
                    "C /etc".into(),
                    "C /etc/hostname".into(),
                    "D /etc/motd".into(),
                    "A /novo".into(),
                ],
            },
            "lstat -R /var/lib/casulo/containers/ab12/upper".into(),
            ok.clone(),
        ),
        (
            host,
            EventBody::VolumeCreate {
                name: "dados".into(),
                path: "/var/lib/casulo/volumes/dados/_data".into(),
                target: "/dados".into(),
                anonymous: false,
            },
            "mkdir(\"/var/lib/casulo/volumes/dados/_data\", 0755)".into(),
            ok.clone(),
        ),
        (
            host,
            EventBody::LayerWhiteout {
                diff_id: LAYER2.into(),
                path: "/etc/motd".into(),
                opaque: false,
            },
            "mknod(\"…/etc/motd\", S_IFCHR|0000, makedev(0, 0))".into(),
            ok.clone(),
        ),
        (
            host,
            EventBody::CgroupCreate {
                path: cg.clone(),
                version: "v1".into(),
                controller: "memory".into(),
            },
            format!("mkdir(\"{cg}\", 0755)"),
            ok.clone(),
        ),
        (
            host,
            EventBody::CgroupLimit {
                controller: "memory".into(),
                file: format!("{cg}/memory.limit_in_bytes"),
                value: "67108864".into(),
            },
            format!("write {cg}/memory.limit_in_bytes = 67108864"),
            ok.clone(),
        ),
        (
            host,
            EventBody::CgroupDevices {
                path: devices_cg.clone(),
                version: "v1".into(),
                privileged: false,
                default_action: "deny".into(),
                allowed: [
                    "c *:* m",
                    "b *:* m",
                    "c 1:3 rwm",
                    "c 1:9 rwm",
                    "c 136:* rwm",
                ]
                .map(String::from)
                .to_vec(),
                program_insns: None,
            },
            format!(
                "write {devices_cg}/devices.deny = a; write {devices_cg}/devices.allow = c *:* m; \
                 write {devices_cg}/devices.allow = b *:* m; …"
            ),
            ok.clone(),
        ),
        (
            host,
            EventBody::CgroupAttach {
                path: cg.clone(),
                target_pid: 5002,
                via: AttachVia::Write,
            },
            format!("write {cg}/cgroup.procs = 5002"),
            ok.clone(),
        ),
        (
            host,
            EventBody::CgroupFreeze {
                file: format!("{freezer_cg}/freezer.state"),
                frozen: true,
            },
            format!("write {freezer_cg}/freezer.state = FROZEN"),
            ok.clone(),
        ),
        (
            host,
            EventBody::CgroupFreeze {
                file: format!("{freezer_cg}/freezer.state"),
                frozen: false,
            },
            format!("write {freezer_cg}/freezer.state = THAWED"),
            ok.clone(),
        ),
        (
            host,
            EventBody::CgroupSample {
                memory_bytes: Some(60 << 20),
                memory_peak_bytes: Some(63 << 20),
                memory_limit_bytes: Some(64 << 20),
                pids: Some(1),
                pids_limit: None,
                cpu_usage_us: Some(182_000),
                cpu_throttled_us: None,
            },
            format!("read {cg}/memory.usage_in_bytes, …"),
            ok.clone(),
        ),
        (
            host,
            EventBody::CgroupOom {
                path: cg.clone(),
                oom_kills: 1,
                limit_bytes: Some(64 << 20),
                peak_bytes: Some(64 << 20),
            },
            format!("read {cg}/memory.oom_control"),
            ok.clone(),
        ),
        (
            host,
            EventBody::CgroupPidsMax {
                path: "/sys/fs/cgroup/pids/casulo/ab12".into(),
                limit: 5,
                refused: 3,
            },
            "read /sys/fs/cgroup/pids/casulo/ab12/pids.events".into(),
            ok.clone(),
        ),
        (
            host,
            EventBody::CgroupDelete { path: cg.clone() },
            format!("rmdir(\"{cg}\")"),
            ok.clone(),
        ),
    ]);
    // The network of a `--network bridge -p 8080:80` run, then a build: in a
    // real trace they come before the exec and in a trace of their own.
    raw.extend([
        (
            host,
            EventBody::NetBridge {
                name: "casulo0".into(),
                address: "10.88.0.1/16".into(),
                created: true,
            },
            "RTM_NEWLINK casulo0 kind=bridge".into(),
            ok.clone(),
        ),
        (
            host,
            EventBody::NetVeth {
                host_ifname: "vethab12cd34".into(),
                container_ifname: "eth0".into(),
                netns_pid: init,
            },
            format!("RTM_NEWLINK vethab12cd34 kind=veth peer=eth0 netns_pid={init}"),
            ok.clone(),
        ),
        (
            host,
            EventBody::NetAttach {
                ifname: "vethab12cd34".into(),
                bridge: "casulo0".into(),
            },
            "RTM_NEWLINK vethab12cd34 master=casulo0".into(),
            ok.clone(),
        ),
        (
            init,
            EventBody::NetAddr {
                ifname: "eth0".into(),
                address: "10.88.0.5/16".into(),
                inside: true,
            },
            "RTM_NEWADDR eth0 10.88.0.5/16".into(),
            ok.clone(),
        ),
        (
            init,
            EventBody::NetRoute {
                destination: "default".into(),
                gateway: Some("10.88.0.1".into()),
                ifname: "eth0".into(),
                inside: true,
            },
            "RTM_NEWROUTE default via 10.88.0.1 dev eth0".into(),
            ok.clone(),
        ),
        (
            host,
            EventBody::NetPort {
                protocol: "tcp".into(),
                host_ip: "127.0.0.1".into(),
                host_port: 8080,
                container_ip: "10.88.0.5".into(),
                container_port: 80,
                mechanism: "proxy".into(),
            },
            "bind(127.0.0.1:8080) + listen".into(),
            ok.clone(),
        ),
        (
            host,
            EventBody::NetPortClose {
                protocol: "tcp".into(),
                host_ip: "127.0.0.1".into(),
                host_port: 8080,
            },
            "shutdown(fd 7, SHUT_RDWR) + close(fd 7) 127.0.0.1:8080/tcp".into(),
            ok.clone(),
        ),
        (
            host,
            EventBody::NetPasta {
                target_pid: init,
                helper_pid: 4250,
                ports: vec!["8080:80/tcp".into()],
            },
            "pasta --config-net --netns /proc/4243/ns/net -t 8080:80 -u none -T none -U none"
                .into(),
            ok.clone(),
        ),
        (
            host,
            EventBody::NetLinkDelete {
                ifname: "vethab12cd34".into(),
            },
            "RTM_DELLINK vethab12cd34".into(),
            ok.clone(),
        ),
        (
            host,
            EventBody::NetDnsListen {
                address: "127.0.0.11:53/udp".into(),
                network: "app".into(),
                netns_pid: 4243,
            },
            "setns(/proc/4243/ns/net) + socket(AF_INET, SOCK_DGRAM) + bind(127.0.0.11:53) + setns(back)".into(),
            ok.clone(),
        ),
        (
            host,
            EventBody::NetDns {
                name: "db".into(),
                qtype: "A".into(),
                answer: vec!["10.89.1.3".into()],
                resolved_by: "network".into(),
            },
            "recvfrom(127.0.0.11:53) + sendto(10.89.1.2:41234)".into(),
            ok.clone(),
        ),
        (
            host,
            EventBody::NetRule {
                action: "add".into(),
                chain: "forward".into(),
                rule: "iifname \"cas-3f2a9c1d\" oifname != \"cas-3f2a9c1d\" oifname \"cas-*\" drop comment \"casulo rede app\"".into(),
                purpose: "isolation".into(),
            },
            "nft add rule inet casulo forward iifname \"cas-3f2a9c1d\" …".into(),
            ok.clone(),
        ),
        (
            host,
            EventBody::BuildStart {
                context: "/home/aluna/app".into(),
                dockerfile: "/home/aluna/app/Dockerfile".into(),
                tag: Some("meu-app:1.0".into()),
                steps: 3,
            },
            "read /home/aluna/app/Dockerfile".into(),
            ok.clone(),
        ),
        (
            host,
            EventBody::BuildBase {
                image: "busybox:latest".into(),
                image_id: Some(
                    "sha256:1c35c441208254cb7c3844ba95a96485388cef9ccc0646d562c7fc026e04c807"
                        .into(),
                ),
                diff_ids: vec![LAYER.into()],
                stage: None,
                stage_index: None,
                from_stage: None,
            },
            "read /var/lib/casulo/images/index.json".into(),
            ok.clone(),
        ),
        (
            host,
            EventBody::BuildStep {
                step: 2,
                total: 3,
                line: 3,
                instruction: "RUN".into(),
                args: "echo oi > /oi.txt".into(),
                creates_layer: true,
                cache_key: LAYER2.into(),
                stage: None,
                stage_index: None,
                copy_from: None,
            },
            "sha256(parent + \"RUN echo oi > /oi.txt\")".into(),
            ok.clone(),
        ),
        (
            host,
            EventBody::BuildCacheHit {
                step: 2,
                cache_key: LAYER2.into(),
                diff_id: Some(LAYER2.into()),
            },
            format!("stat /var/lib/casulo/build-cache/{}", &LAYER2[7..]),
            ok.clone(),
        ),
        (
            host,
            EventBody::BuildDownload {
                step: 3,
                url: "http://127.0.0.1:8080/app.sh".into(),
                file: "app.sh".into(),
                bytes: 120,
                digest: LAYER2.into(),
                pinned: true,
            },
            "GET http://127.0.0.1:8080/app.sh".into(),
            ok.clone(),
        ),
        (
            host,
            EventBody::BuildLayer {
                step: 3,
                diff_id: LAYER2.into(),
                bytes: 10240,
                files: 3,
                created_by: "COPY app.sh /app/".into(),
            },
            format!("write /var/lib/casulo/images/blobs/sha256/{}", &LAYER2[7..]),
            ok.clone(),
        ),
        (
            host,
            EventBody::BuildCommit {
                tag: "meu-app:1.0".into(),
                image_id: "sha256:77aa0e1f2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6"
                    .into(),
                layers: 3,
            },
            "write /var/lib/casulo/images/index.json".into(),
            ok.clone(),
        ),
        (
            host,
            EventBody::ImageCommit {
                container: "meu-ctr".into(),
                digest: "sha256:5d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e"
                    .into(),
                diff_id: LAYER2.into(),
                size: 312,
                bytes: 10240,
                files: 6,
                whiteouts: 2,
                image_id: "sha256:88bb0e1f2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6"
                    .into(),
                tag: "meu-ctr:v1".into(),
                changes: vec![r#"CMD ["cat","/novo"]"#.into()],
            },
            "write /var/lib/casulo/images/index.json".into(),
            ok.clone(),
        ),

        (
            host,
            EventBody::RegistryPing {
                registry: "localhost:5000".into(),
                url: "http://localhost:5000/v2/".into(),
                status: 401,
                auth: "basic".into(),
            },
            "GET http://localhost:5000/v2/".into(),
            ok.clone(),
        ),
        (
            host,
            EventBody::RegistryAuth {
                registry: "localhost:5000".into(),
                scheme: "basic".into(),
                realm: "casulo".into(),
                scope: "repository:aluno/app:pull,push".into(),
                with_credentials: true,
                status: 0,
            },
            "Authorization: Basic (credenciais do casulo login)".into(),
            ok.clone(),
        ),
        (
            host,
            EventBody::RegistryBlobExists {
                registry: "localhost:5000".into(),
                repository: "aluno/app".into(),
                digest: LAYER.into(),
                size: 1_048_576,
                exists: true,
                local: false,
                layer: Some(0),
                status: 200,
            },
            format!("HEAD http://localhost:5000/v2/aluno/app/blobs/{LAYER}"),
            ok.clone(),
        ),
        (
            host,
            EventBody::RegistryBlobMount {
                registry: "localhost:5000".into(),
                repository: "aluno/app".into(),
                from: "base/busybox".into(),
                digest: LAYER2.into(),
                mounted: true,
                layer: Some(1),
                status: 201,
            },
            format!(
                "POST http://localhost:5000/v2/aluno/app/blobs/uploads/?mount={LAYER2}&from=base/busybox"
            ),
            ok.clone(),
        ),
        (
            host,
            EventBody::RegistryBlobUpload {
                registry: "localhost:5000".into(),
                repository: "aluno/app".into(),
                digest: LAYER2.into(),
                bytes: 4096,
                duration_us: 2100,
                chunks: 0,
                layer: Some(2),
                status: 201,
            },
            format!("PUT http://localhost:5000/v2/aluno/app/blobs/uploads/…?digest={LAYER2}"),
            ok.clone(),
        ),
        (
            host,
            EventBody::RegistryManifestPut {
                registry: "localhost:5000".into(),
                repository: "aluno/app".into(),
                tag: "v1".into(),
                digest: "sha256:9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b"
                    .into(),
                media_type: "application/vnd.oci.image.manifest.v1+json".into(),
                size: 742,
                layers: 3,
                status: 201,
            },
            "PUT http://localhost:5000/v2/aluno/app/manifests/v1".into(),
            ok.clone(),
        ),
        (
            host,
            EventBody::RegistryManifestGet {
                registry: "localhost:5000".into(),
                repository: "aluno/app".into(),
                reference: "v1".into(),
                digest: "sha256:9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b"
                    .into(),
                media_type: "application/vnd.oci.image.manifest.v1+json".into(),
                size: 742,
                layers: 3,
                platform: Some("linux/amd64".into()),
                status: 200,
            },
            "GET http://localhost:5000/v2/aluno/app/manifests/v1".into(),
            ok.clone(),
        ),
        (
            host,
            EventBody::RegistryBlobDownload {
                registry: "localhost:5000".into(),
                repository: "aluno/app".into(),
                digest: LAYER2.into(),
                bytes: 4096,
                duration_us: 1800,
                layer: Some(2),
                status: 200,
            },
            format!("GET http://localhost:5000/v2/aluno/app/blobs/{LAYER2}"),
            ok.clone(),
        ),
    ]);
    let mut t_us = 0;
    raw.into_iter()
        .enumerate()
        .map(|(seq, (pid, body, op, outcome))| {
            t_us += 37 + 211 * (seq as u64 % 5);
            Event {
                seq: seq as u64,
                t_us,
                pid,
                body,
                op,
                outcome,
            }
        })
        .collect()
}

/// The sample trace as the text of a `.trace.jsonl` file.
pub fn sample_jsonl() -> String {
    let mut out = serde_json::to_string(&sample_header()).expect("header serializes");
    out.push('\n');
    for e in sample_events() {
        out.push_str(&serde_json::to_string(&e).expect("event serializes"));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_has_every_kind() {
        let events = sample_events();
        for kind in crate::KINDS {
            assert!(
                events.iter().any(|e| e.body.kind() == *kind),
                "sample has no {kind}"
            );
        }
    }
}
