//! Checks over the state dir: an image (its layers, a file in it, a
//! whiteout) and the kept containers (how many, a file each one wrote).
//!
//! Files in an image are read from the layer blobs themselves (tar, maybe
//! gzip), top layer first, honouring OCI whiteouts: an image that was built
//! but never run has no unpacked layers yet.

use std::io::Read;
use std::time::SystemTime;

use super::output::text_problem;
use super::spec::{Check, Cmp};
use crate::image::{Image, Store};
use crate::state::StateDir;

/// Where a path stands in an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Present; the contents when it is a regular file.
    Found(Option<Vec<u8>>),
    /// Deleted by a whiteout in a layer above the one that had it.
    Deleted,
    Absent,
}

/// `Ok(detail)` when the image check holds, `Err(why)` when not.
pub fn image_check(state: &StateDir, c: &Check) -> Result<String, String> {
    let reference = c.image.as_deref().unwrap_or_default();
    let store = Store::open(state).map_err(|e| e.to_string())?;
    let image = store
        .resolve(reference)
        .map_err(|_| format!("a imagem {reference} não existe (veja `casulo image ls`)"))?;
    let mut said = vec![format!("a imagem {} existe", image.reference)];
    if let Some(want) = &c.layers {
        let cmp = Cmp::from_value(want.get_ref()).expect("validated");
        let n = image.layers.len() as i64;
        if !cmp.holds(n) {
            return Err(format!(
                "a imagem {} tem {n} camada(s); esperava {cmp}",
                image.reference
            ));
        }
        said.push(format!("{n} camadas"));
    }
    if let Some(path) = &c.file {
        match lookup(&store, &image, path)? {
            Lookup::Found(contents) => {
                let text = String::from_utf8_lossy(contents.as_deref().unwrap_or_default());
                if let Some(why) = text_problem(c, &text) {
                    return Err(format!("{path} na imagem: {why}"));
                }
                said.push(format!("{path} está nela"));
            }
            Lookup::Deleted => {
                return Err(format!(
                    "{path} foi apagado por uma camada da imagem {}",
                    image.reference
                ))
            }
            Lookup::Absent => {
                return Err(format!("{path} não existe na imagem {}", image.reference))
            }
        }
    }
    if let Some(path) = &c.no_file {
        if let Lookup::Found(_) = lookup(&store, &image, path)? {
            return Err(format!("{path} ainda existe na imagem {}", image.reference));
        }
        said.push(format!("{path} não está nela"));
    }
    if let Some(path) = &c.whiteout {
        if !has_whiteout(&store, &image, path)? {
            return Err(format!(
                "nenhuma camada da imagem {} apaga {path} (não há whiteout .wh.{})",
                image.reference,
                basename(path)
            ));
        }
        said.push(format!("uma camada apaga {path} (whiteout)"));
    }
    Ok(said.join(", "))
}

/// `Ok(detail)` when the containers check holds, `Err(why)` when not.
pub fn containers_check(state: &StateDir, c: &Check, since: SystemTime) -> Result<String, String> {
    let since_s = secs(since);
    let want_image = c
        .from_image
        .as_deref()
        .map(|r| crate::image::reference::normalize(r).unwrap_or_else(|_| r.to_string()));
    let records: Vec<_> = crate::container::list(state)
        .into_iter()
        .filter(|r| {
            humantime::parse_rfc3339_weak(&r.created)
                .map(|t| secs(t) >= since_s)
                .unwrap_or(false)
        })
        .filter(|r| want_image.as_ref().is_none_or(|i| &r.image == i))
        .collect();
    let cmp =
        Cmp::from_value(c.containers.as_ref().expect("subject").get_ref()).expect("validated");
    let of_image = want_image
        .as_ref()
        .map(|i| format!(" da imagem {i}"))
        .unwrap_or_default();
    let n = records.len() as i64;
    if !cmp.holds(n) {
        return Err(format!(
            "há {n} contêiner(es) guardado(s){of_image} desde o início do laboratório; esperava {cmp} (rode sem --rm para guardar)"
        ));
    }
    let mut said = format!("{n} contêiner(es){of_image}");
    if let Some(path) = &c.file {
        let rel = path.trim_start_matches('/');
        let mut contents = vec![];
        for r in &records {
            let file = crate::mounts::upper_of(&state.container(&r.id)).join(rel);
            match std::fs::read(&file) {
                Ok(bytes) if file.is_file() => {
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    if let Some(why) = text_problem(c, &text) {
                        return Err(format!("{path} do contêiner {}: {why}", r.name));
                    }
                    contents.push((r.name.clone(), text));
                }
                _ => {
                    return Err(format!(
                        "o contêiner {} não escreveu {path} (não está na camada de escrita dele)",
                        r.name
                    ))
                }
            }
        }
        if c.distinct == Some(true) {
            for (i, (a, ta)) in contents.iter().enumerate() {
                if let Some((b, _)) = contents[i + 1..].iter().find(|(_, tb)| tb == ta) {
                    return Err(format!(
                        "{path} tem o mesmo conteúdo nos contêineres {a} e {b}"
                    ));
                }
            }
        }
        said.push_str(&format!(", cada um com o seu {path}"));
    }
    Ok(said)
}

