//! Target `carregar`: a whole `image load` of an archive built from the
//! input, into a fresh store (`image/archive.rs`: `load_oci`,
//! `load_docker`, and the store writes behind them).
//!
//! The input is three JSON texts and a layer, separated by the first three
//! NUL bytes. JSON cannot hold a NUL, the layer (a tar) can: it is all
//! that follows the third one. The blobs of an OCI layout are named by
//! their sha256, which no mutation could keep right, so the target fills
//! them in: in each text, `@camada`, `@diff`, `@config` and `@manifesto`
//! become the digest of the layer, its diff_id, and of the config and
//! manifest texts (after their own substitutions), and `"#camada"`,
//! `"#config"`, `"#manifesto"` (with the quotes) become their sizes. Then:
//!
//! - the first text starts with `[`: a docker-archive (`manifest.json`,
//!   `config.json`, the layer as `camada.tar`; the third text is unused);
//! - otherwise an OCI layout: `index.json`, the manifest and config blobs,
//!   the layer blob, and `oci-layout`.
//!
//! Checks: no panic (an overflow is one: the targets are built with
//! overflow checks, as the debug `casulo` is), and every tag a load
//! reports resolves in the store.

use std::fs;
use std::io::Read;

use casulo::image::archive;
use casulo::image::Store;
use casulo::state::StateDir;
use sha2::{Digest, Sha256};

use crate::sandbox;

pub fn fuzz(data: &[u8]) {
    let _ = load(data);
}

/// Builds the archive and loads it; `None` if the input has no three NULs
/// or its texts are not UTF-8.
pub fn load(data: &[u8]) -> Option<Result<Vec<String>, String>> {
    sandbox::enter();
    let mut parts = data.splitn(4, |&b| b == 0);
    let (Some(first), Some(second), Some(third)) = (parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let layer = parts.next().unwrap_or_default();
    let (Ok(first), Ok(second), Ok(third)) = (
        std::str::from_utf8(first),
        std::str::from_utf8(second),
        std::str::from_utf8(third),
    ) else {
        return None;
    };

    let work = tempfile::Builder::new()
        .prefix("carregar-")
        .tempdir_in(sandbox::scratch())
        .expect("diretório temporário");
    let input = work.path().join("entrada");
    fs::create_dir(&input).unwrap();

    let layer_digest = sha256(layer);
    let diff_id = if layer.starts_with(&[0x1f, 0x8b]) {
        gunzip_digest(layer)
    } else {
        layer_digest.clone()
    };
    let mut subst = vec![
        ("@camada", layer_digest.clone()),
        ("@diff", diff_id),
        ("\"#camada\"", layer.len().to_string()),
    ];
    if first.trim_start().starts_with('[') {
        let config = fill(second, &subst);
        subst.push(("@config", sha256(config.as_bytes())));
        subst.push(("\"#config\"", config.len().to_string()));
        fs::write(input.join("manifest.json"), fill(first, &subst)).unwrap();
        fs::write(input.join("config.json"), config).unwrap();
        fs::write(input.join("camada.tar"), layer).unwrap();
    } else {
        let config = fill(third, &subst);
        subst.push(("@config", sha256(config.as_bytes())));
        subst.push(("\"#config\"", config.len().to_string()));
        let manifest = fill(second, &subst);
        subst.push(("@manifesto", sha256(manifest.as_bytes())));
        subst.push(("\"#manifesto\"", manifest.len().to_string()));
        let blobs = input.join("blobs/sha256");
        fs::create_dir_all(&blobs).unwrap();
        for blob in [layer, config.as_bytes(), manifest.as_bytes()] {
            let name = sha256(blob);
            fs::write(blobs.join(name.trim_start_matches("sha256:")), blob).unwrap();
        }
        fs::write(input.join("index.json"), fill(first, &subst)).unwrap();
        fs::write(
            input.join("oci-layout"),
            r#"{"imageLayoutVersion":"1.0.0"}"#,
        )
        .unwrap();
    }

    let state = StateDir::new(work.path().join("estado"));
    let store = Store::open(&state).expect("store vazio abre");
    let result = archive::load(&store, &input, &mut |_, _| {});
    Some(match result {
        Ok(report) => {
            for (reference, _) in &report.tagged {
                if let Err(e) = store.resolve(reference) {
                    panic!("o load marcou {reference}, que não resolve: {e}");
                }
            }
            Ok(report.tagged.into_iter().map(|(r, _)| r).collect())
        }
        Err(e) => Err(e.to_string()),
    })
}

fn fill(text: &str, subst: &[(&str, String)]) -> String {
    let mut out = text.to_string();
    for (from, to) in subst {
        out = out.replace(from, to);
    }
    out
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

fn gunzip_digest(blob: &[u8]) -> String {
    let mut hasher = Sha256::new();
    let mut reader = flate2::read::MultiGzDecoder::new(blob).take(16 << 20);
    let mut buf = [0u8; 8192];
    loop {
        match reader.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => hasher.update(&buf[..n]),
        }
    }
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    /// The seeds are images that load: the target reaches the end of
    /// `load`, not only its first refusal.
    #[test]
    fn the_seeds_load() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap();
        for (name, data) in crate::seeds::seeds("carregar", root) {
            match super::load(&data) {
                Some(Ok(tags)) => assert!(!tags.is_empty(), "{name}: nenhuma tag"),
                other => panic!("{name}: {other:?}"),
            }
        }
    }
}
