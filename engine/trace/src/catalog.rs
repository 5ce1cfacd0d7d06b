//! The pt-BR explanation catalog: for every event kind, a short title and one
//! paragraph that tells a student what the kernel just did and why a container
//! needs it.
//!
//! Texts use light Markdown (`*ênfase*`, `` `código` ``): the visualizer and
//! the book render it; in the terminal it reads fine as is.

/// The catalog entry of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The dotted kind, as in [`crate::KINDS`].
    pub kind: &'static str,
    /// A short title, e.g. "Novo namespace".
    pub title: &'static str,
    /// One paragraph for a student.
    pub explanation: &'static str,
}

/// Short title of a kind ("Montagem overlay"), or `None` for a kind this
/// version does not know.
pub fn title(kind: &str) -> Option<&'static str> {
    entry(kind).map(|e| e.title)
}

/// The paragraph explaining a kind, or `None` for a kind this version does
/// not know.
pub fn explain(kind: &str) -> Option<&'static str> {
    entry(kind).map(|e| e.explanation)
}

/// The whole entry of a kind.
pub fn entry(kind: &str) -> Option<&'static Entry> {
    ENTRIES.iter().find(|e| e.kind == kind)
}

/// Every entry, in the order of [`crate::KINDS`].
pub fn entries() -> &'static [Entry] {
    ENTRIES
}

