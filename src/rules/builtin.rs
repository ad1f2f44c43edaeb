//! The built-in rule pack: `rules/*.toml`, embedded at build time so the binary works
//! anywhere (an isolated network has no rule server).

use super::spec::RuleSpec;

/// (file name, text) of every built-in rule file.
pub const FILES: &[(&str, &str)] = &[
    ("rules/jwt.toml", include_str!("../../rules/jwt.toml")),
    (
        "rules/git-hosting.toml",
        include_str!("../../rules/git-hosting.toml"),
    ),
    ("rules/aws.toml", include_str!("../../rules/aws.toml")),
    ("rules/azure.toml", include_str!("../../rules/azure.toml")),
    ("rules/gcp.toml", include_str!("../../rules/gcp.toml")),
    ("rules/saas.toml", include_str!("../../rules/saas.toml")),
    ("rules/http.toml", include_str!("../../rules/http.toml")),
    (
        "rules/passwords.toml",
        include_str!("../../rules/passwords.toml"),
    ),
    (
        "rules/windows.toml",
        include_str!("../../rules/windows.toml"),
    ),
    (
        "rules/generic.toml",
        include_str!("../../rules/generic.toml"),
    ),
];

/// Every built-in rule spec, tagged with its file.
pub fn specs() -> Vec<RuleSpec> {
    let mut out = Vec::new();
    for (name, text) in FILES {
        let loaded = super::load::parse(text, &format!("builtin:{name}"))
            .unwrap_or_else(|e| panic!("built-in rule file {name} is invalid: {e}"));
        out.extend(loaded.rules);
    }
    out
}
