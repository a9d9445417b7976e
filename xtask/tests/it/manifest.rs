//! The files under test, read as plain data: every YAML document of deploy/kubernetes as a [`Node`] that knows
//! its file, object and field (so a failed check names them), and the Dockerfile as its stages' instructions.
//! Parsing only: the checks are in `deploy`.

use std::fmt::Display;
use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

pub const DIR: &str = "deploy/kubernetes";

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask sits in the workspace").to_path_buf()
}

pub fn read(relative: &str) -> String {
    std::fs::read_to_string(root().join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// One YAML document: `origin` is its file, and its kind and name when it has them.
struct Doc {
    file: String,
    origin: String,
    yaml: Yaml,
}

pub struct Manifests {
    docs: Vec<Doc>,
}

impl Manifests {
    /// Every document of every `.yaml` file under [`DIR`]; a file that does not parse fails, named.
    pub fn load() -> Manifests {
        let mut docs = Vec::new();
        for file in yaml_files() {
            let relative = format!("{DIR}/{file}");
            let parsed =
                YamlLoader::load_from_str(&read(&relative)).unwrap_or_else(|e| panic!("{relative}: not YAML: {e}"));
            for yaml in parsed.into_iter().filter(|yaml| !yaml.is_null()) {
                let kind = yaml["kind"].as_str().unwrap_or_else(|| panic!("{relative}: a document without `kind`"));
                let origin = match yaml["metadata"]["name"].as_str() {
                    Some(name) => format!("{relative} ({kind} {name})"),
                    None if kind == "Kustomization" => relative.clone(),
                    None => panic!("{relative}: a {kind} without `metadata.name`"),
                };
                docs.push(Doc { file: file.clone(), origin, yaml });
            }
        }
        Manifests { docs }
    }

    /// The object of this kind and name; fails if there is none.
    pub fn object(&self, kind: &str, name: &str) -> Node<'_> {
        self.all(kind)
            .find(|object| object.at("metadata.name").yaml.as_str() == Some(name))
            .unwrap_or_else(|| panic!("{DIR}: no {kind} named `{name}`"))
    }

    /// Every object of this kind, in file order.
    pub fn all<'a>(&'a self, kind: &str) -> impl Iterator<Item = Node<'a>> + 'a {
        let kind = kind.to_string();
        self.docs.iter().filter(move |doc| doc.yaml["kind"].as_str() == Some(kind.as_str())).map(Doc::node)
    }

    /// Every document, with the file it came from.
    pub fn documents(&self) -> impl Iterator<Item = (&str, Node<'_>)> {
        self.docs.iter().map(|doc| (doc.file.as_str(), doc.node()))
    }
}

impl Doc {
    fn node(&self) -> Node<'_> {
        Node { origin: &self.origin, path: String::new(), yaml: &self.yaml }
    }
}

/// The names of the `.yaml` files of [`DIR`], sorted.
pub fn yaml_files() -> Vec<String> {
    let dir = root().join(DIR);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut files: Vec<String> = entries
        .map(|entry| entry.expect("a directory entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".yaml") || name.ends_with(".yml"))
        .collect();
    files.sort();
    files
}

/// A field of a document and the path that reached it (`spec.template.spec.containers.0.command`).
#[derive(Clone)]
pub struct Node<'a> {
    origin: &'a str,
    path: String,
    pub yaml: &'a Yaml,
}

impl<'a> Node<'a> {
    /// The field at a dotted path; numbers index lists. Missing fields are `Yaml::BadValue`, not failures.
    pub fn at(&self, path: &str) -> Node<'a> {
        let mut yaml = self.yaml;
        for segment in path.split('.') {
            yaml = match segment.parse::<usize>() {
                Ok(index) => &yaml[index],
                Err(_) => &yaml[segment],
            };
        }
        let path = if self.path.is_empty() { path.to_string() } else { format!("{}.{path}", self.path) };
        Node { origin: self.origin, path, yaml }
    }

    pub fn fail(&self, why: impl Display) -> ! {
        panic!("{}: {}: {why}", self.origin, if self.path.is_empty() { "(document)" } else { &self.path })
    }

    pub fn check(&self, ok: bool, why: impl Display) {
        if !ok {
            self.fail(why);
        }
    }

    pub fn exists(&self) -> bool {
        !self.yaml.is_badvalue()
    }

    pub fn str(&self) -> &'a str {
        self.yaml.as_str().unwrap_or_else(|| self.fail(format_args!("expected a string, found {}", self.shown())))
    }

    pub fn int(&self) -> i64 {
        self.yaml.as_i64().unwrap_or_else(|| self.fail(format_args!("expected an integer, found {}", self.shown())))
    }

    /// The items of a list, each with its index in the path.
    pub fn list(&self) -> Vec<Node<'a>> {
        let items =
            self.yaml.as_vec().unwrap_or_else(|| self.fail(format_args!("expected a list, found {}", self.shown())));
        (0..items.len()).map(|index| self.at(&index.to_string())).collect()
    }

    pub fn strings(&self) -> Vec<&'a str> {
        self.list().iter().map(Node::str).collect()
    }

    /// The item of this list whose `key` is `value` (a container by its name, a variable by its name).
    pub fn item(&self, key: &str, value: &str) -> Node<'a> {
        self.list()
            .into_iter()
            .find(|item| item.at(key).yaml.as_str() == Some(value))
            .unwrap_or_else(|| self.fail(format_args!("no item with {key} `{value}`")))
    }

    /// A mapping of strings, as labels and selectors are.
    pub fn labels(&self) -> Vec<(&'a str, &'a str)> {
        let hash = self
            .yaml
            .as_hash()
            .unwrap_or_else(|| self.fail(format_args!("expected a mapping, found {}", self.shown())));
        hash.iter()
            .map(|(key, value)| match (key.as_str(), value.as_str()) {
                (Some(key), Some(value)) => (key, value),
                _ => self.fail(format_args!("expected string keys and values, found {key:?}: {value:?}")),
            })
            .collect()
    }

    fn shown(&self) -> String {
        match self.yaml {
            Yaml::BadValue => "nothing".to_string(),
            other => format!("{other:?}"),
        }
    }
}

/// One instruction of a Dockerfile: its keyword in capitals and the rest, continuation lines joined.
pub struct Instruction {
    pub keyword: String,
    pub rest: String,
}

/// The Dockerfile's stages, each its instructions from its `FROM` on.
pub fn dockerfile_stages(text: &str) -> Vec<Vec<Instruction>> {
    let mut logical = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(part) => {
                current.push_str(part);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                logical.push(std::mem::take(&mut current));
            }
        }
    }
    let mut stages: Vec<Vec<Instruction>> = Vec::new();
    for line in logical {
        let (keyword, rest) = line.split_once(char::is_whitespace).unwrap_or((&line, ""));
        let instruction = Instruction { keyword: keyword.to_uppercase(), rest: rest.trim().to_string() };
        match (instruction.keyword.as_str(), stages.last_mut()) {
            ("FROM", _) | (_, None) => stages.push(vec![instruction]),
            (_, Some(stage)) => stage.push(instruction),
        }
    }
    stages
}
