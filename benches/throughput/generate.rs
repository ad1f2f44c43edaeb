//! Writes a benchmark dump: container header, then memory made of content runs with test
//! keys planted at random places and across scan-chunk boundaries.

use crate::container::{self, Container, Range};
use crate::content::{Generator, Kind, Planner, Sources, PAGE};
use crate::keys::Planted;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// A key placed in the file.
pub struct Placement<'k> {
    pub key: &'k Planted,
    /// File offset of the planted bytes.
    pub file_offset: u64,
    pub straddles: Option<u64>,
}

impl Placement<'_> {
    /// Where the report's finding must start.
    pub fn finding_offset(&self) -> u64 {
        self.file_offset + self.key.finding_at as u64
    }
}

pub struct Written<'k> {
    pub file_size: u64,
    pub ranges: usize,
    /// Bytes of each content kind (planted keys overwrite a few of them).
    pub composition: BTreeMap<Kind, u64>,
    pub placements: Vec<Placement<'k>>,
}

/// Memory ranges of 64 KiB .. 64 MiB at increasing addresses with gaps, `total` bytes in all.
fn plan_ranges(rng: &mut ChaCha8Rng, total: u64) -> Vec<Range> {
    let mut ranges = Vec::new();
    let mut left = total;
    let mut address = 0x0000_0100_0000_0000u64;
    while left > 0 {
        let pages = rng.gen_range(16..=16 * 1024u64);
        let size = (pages * PAGE as u64).min(left);
        ranges.push(Range { address, size });
        address += size + rng.gen_range(1..=1024u64) * PAGE as u64;
        left -= size;
    }
    ranges
}

/// What to generate.
pub struct Spec {
    /// Memory bytes (rounded up to pages).
    pub memory: u64,
    pub seed: u64,
    pub container: Container,
    /// Every run of this kind instead of the mix.
    pub only: Option<Kind>,
    /// The scanner's chunk size: the last two keys are placed so that their anchors cross a
    /// multiple of it in the file.
    pub chunk: u64,
}

/// Writes a dump per `spec` to `path`, with `keys` planted.
pub fn dump<'k>(
    path: &Path,
    spec: &Spec,
    sources: &Sources,
    keys: &'k [Planted],
) -> io::Result<Written<'k>> {
    let (memory, seed, container, only, chunk) = (
        spec.memory,
        spec.seed,
        spec.container,
        spec.only,
        spec.chunk,
    );
    let memory = memory.div_ceil(PAGE as u64) * PAGE as u64;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6c61_796f);
    let ranges = plan_ranges(&mut rng, memory);
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let data_at = container::write_header(&mut w, container, &ranges)?;

    // Placements, in memory offsets; kept 64 KiB apart so findings never merge.
    let mut taken: Vec<(u64, u64)> = Vec::new();
    let mut placements = Vec::new();
    let free = |taken: &[(u64, u64)], a: u64, b: u64| {
        taken
            .iter()
            .all(|&(x, y)| b + (64 << 10) <= x || y + (64 << 10) <= a)
    };
    let n = keys.len();
    for (i, key) in keys.iter().enumerate() {
        let len = key.bytes.len() as u64;
        assert!(
            memory > 4 * chunk && memory > len * 64,
            "dump too small for the planted keys"
        );
        let (at, straddles) = if i + 2 >= n {
            // Anchor starts 2 bytes before a chunk boundary at 1/3 and 2/3 of the file.
            let frac = (i + 3 - n) as u64;
            let boundary = ((data_at + memory) * frac / 3).div_ceil(chunk) * chunk;
            let file_at = boundary - key.anchor_at as u64 - 2;
            (file_at - data_at, Some(boundary))
        } else {
            loop {
                let at = rng.gen_range(0..memory - len);
                if free(&taken, at, at + len) {
                    break (at, None);
                }
            }
        };
        assert!(free(&taken, at, at + len), "planted keys collide");
        taken.push((at, at + len));
        placements.push(Placement {
            key,
            file_offset: data_at + at,
            straddles,
        });
    }
    let mut by_offset: Vec<(u64, &[u8])> = placements
        .iter()
        .map(|p| (p.file_offset - data_at, p.key.bytes.as_slice()))
        .collect();
    by_offset.sort_by_key(|p| p.0);

    let mut planner = Planner::new(seed);
    let mut gen = Generator::new(seed, sources);
    let mut composition = BTreeMap::new();
    let mut buf = Vec::new();
    let mut at = 0u64;
    while at < memory {
        let (planned, len) = planner.next_run();
        let kind = only.unwrap_or(planned);
        let len = (len as u64).min(memory - at) as usize;
        buf.resize(len, 0);
        gen.fill(kind, &mut buf);
        let (lo, hi) = (at, at + len as u64);
        for &(k, bytes) in &by_offset {
            let (ks, ke) = (k, k + bytes.len() as u64);
            if ke > lo && ks < hi {
                let (from, to) = (ks.max(lo), ke.min(hi));
                buf[(from - lo) as usize..(to - lo) as usize]
                    .copy_from_slice(&bytes[(from - ks) as usize..(to - ks) as usize]);
            }
        }
        w.write_all(&buf)?;
        *composition.entry(kind).or_insert(0) += len as u64;
        at = hi;
    }
    w.flush()?;
    Ok(Written {
        file_size: data_at + memory,
        ranges: ranges.len(),
        composition,
        placements,
    })
}
