//! Issue 16 for the sweep, on real dumps of real processes (python holders of freshly
//! generated keys, dumped with gcore and minidump-writer at test time):
//!
//! - `sweep --policy FILE` gives each dump the verdict `dumpguard gate --policy FILE` gives it,
//!   with the same per-finding dispositions (blocking, suppressed by the allowlist);
//! - `sweep --baseline FILE` round trip: sweep, write a baseline from the output, sweep again:
//!   the baselined key's findings are suppressed with the reason, the rest still block;
//! - the HTML report's per-key view (headless Chromium): one row per fingerprint, where each
//!   key was seen, first and last seen from the state, new since the previous sweep; the "new"
//!   card counts keys (2 keys in 5 dumps are 2).

use crate::common;

use common::{DumpFile, Holder, TestKey};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// Two fresh keys, each held by its own process, each dumped once with gcore and once with
/// minidump-writer; and a third key, held by a third process, for "new since the last sweep".
struct Fixture {
    rsa: TestKey,
    ec: TestKey,
    late: TestKey,
    rsa_core: DumpFile,
    rsa_dmp: DumpFile,
    ec_core: DumpFile,
    ec_dmp: DumpFile,
    late_core: DumpFile,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let mut keys = common::fresh_keys();
        let ec = keys.pop().unwrap();
        let rsa = keys.pop().unwrap();
        let late = common::fresh_keys().pop().unwrap();
        let (rsa_core, rsa_dmp) = {
            let h = Holder::spawn(std::slice::from_ref(&rsa.pkcs8_pem));
            (common::gcore(h.pid), common::minidump(h.pid))
        };
        let (ec_core, ec_dmp) = {
            let h = Holder::spawn(std::slice::from_ref(&ec.pkcs8_der));
            (common::gcore(h.pid), common::minidump(h.pid))
        };
        let late_core = {
            let h = Holder::spawn(std::slice::from_ref(&late.trad_pem));
            common::gcore(h.pid)
        };
        Fixture {
            rsa,
            ec,
            late,
            rsa_core,
            rsa_dmp,
            ec_core,
            ec_dmp,
            late_core,
        }
    })
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A share of five dumps holding two keys: the RSA key in three (a gcore core, a minidump, a
/// copy of the core in a subfolder), the EC key in two.
fn five_dump_share(dir: &Path) -> PathBuf {
    let f = fixture();
    let root = dir.join("share");
    std::fs::create_dir_all(root.join("team-a")).unwrap();
    std::fs::create_dir_all(root.join("team-b")).unwrap();
    for (src, dst) in [
        (&f.rsa_core, "team-a/rsa.core"),
        (&f.rsa_dmp, "team-a/rsa.dmp"),
        (&f.rsa_core, "team-a/rsa-copy.core"),
        (&f.ec_core, "team-b/ec.core"),
        (&f.ec_dmp, "team-b/ec.dmp"),
    ] {
        std::fs::copy(src, root.join(dst)).unwrap();
    }
    root
}

/// `dumpguard sweep ROOT --state --out --format json -q EXTRA`: (exit code, summary, lines).
fn sweep(root: &Path, work: &Path, extra: &[&str]) -> (i32, Value, Vec<Value>) {
    let out = work.join("out.jsonl");
    let state = work.join("state.sqlite");
    let mut args = vec![
        "sweep",
        s(root),
        "--state",
        s(&state),
        "--out",
        s(&out),
        "--format",
        "json",
        "-q",
    ];
    args.extend_from_slice(extra);
    let o = common::cli(&args);
    let code = o.status.code().expect("exited");
    let summary: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("summary ({e}): {}", String::from_utf8_lossy(&o.stderr)));
    let lines = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (code, summary, lines)
}

fn name_of(line: &Value) -> String {
    let p = line["input"]["path"].as_str().unwrap();
    Path::new(p)
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string()
}

