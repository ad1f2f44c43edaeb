//! Reading rule files: a dumpguard file (`[[rule]]`) parses straight into specs; a gitleaks
//! pack (`[[rules]]`) is recognised here and handed to [`super::gitleaks`] for translation.
//! It sits apart from [`super::spec`] so the spec stays plain data that both formats produce,
//! and no two rule modules depend on each other.

use super::gitleaks;
use super::spec::{LoadError, Loaded, RuleFile};
use std::path::Path;

/// Parses rule-file text. dumpguard files use `[[rule]]`; gitleaks packs use `[[rules]]`
/// (and maybe `[allowlist]`, `title`, `[extend]`), and are translated.
pub fn parse(text: &str, source: &str) -> Result<Loaded, LoadError> {
    let syntax = |error: toml::de::Error| LoadError::Syntax {
        path: source.to_string(),
        error: Box::new(error),
    };
    // A dumpguard file parses in one pass (the built-in pack is parsed at every start); only
    // when it does not is the text read as a table to see whether it is a gitleaks pack.
    let file: RuleFile = match toml::from_str(text) {
        Ok(f) => f,
        Err(not_ours) => {
            let value: toml::Table = toml::from_str(text).map_err(syntax)?;
            if value.contains_key("rules") || value.contains_key("allowlist") {
                return gitleaks::import(value, source).map_err(|error| LoadError::Gitleaks {
                    path: source.to_string(),
                    error,
                });
            }
            return Err(syntax(not_ours));
        }
    };
    let mut rules = file.rule;
    for r in &mut rules {
        r.source = source.to_string();
    }
    Ok(Loaded {
        rules,
        warnings: Vec::new(),
    })
}

/// Reads and parses one rule file.
pub fn load_file(path: &Path) -> Result<Loaded, LoadError> {
    let io = |e| LoadError::Io {
        path: path.display().to_string(),
        source: e,
    };
    let bytes = crate::input::config_file::read_config(path).map_err(io)?;
    let text = String::from_utf8(bytes).map_err(|_| {
        io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "not UTF-8 text",
        ))
    })?;
    parse(&text, &path.display().to_string())
}
