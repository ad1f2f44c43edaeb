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

/// Comments in the code name only what ships with it: the design notes they rely on live in
/// `docs/`, so a reader of the repository alone can follow every reference. Returns one line
/// per comment that names a path outside the repository (`../shared`, the research notes, a
/// bare `DESIGN.md`) or a `docs/` file that does not exist.
fn outside_references(root: &Path, repo: &Path) -> Vec<String> {
    let outside = regex::Regex::new(
        r"\.\./shared|\bshared/|\bresearch/|(^|[^/\w])(DESIGN\.md|key-formats\.md|dump-formats\.md|secret-scanners\.md)",
    )
    .unwrap();
    let docs = regex::Regex::new(r"\bdocs/[\w./-]+\.md").unwrap();
    let mut found = Vec::new();
    for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
        let entry = entry.unwrap();
        let path = entry.path();
        if path.extension() != Some("rs".as_ref()) {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        for (n, line) in text.lines().enumerate() {
            // Line comments, doc comments and the comment part of a code line.
            let Some(at) = line.find("//") else { continue };
            let comment = &line[at..];
            let mut bad = outside.is_match(comment);
            for m in docs.find_iter(comment) {
                let name = m.as_str().trim_end_matches('.');
                bad |= !repo.join(name).is_file();
            }
            if bad {
                found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn comments_point_only_inside_the_repository() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in ["src", "benches", "examples"] {
        let found = outside_references(&repo.join(dir), repo);
        assert!(found.is_empty(), "{}", found.join("\n"));
    }

    // The check catches each kind of reference it is meant to.
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&repo.join("src"), dir.path());
    append(
        &dir.path().join("keys/known.rs"),
        "\n// See DESIGN.md.\n/// research/key-formats.md §2\nconst _X: u8 = 0; // ../shared/x\n\
         //! docs/no-such-note.md\n// docs/design.md and docs/key-formats.md §8 are fine\n",
    );
    let found = outside_references(dir.path(), repo);
    assert_eq!(found.len(), 4, "{}", found.join("\n"));
    assert!(found.iter().all(|l| l.contains("known.rs")), "{found:?}");
}
