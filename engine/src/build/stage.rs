//! The image one stage of a Dockerfile is building: its config so far,
//! its layers, its history, and the state the next instruction reads
//! (ARGs, SHELL, the chain of cache keys).

use std::collections::BTreeMap;

use super::{cache, dockerfile};
use crate::image::oci::{self, ConfigFile, History};
use crate::image::{Image, ImageConfig, Layer};

#[derive(Clone)]
pub(super) struct Stage {
    /// Its number in the Dockerfile (0 = the first FROM).
    pub index: usize,
    pub base_ref: String,
    pub base_id: Option<String>,
    pub config: ConfigFile,
    pub layers: Vec<Layer>,
    /// The image's history: the base's, then one line per step.
    pub history: Vec<History>,
    /// ARG values declared so far (visible to substitution and to RUN).
    pub args: BTreeMap<String, String>,
    /// CMD was set by this Dockerfile (ENTRYPOINT then keeps it).
    pub cmd_set: bool,
    /// The shell of shell-form RUN/CMD/ENTRYPOINT (SHELL changes it).
    pub shell: Vec<String>,
    /// The chain of cache keys: the last key and the last layer.
    pub key: String,
    pub last_diff_id: String,
}

impl Stage {
    /// `FROM image` (or `FROM scratch`, with no base): the image's config,
    /// layers and history; the key chain starts from the image id.
    pub fn from_image(index: usize, base_ref: &str, base: Option<(Image, ConfigFile)>) -> Stage {
        let (image, config) = match base {
            Some((img, cfg)) => (Some(img), Some(cfg)),
            None => (None, None),
        };
        let base_id = image.as_ref().map(|b| b.id.clone());
        let mut config = config.unwrap_or_else(|| ConfigFile {
            architecture: oci::host_architecture().into(),
            os: "linux".into(),
            ..Default::default()
        });
        let history = std::mem::take(&mut config.history);
        let key = cache::key(
            "",
            "",
            &format!("FROM {}", base_id.as_deref().unwrap_or("scratch")),
            "",
        );
        Stage {
            index,
            base_ref: base_ref.to_string(),
            base_id,
            config,
            layers: image.map(|b| b.layers).unwrap_or_default(),
            history,
            args: BTreeMap::new(),
            cmd_set: false,
            shell: dockerfile::default_shell(),
            key,
            last_diff_id: String::new(),
        }
    }

    /// `FROM an-earlier-stage`: its result, key chain and history; ARGs do
    /// not cross stages (docker's scoping).
    pub fn from_stage(index: usize, parent: &Stage) -> Stage {
        Stage {
            index,
            args: BTreeMap::new(),
            cmd_set: false,
            ..parent.clone()
        }
    }

    pub fn env(&self) -> Vec<String> {
        self.config
            .config
            .as_ref()
            .and_then(|c| c.env.clone())
            .unwrap_or_default()
    }

    /// Variables for substitution: ARGs, overridden by ENV (docker's rule).
    pub fn vars(&self) -> BTreeMap<String, String> {
        let mut vars = self.args.clone();
        for e in self.env() {
            if let Some((k, v)) = e.split_once('=') {
                vars.insert(k.to_string(), v.to_string());
            }
        }
        vars
    }

    pub fn workdir(&self) -> String {
        self.config
            .config
            .as_ref()
            .and_then(|c| c.working_dir.clone())
            .filter(|w| !w.is_empty())
            .unwrap_or_else(|| "/".into())
    }

    /// The image so far, as `casulo run` sees one.
    pub fn image(&self, cmd: Vec<String>) -> Image {
        let rc = self.config.config.clone().unwrap_or_default();
        Image {
            reference: self.base_ref.clone(),
            id: self.base_id.clone().unwrap_or_default(),
            manifest_digest: String::new(),
            config: ImageConfig {
                env: rc.env.unwrap_or_default(),
                entrypoint: vec![],
                cmd,
                working_dir: rc.working_dir.unwrap_or_default(),
                user: rc.user.unwrap_or_default(),
                volumes: vec![],
                stop_signal: String::new(),
            },
            layers: self.layers.clone(),
        }
    }

    /// A step is done: its history line, and its layer if it made one.
    pub fn push(&mut self, history: History, layer: Option<Layer>) {
        self.history.push(history);
        if let Some(layer) = layer {
            self.last_diff_id = layer.diff_id.clone();
            self.layers.push(layer);
        }
    }
}
