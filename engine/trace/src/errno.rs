//! The common errnos in Brazilian Portuguese: one small table shared by the
//! engine's errors (`causa:` lines), the terminal narration and the
//! visualizer, so a student never reads `Permission denied (os error 13)`.

/// `(name, pt-BR text)`, the errnos a container lab actually meets.
pub const TABLE: &[(&str, &str)] = &[
    ("EPERM", "operação não permitida"),
    ("ENOENT", "arquivo ou diretório não existe"),
    ("ESRCH", "o processo não existe"),
    ("EINTR", "chamada interrompida por um sinal"),
    ("EIO", "erro de entrada/saída"),
    ("E2BIG", "lista de argumentos longa demais"),
    ("ENOEXEC", "formato de executável inválido"),
    ("EBADF", "descritor de arquivo inválido"),
    ("ECHILD", "não há processo filho"),
    ("EAGAIN", "recurso temporariamente indisponível"),
    ("ENOMEM", "memória insuficiente"),
    ("EACCES", "permissão negada"),
    ("EFAULT", "endereço inválido"),
    ("EBUSY", "recurso ocupado"),
    ("EEXIST", "já existe"),
    (
        "EXDEV",
        "os dois caminhos estão em sistemas de arquivos diferentes",
    ),
    ("ENODEV", "o dispositivo não existe"),
    ("ENOTDIR", "não é um diretório"),
    ("EISDIR", "é um diretório"),
    ("EINVAL", "argumento inválido"),
    ("ENFILE", "arquivos abertos demais no sistema"),
    ("EMFILE", "arquivos abertos demais"),
    ("ETXTBSY", "o arquivo executável está em uso"),
    ("ENOSPC", "não há espaço no dispositivo"),
    ("EROFS", "sistema de arquivos somente leitura"),
    ("EMLINK", "links demais"),
    ("EPIPE", "pipe quebrado (ninguém lê do outro lado)"),
    ("ENAMETOOLONG", "nome de arquivo longo demais"),
    ("ENOSYS", "chamada de sistema não implementada neste kernel"),
    ("ENOTEMPTY", "o diretório não está vazio"),
    ("ELOOP", "links simbólicos demais (um laço?)"),
    ("EOPNOTSUPP", "operação não suportada"),
    ("EADDRINUSE", "endereço já em uso"),
    ("EADDRNOTAVAIL", "endereço indisponível"),
    ("ENETUNREACH", "rede inalcançável"),
    ("ECONNREFUSED", "conexão recusada"),
    ("ECONNRESET", "conexão encerrada pelo outro lado"),
    ("ETIMEDOUT", "tempo esgotado"),
    ("EHOSTUNREACH", "host inalcançável"),
];

/// The pt-BR text of the errno named `name` (`EACCES`), if in the table.
pub fn pt(name: &str) -> Option<&'static str> {
    TABLE.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// The pt-BR text, or `fallback` (the kernel's English) when not in the table.
pub fn text<'a>(name: &str, fallback: &'a str) -> &'a str {
    pt(name).unwrap_or(fallback)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_errnos_are_in_portuguese() {
        assert_eq!(pt("EACCES"), Some("permissão negada"));
        assert_eq!(pt("ENOENT"), Some("arquivo ou diretório não existe"));
        assert_eq!(text("EWHATEVER", "Whatever"), "Whatever");
        let mut names: Vec<&str> = TABLE.iter().map(|(n, _)| *n).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), TABLE.len(), "um nome por linha");
    }
}