fn secs(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn basename(path: &str) -> &str {
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(path)
}

/// `a/b/c` → `["a", "a/b"]`.
fn ancestors(rel: &str) -> Vec<String> {
    let parts: Vec<&str> = rel.split('/').collect();
    (1..parts.len()).map(|i| parts[..i].join("/")).collect()
}

fn whiteout_name(rel: &str) -> String {
    match rel.rsplit_once('/') {
        Some((dir, name)) => format!("{dir}/.wh.{name}"),
        None => format!(".wh.{rel}"),
    }
}

/// Where `path` stands in the image's merged filesystem.
pub fn lookup(store: &Store, image: &Image, path: &str) -> Result<Lookup, String> {
    let rel = path.trim_matches('/').to_string();
    let mut deleting: Vec<String> = ancestors(&rel).iter().map(|a| whiteout_name(a)).collect();
    deleting.push(whiteout_name(&rel));
    let opaque: Vec<String> = ancestors(&rel)
        .iter()
        .map(|a| format!("{a}/.wh..wh..opq"))
        .chain(std::iter::once(".wh..wh..opq".to_string()))
        .collect();
    for layer in image.layers.iter().rev() {
        let (mut found, mut deleted, mut cut) = (None, false, false);
        for_each_entry(store, layer, &mut |name, entry| {
            if name == rel {
                let regular = entry.header().entry_type().is_file();
                let mut bytes = vec![];
                if regular {
                    let _ = entry.take(1 << 20).read_to_end(&mut bytes);
                }
                found = Some(regular.then_some(bytes));
            } else if deleting.iter().any(|d| d == name) {
                deleted = true;
            } else if opaque.iter().any(|o| o == name) {
                cut = true;
            }
        })?;
        if let Some(contents) = found {
            return Ok(Lookup::Found(contents));
        }
        if deleted {
            return Ok(Lookup::Deleted);
        }
        if cut {
            return Ok(Lookup::Absent);
        }
    }
    Ok(Lookup::Absent)
}

/// True when some layer of the image holds the whiteout of `path`.
pub fn has_whiteout(store: &Store, image: &Image, path: &str) -> Result<bool, String> {
    let wanted = whiteout_name(path.trim_matches('/'));
    for layer in &image.layers {
        let mut seen = false;
        for_each_entry(store, layer, &mut |name, _| seen |= name == wanted)?;
        if seen {
            return Ok(true);
        }
    }
    Ok(false)
}

type Entry<'a> = tar::Entry<'a, Box<dyn Read>>;

/// Calls `f` with each entry of a layer blob and its normalized path
/// (`etc/motd`: no `./`, no trailing `/`).
fn for_each_entry(
    store: &Store,
    layer: &crate::image::Layer,
    f: &mut dyn FnMut(&str, &mut Entry<'_>),
) -> Result<(), String> {
    let path = store.blob_path(&layer.digest).map_err(|e| e.to_string())?;
    let mut file = std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut magic = [0u8; 2];
    let gz = file.read_exact(&mut magic).is_ok() && magic == [0x1f, 0x8b];
    let file = std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let reader: Box<dyn Read> = if gz {
        Box::new(flate2::read::GzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut archive = tar::Archive::new(reader);
    let entries = archive
        .entries()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("{}: {e}", path.display()))?;
        let name = entry
            .path()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = name.trim_start_matches("./").trim_matches('/').to_string();
        f(&name, &mut entry);
    }
    Ok(())
}
