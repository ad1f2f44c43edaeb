//! Builds the sweep throughput benchmark input (see `scripts/bench-sweep.sh`):
//! `DIR/tree/` holds COUNT dumps of SIZE bytes each (memory-like filler: zero pages, text,
//! pointers, random bytes; every 100th holds a freshly generated *test* key), and `DIR/big.img`
//! is the same bytes concatenated into one file, so `dumpguard scan big.img` and
//! `dumpguard sweep tree/` scan exactly the same content.
//!
//! Usage: cargo run --release --example make_sweep_tree -- DIR [COUNT] [SIZE]

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn filler(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len);
    while v.len() < len {
        let n = (1024 + rng.below(8192) as usize).min(len - v.len());
        match rng.below(4) {
            0 => v.resize(v.len() + n, 0),
            1 => v.extend(
                b"libfoo.so.1 session cache entry; worker thread idle; "
                    .iter()
                    .cycle()
                    .take(n),
            ),
            2 => {
                for _ in 0..n / 8 {
                    v.extend_from_slice(
                        &(0x7f3a_0000_0000u64 + rng.below(1 << 24) * 8).to_le_bytes(),
                    );
                }
                v.resize(v.len() + n % 8, 0);
            }
            _ => {
                for _ in 0..n {
                    v.push(rng.next() as u8);
                }
            }
        }
    }
    v.truncate(len);
    v
}

/// A fresh RSA-2048 test key (PKCS#8 PEM) from the OpenSSL CLI.
fn test_key() -> Vec<u8> {
    let out = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ])
        .output()
        .expect("openssl");
    assert!(out.status.success());
    out.stdout
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .expect("usage: make_sweep_tree DIR [COUNT] [SIZE]"),
    );
    let count: usize = args.next().map_or(2000, |s| s.parse().expect("COUNT"));
    let size: usize = args.next().map_or(512 << 10, |s| s.parse().expect("SIZE"));
    let tree = dir.join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    let mut big = std::io::BufWriter::new(std::fs::File::create(dir.join("big.img")).unwrap());
    let mut rng = Rng(0x5eed_1234_5678_9abc);
    let key = test_key();
    for i in 0..count {
        let mut d = filler(&mut rng, size);
        if i % 100 == 0 {
            let at = 4096 + rng.below((size - key.len() - 8192) as u64) as usize;
            d[at..at + key.len()].copy_from_slice(&key);
        }
        let sub = tree.join(format!("host{:02}", i % 20));
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join(format!("crash-{i:05}.dmp")), &d).unwrap();
        big.write_all(&d).unwrap();
    }
    big.flush().unwrap();
    println!(
        "{count} dumps of {size} bytes in {}, and their concatenation in {}",
        tree.display(),
        dir.join("big.img").display()
    );
}
