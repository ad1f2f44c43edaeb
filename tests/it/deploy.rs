//! The shipped deployment files, run or checked for real (issue 16):
//!
//! - Slurm: a single-node cluster (Debian's `slurm-wlm` and `munge`) is started in a temporary
//!   directory — munge key generated there, `munged`, `slurmctld` and `slurmd` on localhost
//!   with a generated `slurm.conf` (no cgroups, no systemd: `proctrack/linuxproc`,
//!   `task/none`, `SlurmUser=root`, state in the temporary directory) — and
//!   `deploy/slurm/sweep-array.sbatch` is submitted unchanged with `sbatch --wait`, adapted
//!   only through its environment variables and sbatch options. `sweep-merge` of the array's
//!   shard outputs equals one unsharded sweep of the same tree. The daemons are stopped at the
//!   end (and killed if the test fails).
//! - Kubernetes: `deploy/kubernetes/*.yaml` validates with `kubernetes-validate --strict`
//!   (the Kubernetes OpenAPI schemas, bundled in that PyPI package), and the check can fail: a
//!   misspelt field is rejected.
//!
//! Nothing is skipped: a missing tool fails the test (scripts/test.sh installs them).

use crate::common;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn need(tool: &str) {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .any(|d| d.join(tool).is_file());
    assert!(
        found,
        "{tool} is needed (scripts/test.sh installs slurm-wlm, munge and kubernetes-validate)"
    );
}

/// Daemons started by the test, killed (and waited for) when dropped.
struct Daemons(Vec<(String, Child)>);

