//! `casulo lab`: every lab of `labs/` against the real engine and kernel.
//!
//! For each lab, on a fresh state dir (its own `--root`, with busybox):
//! untouched, `lab verificar` fails with the expected ✗; each scripted
//! mistake makes its hint appear; the reference solution
//! (`labs/NN-nome/solucao.sh`) makes every task ✓ (exit 0), with links to
//! the proof in the visualizer. A malformed lab file is refused with
//! `file:line` and the field.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use casulo_tests::users::TestUser;
use casulo_tests::{casulo_bin, mounts_under, workspace_dir, Output};

/// A student: a fresh state dir with `busybox:latest`, removed at the end.
struct Student {
    dir: PathBuf,
    root: PathBuf,
}

impl Student {
    fn new(name: &str) -> Student {
        let base = std::env::temp_dir().join("casulo-tests");
        fs::create_dir_all(&base).unwrap();
        let dir = tempfile::Builder::new()
            .prefix(&format!("{name}-"))
            .tempdir_in(&base)
            .unwrap()
            .keep();
        let root = dir.join("state");
        let s = Student { dir, root };
        s.casulo(&["image", "bootstrap"]).assert_ok();
        s
    }

    fn casulo(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(casulo_bin());
        cmd.arg("--root").arg(&self.root).args(args);
        cmd.env_remove("CASULO_ROOT");
        Output::of(&mut cmd)
    }

    /// `sh -c script` as the student types it: `casulo` on the PATH,
    /// CASULO_ROOT set, in the lab's work folder when it exists.
    fn sh(&self, slug: &str, script: &str) -> Output {
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c").arg(script);
        self.env(&mut cmd, slug);
        Output::of(&mut cmd)
    }

    /// The lab's reference solution.
    fn solve(&self, slug: &str) -> Output {
        let script = workspace_dir().join("labs").join(slug).join("solucao.sh");
        let mut cmd = Command::new("/bin/sh");
        cmd.arg(&script);
        self.env(&mut cmd, slug);
        Output::of(&mut cmd)
    }