/// Fingerprint → finding ids of a line, and the ids of its suppressed findings with their
/// `by` and `reason`.
fn suppressed_of(line: &Value) -> BTreeMap<String, (String, String)> {
    line["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f.get("suppressed").is_some())
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_string(),
                (
                    f["suppressed"]["by"].as_str().unwrap().to_string(),
                    f["suppressed"]["reason"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect()
}

fn fingerprints_of(line: &Value) -> BTreeSet<String> {
    line["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["fingerprint"].as_str().map(str::to_string))
        .collect()
}

/// `dumpguard gate DUMP EXTRA`: the decision record.
fn gate(dump: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["gate", s(dump)];
    args.extend_from_slice(extra);
    let o = common::cli(&args);
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("gate record ({e}): {}", String::from_utf8_lossy(&o.stderr)))
}

/// The sweep's verdict and dispositions of each dump equal the gate's under the same policy
/// (and baseline).
fn assert_sweep_agrees_with_gate(lines: &[Value], gate_args: &[&str]) {
    for l in lines {
        let rec = gate(Path::new(l["input"]["path"].as_str().unwrap()), gate_args);
        let d = &rec["decision"];
        let v = &l["sweep"]["verdict"];
        assert_eq!(v["verdict"], d["verdict"], "{}: {v} vs {d}", name_of(l));
        let dispositions = |which: &str| -> BTreeSet<(String, u64)> {
            d["findings"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["disposition"] == which)
                .map(|f| {
                    (
                        f["fingerprint"].as_str().unwrap_or("").to_string(),
                        f["offset"].as_u64().unwrap(),
                    )
                })
                .collect()
        };
        let ids: BTreeSet<&str> = v["blocking"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap())
            .collect();
        let of = |f: &Value| {
            (
                f["fingerprint"].as_str().unwrap_or("").to_string(),
                f["offset"].as_u64().unwrap(),
            )
        };
        let findings = l["findings"].as_array().unwrap();
        let blocking: BTreeSet<_> = findings
            .iter()
            .filter(|f| ids.contains(f["id"].as_str().unwrap()))
            .map(of)
            .collect();
        assert_eq!(blocking, dispositions("blocking"), "{}", name_of(l));
        let suppressed: BTreeSet<_> = findings
            .iter()
            .filter(|f| f.get("suppressed").is_some() && f["severity"] != "low")
            .map(of)
            .collect();
        assert_eq!(suppressed, dispositions("suppressed"), "{}", name_of(l));
    }
}

#[test]
fn sweep_policy_and_allowlist_give_the_gates_verdicts() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let root = five_dump_share(dir.path());

    // Built-in policy: every dump holds a verified key, so every dump BLOCKs, as in the gate.
    let work = dir.path().join("builtin");
    std::fs::create_dir_all(&work).unwrap();
    let (code, summary, lines) = sweep(&root, &work, &[]);
    assert_eq!(code, 1);
    assert_eq!(lines.len(), 5);
    assert_eq!(summary["by_verdict"]["BLOCK"], 5, "{summary}");
    assert_sweep_agrees_with_gate(&lines, &[]);

    // A policy allowlisting the RSA key: the team-a dumps ALLOW, their findings suppressed by
    // the policy with its reason; the EC dumps still BLOCK. Same as the gate's verdicts.
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        format!(
            "version = 1\n[block]\nseverities = [\"critical\", \"high\"]\n[[allow]]\nfingerprint = \"{}\"\nreason = \"lab signing key, accepted\"\n",
            f.rsa.fingerprint
        ),
    )
    .unwrap();
    let (code, summary, lines) = sweep(&root, &work, &["--policy", s(&policy)]);
    assert_eq!(code, 1, "the EC key still fails the sweep");
    assert_eq!(summary["by_status"]["scanned"], 5, "a new policy rescans");
    assert_eq!(summary["by_verdict"]["ALLOW"], 3, "{summary}");
    assert_eq!(summary["by_verdict"]["BLOCK"], 2, "{summary}");
    for l in &lines {
        let sup = suppressed_of(l);
        if fingerprints_of(l).contains(&f.rsa.fingerprint) {
            assert_eq!(l["sweep"]["verdict"]["verdict"], "ALLOW", "{}", name_of(l));
            assert!(!sup.is_empty());
            for (by, reason) in sup.values() {
                assert_eq!(by, &format!("policy {}", policy.display()));
                assert_eq!(reason, "lab signing key, accepted");
            }
        } else {
            assert_eq!(l["sweep"]["verdict"]["verdict"], "BLOCK", "{}", name_of(l));
            assert!(sup.is_empty());
        }
    }
    assert_sweep_agrees_with_gate(&lines, &["--policy", s(&policy)]);

    // Nothing blocks under a policy that blocks only `low`: the keys are reported, below the
    // threshold, every dump ALLOWs, and the exit code (--fail-on high) still says keys were found.
    std::fs::write(&policy, "version = 1\n[block]\nseverities = [\"low\"]\n").unwrap();
    let (_, summary, lines) = sweep(&root, &work, &["--policy", s(&policy)]);
    assert_eq!(summary["by_verdict"]["ALLOW"], 5, "{summary}");
    assert_sweep_agrees_with_gate(&lines, &["--policy", s(&policy)]);

    // A policy typo is refused before anything is swept.
    std::fs::write(&policy, "version = 1\n[block]\nseverity = [\"low\"]\n").unwrap();
    let o = common::cli(&["sweep", s(&root), "-q", "--policy", s(&policy)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("severity"));
}

#[test]
fn sweep_baseline_round_trip() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let root = five_dump_share(dir.path());
    let work = dir.path().join("w");
    std::fs::create_dir_all(&work).unwrap();
    let (code, _, _) = sweep(&root, &work, &[]);
    assert_eq!(code, 1);

    // Review: the RSA dumps' keys are accepted. `dumpguard baseline` reads the sweep's own
    // JSON Lines (here, the lines of the team-a dumps).
    let all = std::fs::read_to_string(work.join("out.jsonl")).unwrap();
    let team_a: String = all
        .lines()
        .filter(|l| l.contains("/team-a/"))
        .map(|l| format!("{l}\n"))
        .collect();
    let reviewed = dir.path().join("team-a.jsonl");
    std::fs::write(&reviewed, team_a).unwrap();
    let baseline = dir.path().join("baseline.json");
    let o = common::cli(&[
        "baseline",
        "--reason",
        "INC-1234: test service key, rotated",
        "-o",
        s(&baseline),
        s(&reviewed),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let b: Value = serde_json::from_str(&std::fs::read_to_string(&baseline).unwrap()).unwrap();
    let fps: BTreeSet<&str> = b["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["fingerprint"].as_str().unwrap())
        .collect();
    assert!(fps.contains(f.rsa.fingerprint.as_str()), "{b}");
    assert!(!fps.contains(f.ec.fingerprint.as_str()));

    // Rescan with the baseline: every finding of the RSA key is suppressed with the reason,
    // whatever its severity; the team-a dumps ALLOW, the EC dumps still BLOCK.
    let sarif = dir.path().join("sweep.sarif");
    let (code, summary, lines) = sweep(
        &root,
        &work,
        &["--baseline", s(&baseline), "--sarif", s(&sarif)],
    );
    assert_eq!(code, 1, "the EC key is not baselined");
    assert_eq!(summary["by_status"]["scanned"], 5, "a new baseline rescans");
    let by = format!("baseline {}", baseline.display());
    let mut suppressed = 0;
    for l in &lines {
        let sup = suppressed_of(l);
        for fl in l["findings"].as_array().unwrap() {
            let id = fl["id"].as_str().unwrap();
            if fl["fingerprint"].as_str().is_some_and(|x| fps.contains(x)) {
                let (b, reason) = &sup[id];
                assert_eq!(b, &by);
                assert_eq!(reason, "INC-1234: test service key, rotated");
                suppressed += 1;
            } else {
                assert!(!sup.contains_key(id), "{}: {id} suppressed", name_of(l));
            }
        }
        let want = if fingerprints_of(l).contains(&f.ec.fingerprint) {
            "BLOCK"
        } else {
            "ALLOW"
        };
        assert_eq!(l["sweep"]["verdict"]["verdict"], want, "{}", name_of(l));
    }
    assert!(suppressed >= 3, "three dumps hold the RSA key");
    assert_eq!(summary["suppressed"], suppressed, "{summary}");
    // The SARIF log carries them as accepted suppressions, as `scan --baseline` does.
    let log: Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    let accepted = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["suppressions"][0]["status"] == "accepted")
        .count();
    assert_eq!(accepted, suppressed);
    assert_sweep_agrees_with_gate(&lines, &["--baseline", s(&baseline)]);

    // Both keys accepted: what still blocks is only what a baseline cannot name — findings
    // without a fingerprint (a damaged key encoding in a freed buffer, say). Every finding
    // with a fingerprint is suppressed, and is still reported.
    let all_base = dir.path().join("all.json");
    let o = common::cli(&[
        "baseline",
        "--reason",
        "accepted",
        "-o",
        s(&all_base),
        s(&work.join("out.jsonl")),
    ]);
    assert!(o.status.success());
    let (code, summary, lines) = sweep(&root, &work, &["--baseline", s(&all_base)]);
    let unnamed = |l: &Value| {
        l["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f.get("fingerprint").is_none())
            .filter(|f| f["severity"] == "high" || f["severity"] == "critical")
            .count()
    };
    let mut with_fp = 0;
    for l in &lines {
        let want = if unnamed(l) > 0 { "BLOCK" } else { "ALLOW" };
        assert_eq!(l["sweep"]["verdict"]["verdict"], want, "{}", name_of(l));
        for fl in l["findings"].as_array().unwrap() {
            assert_eq!(
                fl.get("fingerprint").is_some(),
                fl.get("suppressed").is_some(),
                "{fl}"
            );
            with_fp += fl.get("fingerprint").is_some() as u64;
        }
    }
    assert_eq!(summary["suppressed"], with_fp);
    assert!(with_fp >= 5);
    let blocking_left: usize = lines.iter().map(unnamed).sum();
    assert_eq!(code, if blocking_left > 0 { 1 } else { 0 }, "{summary}");
    assert_sweep_agrees_with_gate(&lines, &["--baseline", s(&all_base)]);
}

fn chromium() -> &'static str {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| {
            Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("headless Chromium is needed (scripts/test.sh installs chromium)")
}

/// Runs headless Chromium on `html` with `extra` flags; returns its stdout.
fn chromium_run(html: &Path, extra: &[String]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let o = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}", html.display()))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// The rows of the per-key table of a rendered DOM: fingerprint → row HTML.
fn key_rows(dom: &str) -> BTreeMap<String, String> {
    let start = dom
        .find("id=\"key-table\"")
        .expect("per-key table rendered");
    let table = &dom[start..start + dom[start..].find("</table>").unwrap()];
    let body = &table[table.find("<tbody>").unwrap()..];
    body.split("<tr")
        .skip(1)
        .map(|row| {
            let fp_start = row.find("<code>").unwrap() + 6;
            let fp = &row[fp_start..fp_start + row[fp_start..].find("</code>").unwrap()];
            (fp.to_string(), row.to_string())
        })
        .collect()
}

/// The number on the summary card labelled `label`.
fn card(dom: &str, label: &str) -> u64 {
    let at = dom
        .find(&format!("<span>{label}</span>"))
        .unwrap_or_else(|| panic!("card {label}"));
    let b = dom[..at].rfind("<b>").unwrap() + 3;
    dom[b..at].trim_end_matches("</b>").parse().unwrap()
}

#[test]
fn html_per_key_view_in_chromium() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let root = five_dump_share(dir.path());
    let work = dir.path().join("w");
    std::fs::create_dir_all(&work).unwrap();
    let html = work.join("report.html");
    let (_, s1, lines1) = sweep(&root, &work, &["--html", s(&html)]);

    // First sweep: two keys in five dumps. The "new" card counts keys, not sightings.
    let ids: BTreeSet<&str> = lines1
        .iter()
        .flat_map(|l| l["sweep"]["findings"].as_array().unwrap())
        .map(|x| x["secret_id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(f.rsa.fingerprint.as_str()) && ids.contains(f.ec.fingerprint.as_str()));
    assert_eq!(
        s1["keys"]["new"].as_u64().unwrap(),
        ids.len() as u64,
        "{s1}"
    );
    assert!(
        s1["secrets"]["new"].as_u64().unwrap() >= 5,
        "per dump, each of the five is new: {s1}"
    );
    let dom = chromium_run(&html, &["--dump-dom".into()]);
    assert_eq!(
        card(&dom, "new keys/secrets since last sweep"),
        ids.len() as u64
    );
    let rows = key_rows(&dom);
    for (k, dumps) in [
        (&f.rsa, ["rsa.core", "rsa.dmp", "rsa-copy.core"].as_slice()),
        (&f.ec, &["ec.core", "ec.dmp"]),
    ] {
        let row = rows
            .get(&k.fingerprint)
            .unwrap_or_else(|| panic!("no row for {}", k.name));
        assert!(row.contains("NEW"), "{}: {row}", k.name);
        for d in dumps {
            assert!(row.contains(d), "{} row does not name {d}", k.name);
        }
        assert!(row.contains("blocks"), "{row}");
    }
    for k in [&f.rsa, &f.ec] {
        common::assert_no_secret(dom.as_bytes(), &k.secret);
        common::assert_no_secret(dom.as_bytes(), &k.pkcs8_der);
    }

    // Second sweep, a little later: a new dump of the RSA key (a new sighting of a known key)
    // and a dump of a key never seen. One new key; the RSA key is known, first seen at the
    // first sweep and last seen now.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    std::fs::copy(&f.rsa_dmp, root.join("team-b/rsa-again.dmp")).unwrap();
    std::fs::copy(&f.late_core, root.join("team-b/late.core")).unwrap();
    let (_, s2, lines2) = sweep(&root, &work, &["--html", s(&html)]);
    let late_ids: BTreeSet<&str> = lines2
        .iter()
        .filter(|l| name_of(l) == "late.core")
        .flat_map(|l| l["sweep"]["findings"].as_array().unwrap())
        .map(|x| x["secret_id"].as_str().unwrap())
        .collect();
    assert!(late_ids.contains(f.late.fingerprint.as_str()));
    assert_eq!(
        s2["keys"]["new"].as_u64().unwrap(),
        late_ids.len() as u64,
        "{s2}"
    );
    let dom = chromium_run(&html, &["--dump-dom".into()]);
    assert_eq!(
        card(&dom, "new keys/secrets since last sweep"),
        late_ids.len() as u64
    );
    let rows = key_rows(&dom);
    let late = &rows[&f.late.fingerprint];
    assert!(late.contains("NEW") && late.contains("late.core"), "{late}");
    let rsa = &rows[&f.rsa.fingerprint];
    assert!(!rsa.contains("NEW"), "a known key is not new: {rsa}");
    assert!(rsa.contains("rsa-again.dmp"));
    let seen = |lines: &[Value], field: &str| -> BTreeSet<String> {
        lines
            .iter()
            .flat_map(|l| l["sweep"]["findings"].as_array().unwrap())
            .filter(|x| x["secret_id"] == f.rsa.fingerprint.as_str())
            .map(|x| x[field].as_str().unwrap().to_string())
            .collect()
    };
    let first1 = seen(&lines1, "first_seen");
    let first2 = seen(&lines2, "first_seen");
    let last2 = seen(&lines2, "last_seen");
    let first = first1.iter().next().unwrap();
    let last = last2.iter().next_back().unwrap();
    assert!(first2.contains(first), "first seen stays the first sweep's");
    assert!(first < last, "{first} {last}");
    assert!(
        rsa.contains(first.as_str()) && rsa.contains(last.as_str()),
        "{rsa}"
    );

    // A screenshot of the per-key view, for a look (scripts/sweep-demo.sh makes the README's).
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sweep-keys.png");
    chromium_run(
        &html,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1300,1250".into(),
        ],
    );
    assert!(std::fs::metadata(&shot).unwrap().len() > 10_000);
    eprintln!("screenshot: {}", shot.display());
}