const ENTRIES: &[Entry] = &[
    Entry {
        kind: "process.clone",
        title: "Novo processo (clone)",
        explanation: "O `clone()` é a chamada de sistema que cria um processo novo — é ela que \
            está por baixo do `fork()`. A diferença é que o `clone` aceita *flags*: cada \
            `CLONE_NEW*` (`CLONE_NEWPID`, `CLONE_NEWNS`, `CLONE_NEWUTS`, `CLONE_NEWNET`…) pede \
            ao kernel que o filho já nasça dentro de um *namespace* novo daquele tipo, e \
            `SIGCHLD` diz que o pai quer ser avisado quando o filho terminar. É aqui que o \
            contêiner nasce: nenhuma máquina virtual é ligada, é só um processo comum que o \
            kernel passa a enxergar de um jeito isolado. Repare que `child_pid` é o PID do \
            filho visto do host; lá dentro, no namespace de PID novo, esse mesmo processo se \
            vê como PID 1.",
    },
    Entry {
        kind: "namespace.create",
        title: "Novo namespace",
        explanation: "O kernel criou um novo *namespace*: uma visão isolada de um recurso do \
            sistema. A partir daqui o processo enxerga a sua própria cópia daquele recurso: no \
            `pid`, uma numeração de processos que começa em 1; no `mnt`, a sua própria tabela \
            de montagens; no `uts`, o seu próprio hostname; no `ipc`, suas filas e memória \
            compartilhada; no `net`, suas interfaces, rotas e portas; no `cgroup`, um \
            `/sys/fs/cgroup` que começa no seu próprio grupo (e `user` isola os UIDs, `time` \
            os relógios). Cada namespace tem uma identidade, o número de inode que aparece em \
            `ls -l /proc/<pid>/ns/`: se o inode do processo é diferente do inode do host, os \
            dois estão em mundos separados. Não estranhe se dois contêineres, rodados um \
            depois do outro, mostrarem os mesmos números: quando um namespace deixa de existir, \
            o kernel libera o inode dele e o reaproveita no próximo namespace criado. Número \
            igual em momentos diferentes não é namespace compartilhado; só compartilham um \
            namespace processos vivos ao mesmo tempo com o mesmo inode (compare com `ls -l \
            /proc/<pid>/ns/` de dois contêineres rodando juntos). Um contêiner é exatamente \
            isto: um processo com namespaces próprios, e não uma máquina virtual.",
    },
    Entry {
        kind: "namespace.join",
        title: "Entrada em namespace (setns)",
        explanation: "Um processo entrou num *namespace* que já existia, com a chamada \
            `setns()` sobre o arquivo `/proc/<pid>/ns/<tipo>` de um processo que já está lá \
            dentro. É assim que funcionam o `docker exec`, o `casulo exec` e o `nsenter`: \
            nenhum contêiner novo é criado, o processo apenas passa a enxergar o mesmo \
            hostname, a mesma rede e as mesmas montagens do contêiner que já está rodando. Um \
            detalhe curioso: no namespace de PID, o `setns` vale só para os filhos criados \
            depois; o próprio processo continua com o PID que tinha.",
    },
    Entry {
        kind: "namespace.user",
        title: "Mapa de IDs do namespace de usuário",
        explanation: "Um *namespace de usuário* (`user`) dá ao processo a sua própria tabela de \
            UIDs e GIDs. O pai escreveu em `/proc/<pid>/uid_map` (ou `gid_map`) linhas como \
            `0 100000 65536`: os 65536 IDs a partir de 0 *lá dentro* são os IDs a partir de \
            100000 *no host*. Por isso o processo se vê como root (`id -u` mostra 0) e tem \
            capabilities — mas só sobre o que pertence ao namespace dele. Para o host, ele é o \
            usuário 100000, que não é dono de nada: um arquivo que ele cria aparece no host \
            como do UID 100000, e o que é do root de verdade (módulos do kernel, discos, o \
            `/proc/sys` do host) continua fora do alcance. O intervalo vem de `/etc/subuid` e \
            `/etc/subgid`, como no docker e no podman. Cada mapa só pode ser escrito uma vez, \
            e o processo espera por ele antes de seguir.",
    },
    Entry {
        kind: "mount.idmap",
        title: "Montagem com mapa de IDs (idmapped)",
        explanation: "As camadas da imagem estão no disco com dono 0 (o root do host). Dentro de \
            um namespace de usuário esse 0 não existe: sem ajuda, o contêiner veria tudo como \
            de `nobody` e não conseguiria nem trocar a dona de um arquivo. Em vez de copiar a \
            camada inteira trocando os donos (o que o docker fazia com `--userns-remap`), o \
            kernel faz uma *montagem idmapped*: `open_tree(OPEN_TREE_CLONE)` cria uma cópia \
            solta da montagem do diretório e `mount_setattr(MOUNT_ATTR_IDMAP)` pendura nela o \
            mapa do namespace de usuário do contêiner. Através dessa montagem, o dono 0 do \
            disco aparece como 100000 (que lá dentro é o root); o disco não muda, e a mesma \
            camada serve, ao mesmo tempo, a contêineres com e sem `--userns`.",
    },
    Entry {
        kind: "mount.overlay",
        title: "Montagem overlay",
        explanation: "Aqui nasce o sistema de arquivos do contêiner. O *overlayfs* empilha \
            diretórios: os `lowerdirs` são as camadas da imagem, somente leitura, da mais de \
            cima para a mais de baixo; o `upperdir` é a camada de leitura e escrita, só deste \
            contêiner; o `workdir` é um rascunho que o kernel usa por dentro para trocar \
            arquivos de forma atômica. O resultado aparece unificado no `target` (o \
            `merged`): ao ler um arquivo, o kernel procura de cima para baixo e entrega a \
            primeira cópia que achar. Quando o contêiner altera um arquivo que veio da \
            imagem, o kernel primeiro copia o arquivo inteiro para o `upperdir` (o \
            *copy-up*) e só então altera a cópia; apagar um arquivo da imagem cria no \
            `upperdir` um *whiteout* que o esconde. As camadas da imagem nunca mudam, por \
            isso muitos contêineres podem compartilhar a mesma imagem. Apagou o contêiner? Vai \
            embora só o `upperdir`: a receita (imagem) continua igual, só aquele bolo \
            (contêiner) foi para o lixo.",
    },
    Entry {
        kind: "mount.fs",
        title: "Montagem de sistema de arquivos",
        explanation: "Uma montagem comum: o kernel ligou um sistema de arquivos (`fstype`) a \
            um diretório (`target`). Todo contêiner precisa de algumas: `proc` em `/proc` (é de \
            lá que `ps` e `top` leem os processos — e, como o namespace de PID é novo, esse \
            `/proc` só mostra os processos do contêiner), `sysfs` em `/sys`, um `tmpfs` em \
            `/dev`, `devpts` em `/dev/pts` para os terminais, `mqueue` para as filas de \
            mensagens. As *flags* endurecem a montagem: `MS_NOSUID` ignora os bits setuid, \
            `MS_NODEV` proíbe usar arquivos de dispositivo dali, `MS_NOEXEC` proíbe executar \
            programas, `MS_RDONLY` deixa tudo somente leitura. Com `MS_BIND` é um *bind \
            mount*: o mesmo diretório aparecendo em outro lugar, que é como os volumes \
            funcionam. Em `data` vão as opções próprias do sistema de arquivos, como \
            `mode=755`. As montagens `cgroup` (v1, uma por controlador: `memory`, `pids`…) e \
            `cgroup2` em `/sys/fs/cgroup`, somente leitura, são a visão dos cgroups de dentro \
            do contêiner: como o processo já está no seu próprio namespace `cgroup`, a raiz \
            dessas montagens é o grupo do contêiner, e lá dentro `cat \
            /sys/fs/cgroup/memory/memory.limit_in_bytes` (v1) ou `cat \
            /sys/fs/cgroup/memory.max` (v2) mostra o limite dele.",
    },
    Entry {
        kind: "mount.propagation",
        title: "Propagação de montagens",
        explanation: "Em muitas distribuições (as que usam systemd) as montagens são \
            *shared*: montar algo num lugar faz a montagem aparecer também nas cópias \
            \"parceiras\" — inclusive do outro lado de um namespace de montagem. Se o \
            contêiner montasse o seu `/proc` ou o seu overlay com `/` ainda compartilhado, \
            essas montagens poderiam vazar para o host (e as do host entrar no contêiner). Por \
            isso, o primeiro passo no namespace `mnt` novo é tornar `/` *private*, \
            recursivamente (`MS_REC|MS_PRIVATE`, o mesmo que `mount --make-rprivate /`): daqui \
            em diante nada do que o contêiner montar ou desmontar se propaga para fora, nem \
            vice-versa. O meio-termo seria *slave*: recebe as novidades do host, mas não \
            manda as suas.",
    },
    Entry {
        kind: "mount.pivot_root",
        title: "Troca da raiz (pivot_root)",
        explanation: "Hora de trocar a raiz. O `pivot_root(new_root, put_old)` faz do \
            `new_root` (o overlay do contêiner) a nova `/` do namespace de montagem e pendura \
            a raiz antiga em `put_old`. Por que não um simples `chroot`? Porque o `chroot` só \
            muda o diretório raiz *do processo*: a raiz antiga continua montada e alcançável, \
            e um processo com privilégio consegue escapar com truques conhecidos (um `chroot` \
            num subdiretório seguido de vários `chdir(\"..\")`). O `pivot_root` troca a \
            própria montagem raiz; logo depois a raiz antiga é desmontada com `MNT_DETACH` \
            (veja *Desmontagem*) e some de lá de dentro, sem deixar caminho de volta para os \
            arquivos do host. É o que o runc e o Docker fazem. O Casulo usa o truque do runc, \
            `pivot_root(\".\", \".\")`, que dispensa criar um diretório para a raiz antiga: \
            antes ele entra (`chdir`) no overlay; a chamada faz dele a nova raiz e empilha a \
            raiz antiga *no mesmo ponto*, por cima da nova — o processo já enxerga a nova \
            raiz, mas a antiga continua lá, montada. O `umount2(\".\", MNT_DETACH)` seguinte \
            desmonta a montagem de cima da pilha, que é justamente a raiz antiga, e sobra só \
            a do contêiner.",
    },
    Entry {
        kind: "mount.umount",
        title: "Desmontagem",
        explanation: "Uma montagem foi removida com `umount2()`. Com `MNT_DETACH` (`detach: \
            true`) a desmontagem é \"preguiçosa\": a montagem sai da árvore na hora, ninguém \
            mais a encontra por caminho nenhum, e o kernel só a libera de vez quando ela não \
            estiver mais em uso. É assim que o contêiner se livra da raiz antiga do host \
            depois do `pivot_root`: desmontada, ela deixa de existir lá dentro.",
    },
    Entry {
        kind: "device.create",
        title: "Arquivo de dispositivo",
        explanation: "O kernel criou um arquivo de dispositivo com `mknod()`. No Linux, \
            dispositivos são arquivos especiais identificados por dois números: o *major* \
            (qual driver) e o *minor* (qual aparelho daquele driver) — `/dev/null` é o \
            dispositivo de caractere 1,3, `/dev/zero` é 1,5, `/dev/urandom` é 1,9, `/dev/tty` \
            é 5,0. O contêiner ganha um `/dev` mínimo, num `tmpfs` só dele, com o básico \
            (`null`, `zero`, `full`, `random`, `urandom`, `tty`) em vez do `/dev` do host, \
            onde estão os discos, a memória física e outros aparelhos que dariam ao contêiner \
            acesso direto ao hardware. O que não foi criado aqui simplesmente não existe lá \
            dentro.",
    },
    Entry {
        kind: "fs.symlink",
        title: "Link simbólico",
        explanation: "Um link simbólico é um arquivo que só guarda um caminho (`target`); o \
            kernel segue esse caminho quando alguém abre o `link`. No `/dev` do contêiner eles \
            ligam nomes que os programas esperam a arquivos do `/proc`: `/dev/fd` → \
            `/proc/self/fd`, `/dev/stdin` → `/proc/self/fd/0`, `/dev/stdout` → \
            `/proc/self/fd/1`, `/dev/stderr` → `/proc/self/fd/2`. Como o caminho só é \
            resolvido na hora do uso, um link criado antes do `pivot_root` aponta para o lugar \
            certo depois dele.",
    },
    Entry {
        kind: "fs.write",
        title: "Escrita em arquivo do kernel",
        explanation: "Boa parte da configuração do kernel não usa uma chamada de sistema \
            especial: basta escrever um texto num arquivo. `/proc` e `/sys` não estão em \
            disco, são janelas para dentro do kernel. Escrever em `/proc/sys/…` muda um \
            parâmetro (é o que o `sysctl` faz), escrever em `/proc/<pid>/uid_map` define o \
            mapeamento de usuários de um namespace `user`, e escrever nos arquivos de um \
            cgroup, como `memory.max` ou `cgroup.procs`, impõe limites ou move processos. O \
            `value` é exatamente o texto escrito; se o kernel não aceitar, a escrita falha com \
            um erro (`EINVAL` para um valor inválido, `EACCES` ou `EPERM` sem permissão, \
            `EROFS` se aquele pedaço foi montado somente leitura).",
    },
    Entry {
        kind: "uts.sethostname",
        title: "Novo hostname",
        explanation: "O nome da máquina (*hostname*) mora no namespace `uts` (de *UNIX \
            Time-sharing System*, o nome da estrutura que o comando `uname` devolve). Como o \
            contêiner tem o seu próprio namespace `uts`, o `sethostname()` muda o nome só lá \
            dentro: rode `hostname` no contêiner e no host e compare. Como no Docker, o nome \
            padrão é o começo do id do contêiner.",
    },
    Entry {
        kind: "net.link_up",
        title: "Interface de rede ligada",
        explanation: "Um namespace de rede novo nasce quase vazio: só com a interface de \
            *loopback* `lo`, e ainda desligada (*down*) — nem o `127.0.0.1` funciona. Nenhuma \
            placa de rede do host aparece lá dentro. Ligar uma interface é acender a flag \
            `IFF_UP` dela (o mesmo que `ip link set lo up`). Com o `lo` ligado, os programas \
            do contêiner conversam entre si por `localhost`; para falar com o mundo lá fora é \
            preciso mais: um par `veth` (um \"cabo\" virtual com uma ponta em cada namespace), \
            uma bridge e rotas.",
    },
    Entry {
        kind: "process.chdir",
        title: "Troca de diretório",
        explanation: "O processo mudou o seu diretório de trabalho (o `cwd`, aquele que o \
            `pwd` mostra) com `chdir()`. Logo depois do `pivot_root` isso é obrigatório: o \
            diretório de trabalho ainda podia estar na árvore antiga, e um `chdir(\"/\")` \
            garante que o processo está dentro da raiz nova. Mais adiante, o `WORKDIR` da \
            imagem vira o diretório em que o programa do contêiner começa.",
    },
    Entry {
        kind: "process.chroot",
        title: "Troca de raiz (chroot)",
        explanation: "O `chroot()` muda o diretório raiz do processo: daqui em diante, `/` \
            passa a significar aquele diretório. É a ferramenta de isolamento de arquivos \
            mais antiga do Unix (de 1979!), mas sozinha não é uma prisão segura: a raiz \
            antiga continua montada, e um processo com privilégio consegue escapar. Por isso \
            o contêiner principal usa `pivot_root`; o `chroot` aparece quando basta mudar a \
            visão de arquivos de um processo, por exemplo para entrar nos arquivos de um \
            contêiner que já existe.",
    },
    Entry {
        kind: "process.user",
        title: "Troca de usuário",
        explanation: "Até aqui o processo do contêiner era root. Antes do `execve`, ele vira o \
            usuário pedido (`-u`/`--user` ou o `USER` da imagem), procurado no `/etc/passwd` e no \
            `/etc/group` *da imagem* — o uid 1000 pode ser \"aluno\" na imagem e outra pessoa no \
            host. A ordem importa: primeiro `setgroups()` (os grupos extras), depois `setgid()` \
            e por último `setuid()`, porque depois do `setuid()` o processo já não tem \
            permissão para trocar de grupo. O `HOME` vem da linha do usuário no passwd.",
    },
    Entry {
        kind: "security.capabilities",
        title: "Corte de capabilities",
        explanation: "O poder do root no Linux é dividido em pedaços chamados *capabilities*: \
            `CAP_SYS_ADMIN` deixa montar sistemas de arquivos, `CAP_SYS_MODULE` deixa carregar \
            módulos no kernel, `CAP_NET_ADMIN` deixa mexer na rede, e assim por diante. Antes do \
            `execve`, o processo do contêiner fica só com as 14 que o docker mantém por padrão \
            (`kept`, como `CAP_CHOWN` e `CAP_KILL`) e joga fora as outras (`dropped`) de todos \
            os conjuntos: o *bounding* (o teto, que nem um programa setuid ultrapassa), o \
            efetivo, o permitido, o herdável e o *ambient*. A máscara (`mask`) é o que o \
            `/proc/self/status` mostra em `CapEff` e `CapBnd` dentro do contêiner. Assim o root \
            do contêiner continua dono dos arquivos dele, mas não consegue, por exemplo, \
            desmontar o `/proc/sys` nem montar o disco do host. Com `--cap-add` e `--cap-drop` \
            (os nomes do docker, como `NET_ADMIN`) o conjunto muda: `added` e `removed` dizem \
            o que foi pedido. Com `--privileged` (`privileged`) nada é cortado: o root do \
            contêiner fica com todas, e também sem `no_new_privs` e sem seccomp.",
    },
    Entry {
        kind: "security.no_new_privs",
        title: "Sem novos privilégios",
        explanation: "O `prctl(PR_SET_NO_NEW_PRIVS, 1)` liga uma trava que nunca mais desliga, \
            nem nos filhos: daqui em diante, nenhum `execve` dá mais poder ao processo. Um \
            programa com o bit setuid (como o `su` ou o `passwd`) roda sem virar root, e \
            capabilities gravadas em arquivos são ignoradas. É o que o docker faz com \
            `--security-opt no-new-privileges`; no `/proc/self/status` aparece `NoNewPrivs: 1`.",
    },
    Entry {
        kind: "security.seccomp",
        title: "Filtro seccomp",
        explanation: "O seccomp (*secure computing*) instala no kernel um pequeno programa BPF \
            que olha cada chamada de sistema do processo — e de todos os filhos dele — antes \
            de ela acontecer. O filtro é compilado de um *perfil* no formato do docker \
            (`profile`): o `padrão` do casulo, que como o do docker é uma lista do que é \
            permitido (`allowed_count` chamadas, algumas só com certos argumentos, como o \
            `clone` sem flags de namespace) e devolve `EPERM` (*Operation not permitted*) para \
            todo o resto (`default_action`), sem nem chegar ao código da chamada; um `arquivo` \
            passado com `--security-opt seccomp=ARQUIVO.json` (`path`); ou `unconfined`, sem \
            filtro nenhum (`mode` = `disabled`, também com `--privileged`). `blocked` lista as \
            chamadas que uma regra recusa pelo nome (como o `clone3`, com `ENOSYS`, para a libc \
            voltar ao `clone`). É uma segunda trava, além do corte das capabilities: mesmo que \
            um processo recupere uma capability, a chamada continua barrada. Precisa vir \
            depois do `no_new_privs` (ou de `CAP_SYS_ADMIN`) e fica para sempre; no \
            `/proc/self/status` aparece `Seccomp: 2` (modo filtro) ou `Seccomp: 0` (sem filtro).",
    },
    Entry {
        kind: "security.non_dumpable",
        title: "Processo não-despejável",
        explanation: "O `prctl(PR_SET_DUMPABLE, 0)` marca o processo como não-despejável: ele \
            não gera *core dump*, não pode ser depurado com `ptrace` e os arquivos dele em \
            `/proc/PID/` (`exe`, `mem`, `fd/`) passam a ser do root e fechados aos outros. O \
            init do contêiner ainda é o programa `casulo` do host até o `execve`; um processo \
            do contêiner que abrisse `/proc/PID/exe` dele poderia reescrever o binário do host \
            (a CVE-2019-5736 do runc). O `execve` troca a imagem do processo e volta a \
            deixá-lo despejável, já como o programa do contêiner.",
    },
    Entry {
        kind: "process.setsid",
        title: "Sessão nova, sem terminal",
        explanation: "O `setsid()` põe o processo numa sessão nova, da qual ele é o líder, e \
            sem terminal de controle. Sem isso, o contêiner herdaria o terminal de quem rodou \
            o casulo como *seu* terminal, e um programa dentro dele poderia usar \
            `ioctl(TIOCSTI)` para digitar comandos no shell do root do host. Num terminal que \
            não é o seu, o kernel exige `CAP_SYS_ADMIN` para isso, que o contêiner não tem: a \
            chamada volta com `EPERM`. O Ctrl-C continua funcionando: quem o recebe é o \
            casulo, que o repassa ao PID 1 do contêiner (`had_terminal` diz se havia um \
            terminal a largar).",
    },
    Entry {
        kind: "process.fds_closed",
        title: "Descritores herdados fechados",
        explanation: "Um descritor de arquivo aberto sem `O_CLOEXEC` atravessa o `execve`: o \
            programa novo o recebe aberto, com o acesso de quem o abriu. Quem roda o casulo \
            pode ter deixado vários assim (um shell com `exec 5>arquivo`, um editor, uma \
            ferramenta de CI), e eles levariam arquivos do host para dentro do contêiner. O \
            `close_range(3, ~0U, CLOSE_RANGE_CLOEXEC)` marca todos a partir do 3 para fechar \
            no `execve`; só a entrada, a saída e o erro padrão (0, 1 e 2) chegam ao programa. \
            `inherited` lista os que teriam vazado.",
    },
    Entry {
        kind: "process.tty",
        title: "Um terminal para o contêiner",
        explanation: "Com `casulo run -t` o contêiner ganha um pseudo-terminal (pty): um par \
            de pontas ligadas pelo kernel. O init abre o `/dev/ptmx` do devpts do próprio \
            contêiner e recebe a ponta mestre; a outra, a escrava, é o `/dev/pts/0` dele \
            (`path`). Ele põe o tamanho da janela (`rows` × `cols`, o do seu terminal), faz da \
            escrava o seu terminal de controle (`ioctl(TIOCSCTTY)`, permitido porque o \
            `setsid()` o deixou líder de uma sessão sem terminal) e a sua entrada, saída e \
            erro padrão, e manda a mestre ao casulo por um socket (`SCM_RIGHTS`). O casulo põe \
            o seu terminal em modo cru e copia os bytes entre ele e a mestre: o Ctrl-C vira o \
            byte 0x03, e quem o transforma em `SIGINT` é o terminal do contêiner, para o grupo \
            de processos em primeiro plano — é isso que dá ao shell o controle de jobs \
            (`jobs`, `fg`, Ctrl-Z). `action` `resize`: a janela mudou de tamanho (`SIGWINCH` \
            no casulo) e o casulo passou o tamanho novo à mestre (`ioctl(TIOCSWINSZ)`); o \
            kernel avisa o programa do contêiner com outro `SIGWINCH`.",
    },
    Entry {
        kind: "process.exec",
        title: "Execução do programa",
        explanation: "O `execve()` troca o programa que um processo está rodando. O código do \
            casulo que preparou tudo (montagens, hostname, `/dev`) é descartado e, no mesmo \
            processo — mesmo PID, mesmos namespaces, mesmo cgroup, mesmas montagens —, passa \
            a rodar o programa da imagem (`path`, com os argumentos `argv`). Como esse \
            processo é o primeiro do namespace de PID novo, o programa vira o PID 1 do \
            contêiner, o *init* dele: quando ele terminar, o contêiner acaba e o kernel mata \
            todos os outros processos do namespace. Do ambiente, só os nomes das variáveis \
            (`env_keys`) vão para o trace, porque os valores podem conter senhas.",
    },
    Entry {
        kind: "process.exit",
        title: "Fim do processo",
        explanation: "Um processo terminou e o pai recolheu o seu status com `wait4()` (até \
            isso acontecer, ele fica como *zumbi*). Há dois jeitos de terminar: saindo \
            normalmente, com um código de saída (`code`: 0 é sucesso, qualquer outro número \
            indica algum tipo de falha), ou morto por um sinal (`signal`). No shell — e também \
            no casulo e no Docker — a morte por sinal vira o código 128 + N: `SIGKILL` (9) dá \
            137, o código clássico de um contêiner morto por falta de memória (OOM), e \
            `SIGTERM` (15) dá 143. Quando quem termina é o PID 1 do contêiner, o contêiner \
            inteiro acaba.",
    },
    Entry {
        kind: "process.signal",
        title: "Sinal enviado",
        explanation: "O casulo mandou um sinal para um processo com `kill()`. Sinais são o \
            jeito mais simples de avisar um processo: `SIGINT` (2) é o Ctrl-C, `SIGTERM` (15) \
            pede com educação para terminar, `SIGKILL` (9) mata sem chance de reação. Quando \
            você aperta Ctrl-C, o casulo repassa o sinal ao processo do contêiner. Atenção ao \
            PID 1: o kernel só entrega a ele os sinais para os quais ele instalou um \
            tratador (de fora do namespace, `SIGKILL` e `SIGSTOP` sempre chegam) — é por isso \
            que às vezes um contêiner parece ignorar o Ctrl-C.",
    },
    Entry {
        kind: "terminal.attach",
        title: "Alguém se ligou ao terminal",
        explanation: "Um contêiner `-dit` roda em segundo plano com um terminal (pty) que \
            ninguém está olhando: a ponta mestre fica com o supervisor dele, que guarda no log \
            tudo o que aparece na tela. O `casulo attach` (ou o `docker attach`, pelo daemon; \
            também o `docker run -it`) se liga ao supervisor por um socket unix \
            (`attach.sock`, no diretório do contêiner): daí em diante vê o que o contêiner \
            escreve e manda as teclas que você digita para a mestre. Vários podem se ligar ao \
            mesmo tempo (`attached` conta quantos) e todos veem a mesma tela. O processo do \
            contêiner não muda: ele nem sabe que alguém chegou.",
    },
    Entry {
        kind: "terminal.detach",
        title: "Alguém se desligou do terminal",
        explanation: "Um cliente deixou o terminal do contêiner. Com as teclas de saída \
            (`reason` `keys`: Ctrl-P Ctrl-Q, ou as de `--detach-keys`) ou indo embora \
            (`gone`: o terminal dele fechou, ele foi morto, a conexão caiu), o contêiner \
            continua rodando, com o mesmo terminal, e você pode voltar com outro `attach`: \
            quem segura o terminal é o supervisor, não o cliente. Um Ctrl-C, ao contrário, iria \
            para o programa lá dentro. `ended`: o contêiner terminou, e quem estava ligado \
            recebeu o código de saída dele.",
    },
    Entry {
        kind: "process.restart",
        title: "Reinício pela política --restart",
        explanation: "O contêiner terminou e o supervisor dele (o casulo que ficou cuidando \
            do contêiner em segundo plano, como o `containerd-shim` do docker) vai iniciá-lo de \
            novo, porque a política `--restart` manda: `on-failure` só quando o código de saída \
            não é 0 (e até N vezes, com `on-failure:N`), `always` e `unless-stopped` sempre, \
            até um `casulo stop`. Antes de cada nova tentativa ele espera, e a espera dobra a \
            cada vez (100 ms, 200 ms, 400 ms… até 1 minuto): um programa que quebra logo ao \
            iniciar não ocupa a máquina inteira. É o mesmo contêiner: a mesma camada de \
            escrita, o mesmo trace; os namespaces e o processo são novos.",
    },
    Entry {
        kind: "daemon.request",
        title: "Pedido à API do daemon",
        explanation: "Este contêiner não nasceu de um `casulo run` digitado no terminal: o \
            `casulo daemon` o criou ao atender um pedido HTTP à API do Docker (a mesma que o \
            `dockerd` oferece), vindo pelo socket unix. O evento guarda o método, o caminho \
            (com a versão da API, como `/v1.43/containers/create`) e quem pediu — o \
            `User-Agent` do cliente: `curl/…` quando foi você com `curl --unix-socket`, \
            `Docker-Client/…` quando foi o `docker` de sempre. É a divisão entre cliente e \
            daemon: o cliente só pede; quem mexe no kernel é o daemon, com a mesma biblioteca \
            que o `casulo run` usa.",
    },
    Entry {
        kind: "layer.unpack",
        title: "Camada descompactada",
        explanation: "Uma camada da imagem foi descompactada pela primeira vez. Cada camada é \
            um arquivo tar (em geral comprimido com gzip) com as mudanças que um passo do \
            build fez: arquivos novos, alterados e apagados (estes marcados por *whiteouts*, \
            arquivos `.wh.<nome>`). O casulo extrai cada camada num diretório só dela, \
            identificado pelo `diff_id` — o sha256 do tar descomprimido —, e é esse diretório \
            que depois entra como um `lowerdir` do overlay. O trace mostra o tamanho, o \
            número de arquivos e quanto tempo levou: é o custo que o cache evita da próxima \
            vez.",
    },
    Entry {
        kind: "layer.reuse",
        title: "Camada reaproveitada",
        explanation: "Esta camada já estava descompactada no disco, então foi reaproveitada \
            sem trabalho nenhum. Como o `diff_id` é o hash do conteúdo, mesmo hash quer dizer \
            mesmo conteúdo: duas imagens construídas sobre o mesmo `busybox` compartilham a \
            mesma camada, no disco e no overlay. É por isso que baixar ou construir uma \
            segunda imagem parecida é tão rápido — e por que a ordem das instruções no \
            Dockerfile importa para o cache.",
    },
    Entry {
        kind: "layer.whiteout",
        title: "Arquivo apagado numa camada",
        explanation: "Camadas são imutáveis: uma camada de cima não pode apagar de verdade um \
            arquivo de uma camada de baixo. Então ela *marca* o apagamento. No formato OCI a \
            marca é um arquivo vazio `.wh.<nome>` (um *whiteout*), e `.wh..wh..opq` diz que um \
            diretório inteiro é *opaco* (nada do que havia embaixo aparece). Ao descompactar, o \
            casulo traduz essas marcas para a língua do overlayfs: um dispositivo de \
            caractere 0:0 no lugar do arquivo, ou o atributo estendido \
            `trusted.overlay.opaque=y` no diretório. Na visão montada o arquivo some — mas os \
            bytes continuam na camada de baixo, e é por isso que apagar num passo seguinte não \
            diminui o tamanho da imagem.",
    },
    Entry {
        kind: "volume.create",
        title: "Volume criado",
        explanation: "A imagem é imutável e a camada de escrita do contêiner vai embora com \
            `casulo rm`: o que precisa sobreviver fica num *volume*, um diretório que o \
            casulo guarda no seu diretório de estado (`volumes/<nome>/_data`, com pais `0700`: \
            nenhum outro usuário do host chega lá) e que o init monta no contêiner com um bind \
            mount. Um volume com nome (`-v dados:/dados`) nasce no primeiro uso e é \
            reaproveitado pelos próximos contêineres; um anônimo (um `VOLUME` da imagem) tem \
            um nome gerado e sai junto com o contêiner em `rm -v` ou `--rm`. Como no docker, \
            um volume novo é preenchido com o que a imagem tinha naquele caminho.",
    },
    Entry {
        kind: "layer.upper",
        title: "A camada de escrita do contêiner",
        explanation: "Tudo o que o contêiner escreveu foi parar no `upperdir` do overlay, a \
            única camada que não é somente leitura. Arquivo novo aparece lá como *adicionado*. \
            Para mudar um arquivo de uma camada da imagem, o overlayfs primeiro copia o arquivo \
            inteiro para cima (o *copy-up*) e só então escreve: é um *alterado*, e por isso \
            mudar um byte de um arquivo grande custa o arquivo todo. Apagar deixa um whiteout \
            no `upperdir`. A imagem continua intacta: é a diferença entre a receita (a imagem) \
            e o bolo pronto (o contêiner). `casulo diff` mostra a lista completa.",
    },
    Entry {
        kind: "cgroup.create",
        title: "Novo cgroup",
        explanation: "Um *cgroup* (control group) é um grupo de processos que o kernel conta e \
            limita junto: memória, CPU, número de processos, disco. Ele aparece como um \
            diretório num sistema de arquivos especial, em `/sys/fs/cgroup`: criar o grupo é \
            só um `mkdir`. No cgroup v1 cada controlador tem a sua árvore \
            (`/sys/fs/cgroup/memory/…`, `/sys/fs/cgroup/pids/…`), então o contêiner ganha um \
            diretório em cada; no v2 há uma árvore única e um diretório só. Namespaces \
            decidem o que o processo *vê*; cgroups decidem quanto ele pode *usar* — são o \
            segundo pilar dos contêineres.",
    },
    Entry {
        kind: "cgroup.limit",
        title: "Limite de recurso",
        explanation: "Limitar um recurso é escrever um número num arquivo do cgroup: \
            `memory.max` (v2) ou `memory.limit_in_bytes` (v1) para a memória, `cpu.max` \
            (v2) ou `cpu.cfs_quota_us`/`cpu.cfs_period_us` (v1) para a CPU — por exemplo \
            50 ms a cada 100 ms é meia CPU —, `pids.max` para o número de processos. Não há \
            chamada de sistema especial: é um `write()` comum, e o kernel passa a aplicar o \
            limite a todos os processos do grupo, inclusive os filhos que ainda vão nascer. \
            O valor no trace é exatamente o texto escrito.",
    },
    Entry {
        kind: "cgroup.devices",
        title: "Dispositivos permitidos",
        explanation: "No Linux um dispositivo é um arquivo especial identificado por um tipo \
            (`c` de caractere, `b` de bloco) e dois números, *major:minor*: o disco do host \
            é, por exemplo, `b 8:0` ou `b 254:0`. O root do contêiner pode criar um arquivo \
            desses com `mknod` em qualquer lugar; por isso não basta o `/dev` ser pequeno: é \
            o cgroup que decide quais dispositivos os processos do grupo podem *abrir*. O \
            casulo segue o docker: nega tudo (`default_action`) e libera só o que o `/dev` \
            mínimo tem (`allowed`: `null`, `zero`, `full`, `random`, `urandom`, `tty`, o \
            `ptmx` e os terminais `pts`), além de `mknod` de qualquer dispositivo (criar o \
            arquivo não dá acesso a ele: abrir o disco do host volta com `EPERM`). No v1 são \
            linhas escritas em `devices.deny` e `devices.allow` (e lidas em `devices.list`); \
            o v2 não tem esses arquivos: o casulo escreve à mão um pequeno programa eBPF \
            (`program_insns` instruções) e o anexa ao cgroup, e o kernel o roda a cada \
            `open` ou `mknod` de um dispositivo. Com `--privileged` tudo é permitido.",
    },
    Entry {
        kind: "cgroup.attach",
        title: "Processo entra no cgroup",
        explanation: "Para pôr um processo num cgroup, escreve-se o PID dele no arquivo \
            `cgroup.procs` do grupo. A partir daí tudo o que ele usa conta para o grupo, e os \
            filhos que ele criar nascem no mesmo grupo. O casulo faz isso enquanto o \
            processo do contêiner ainda está esperando, antes de ele executar o comando: \
            assim nem um byte escapa da conta, e quando o processo cria o seu namespace de \
            cgroup ele passa a ver o próprio grupo como a raiz `/`. No cgroup v2 há um \
            caminho mais curto: o `clone3` com `CLONE_INTO_CGROUP` recebe o diretório do \
            grupo e o processo já nasce dentro dele (`via: clone3`), sem escrita nenhuma; \
            num kernel que recusa isso (anterior ao 5.7), o casulo volta à escrita. No \
            cgroup v1 é o próprio processo que entra, logo depois do sinal do casulo e \
            antes de preparar qualquer coisa (`via: tasks`): ele escreve `0` (ele mesmo) \
            no arquivo `tasks` de cada hierarquia. Mover uma thread só, a que escreve, \
            dispensa a trava global que a escrita de um PID em `cgroup.procs` pega, e a \
            primeira vez dessa trava espera um período de graça do RCU (~10 ms).",
    },
    Entry {
        kind: "cgroup.sample",
        title: "Medição de uso",
        explanation: "Enquanto o contêiner roda, o casulo lê de tempos em tempos os contadores \
            que o kernel mantém para o cgroup: memória em uso (`memory.current` ou \
            `memory.usage_in_bytes`) e o pico, número de processos (`pids.current`) e tempo \
            de CPU consumido (`cpu.stat` ou `cpuacct.usage`), além de quanto tempo o grupo \
            ficou *estrangulado* pela cota de CPU. É a mesma informação que o `docker stats` \
            mostra — aqui ela fica gravada, para você ver a curva subir até o limite.",
    },
    Entry {
        kind: "cgroup.oom",
        title: "Morte por falta de memória (OOM)",
        explanation: "O grupo tentou usar mais memória do que o limite permite e o kernel não \
            conseguiu liberar o bastante (nem devolvendo cache ao disco). Então o *OOM \
            killer* (out of memory) escolheu um processo do grupo e o matou com `SIGKILL` — \
            sem aviso, sem chance de tratar o sinal. Por isso um contêiner morto por memória \
            termina com o código 137 (128 + 9). O casulo descobre isso lendo `memory.events` \
            (v2) ou `memory.oom_control` (v1), onde o kernel conta as mortes, e anota o *pico* \
            de uso que o kernel guardou (`memory.peak` ou `memory.max_usage_in_bytes`): um \
            `dd bs=200M` pede a memória de uma vez, entre duas medições, e só o pico mostra \
            até onde ela subiu.",
    },
    Entry {
        kind: "cgroup.pids_max",
        title: "Limite de processos atingido",
        explanation: "O grupo já tinha tantos processos quanto `pids.max` permite, e mais um \
            `fork()` (ou `clone()`) foi recusado pelo kernel com o erro `EAGAIN` — o \
            programa vê \"Resource temporarily unavailable\". É a defesa contra uma *fork \
            bomb*: sem esse limite, um processo que se multiplica sem parar derrubaria a \
            máquina inteira; com ele, só o contêiner sofre. O kernel conta as recusas em \
            `pids.events`.",
    },
    Entry {
        kind: "cgroup.freeze",
        title: "cgroup congelado ou descongelado",
        explanation: "O *freezer* do cgroup para todos os processos do grupo de uma vez, sem \
            que eles percebam: não é um sinal (nada de `SIGSTOP`, que o programa poderia ver e \
            o pai receberia como `SIGCHLD`), o kernel simplesmente deixa de escaloná-los. É o \
            que o `casulo pause` (e o `docker pause`) faz. No v1 o casulo escreve `FROZEN` no \
            `freezer.state` do controlador `freezer` e lê o arquivo até ele dizer `FROZEN` \
            (enquanto houver processo a caminho ele diz `FREEZING`); no v2 escreve `1` em \
            `cgroup.freeze` e espera `frozen 1` em `cgroup.events`. A memória continua \
            ocupada e o tempo de CPU para de contar. O `unpause` escreve `THAWED` (ou `0`) e \
            tudo continua de onde estava.",
    },
    Entry {
        kind: "cgroup.delete",
        title: "cgroup removido",
        explanation: "Quando o contêiner termina, o diretório do seu cgroup é removido com \
            `rmdir` — e só dá para remover um cgroup vazio, sem nenhum processo dentro. Os \
            arquivos lá dentro não são arquivos de verdade (são janelas para contadores do \
            kernel), por isso não é preciso apagá-los antes. Se o casulo morrer antes de \
            limpar, `casulo gc` encontra e remove os grupos órfãos.",
    },
    Entry {
        kind: "net.bridge",
        title: "Bridge de rede",
        explanation: "Uma *bridge* é um switch virtual dentro do kernel do host: as interfaces \
            ligadas a ela trocam pacotes como se estivessem no mesmo cabo de rede. O casulo cria \
            uma só, `casulo0` (como a `docker0` do Docker), dá a ela o endereço que será o \
            *gateway* dos contêineres (`10.88.0.1/16`) e a reaproveita nas próximas execuções. \
            É por ela que dois contêineres conversam entre si e com o host.",
    },
    Entry {
        kind: "net.veth",
        title: "Par veth (cabo virtual)",
        explanation: "Um par `veth` é um cabo de rede virtual com duas pontas: o que entra por \
            uma sai pela outra. Ele nasce com uma ponta no host e a outra já dentro do \
            namespace de rede do contêiner, onde vira o `eth0`. É a única ligação entre o \
            namespace isolado e o resto da máquina: sem ele, o contêiner só teria o `lo`.",
    },
    Entry {
        kind: "net.attach",
        title: "Interface ligada à bridge",
        explanation: "A ponta do `veth` que ficou no host é plugada na bridge (o kernel marca a \
            bridge como *master* da interface, como `ip link set vethX master casulo0`). A \
            partir daí, o que o contêiner manda pelo `eth0` chega à bridge, que entrega ao host \
            ou a outro contêiner plugado nela.",
    },
    Entry {
        kind: "net.addr",
        title: "Endereço IP",
        explanation: "Uma interface só fala IP depois de ganhar um endereço. O casulo escolhe um \
            endereço livre da rede da bridge (`10.88.0.0/16`) para o `eth0` do contêiner — o \
            mesmo que `ip addr add 10.88.0.5/16 dev eth0` feito *dentro* do namespace de rede \
            dele. Cada namespace de rede tem suas próprias interfaces, endereços e rotas.",
    },
    Entry {
        kind: "net.route",
        title: "Rota",
        explanation: "A tabela de rotas diz para onde mandar cada pacote. A rota `default` do \
            contêiner aponta para o endereço da bridge (o *gateway*): tudo que não é da rede \
            local vai para o host, que decide o que fazer. Essa tabela também é só do \
            namespace de rede do contêiner — o host não vê e não muda.",
    },
    Entry {
        kind: "net.port",
        title: "Porta publicada",
        explanation: "O contêiner tem um IP que só existe dentro desta máquina. Publicar uma \
            porta (`-p 8080:80`) faz a porta 8080 do host levar à porta 80 do contêiner. O \
            casulo faz isso como o `docker-proxy`: escuta a porta no host e copia os bytes de \
            cada conexão para o contêiner e de volta (`proxy`); a outra forma é uma regra de \
            NAT no firewall do kernel (`dnat`), que reescreve o destino dos pacotes.",
    },
    Entry {
        kind: "net.port_close",
        title: "Porta fechada",
        explanation: "Quando o contêiner termina, o casulo para o proxy da porta publicada: \
            encerra as conexões abertas e fecha o socket que escutava no host (`shutdown` + \
            `close`). A partir daí a porta do host fica livre de novo — outro programa pode \
            usá-la — e quem tentar se conectar nela recebe *conexão recusada*.",
    },
    Entry {
        kind: "net.pasta",
        title: "Rede sem root (pasta)",
        explanation: "Sem root não dá para criar uma bridge nem um par veth no host. O casulo \
            sem root dá rede ao contêiner com o `pasta` (pacote passt), um programa comum do \
            seu usuário: ele entra no namespace de rede do contêiner, cria lá uma interface \
            tap e, do lado do host, escuta as portas publicadas (`-p`) e copia os bytes de \
            cada conexão para dentro e de volta — tudo no espaço do usuário, sem regra de \
            firewall nem interface no host.",
    },
    Entry {
        kind: "net.link_delete",
        title: "Interface removida",
        explanation: "Quando o contêiner termina, o casulo remove a ponta do `veth` que ficou no \
            host. Apagar uma ponta apaga o par inteiro — e quando o último processo de um \
            namespace de rede sai, o kernel apaga as interfaces que estavam dentro dele. Nada \
            fica sobrando na máquina.",
    },
    Entry {
        kind: "net.dns_listen",
        title: "DNS da rede",
        explanation: "Numa rede criada com `casulo network create`, os contêineres se acham \
            pelo nome. Quem responde é um pequeno servidor DNS do casulo, que escuta em \
            `127.0.0.11:53` *dentro* do namespace de rede do contêiner (o mesmo endereço do \
            docker): o casulo entra no namespace só para abrir o socket e sai, e o socket fica \
            lá. O `/etc/resolv.conf` do contêiner aponta para ele. A bridge padrão não tem DNS, \
            como a do docker.",
    },
    Entry {
        kind: "net.dns",
        title: "Pergunta ao DNS",
        explanation: "O contêiner perguntou um nome. Se é o nome (ou um apelido, \
            `--network-alias`) de um contêiner da mesma rede, o DNS do casulo responde com o \
            endereço dele (`network`); qualquer outro nome ele repassa aos servidores DNS do \
            host, os do `/etc/resolv.conf` do host (`upstream`). Contêineres de outras redes \
            não aparecem: o nome só vale dentro da rede.",
    },
    Entry {
        kind: "net.rule",
        title: "Regra do firewall",
        explanation: "O casulo escreveu (ou apagou) uma regra do nftables, o firewall do kernel, \
            sempre na sua própria tabela `inet casulo`. `isolation` descarta pacotes de uma rede \
            para outra; `masquerade` troca o endereço de origem dos pacotes que saem pelo \
            endereço do host (NAT), para que as respostas voltem; `dnat` reescreve o destino \
            de uma porta do host para o contêiner (a alternativa ao proxy); `forward` liga o \
            roteamento do host (`net.ipv4.ip_forward`).",
    },
    Entry {
        kind: "build.start",
        title: "Início do build",
        explanation: "Um build lê o Dockerfile — a *receita* — e executa as instruções uma a \
            uma, de cima para baixo. Cada instrução é um passo; os que mudam arquivos (`RUN`, \
            `COPY`, `ADD`) geram uma camada nova, os outros (`ENV`, `CMD`, `WORKDIR`…) só \
            mudam a configuração da imagem. O *contexto* é a pasta de onde o `COPY` pode ler.",
    },
    Entry {
        kind: "build.base",
        title: "Imagem base (FROM)",
        explanation: "`FROM` escolhe a imagem de partida: as camadas dela ficam embaixo de tudo, \
            somente leitura, e cada passo seguinte empilha uma camada por cima. Camadas são \
            compartilhadas: dez imagens feitas do mesmo `FROM` guardam a base uma vez só. \
            `FROM scratch` começa do zero, sem camada nenhuma.",
    },
    Entry {
        kind: "build.step",
        title: "Passo do Dockerfile",
        explanation: "Cada instrução vira um passo. Antes de executar, o casulo calcula a \
            *chave de cache* do passo: um hash da imagem até aqui mais o texto da instrução (e, \
            no `COPY`, o conteúdo dos arquivos copiados). Se um build anterior já fez exatamente \
            esse passo sobre exatamente a mesma base, o resultado é reaproveitado.",
    },
    Entry {
        kind: "build.download",
        title: "Arquivo baixado (ADD de URL)",
        explanation: "Um `ADD https://…` baixa o arquivo durante o build. O hash do que chegou \
            entra na chave de cache do passo, então todo build baixa de novo para saber se o \
            arquivo mudou no servidor. Com `--checksum=sha256:…` o build só aceita exatamente \
            aquele arquivo: se o servidor mudar, o build para em vez de pôr na imagem algo que \
            ninguém conferiu. Por isso a documentação do docker prefere `RUN curl` ou o \
            `--checksum`.",
    },
    Entry {
        kind: "build.cache_hit",
        title: "Cache usado",
        explanation: "A chave deste passo já estava no cache: nada foi executado, a camada \
            guardada foi reaproveitada. Por isso a ordem do Dockerfile importa — mudou uma \
            linha, todos os passos *depois* dela perdem o cache (a chave de cada um inclui a \
            do anterior). Coloque o que muda pouco (instalar pacotes) antes do que muda muito \
            (copiar o seu código).",
    },
    Entry {
        kind: "build.layer",
        title: "Camada nova",
        explanation: "O passo rodou e o que ele mudou virou uma camada: num `RUN`, o casulo \
            executou o comando num contêiner de verdade e empacotou a camada de escrita dele \
            (arquivos novos, alterados e apagados, estes como *whiteouts*); num `COPY`, os \
            arquivos do contexto. A camada é um `tar`, identificada pelo hash (`diff_id`) do \
            seu conteúdo, e não muda nunca mais.",
    },
    Entry {
        kind: "build.commit",
        title: "Imagem pronta",
        explanation: "Fim do build: a lista de camadas e a configuração (comando, variáveis, \
            usuário, diretório) viraram uma imagem no formato OCI, guardada no repositório do \
            casulo com a etiqueta pedida. A imagem é a *receita pronta*: `casulo run` cria a \
            partir dela quantos contêineres quiser, cada um com a sua camada de escrita.",
    },
    Entry {
        kind: "image.commit",
        title: "Commit: o contêiner virou imagem",
        explanation: "`casulo commit` empacotou a camada de escrita do contêiner (o `upperdir` \
            do overlay) numa camada nova, com o mesmo escritor de `tar` reprodutível do build: \
            os *whiteouts* do overlay (dispositivos 0:0) viraram entradas `.wh.NOME` e os \
            diretórios opacos viraram `.wh..wh..opq`. Essa camada foi empilhada sobre as da \
            imagem do contêiner, com uma linha a mais no histórico. Funciona, mas ninguém sabe \
            depois *como* a imagem foi feita: não há Dockerfile que a refaça, e o que o \
            contêiner deixou de lixo (caches, logs) vai junto. Por isso o build é preferido.",
    },
    Entry {
        kind: "registry.ping",
        title: "Registry: há alguém aí?",
        explanation: "Todo `push` e `pull` começa com `GET /v2/`: a pergunta da especificação \
            de distribuição da OCI para saber se naquele endereço há um registry. A resposta \
            200 diz que sim e que não pede credenciais; 401 diz que sim, mas que é preciso se \
            identificar, e o cabeçalho `WWW-Authenticate` diz como (`Basic`: usuário e senha em \
            cada pedido; `Bearer`: um token pedido a um servidor de tokens).",
    },
    Entry {
        kind: "registry.auth",
        title: "Registry: autenticação",
        explanation: "Com `Basic`, o usuário e a senha do `casulo login` vão (em base64, que \
            não é segredo nenhum: por isso HTTPS fora do laboratório) em todo pedido. Com \
            `Bearer`, o casulo pede ao servidor de tokens (o `realm`) um token para um escopo, \
            como `repository:aluno/app:pull,push`, e o registry só confere o token. As \
            credenciais nunca entram no trace.",
    },
    Entry {
        kind: "registry.blob_exists",
        title: "Registry: esse blob já existe?",
        explanation: "Camadas e configs são blobs com nome de conteúdo (o sha256 dos bytes): \
            se o nome é o mesmo, os bytes são os mesmos. Antes de enviar, o `push` pergunta ao \
            registry com `HEAD /v2/REPO/blobs/DIGEST` (200: já tem, nada a enviar); antes de \
            baixar, o `pull` pergunta ao store local. É assim que só o que falta viaja.",
    },
    Entry {
        kind: "registry.blob_upload",
        title: "Registry: blob enviado",
        explanation: "Um blob que o registry não tinha: `POST /v2/REPO/blobs/uploads/` abre um \
            upload e devolve um endereço (`Location`); `PUT` nesse endereço com `?digest=` \
            manda os bytes e fecha o upload. O registry calcula o sha256 do que recebeu e \
            recusa se não for o digest prometido.",
    },
    Entry {
        kind: "registry.blob_download",
        title: "Registry: blob baixado",
        explanation: "`GET /v2/REPO/blobs/DIGEST` trouxe um blob que o store não tinha. Os \
            bytes foram para um arquivo temporário no diretório do store enquanto o sha256 e o \
            tamanho eram calculados; só se conferem com o descritor do manifest (e, para uma \
            camada, o tar descompactado com o `diff_id` da config) o arquivo é renomeado para \
            `blobs/sha256/`. Um registry que mente não põe nada no store.",
    },
    Entry {
        kind: "registry.blob_mount",
        title: "Registry: montagem entre repositórios",
        explanation: "O casulo sabe que o blob está em outro repositório do mesmo registry \
            (a imagem base veio de lá) e pede `POST /v2/REPO/blobs/uploads/?mount=DIGEST&from=OUTRO`: \
            com 201, o registry só liga o blob que já guarda a este repositório, sem nenhum \
            byte viajar; com 202 ele não pôde e abriu um upload comum.",
    },
    Entry {
        kind: "registry.manifest_get",
        title: "Registry: manifest baixado",
        explanation: "`GET /v2/REPO/manifests/TAG` com `Accept` dos manifests da OCI e do Docker \
            (schema 2) e dos índices multiplataforma. Um índice lista um manifest por \
            plataforma: o casulo escolhe `linux/amd64` (a do host) e pede esse. O manifest \
            nomeia a config e as camadas pelo digest: é a lista do que precisa existir.",
    },
    Entry {
        kind: "registry.manifest_put",
        title: "Registry: manifest enviado",
        explanation: "O último passo do `push`: `PUT /v2/REPO/manifests/TAG` com o manifest. \
            O registry confere que cada blob que ele cita já está lá (por isso os blobs vão \
            antes) e só então a tag passa a apontar para a imagem nova.",
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{sample, schema, KINDS};
    use std::collections::BTreeSet;

    /// Issue 12: the two places students got lost are explained: the
    /// `pivot_root(".", ".")` trick, and why every container shows the same
    /// namespace inode numbers; and the cgroup view the catalog promises.
    #[test]
    fn pivot_root_trick_inode_reuse_and_cgroup_view_are_explained() {
        let pivot = explain("mount.pivot_root").unwrap();
        assert!(pivot.contains("pivot_root(\".\", \".\")") && pivot.contains("MNT_DETACH"));
        assert!(pivot.contains("empilha a raiz antiga"));
        let ns = explain("namespace.create").unwrap();
        assert!(ns.contains("reaproveita") && ns.contains("mesmos números"));
        let fs = explain("mount.fs").unwrap();
        assert!(fs.contains("cgroup2") && fs.contains("memory.limit_in_bytes"));
    }

    #[test]
    fn every_kind_has_a_title_and_explanation() {
        for kind in KINDS {
            let t = title(kind).unwrap_or_else(|| panic!("no title for {kind}"));
            let x = explain(kind).unwrap_or_else(|| panic!("no explanation for {kind}"));
            assert!(!t.is_empty() && t.len() < 40, "{kind}: title {t:?}");
            assert!(x.len() > 200, "{kind}: explanation too short");
            assert!(!x.contains("  "), "{kind}: double space in explanation");
        }
    }

    #[test]
    fn no_entry_for_unknown_kinds_and_same_order() {
        let kinds: Vec<&str> = entries().iter().map(|e| e.kind).collect();
        assert_eq!(kinds, KINDS, "catalog must list exactly KINDS, in order");
        assert_eq!(title("cgroup.banana"), None);
        assert_eq!(explain(""), None);
    }

    #[test]
    fn titles_are_unique() {
        let titles: BTreeSet<&str> = entries().iter().map(|e| e.title).collect();
        assert_eq!(titles.len(), entries().len());
    }

    /// KINDS must be exactly the `kind` values EventBody serializes to, so it
    /// cannot go stale when a variant is added.
    #[test]
    fn kinds_match_what_event_body_serializes() {
        // From the generated schema: one `oneOf` branch per variant.
        let schema = schema::event_schema();
        let from_schema: Vec<&str> = schema["oneOf"]
            .as_array()
            .expect("oneOf")
            .iter()
            .map(|b| b["properties"]["kind"]["const"].as_str().expect("const"))
            .collect();
        assert_eq!(from_schema, KINDS);

        // From real values: the serialized `kind` equals EventBody::kind().
        let mut seen = BTreeSet::new();
        for event in sample::sample_events() {
            let v = serde_json::to_value(&event).unwrap();
            let kind = v["kind"].as_str().unwrap().to_string();
            assert_eq!(kind, event.body.kind());
            seen.insert(kind);
        }
        let expected: BTreeSet<String> = KINDS.iter().map(|k| k.to_string()).collect();
        assert_eq!(seen, expected);
    }
}
