//! The labs: the ones built into the binary (from `labs/` at compile time,
//! see `engine/build.rs`), or one read from a folder (`--dir`).

use std::path::{Path, PathBuf};

use super::spec::{self, LabSpec};
use super::LabError;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/labs.rs"));
}

/// One lab, parsed.
#[derive(Debug, Clone)]
pub struct Lab {
    /// Folder name: `01-seu-primeiro-conteiner`.
    pub slug: String,
    /// The `NN` of the folder name.
    pub number: u32,
    pub spec: LabSpec,
    pub readme: String,
    /// Files the student starts from: `arquivos/…`, path relative to it.
    pub files: Vec<(PathBuf, Vec<u8>)>,
}

/// Every lab built into the binary, in order.
pub fn all() -> Result<Vec<Lab>, LabError> {
    let mut slugs: Vec<&str> = embedded::FILES
        .iter()
        .filter_map(|(p, _)| p.split_once('/').map(|(s, _)| s))
        .collect();
    slugs.dedup();
    slugs
        .into_iter()
        .map(|slug| {
            let prefix = format!("{slug}/");
            let files: Vec<(&str, &[u8])> = embedded::FILES
                .iter()
                .filter_map(|(p, b)| p.strip_prefix(&prefix).map(|rel| (rel, *b)))
                .collect();
            assemble(slug, &format!("labs/{slug}"), &files)
        })
        .collect()
}

/// The built-in lab named by `key`: its number (`3`, `03`), its folder
/// name (`03-limite-de-memoria`) or the name without the number.
pub fn find(key: &str) -> Result<Lab, LabError> {
    let key = key.trim().trim_end_matches('/');
    let number: Option<u32> = key.parse().ok();
    all()?
        .into_iter()
        .find(|lab| {
            Some(lab.number) == number
                || lab.slug == key
                || lab.slug.split_once('-').map(|(_, n)| n) == Some(key)
        })
        .ok_or_else(|| LabError::NotFound(key.to_string()))
}

/// A lab from a folder (`--dir`): its `lab.toml`, `README.md`, `arquivos/`.
pub fn from_dir(dir: &Path) -> Result<Lab, LabError> {
    let toml = dir.join("lab.toml");
    if !toml.is_file() {
        return Err(LabError::NoLabFile(dir.to_path_buf()));
    }
    let mut files: Vec<(String, Vec<u8>)> = vec![];
    for name in ["lab.toml", "README.md"] {
        let p = dir.join(name);
        if p.is_file() {
            let bytes = std::fs::read(&p).map_err(|e| LabError::io("não consegui ler", &p, e))?;
            files.push((name.to_string(), bytes));
        }
    }
    walk(&dir.join("arquivos"), "arquivos", &mut files)?;
    let slug = std::fs::canonicalize(dir)
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "lab".into());
    let borrowed: Vec<(&str, &[u8])> = files.iter().map(|(p, b)| (p.as_str(), &b[..])).collect();
    assemble(&slug, &dir.display().to_string(), &borrowed)
}

fn walk(dir: &Path, rel: &str, out: &mut Vec<(String, Vec<u8>)>) -> Result<(), LabError> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in rd.flatten() {
        let path = entry.path();
        let name = format!("{rel}/{}", entry.file_name().to_string_lossy());
        if path.is_dir() {
            walk(&path, &name, out)?;
        } else if path.is_file() {
            let bytes =
                std::fs::read(&path).map_err(|e| LabError::io("não consegui ler", &path, e))?;
            out.push((name, bytes));
        }
    }
    Ok(())
}

/// Builds a [`Lab`] from its files (paths relative to the lab folder).
fn assemble(slug: &str, shown_dir: &str, files: &[(&str, &[u8])]) -> Result<Lab, LabError> {
    let get = |name: &str| files.iter().find(|(p, _)| *p == name).map(|(_, b)| *b);
    let toml_name = format!("{shown_dir}/lab.toml");
    let text = get("lab.toml").ok_or_else(|| LabError::NoLabFile(PathBuf::from(shown_dir)))?;
    let text = String::from_utf8_lossy(text);
    let spec = spec::parse(&toml_name, &text)?;
    let readme = get("README.md")
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default();
    let number = slug
        .get(..2)
        .and_then(|n| n.parse().ok())
        .unwrap_or_default();
    let files = files
        .iter()
        .filter_map(|(p, b)| {
            p.strip_prefix("arquivos/")
                .map(|r| (PathBuf::from(r), b.to_vec()))
        })
        .collect();
    Ok(Lab {
        slug: slug.to_string(),
        number,
        spec,
        readme,
        files,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_built_in_lab_parses() {
        let labs = super::all().expect("the labs of labs/ parse");
        assert!(labs.len() >= 3, "{} labs", labs.len());
        for lab in labs {
            assert!(lab.number > 0, "{}", lab.slug);
            assert!(!lab.readme.is_empty(), "{} has a README.md", lab.slug);
        }
    }
}
