//! `semear ALVO PASTA`: writes the first corpus of a target (see
//! `casulo_fuzz::seeds`) into PASTA. Run by `cargo xtask fuzz` when the
//! target's corpus folder is empty.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [target, dir] = args.as_slice() else {
        eprintln!("uso: semear ALVO PASTA");
        std::process::exit(2);
    };
    if casulo_fuzz::target(target).is_none() {
        eprintln!("semear: alvo desconhecido: {target}");
        std::process::exit(2);
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("fuzz/ tem pai");
    let dir = std::path::Path::new(dir);
    if let Err(e) = std::fs::create_dir_all(dir) {
        eprintln!("semear: não consegui criar {}: {e}", dir.display());
        std::process::exit(1);
    }
    let seeds = casulo_fuzz::seeds::seeds(target, root);
    for (name, bytes) in &seeds {
        let path = dir.join(name);
        if let Err(e) = std::fs::write(&path, bytes) {
            eprintln!("semear: não consegui gravar {}: {e}", path.display());
            std::process::exit(1);
        }
    }
    println!("{} sementes em {}", seeds.len(), dir.display());
}
