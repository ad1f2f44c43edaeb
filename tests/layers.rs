//! The library's layer order (README "Layout") holds, and the checker that guards it in CI
//! catches a module that reaches up and a circle between files: it is run here on the real
//! tree and on copies of it with one violation planted each.

use std::path::Path;
use std::process::Command;

fn check(src: &Path) -> (i32, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/check-layers.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(src)
        .output()
        .expect("python3 runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

fn append(path: &Path, text: &str) {
    let mut s = std::fs::read_to_string(path).unwrap();
    s.push_str(text);
    std::fs::write(path, s).unwrap();
}

#[test]
fn modules_import_only_downwards_and_the_check_can_fail() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let (code, text) = check(&src);
    assert_eq!(code, 0, "{text}");

    // A key-model file that uses the gate (four layers up).
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&src, dir.path());
    append(
        &dir.path().join("keys/known.rs"),
        "\nfn reach_up() -> Option<crate::gate::decision::Decision> { None }\n",
    );
    let (code, text) = check(dir.path());
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("src/keys/known.rs") && text.contains("crate::gate"),
        "{text}"
    );

    // A `use crate::{…}` group hides the same thing.
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&src, dir.path());
    append(
        &dir.path().join("input/le.rs"),
        "\n#[allow(unused_imports)]\nuse crate::{report::Finding, keys::Curve};\n",
    );
    let (code, text) = check(dir.path());
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("crate::report") && text.contains("crate::keys"),
        "{text}"
    );

    // Two sibling files that use each other.
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&src, dir.path());
    append(
        &dir.path().join("rules/spec.rs"),
        "\n#[allow(dead_code)]\nconst K: usize = super::compile::MAX_KEYWORD;\n",
    );
    let (code, text) = check(dir.path());
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("circle between modules"), "{text}");

    // Comments and strings naming a module above are not imports.
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&src, dir.path());
    append(
        &dir.path().join("keys/known.rs"),
        "\n// crate::gate is above\nconst _S: &str = \"crate::sweep\";\n",
    );
    let (code, text) = check(dir.path());
    assert_eq!(code, 0, "{text}");
}

/// A new detector is one file plus one registration line: its family and its `--detectors`
/// help come from the registry (unit-tested in `detect`), and this keeps the README's "What it
/// finds" table from falling behind: every registered detector has a row.
#[test]
fn the_readme_table_has_a_row_for_every_registered_detector() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme
        .find("## What it finds")
        .expect("README has a What it finds section");
    let table = &readme[start..];
    let table = &table[..table[3..].find("\n## ").map_or(table.len(), |i| i + 3)];
    let help = {
        let out = Command::new(env!("CARGO_BIN_EXE_dumpguard"))
            .args(["scan", "--help"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let mut missing = Vec::new();
    for (family, names) in dumpguard::families() {
        assert!(help.contains(&format!("{}:", family.name())), "{help}");
        for n in names {
            if !table.contains(&format!("| `{n}`")) {
                missing.push(n);
            }
            assert!(help.contains(n), "`scan --help` does not list {n}");
        }
    }
    assert!(
        missing.is_empty(),
        "README \"What it finds\" has no row for {missing:?}"
    );
}