impl Drop for Daemons {
    fn drop(&mut self) {
        for (_, c) in &mut self.0 {
            // SAFETY: a signal to a child this test started and has not yet reaped.
            unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        for (_, c) in &mut self.0 {
            while c.try_wait().ok().flatten().is_none() {
                if Instant::now() > deadline {
                    let _ = c.kill();
                    let _ = c.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn short_hostname() -> String {
    let o = Command::new("hostname").arg("-s").output().unwrap();
    String::from_utf8(o.stdout).unwrap().trim().to_string()
}

/// How many dumps [`tree`] made.
static COUNT: std::sync::Mutex<usize> = std::sync::Mutex::new(0);

/// A tree of real dumps: the sample dumps and the public sample minidumps, in subfolders,
/// aged past the script's `--min-age 300`.
fn tree(dir: &Path) -> PathBuf {
    let root = dir.join("share");
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo("sample-dumps"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.extend(common::public_samples());
    files.sort();
    *COUNT.lock().unwrap() = files.len();
    for (i, f) in files.iter().enumerate() {
        let sub = root.join(format!("host-{}", i % 3));
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::copy(f, sub.join(f.file_name().unwrap())).unwrap();
    }
    let st = Command::new("find")
        .arg(&root)
        .args(["-exec", "touch", "-h", "-d", "1 hour ago", "{}", "+"])
        .status()
        .unwrap();
    assert!(st.success());
    root
}

/// A JSON line without what differs between two sweeps: timings and timestamps.
fn normalize(line: &str) -> String {
    let mut v: Value = serde_json::from_str(line).unwrap();
    if let Some(s) = v.get_mut("summary").and_then(Value::as_object_mut) {
        s.remove("elapsed_ms");
        s.remove("bytes_per_second");
    }
    if let Some(s) = v.get_mut("sweep").and_then(Value::as_object_mut) {
        s.remove("scanned_at");
        for key in ["findings", "resolved"] {
            for f in s
                .get_mut(key)
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                let f = f.as_object_mut().unwrap();
                for t in ["first_seen", "last_seen", "resolved_at"] {
                    f.remove(t);
                }
            }
        }
    }
    v.to_string()
}

fn lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .lines()
        .map(normalize)
        .collect()
}

#[test]
fn slurm_array_job_on_a_real_cluster_merges_to_the_unsharded_sweep() {
    for t in [
        "munged",
        "mungekey",
        "slurmctld",
        "slurmd",
        "sbatch",
        "sinfo",
        "scontrol",
    ] {
        need(t);
    }
    let started = Instant::now();
    // Short paths: munge's socket path must fit a sockaddr_un.
    let dir = tempfile::Builder::new()
        .prefix("dg-slurm")
        .tempdir()
        .unwrap();
    let d = dir.path();
    let root = tree(d);
    for sub in ["munge", "state", "spool", "log", "out", "bin"] {
        std::fs::create_dir_all(d.join(sub)).unwrap();
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(d.join("munge"), std::fs::Permissions::from_mode(0o700)).unwrap();

    // munge: a fresh key, a daemon on a private socket.
    let key = d.join("munge/munge.key");
    let st = Command::new("mungekey")
        .args(["-c", "-b", "1024", "-k", s(&key)])
        .status()
        .unwrap();
    assert!(st.success(), "mungekey");
    let sock = d.join("munge/sock");
    let mut daemons = Daemons(Vec::new());
    let munged = Command::new("munged")
        .args(["-F", "-f"])
        .arg(format!("--key-file={}", key.display()))
        .arg(format!("--socket={}", sock.display()))
        .arg(format!("--log-file={}", d.join("log/munged.log").display()))
        .arg(format!("--pid-file={}", d.join("munge/pid").display()))
        .arg(format!("--seed-file={}", d.join("munge/seed").display()))
        .stdin(Stdio::null())
        .spawn()
        .expect("munged");
    daemons.0.push(("munged".into(), munged));
    let t = Instant::now();
    while !sock.exists() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "munged did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // Slurm: controller and node daemon on localhost, nothing that needs cgroups or systemd.
    let host = short_hostname();
    let conf = d.join("slurm.conf");
    std::fs::write(
        &conf,
        format!(
            "ClusterName=dumpguard-test
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctl_port}
SlurmdPort={node_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={sock}
CredType=cred/munge
StateSaveLocation={dir}/state
SlurmdSpoolDir={dir}/spool
SlurmctldPidFile={dir}/slurmctld.pid
SlurmdPidFile={dir}/slurmd.pid
SlurmctldLogFile={dir}/log/slurmctld.log
SlurmdLogFile={dir}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
SwitchType=switch/none
PlugStackConfig={dir}/plugstack.conf
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory=2000 State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
",
            ctl_port = free_port(),
            node_port = free_port(),
            sock = sock.display(),
            dir = d.display(),
            cpus = std::thread::available_parallelism().map_or(1, |n| n.get()),
        ),
    )
    .unwrap();
    std::fs::write(d.join("plugstack.conf"), "").unwrap();
    let slurm = |prog: &str| {
        let mut c = Command::new(prog);
        c.env("SLURM_CONF", &conf).stdin(Stdio::null());
        c
    };
    let ctl = slurm("slurmctld")
        .args(["-D", "-c", "-i"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("slurmctld");
    daemons.0.push(("slurmctld".into(), ctl));
    let node = slurm("slurmd")
        .args(["-D"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("slurmd");
    daemons.0.push(("slurmd".into(), node));
    let logs = || {
        ["slurmctld", "slurmd", "munged"]
            .iter()
            .map(|n| {
                let t = std::fs::read_to_string(d.join(format!("log/{n}.log"))).unwrap_or_default();
                let tail: Vec<&str> = t.lines().rev().take(15).collect();
                format!(
                    "--- {n}.log\n{}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let t = Instant::now();
    loop {
        let o = slurm("sinfo").args(["-h", "-o", "%T"]).output().unwrap();
        let state = String::from_utf8_lossy(&o.stdout).trim().to_string();
        if state == "idle" {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "the node did not become idle ({state}):\n{}",
            logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // The shipped script, submitted as it is: paths and shard count through its environment,
    // the array size and CPUs through sbatch's options (one node of this machine's size).
    let wrapper = d.join("bin/dumpguard");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec {} \"$@\"\n",
            env!("CARGO_BIN_EXE_dumpguard")
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = d.join("out");
    let sub = slurm("sbatch")
        .args([
            "--wait",
            "--parsable",
            "--array=1-4",
            "--cpus-per-task=1",
            "--mem=400M",
            "--time=5",
        ])
        .arg(format!("--output={}/task-%A_%a.log", out.display()))
        .arg(repo("deploy/slurm/sweep-array.sbatch"))
        .env(
            "PATH",
            format!(
                "{}:{}",
                d.join("bin").display(),
                std::env::var("PATH").unwrap()
            ),
        )
        .env("DUMPGUARD_SHARE", &root)
        .env("DUMPGUARD_OUT", &out)
        .env("DUMPGUARD_SHARDS", "4")
        .output()
        .unwrap();
    let task_logs: Vec<String> = (1..=4)
        .map(|k| {
            std::fs::read_dir(&out)
                .unwrap()
                .map(|e| e.unwrap().path())
                .find(|p| {
                    p.file_name()
                        .unwrap()
                        .to_str()
                        .unwrap()
                        .ends_with(&format!("_{k}.log"))
                })
                .map(|p| std::fs::read_to_string(p).unwrap())
                .unwrap_or_else(|| format!("task {k}: no log"))
        })
        .collect();
    assert!(
        sub.status.success(),
        "sbatch --wait: {}\n{}\ntasks:\n{}\n{}",
        String::from_utf8_lossy(&sub.stdout),
        String::from_utf8_lossy(&sub.stderr),
        task_logs.join("\n"),
        logs()
    );
    let job = String::from_utf8_lossy(&sub.stdout).trim().to_string();
    assert!(job.parse::<u64>().is_ok(), "job id: {job}");
    // Every array task ran under Slurm (its log is named by the job and task ids).
    for k in 1..=4 {
        assert!(
            out.join(format!("task-{job}_{k}.log")).exists(),
            "task {k} of job {job} left no log: {}",
            task_logs.join("\n")
        );
        assert!(out.join(format!("shard-{k}.jsonl")).exists());
        assert!(out.join(format!("state-{k}.sqlite")).exists());
    }
    let st = slurm("scontrol").arg("shutdown").status().unwrap();
    assert!(st.success(), "scontrol shutdown");
    drop(daemons);

    // Merge, and compare with one unsharded sweep of the same tree.
    let merged = out.join("all.jsonl");
    let mut args: Vec<String> = vec![
        "sweep-merge".into(),
        "-q".into(),
        "--exit-zero".into(),
        "--out".into(),
        merged.display().to_string(),
    ];
    args.extend((1..=4).map(|k| out.join(format!("shard-{k}.jsonl")).display().to_string()));
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = common::cli(&a);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let whole = d.join("whole.jsonl");
    let o = common::cli(&["sweep", s(&root), "-q", "--out", s(&whole)]);
    assert!(o.status.code().is_some_and(|c| c <= 2));
    let (merged, whole) = (lines(&merged), lines(&whole));
    let n = *COUNT.lock().unwrap();
    assert!(n >= 10, "{n} dumps");
    assert_eq!(whole.len(), n, "every dump of the tree is in the sweep");
    assert_eq!(
        merged, whole,
        "the merged Slurm shards differ from the unsharded sweep"
    );
    // Each shard held part of the tree, not all of it.
    for k in 1..=4 {
        let n = lines(&out.join(format!("shard-{k}.jsonl"))).len();
        assert!(
            n < whole.len(),
            "shard {k} holds {n} of {} entries",
            whole.len()
        );
    }
    eprintln!(
        "slurm: job {job}, 4 array tasks, merged == unsharded ({} entries), {:.1} s",
        whole.len(),
        started.elapsed().as_secs_f64()
    );
}

/// `kubernetes-validate --strict FILES`: (success, output).
fn kubernetes_validate(files: &[&Path]) -> (bool, String) {
    let o = Command::new("kubernetes-validate")
        .arg("--strict")
        .args(files)
        .output()
        .expect("kubernetes-validate (scripts/test.sh: pip install kubernetes-validate)");
    (
        o.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

#[test]
fn kubernetes_manifests_validate_against_the_kubernetes_schemas() {
    need("kubernetes-validate");
    let dir = repo("deploy/kubernetes");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let (ok, out) = kubernetes_validate(&refs);
    assert!(ok, "{out}");
    // Every resource in the files was checked (the two CronJobs).
    assert_eq!(out.matches(" passed for resource ").count(), 2, "{out}");

    // The check can fail: a misspelt field and a wrongly typed one are rejected.
    let text = std::fs::read_to_string(&files[0]).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    for (what, from, to) in [
        (
            "misspelt field",
            "restartPolicy: Never",
            "restartPolic: Never",
        ),
        ("wrong type", "parallelism: 4", "parallelism: four"),
    ] {
        assert!(text.contains(from));
        let bad = tmp.path().join("bad.yaml");
        std::fs::write(&bad, text.replacen(from, to, 1)).unwrap();
        let (ok, out) = kubernetes_validate(&[&bad]);
        assert!(!ok, "{what} was accepted: {out}");
    }
}
