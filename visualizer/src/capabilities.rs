//! What each Linux capability lets a process do, in a few words of pt-BR:
//! the Segurança panel says it next to each name it kept or dropped.
//! (From `capabilities(7)`; only the main use of each.)

/// `(name in the kernel's spelling, what it lets root do)`, in the order of
/// `linux/capability.h`.
pub const MEANINGS: [(&str, &str); 41] = [
    ("CAP_CHOWN", "mudar o dono de qualquer arquivo"),
    (
        "CAP_DAC_OVERRIDE",
        "ler, escrever e executar arquivos sem olhar as permissões",
    ),
    (
        "CAP_DAC_READ_SEARCH",
        "ler qualquer arquivo e abrir arquivos pelo identificador (open_by_handle_at)",
    ),
    (
        "CAP_FOWNER",
        "agir como dono de qualquer arquivo (chmod, utime…)",
    ),
    (
        "CAP_FSETID",
        "manter os bits setuid/setgid ao mudar um arquivo",
    ),
    ("CAP_KILL", "mandar sinais a processos de outros usuários"),
    ("CAP_SETGID", "trocar de grupo (setgid, setgroups)"),
    ("CAP_SETUID", "trocar de usuário (setuid)"),
    (
        "CAP_SETPCAP",
        "passar adiante ou tirar capabilities do próprio conjunto",
    ),
    (
        "CAP_LINUX_IMMUTABLE",
        "marcar arquivos como imutáveis ou só de acréscimo",
    ),
    ("CAP_NET_BIND_SERVICE", "abrir portas abaixo de 1024"),
    ("CAP_NET_BROADCAST", "fazer broadcast e multicast"),
    (
        "CAP_NET_ADMIN",
        "configurar a rede: interfaces, rotas, firewall",
    ),
    (
        "CAP_NET_RAW",
        "abrir sockets crus (ping, montar pacotes à mão)",
    ),
    ("CAP_IPC_LOCK", "travar memória na RAM (mlock)"),
    (
        "CAP_IPC_OWNER",
        "ignorar as permissões da memória compartilhada e das filas",
    ),
    ("CAP_SYS_MODULE", "carregar e remover módulos do kernel"),
    (
        "CAP_SYS_RAWIO",
        "acesso cru a portas de E/S e à memória (/dev/mem)",
    ),
    ("CAP_SYS_CHROOT", "usar chroot"),
    (
        "CAP_SYS_PTRACE",
        "espiar e controlar outros processos (ptrace)",
    ),
    ("CAP_SYS_PACCT", "ligar a contabilidade de processos (acct)"),
    (
        "CAP_SYS_ADMIN",
        "mount, umount, pivot_root, sethostname e muito mais: a \"quase root\"",
    ),
    (
        "CAP_SYS_BOOT",
        "reiniciar a máquina e trocar o kernel (kexec)",
    ),
    (
        "CAP_SYS_NICE",
        "subir a prioridade de processos e escolher CPUs",
    ),
    (
        "CAP_SYS_RESOURCE",
        "passar por cima de limites (rlimits, cotas de disco)",
    ),
    ("CAP_SYS_TIME", "mudar o relógio do sistema"),
    ("CAP_SYS_TTY_CONFIG", "configurar terminais (vhangup)"),
    ("CAP_MKNOD", "criar arquivos de dispositivo (mknod)"),
    ("CAP_LEASE", "pôr leases em arquivos de outros usuários"),
    ("CAP_AUDIT_WRITE", "escrever no log de auditoria do kernel"),
    (
        "CAP_AUDIT_CONTROL",
        "ligar, desligar e configurar a auditoria do kernel",
    ),
    ("CAP_SETFCAP", "gravar capabilities em arquivos"),
    (
        "CAP_MAC_OVERRIDE",
        "passar por cima do controle obrigatório (Smack)",
    ),
    (
        "CAP_MAC_ADMIN",
        "configurar o controle obrigatório (Smack, AppArmor)",
    ),
    ("CAP_SYSLOG", "ler e limpar o log do kernel (dmesg)"),
    ("CAP_WAKE_ALARM", "programar alarmes que acordam a máquina"),
    (
        "CAP_BLOCK_SUSPEND",
        "impedir que a máquina entre em suspensão",
    ),
    ("CAP_AUDIT_READ", "ler o log de auditoria pelo netlink"),
    (
        "CAP_PERFMON",
        "medir o desempenho do kernel e de outros processos (perf)",
    ),
    ("CAP_BPF", "carregar programas BPF no kernel"),
    (
        "CAP_CHECKPOINT_RESTORE",
        "salvar e restaurar processos (checkpoint/restore)",
    ),
];

/// What `name` lets root do; a neutral text for a capability newer than
/// this table.
pub fn meaning(name: &str) -> &'static str {
    MEANINGS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or("uma capability mais nova que esta lista", |(_, m)| m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_capability_has_one_meaning_in_the_kernels_order() {
        let names: Vec<&str> = MEANINGS.iter().map(|(n, _)| *n).collect();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
        assert!(names.iter().all(|n| n.starts_with("CAP_")));
        assert_eq!(names[21], "CAP_SYS_ADMIN"); // number 21 in capability.h
        assert_eq!(names[40], "CAP_CHECKPOINT_RESTORE");
        assert_eq!(meaning("CAP_CHOWN"), "mudar o dono de qualquer arquivo");
        assert!(meaning("CAP_41").contains("mais nova"));
    }
}