    fn env(&self, cmd: &mut Command, slug: &str) {
        let bin = casulo_bin();
        let path = format!(
            "{}:{}",
            bin.parent().unwrap().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        cmd.env("PATH", path).env("CASULO_ROOT", &self.root);
        // Before `lab iniciar` made the work folder, the student's own
        // folder: never the repository (a test that got the slug wrong
        // once wrote its fork.txt into tests/).
        let work = self.work(slug);
        cmd.current_dir(if work.is_dir() {
            work
        } else {
            self.dir.clone()
        });
    }

    fn work(&self, slug: &str) -> PathBuf {
        self.root.join("labs").join(slug).join("trabalho")
    }

    fn start(&self, n: &str) {
        self.casulo(&["lab", "iniciar", n]).assert_ok();
    }

    /// `lab verificar N` that must fail (exit 1), showing each of `expected`.
    #[track_caller]
    fn fails_with(&self, n: &str, expected: &[&str]) -> Output {
        let out = self.casulo(&["lab", "verificar", n]);
        out.assert_code(1);
        for e in expected {
            assert!(out.stdout.contains(e), "esperava {e:?} na saída:\n{out}");
        }
        out
    }

    /// `lab verificar N` that must pass: exit 0, every task ✓, no ✗.
    #[track_caller]
    fn passes(&self, n: &str, tasks: &[&str]) -> Output {
        let out = self.casulo(&["lab", "verificar", n]);
        out.assert_ok();
        for t in tasks {
            assert!(
                out.stdout.contains(&format!("✓ {t} —")),
                "esperava ✓ {t}:\n{out}"
            );
        }
        assert!(!out.stdout.contains('✗'), "{out}");
        out
    }
}

impl Drop for Student {
    fn drop(&mut self) {
        // Never delete through a mount (a failed test may leave one).
        if mounts_under(&self.dir).is_empty() && !std::thread::panicking() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// Every link the output gives to the visualizer points at a trace of the
/// state dir's `traces/` and at an event (`#evento=N`) that exists in it.
#[track_caller]
fn links_are_real(s: &Student, out: &Output) -> usize {
    links_in(&s.root, out)
}

/// [`links_are_real`] for the state dir `root`.
#[track_caller]
fn links_in(root: &Path, out: &Output) -> usize {
    let mut n = 0;
    for word in out.stdout.split_whitespace() {
        let Some(rest) = word.strip_prefix("http://127.0.0.1:8000/?trace=traces/") else {
            continue;
        };
        let (file, seq) = rest.split_once("#evento=").expect("link with #evento=");
        let trace = casulo_trace::read_trace_file(root.join("traces").join(file))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let seq: u64 = seq.parse().unwrap();
        assert!(
            trace.events.iter().any(|e| e.seq == seq),
            "{file} não tem o evento {seq}"
        );
        n += 1;
    }
    n
}

#[test]
fn lab_ls_lists_every_lab_with_its_chapter() {
    let s = Student::new("labs-ls");
    let out = s.casulo(&["lab", "ls"]);
    out.assert_ok();
    for (n, chapter) in [
        ("01", "01-o-que-e-um-conteiner"),
        ("02", "02-namespaces"),
        ("03", "03-cgroups"),
        ("04", "04-camadas"),
        ("05", "05-imagens-e-conteineres"),
        ("06", "06-dockerfile-e-build"),
        ("07", "09-rede"),
        ("08", "11-seguranca"),
        ("09", "01-o-que-e-um-conteiner"),
        ("10", "11-seguranca"),
        ("12", "07-registry"),
        ("13", "10-daemon-api-cliente"),
        ("14", "11-seguranca"),
    ] {
        assert!(
            out.stdout
                .lines()
                .any(|l| l.starts_with(n) && l.contains(chapter)),
            "{out}"
        );
    }
    // English aliases.
    s.casulo(&["lab", "list"]).assert_ok();
    let out = s.casulo(&["lab", "check", "1"]);
    assert_eq!(out.code, 125, "{out}");
    assert!(out.stderr.contains("ainda não foi iniciado"), "{out}");
    let out = s.casulo(&["lab", "iniciar", "99"]);
    assert!(out.stderr.contains("laboratório não encontrado"), "{out}");
}

#[test]
fn lab01_seu_primeiro_conteiner() {
    let slug = "01-seu-primeiro-conteiner";
    let s = Student::new("lab01");
    s.start("1");
    s.fails_with(
        "1",
        &[
            "✗ pid1 —",
            "nenhum trace de execução desde que você iniciou o laboratório",
            "· hostname —",
        ],
    );
    // Mistake: a command that is not sh.
    s.sh(slug, "casulo run --rm busybox true").assert_ok();
    s.fails_with(
        "1",
        &[
            "✗ pid1 —",
            "dica: Seu contêiner rodou, mas o comando não foi `sh`",
        ],
    );
    // Mistake: no --hostname.
    s.sh(slug, "casulo run --rm busybox sh -c 'echo $$'")
        .assert_ok();
    let out = s.fails_with(
        "1",
        &[
            "✓ pid1 —",
            "✗ hostname —",
            "dica: Seu contêiner ficou com o hostname padrão do casulo",
        ],
    );
    assert!(links_are_real(&s, &out) >= 2, "{out}");
    // `lab dica` gives the hints in order.
    let h = s.casulo(&["lab", "dica", "1"]);
    assert!(
        h.stdout
            .contains("Dica 1 de 2: O hostname mora no namespace UTS"),
        "{h}"
    );
    let h = s.casulo(&["lab", "hint", "1"]);
    assert!(h.stdout.contains("Dica 2 de 2"), "{h}");
    // Mistake: fora.txt with the PID seen inside (1), not the host's.
    s.sh(
        slug,
        "casulo run --rm --hostname meu-casulo busybox sh -c 'echo \"PID $$\"; hostname' > dentro.txt && \
         { casulo run --rm busybox sleep 30 & S=$!; sleep 0.3; kill -TERM $S; sleep 0.2; kill -TERM $S; wait $S; \
           echo '    1 sleep 30' > fora.txt; }",
    )
    .assert_ok();
    s.fails_with(
        "1",
        &["✓ dentro —", "✗ fora —", "dica: fora.txt mostra o PID 1?"],
    );
    s.solve(slug).assert_ok();
    let out = s.passes("1", &["pid1", "hostname", "dentro", "fora"]);
    assert!(links_are_real(&s, &out) >= 3, "{out}");
    // reiniciar: nothing counts any more.
    s.casulo(&["lab", "reiniciar", "1"]).assert_ok();
    s.fails_with("1", &["nenhum trace de execução"]);
}

#[test]
fn lab03_limite_de_memoria() {
    let slug = "03-limite-de-memoria";
    let s = Student::new("lab03");
    s.start("3");
    s.fails_with("3", &["✗ limite —", "nenhum trace de execução", "· oom —"]);
    // Mistake: no --memory.
    s.sh(slug, "casulo run --rm busybox true").assert_ok();
    s.fails_with(
        "3",
        &["✗ limite —", "dica: Seu contêiner rodou, mas sem --memory"],
    );
    // Mistake: a limit above 64 MiB.
    s.sh(slug, "casulo run --rm --memory 128m busybox true")
        .assert_ok();
    s.fails_with(
        "3",
        &[
            "✗ limite —",
            "dica: Você pôs um limite, mas maior que 64 MiB",
        ],
    );
    // Mistake: a limit, but no OOM.
    s.sh(slug, "casulo run --rm --memory 32m busybox true")
        .assert_ok();
    s.fails_with(
        "3",
        &[
            "✓ limite —",
            "✗ oom —",
            "codigo_saida: esperava 137; no trace: 0",
            "dica: Seu contêiner tinha limite, mas não passou dele",
        ],
    );
    // Mistake: the CLI's message instead of the trace's line.
    s.sh(
        slug,
        "echo 'casulo: o kernel matou o processo: limite (OOM)' > oom.txt",
    )
    .assert_ok();
    s.sh(
        slug,
        "casulo run --rm --memory 32m busybox dd if=/dev/zero of=/dev/null bs=200M count=1",
    )
    .assert_code(137);
    s.fails_with(
        "3",
        &[
            "✓ oom —",
            "✗ achar —",
            "dica: oom.txt tem a mensagem do casulo run",
        ],
    );
    s.solve(slug).assert_ok();
    let out = s.passes("3", &["limite", "oom", "achar"]);
    assert!(links_are_real(&s, &out) >= 2, "{out}");
}

#[test]
fn lab04_camadas() {
    let slug = "04-camadas";
    let s = Student::new("lab04");
    s.start("4");
    assert!(
        s.work(slug).join("Dockerfile").is_file(),
        "lab iniciar copia o Dockerfile"
    );
    s.fails_with(
        "4",
        &[
            "✗ build —",
            "nenhum trace de build",
            "a imagem camadas:1.0 não existe",
        ],
    );
    // Mistake: a build with no tag.
    s.sh(slug, "casulo build .").assert_ok();
    s.fails_with(
        "4",
        &["✗ build —", "dica: Seu build terminou, mas sem nome"],
    );
    // Mistake: the copy-up in a container run with --rm.
    s.sh(slug, "casulo build -t camadas:1.0 . && casulo run --rm camadas:1.0 sh -c 'echo mudei >> /camada1.txt'").assert_ok();
    s.fails_with(
        "4",
        &[
            "✓ build —",
            "✓ whiteout —",
            "✗ copy-up —",
            "dica: Nenhum contêiner de camadas:1.0 ficou guardado",
        ],
    );
    s.solve(slug).assert_ok();
    let out = s.passes("4", &["build", "whiteout", "copy-up"]);
    assert!(links_are_real(&s, &out) >= 3, "{out}");
    s.casulo(&["rm", "copia"]).assert_ok();
}

#[test]
fn lab05_imagem_e_conteiner() {
    let slug = "05-imagem-e-conteiner";
    let s = Student::new("lab05");
    s.start("5");
    // Mistake: the writes in containers run with --rm.
    s.sh(
        slug,
        "casulo run --rm busybox sh -c 'echo x > /quem-sou-eu.txt'",
    )
    .assert_ok();
    s.fails_with(
        "5",
        &[
            "✗ tres —",
            "há 0 contêiner(es) guardado(s) da imagem busybox:latest",
            "dica: Você escreveu /quem-sou-eu.txt, mas com --rm",
        ],
    );
    // Mistake: three kept containers writing the same thing.
    s.sh(slug, "for i in 1 2 3; do casulo run --name igual$i busybox sh -c 'echo igual > /quem-sou-eu.txt'; done").assert_ok();
    s.fails_with("5", &["✗ tres —", "tem o mesmo conteúdo nos contêineres"]);
    s.casulo(&["rm", "igual1", "igual2", "igual3"]).assert_ok();
    s.solve(slug).assert_ok();
    let out = s.passes("5", &["tres", "separados", "imagem-intacta"]);
    assert!(links_are_real(&s, &out) >= 1, "{out}");
    s.casulo(&["rm", "bolo1", "bolo2", "bolo3"]).assert_ok();
}

#[test]
fn lab06_dockerfile_e_cache() {
    let slug = "06-dockerfile-e-cache";
    let s = Student::new("lab06");
    s.start("6");
    s.fails_with("6", &["✗ build —", "nenhum trace de build"]);
    // Mistake: rebuilding without changing anything.
    s.sh(
        slug,
        "casulo build -t app:1.0 . && casulo build -t app:1.0 .",
    )
    .assert_ok();
    s.fails_with(
        "6",
        &[
            "✓ build —",
            "✗ cache —",
            "dica: Seu último build veio todo do cache",
        ],
    );
    // Mistake: --no-cache.
    s.sh(
        slug,
        "echo outra > mensagem.txt && casulo build --no-cache -t app:1.0 .",
    )
    .assert_ok();
    s.fails_with(
        "6",
        &["✗ cache —", "dica: Dois builds sem nenhum passo do cache"],
    );
    // The cache task done; then the reordered Dockerfile built twice with the same message.
    s.sh(
        slug,
        "echo 'olá, versão 2' > mensagem.txt && casulo build -t app:1.0 .",
    )
    .assert_ok();
    s.sh(
        slug,
        "awk 'NR == 3 { copy = $0; next } { print } NR == 4 { print copy }' Dockerfile > Dockerfile.novo && mv Dockerfile.novo Dockerfile && \
         casulo build -t app:1.0 . && casulo build -t app:1.0 .",
    )
    .assert_ok();
    s.fails_with(
        "6",
        &[
            "✓ cache —",
            "✗ reordenar —",
            "dica: Você reordenou o Dockerfile, mas o último build veio todo do cache",
        ],
    );
    s.solve(slug).assert_ok();
    let out = s.passes("6", &["build", "cache", "reordenar"]);
    assert!(links_are_real(&s, &out) >= 3, "{out}");
}

#[test]
fn lab07_rede() {
    let slug = "07-rede";
    let s = Student::new("lab07");
    s.start("7");
    s.fails_with("7", &["✗ bridge —", "nenhum trace de execução"]);
    // Mistake: the default network (only lo).
    s.sh(slug, "casulo run --rm busybox ip addr").assert_ok();
    s.fails_with(
        "7",
        &[
            "✗ bridge —",
            "faltou um evento net.veth",
            "dica: Seu contêiner rodou com a rede padrão do casulo",
        ],
    );
    // Mistake: the client with the default network (only lo).
    s.sh(
        slug,
        "casulo run --rm --network bridge busybox sh -c 'ip addr show eth0; ip route' && \
         casulo run --rm busybox wget -qO- -T 1 http://10.88.0.1/; true",
    )
    .assert_ok();
    s.fails_with(
        "7",
        &[
            "✓ bridge —",
            "✗ conversa —",
            "dica: O cliente rodou sem rede",
        ],
    );
    // Mistake: a server on the bridge, reached by another container, but with no -p.
    s.sh(
        slug,
        "casulo run --rm --network bridge busybox sh -c 'ip addr show eth0; ip route' && \
         (casulo run --rm --network bridge busybox sh -c \
           'ip -4 addr show eth0 | grep inet; mkdir /www; echo \"olá do casulo\" > /www/index.html; exec httpd -f -p 80 -h /www' > servidor.txt 2>&1 & \
          S=$!; for _ in $(seq 100); do grep -q inet servidor.txt && break; sleep 0.1; done; \
          IP=$(sed -n 's/.*inet \\([0-9.]*\\)\\/.*/\\1/p' servidor.txt); \
          for _ in $(seq 50); do casulo run --rm --network bridge busybox wget -qO- http://$IP/ > conversa.txt && break; sleep 0.1; done; \
          kill -TERM $S; sleep 0.2; kill -TERM $S; wait $S; true)",
    )
    .assert_ok();
    s.fails_with(
        "7",
        &[
            "✓ bridge —",
            "✓ conversa —",
            "✗ porta —",
            "dica: Seu servidor rodou sem -p",
        ],
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = Command::new("/bin/sh");
    cmd.arg(workspace_dir().join("labs").join(slug).join("solucao.sh"));
    s.env(&mut cmd, slug);
    cmd.env("PORTA", port.to_string());
    Output::of(&mut cmd).assert_ok();
    let out = s.passes(
        "7",
        &[
            "bridge",
            "conversa",
            "porta",
            "pelo-nome",
            "isolamento",
            "conectar",
        ],
    );
    assert!(links_are_real(&s, &out) >= 3, "{out}");
}

#[test]
fn lab02_namespaces_na_mao() {
    let slug = "02-namespaces-na-mao";
    let s = Student::new("lab02");
    s.start("2");
    s.fails_with("2", &["✗ unshare —", "na-mao.txt não existe"]);
    // Mistake: unshare --pid without --fork (the shell is not in the new pid namespace).
    // (The first child becomes the namespace's PID 1; once it ends nothing
    // else can fork there: the student sees "Cannot fork" after the echo.)
    s.sh(slug, "unshare --uts --pid --mount-proc sh -c 'echo \"PID $$\"; hostname na-mao; hostname' > na-mao.txt; true").assert_ok();
    s.fails_with(
        "2",
        &["✗ unshare —", "dica: O shell não é o PID 1: faltou --fork"],
    );
    // Mistake: `hostname na-mao` without --uts renames the host. Scripted in
    // a throwaway UTS namespace that the checker shares, so the real host
    // keeps its name.
    let out = s.sh(
        slug,
        "unshare --uts sh -c 'hostname na-mao; casulo lab verificar 2'",
    );
    out.assert_code(1);
    assert!(
        out.stdout.contains("dica: O hostname do HOST virou na-mao"),
        "{out}"
    );
    s.solve(slug).assert_ok();
    let out = s.passes("2", &["unshare", "nsenter", "casulo"]);
    assert!(links_are_real(&s, &out) >= 1, "{out}");
}

#[test]
fn lab11_volumes() {
    let slug = "11-volumes";
    let s = Student::new("lab11");
    s.start("11");
    s.fails_with("11", &["✗ guarda —", "· sobrevive —"]);
    // Mistake: an anonymous volume (gone with --rm).
    s.sh(
        slug,
        "casulo run --rm -v /dados busybox sh -c 'echo x > /dados/diario.txt'",
    )
    .assert_ok();
    s.fails_with("11", &["✗ guarda —", "dica: Seu volume não tem nome"]);
    s.sh(
        slug,
        "casulo run --rm -v diario:/dados busybox sh -c 'echo primeiro dia >> /dados/diario.txt'",
    )
    .assert_ok();
    // Mistake: reading without the volume.
    s.sh(slug, "casulo run --rm busybox cat /dados/diario.txt; true")
        .assert_ok();
    s.fails_with(
        "11",
        &[
            "✓ guarda —",
            "✗ sobrevive —",
            "dica: O cat rodou num contêiner sem o volume",
        ],
    );
    s.solve(slug).assert_ok();
    let out = s.passes("11", &["guarda", "sobrevive", "so-leitura"]);
    assert!(links_are_real(&s, &out) >= 2, "{out}");
    assert!(mounts_under(&s.dir).is_empty());
}

#[test]
fn lab08_fuga_do_chroot() {
    let slug = "08-fuga-do-chroot";
    let s = Student::new("lab08");
    s.start("8");
    s.fails_with("8", &["✗ fuga —", "fuga-chroot.txt não existe"]);
    // Mistake: the escape without mounting /proc in the jail.
    s.sh(
        slug,
        "./prepara-jaula.sh && unshare --mount chroot jaula /bin/sh -c \"cat /proc/$$/root$PWD/segredo-do-host.txt\" > fuga-chroot.txt 2>&1; true",
    )
    .assert_ok();
    s.fails_with(
        "8",
        &["✗ fuga —", "dica: Dentro da jaula o /proc está vazio"],
    );
    s.solve(slug).assert_ok();
    let out = s.passes("8", &["fuga", "casulo"]);
    assert!(links_are_real(&s, &out) >= 1, "{out}");
    assert!(
        mounts_under(&s.dir).is_empty(),
        "a jaula não deixa montagens"
    );
}

#[test]
fn lab09_vinte_conteineres() {
    let slug = "09-vinte-conteineres";
    let s = Student::new("lab09");
    s.start("9");
    s.fails_with("9", &["✗ vinte —", "nenhum trace de execução"]);
    // Not enough: one container is not twenty.
    s.sh(slug, "casulo run --rm busybox sleep 0.5").assert_ok();
    s.fails_with(
        "9",
        &[
            "✗ vinte —",
            "1 de 1 traces de execução conferem; esperava ≥ 20",
        ],
    );
    s.solve(slug).assert_ok();
    let out = s.passes("9", &["vinte", "leves", "medidas"]);
    assert!(links_are_real(&s, &out) >= 1, "{out}");
}

/// Lab 10 runs the same attacks with and without `--privileged`: the
/// privileged half needs `casulo run --privileged` (branch sec-privileges).
#[test]
fn lab10_o_root_do_conteiner() {
    let slug = "10-o-root-do-conteiner";
    let s = Student::new("lab10");
    s.start("10");
    s.fails_with("10", &["✗ imagem —", "a imagem ataques:1 não existe"]);
    // Mistake: the "privileged" run without --privileged.
    s.sh(
        slug,
        "casulo build -t ataques:1 . && casulo run --rm ataques:1 > padrao.txt && \
         casulo run --rm ataques:1 > privilegiado.txt",
    )
    .assert_ok();
    let out = s.fails_with(
        "10",
        &[
            "✓ imagem —",
            "✓ padrao —",
            "✗ privilegiado —",
            "dica: O privilegiado.txt mostra os ataques recusados",
        ],
    );
    // The default run refused what the lab says it refuses.
    let default = fs::read_to_string(s.work(slug).join("padrao.txt")).unwrap();
    for line in [
        "umount /proc/sys: recusado",
        "escrever /proc/sys/kernel/core_pattern: recusado",
        "mount -t proc: recusado",
        "insmod (carregar um módulo): recusado",
        "unshare -U (user namespace): recusado",
        "hostname: recusado",
        "ping (socket raw): contido",
    ] {
        assert!(
            default.contains(line),
            "{line:?} em padrao.txt:\n{default}\n{out}"
        );
    }
    assert!(!default.contains("PERMITIDO"), "{default}");
    // The book shows this same script (its scenarios embed a copy).
    let script = fs::read_to_string(
        workspace_dir()
            .join("labs")
            .join(slug)
            .join("arquivos/ataques.sh"),
    )
    .unwrap();
    for scenario in ["11-ataques.toml", "11-ataques-privilegiado.toml"] {
        let text =
            fs::read_to_string(workspace_dir().join("book/exemplos").join(scenario)).unwrap();
        let copy = text
            .split_once("conteudo = '''\n")
            .and_then(|(_, rest)| rest.split_once("'''"))
            .map(|(body, _)| body)
            .unwrap_or_else(|| panic!("{scenario}: sem o ataques.sh"));
        assert_eq!(
            copy, script,
            "book/exemplos/{scenario} e o ataques.sh do lab 10 divergem"
        );
    }
    s.solve(slug).assert_ok();
    let out = s.passes("10", &["imagem", "padrao", "privilegiado"]);
    assert!(links_are_real(&s, &out) >= 2, "{out}");
}

/// The worked example of labs/README.md (lab 15, written for teachers) is
/// a real lab: run from its folder with `--dir`, it fails untouched and
/// passes once its tasks are done.
#[test]
fn the_teachers_worked_example_works_with_dir() {
    let s = Student::new("labs-exemplo");
    let guide = fs::read_to_string(workspace_dir().join("labs").join("README.md")).unwrap();
    let start = guide
        .find("```toml\ntitulo = \"Limite de processos\"")
        .expect("the example in labs/README.md")
        + "```toml\n".len();
    let end = start + guide[start..].find("```").unwrap();
    let dir = s.dir.join("15-limite-de-processos");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("lab.toml"), &guide[start..end]).unwrap();
    let d = dir.to_str().unwrap();
    s.casulo(&["lab", "iniciar", "--dir", d]).assert_ok();
    let slug = "15-limite-de-processos";
    s.sh(slug, "casulo run --rm busybox true").assert_ok();
    let out = s.casulo(&["lab", "verificar", "--dir", d]);
    out.assert_code(1);
    assert!(
        out.stdout
            .contains("dica: Seu contêiner rodou sem --pids-limit"),
        "{out}"
    );
    s.sh(
        slug,
        "casulo run --rm --pids-limit 10 busybox sh -c 'for i in $(seq 20); do sleep 1 & done; wait' > fork.txt 2>&1; true",
    )
    .assert_ok();
    let out = s.casulo(&["lab", "verificar", "--dir", d]);
    out.assert_ok();
    assert!(
        out.stdout.contains("✓ limite —") && out.stdout.contains("✓ recusado —"),
        "{out}"
    );
    assert!(links_are_real(&s, &out) >= 2, "{out}");
}

#[test]
fn malformed_lab_files_are_refused_with_file_line_and_field() {
    let s = Student::new("labs-malformed");
    let dir = s.dir.join("10-meu-lab");
    fs::create_dir_all(&dir).unwrap();
    let good = "titulo = \"Meu lab\"\n\
                capitulo = \"02-namespaces\"\n\
                resumo = \"r\"\n\
                \n\
                [[tarefa]]\n\
                id = \"a\"\n\
                titulo = \"A\"\n\
                \n  [[tarefa.confere]]\n\
                \x20 trace = \"run\"\n\
                \x20 com = [{ evento = \"namespace.create\", ns = \"pid\" }]\n";
    let cases: &[(&str, &str, &[&str])] = &[
        // (what to replace, with what, expected in the message)
        (
            "titulo = \"A\"\n",
            "titulo = \"A\"\ntitlo = \"x\"\n",
            &["lab.toml:8:", "campo desconhecido", "titlo"],
        ),
        (
            "namespace.create",
            "namespace.criar",
            &["lab.toml:11:", "campo `com`", "namespace.criar"],
        ),
        (
            "  trace = \"run\"\n",
            "  trace = \"rodar\"\n",
            &["lab.toml:10:", "campo `trace`", "rodar"],
        ),
        (
            "id = \"a\"\n",
            "id = \"a\"\ndepende = [\"z\"]\n",
            &["lab.toml:7:", "campo `depende`", "\"z\""],
        ),
        (
            "resumo = \"r\"\n",
            "",
            &["lab.toml:", "falta o campo", "resumo"],
        ),
        (
            "  com = ",
            "  fatos = { pid = 1 }\n  com = ",
            &["lab.toml:11:", "campo `fatos`", "fato desconhecido `pid`"],
        ),
    ];
    let path = dir.join("lab.toml");
    fs::write(&path, good).unwrap();
    s.casulo(&["lab", "iniciar", "--dir", dir.to_str().unwrap()])
        .assert_ok();
    for (from, to, expected) in cases {
        assert!(good.contains(from), "{from:?}");
        fs::write(&path, good.replacen(from, to, 1)).unwrap();
        let out = s.casulo(&["lab", "verificar", "--dir", dir.to_str().unwrap()]);
        assert_eq!(out.code, 125, "{out}");
        for e in *expected {
            assert!(out.stderr.contains(e), "esperava {e:?}:\n{out}");
        }
    }
}

#[test]
fn lab12_registry() {
    let slug = "12-registry";
    let registry = casulo_tests::registry::Registry::start();
    let reg = &registry.addr;
    let s = Student::new("lab12");
    s.start("12");
    s.fails_with(
        "12",
        &["✗ publica —", "nenhum trace de push", "· de-novo —"],
    );
    // Mistake: the registry's address is wrong (nobody listens there).
    let nobody = casulo_tests::registry::free_addr().unwrap();
    s.sh(
        slug,
        &format!(
            "casulo build -t app:v1 . && casulo image tag app:v1 {nobody}/aluno/app:v1 && \
             casulo push {nobody}/aluno/app:v1; true"
        ),
    )
    .assert_ok();
    s.fails_with("12", &["✗ publica —", "dica: O registry não respondeu"]);
    s.sh(
        slug,
        &format!(
            "casulo image tag app:v1 {reg}/aluno/app:v1 && casulo push {reg}/aluno/app:v1 && \
             casulo build -t app:v2 derivada && casulo image tag app:v2 {reg}/aluno/app:v2 && \
             casulo push {reg}/aluno/app:v2"
        ),
    )
    .assert_ok();
    // Mistake: the v2 pulled while it is still here, then with v1 gone too.
    s.sh(slug, &format!("casulo pull {reg}/aluno/app:v2"))
        .assert_ok();
    let out = s.fails_with(
        "12",
        &[
            "✓ publica —",
            "✓ versao-2 —",
            "✗ so-o-que-falta —",
            "dica: Seu pull não baixou nada",
        ],
    );
    assert!(out.stdout.contains("✗ de-novo —"), "{out}");
    s.sh(
        slug,
        &format!(
            "casulo image rm app:v1 {nobody}/aluno/app:v1 {reg}/aluno/app:v1 app:v2 {reg}/aluno/app:v2 && \
             casulo pull {reg}/aluno/app:v2"
        ),
    )
    .assert_ok();
    s.fails_with(
        "12",
        &[
            "✗ so-o-que-falta —",
            "dica: Seu pull baixou mais de uma camada",
        ],
    );
    // Another student, another registry: the reference solution.
    let registry = casulo_tests::registry::Registry::start();
    let s = Student::new("lab12-solucao");
    s.start("12");
    let mut cmd = Command::new("/bin/sh");
    cmd.arg(workspace_dir().join("labs").join(slug).join("solucao.sh"));
    s.env(&mut cmd, slug);
    cmd.env("REGISTRO", &registry.addr);
    let out = Output::of(&mut cmd);
    out.assert_ok();
    assert!(
        out.stdout
            .contains("1 de 4 camadas baixada, 3 já estavam aqui"),
        "{out}"
    );
    let out = s.passes(
        "12",
        &[
            "publica",
            "de-novo",
            "versao-2",
            "so-o-que-falta",
            "nada-a-baixar",
        ],
    );
    assert!(links_are_real(&s, &out) >= 5, "{out}");
}

/// Lab 13: a real `casulo daemon` the student starts, driven by `curl
/// --unix-socket` and by the real docker CLI; the checker tells them apart
/// by the `daemon.request` each container's trace starts with.
#[test]
fn lab13_daemon() {
    let slug = "13-daemon";
    let s = Student::new("lab13");
    s.start("13");
    s.fails_with(
        "13",
        &["✗ pela-api —", "· espera-e-saida —", "✗ pelo-docker —"],
    );
    // Mistakes: the echo by `casulo run` (no daemon at all), and a
    // container created through the API but never started.
    s.sh(slug, "casulo run --name direto busybox echo 'olá, docker'")
        .assert_ok();
    s.fails_with(
        "13",
        &[
            "dica: Este contêiner nasceu de um `casulo run`",
            "dica: Seu `echo` com docker rodou, mas sem passar pelo casulo daemon",
        ],
    );
    let script = r#"
        SOCK=$PWD/d.sock
        casulo daemon --socket $SOCK 2> d.log &
        D=$!
        i=0; until curl -s --unix-socket $SOCK http://c/_ping >/dev/null; do
          i=$((i+1)); [ $i -lt 200 ] || exit 1; sleep 0.1; done
        curl -s --fail-with-body --unix-socket $SOCK -H 'Content-Type: application/json' \
          -d '{"Image":"busybox","Cmd":["echo","olá, API"]}' \
          'http://c/v1.43/containers/create?name=so-criado'
        kill $D; wait $D
    "#;
    s.sh(slug, script).assert_ok();
    s.fails_with(
        "13",
        &[
            "✗ pela-api —",
            "dica: Você criou o contêiner pela API, mas não o iniciou",
        ],
    );
    s.casulo(&["rm", "direto", "so-criado"]).assert_ok();

    let out = s.solve(slug);
    out.assert_ok();
    assert!(out.stdout.contains("olá, docker"), "{out}");
    let out = s.passes(
        "13",
        &["pela-api", "espera-e-saida", "pelo-docker", "os-dois"],
    );
    assert!(links_are_real(&s, &out) >= 2, "{out}");
    // The logs came framed (docker's multiplexed stream): 1 = stdout.
    let logs = fs::read(s.work(slug).join("logs.txt")).unwrap();
    assert_eq!(&logs[..4], b"\x01\0\0\0", "{logs:?}");
    assert!(
        !s.work(slug).join("casulo.sock").exists(),
        "o daemon parou e levou o socket"
    );
    s.casulo(&["rm", "pela-api", "pelo-docker"]).assert_ok();
}

/// Lab 14 as its student does it: an ordinary user made by the test (with
/// sub-ids; removed at the end, also on failure), in its own rootless state
/// (`~/.local/share/casulo`), not a `--root` of root's. Root-only labs are
/// refused to it up front (and lab 14 to root), the common mistakes show
/// their hints, the reference solution passes with links to the user's
/// own traces, `reiniciar` deletes what the container's other users wrote,
/// and nothing in the user's state belongs to the host's root.
#[test]
fn lab14_sem_root() {
    // Root is pointed to the student's side, and nothing is made.
    let dir = tempfile::tempdir().unwrap();
    let root_state = dir.path().join("state");
    let out = Output::of(
        Command::new(casulo_bin())
            .arg("--root")
            .arg(&root_state)
            .args(["lab", "iniciar", "14"])
            .env_remove("CASULO_ROOT"),
    );
    out.assert_code(125);
    assert!(
        out.stderr.contains("o laboratório 14") && out.stderr.contains("sem sudo"),
        "{out}"
    );
    assert!(!root_state.exists(), "nada criado: {out}");

    let user = TestUser::new("lab14", true);
    user.casulo(&["image", "bootstrap"]).assert_ok();
    let out = user.casulo(&["lab", "iniciar", "3"]);
    out.assert_code(125);
    for e in ["o laboratório 3 precisa de root", "`casulo lab iniciar 14`"] {
        assert!(out.stderr.contains(e), "esperava {e:?}:\n{out}");
    }
    assert!(!user.state().join("labs").exists(), "nada criado: {out}");
    let ls = user.casulo(&["lab", "ls"]);
    ls.assert_ok();
    assert!(
        ls.stdout
            .lines()
            .any(|l| l.starts_with("03") && l.ends_with("precisa de root")),
        "{ls}"
    );
    assert!(
        ls.stdout.contains("Sem root, faça o laboratório 14"),
        "{ls}"
    );

    let work = user.state().join("labs/14-sem-root/trabalho");
    let out = user.casulo(&["lab", "iniciar", "14"]);
    out.assert_ok();
    assert!(
        out.stdout
            .contains(&format!("Pasta de trabalho: {}", work.display())),
        "{out}"
    );
    assert!(work.join("Dockerfile").is_file(), "{out}");
    let verify = |code: i32, expected: &[&str]| {
        let out = user.casulo(&["lab", "verificar", "14"]);
        out.assert_code(code);
        for e in expected {
            assert!(out.stdout.contains(e), "esperava {e:?} na saída:\n{out}");
        }
        out
    };
    verify(
        1,
        &[
            "✗ mapa —",
            "nenhum trace de execução desde que você iniciou o laboratório",
            "✗ recusa —",
            "recusa.txt não existe",
            "a imagem sem-root:1 não existe",
        ],
    );

    // The common mistakes: `id` on the host, the refusal without 2>&1,
    // `stat` inside the container.
    user.sh(
        &work,
        "casulo run --rm busybox true; id > dentro.txt; \
         casulo run --rm --memory 64m busybox true | tee recusa.txt; mkdir -p dados; \
         casulo run --rm -v \"$PWD/dados\":/dados busybox \
           sh -c 'id -u > /dados/quem.txt; stat -c \"%u:%g %n\" /dados/quem.txt' > dono.txt",
    );
    verify(
        1,
        &[
            "✗ mapa —",
            "dica: O dentro.txt tem um `id` que não é 0",
            "✗ dono —",
            "dica: O dono.txt diz 0:0",
            "✗ recusa —",
            "dica: O recusa.txt está vazio",
        ],
    );
    let hint = user.casulo(&["lab", "dica", "14"]);
    hint.assert_ok();
    assert!(
        hint.stdout.contains("Tarefa mapa") && hint.stdout.contains("Dica 1 de 2"),
        "{hint}"
    );

    // The reference solution, as the user (who may not read the repository).
    let script = fs::read_to_string(workspace_dir().join("labs/14-sem-root/solucao.sh")).unwrap();
    user.sh(&user.home, &script).assert_ok();
    let out = verify(0, &["✓ mapa —", "✓ dono —", "✓ recusa —", "✓ build —"]);
    assert!(!out.stdout.contains('✗'), "{out}");
    assert!(links_in(&user.state(), &out) >= 3, "{out}");
    let progress = user.state().join("labs/14-sem-root/progresso.json");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(fs::metadata(&progress).unwrap().uid(), user.uid);

    // A directory a container's uid 1000 wrote (a sub-id of the user's on
    // the host, closed to the user): `reiniciar` deletes it all the same.
    user.sh(
        &work,
        "casulo run --rm -v \"$PWD/dados\":/dados busybox \
           sh -c 'mkdir /dados/d; echo x > /dados/d/f; chown -R 1000:1000 /dados/d; chmod 700 /dados/d'",
    )
    .assert_ok();
    let (start, _) = user.subids.unwrap();
    assert_eq!(
        fs::metadata(work.join("dados/d")).unwrap().uid(),
        start + 999
    );
    user.casulo(&["lab", "reiniciar", "14"]).assert_ok();
    assert!(!work.join("dados").exists() && work.join("Dockerfile").is_file());
    user.assert_clean();
}

/// Lab 14 for a student with no line in `/etc/subuid` (a single-id map,
/// `0 <uid> 1`), as on lab machines whose users come from a directory
/// service: the reference solution passes all the same.
#[test]
fn lab14_sem_root_without_sub_ids() {
    let user = TestUser::new("lab14", false);
    user.casulo(&["image", "bootstrap"]).assert_ok();
    user.casulo(&["lab", "iniciar", "14"]).assert_ok();
    let script = fs::read_to_string(workspace_dir().join("labs/14-sem-root/solucao.sh")).unwrap();
    let solved = user.sh(&user.home, &script);
    solved.assert_ok();
    let uid = user.uid.to_string();
    assert!(
        solved
            .stdout
            .lines()
            .any(|l| l.split_whitespace().eq(["0", uid.as_str(), "1"])),
        "um mapa de um só id: {solved}"
    );
    let out = user.casulo(&["lab", "verificar", "14"]);
    out.assert_ok();
    assert!(!out.stdout.contains('✗'), "{out}");
    assert!(links_in(&user.state(), &out) >= 3, "{out}");
    user.assert_clean();
}
