//! `ADD https://…/arquivo /destino`: a file downloaded at build time.
//!
//! As docker: the file is named after the last segment of the URL's path,
//! gets mode 0600 (docker's, so a downloaded secret is not world-readable
//! by accident), and is never unpacked even if it is an archive. With
//! `--checksum=sha256:…` a download whose sha256 differs is refused before
//! anything is written to the layer. Every build downloads it again (the
//! step's cache key is its content, as for a file of the context), which is
//! why docker's documentation prefers `RUN curl` or `--checksum` pinning.
//!
//! The bytes go into a directory of `tmp/` (removed when the guard goes),
//! read from there by the same code as a COPY's context.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use super::step_copy::Extracted;
use crate::state::StateDir;

/// The largest download (the extractor's limit for a layer is the same order).
const MAX_BYTES: u64 = 1 << 30;

/// One file downloaded (a `build.download` event).
#[derive(Debug, Clone)]
pub struct Downloaded {
    pub url: String,
    /// Its name in the directory (and in the layer).
    pub name: String,
    pub bytes: u64,
    /// `sha256:` of what arrived.
    pub digest: String,
}

/// Downloads `urls` into a fresh directory; returns it and what arrived
/// (the names are the sources to copy from it), or why not, in Portuguese.
pub fn download(
    state: &StateDir,
    urls: &[String],
    checksum: Option<&str>,
) -> Result<(Extracted, Vec<Downloaded>), String> {
    if checksum.is_some() && urls.len() != 1 {
        return Err("--checksum vale para uma URL só".into());
    }
    let guard = Extracted::fresh(state, "add-url")
        .map_err(|e| format!("{}: {e}", state.tmp().display()))?;
    let dir = guard.0.clone();
    let agent = ureq::Agent::new_with_config(
        ureq::config::Config::builder()
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_per_read(Some(Duration::from_secs(60)))
            .user_agent(format!("casulo/{}", env!("CARGO_PKG_VERSION")))
            .max_redirects(5)
            .build(),
    );
    let mut got: Vec<Downloaded> = Vec::new();
    for url in urls {
        let name = file_name(url)?;
        if got.iter().any(|d| d.name == name) {
            return Err(format!("duas URLs dão o mesmo nome de arquivo, {name}"));
        }
        let mut resp = agent
            .get(url)
            .call()
            .map_err(|e| format!("não consegui baixar {url}: {e}"))?;
        let path = dir.join(&name);
        let mut file = crate::state::private_file_options()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
        let mut body = resp.body_mut().as_reader().take(MAX_BYTES + 1);
        let mut buf = vec![0u8; 64 * 1024];
        let mut size = 0u64;
        loop {
            let n = body
                .read(&mut buf)
                .map_err(|e| format!("o download de {url} foi interrompido: {e}"))?;
            if n == 0 {
                break;
            }
            size += n as u64;
            if size > MAX_BYTES {
                return Err(format!("{url} passa de {MAX_BYTES} bytes: grande demais"));
            }
            sha2::Digest::update(&mut hasher, &buf[..n]);
            file.write_all(&buf[..n])
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        let digest = format!("sha256:{}", hex::encode(sha2::Digest::finalize(hasher)));
        if let Some(want) = checksum {
            if digest != want {
                return Err(format!(
                    "{url}: o arquivo baixado tem {digest}, mas o --checksum pede {want} \
                     (o arquivo mudou no servidor, ou a URL não é a que você queria)"
                ));
            }
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        got.push(Downloaded {
            url: url.clone(),
            name,
            bytes: size,
            digest,
        });
    }
    Ok((guard, got))
}

/// The file name docker gives a download: the last segment of the path.
fn file_name(url: &str) -> Result<String, String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.split(['?', '#']).next().unwrap_or("");
    let name = path
        .split_once('/')
        .map(|(_, p)| p)
        .unwrap_or("")
        .rsplit('/')
        .next()
        .unwrap_or("");
    if name.is_empty() || name == "." || name == ".." {
        return Err(format!(
            "ADD {url}: a URL não termina num nome de arquivo (como …/arquivo.tar.gz)"
        ));
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_download_is_named_after_the_url() {
        assert_eq!(
            file_name("http://h:8/a/b/c.tar.gz?x=1").unwrap(),
            "c.tar.gz"
        );
        assert_eq!(file_name("https://h/arquivo").unwrap(), "arquivo");
        assert!(file_name("http://h/").is_err());
        assert!(file_name("http://h").is_err());
        assert!(file_name("http://h/a/..").is_err());
    }
}
