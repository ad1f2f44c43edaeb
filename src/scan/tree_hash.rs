//! The input's BLAKE3, computed by the scan workers themselves, chunk by chunk, while each
//! block is still in the core's cache.
//!
//! BLAKE3 is a tree hash: a power-of-two run of 1 KiB leaves that starts at a multiple of its
//! own length is a subtree whose chaining value does not depend on anything outside it. The
//! scan's chunks are such runs ([`CHUNK_SIZE`](crate::detect::CHUNK_SIZE) is a power of two),
//! and so is the last, shorter chunk, because it lies on the tree's right edge. So each worker
//! hashes the chunk it scans, block by block right after the detectors read the block, and the
//! chunk values are joined into the root at the end, following the split BLAKE3 itself makes
//! (`left_subtree_len`). The result is the standard BLAKE3 of the file, the value `b3sum`
//! prints (the tests check it against `blake3::hash` on sizes around every boundary).
//!
//! Why not a separate hashing thread, as SHA-256 still has: that thread streamed the whole
//! dump from memory a second time (10.6% of a scan's CPU on the 1.5 GB python core), and on a
//! two-core machine it was a third thread competing with the two workers.

use blake3::hazmat::{
    left_subtree_len, merge_subtrees_non_root, merge_subtrees_root, ChainingValue, HasherExt, Mode,
};

/// What one chunk contributes to the input's hash.
pub enum Part {
    /// The chaining value of a chunk of a multi-chunk input.
    Subtree(ChainingValue),
    /// The whole input fitted in one chunk: its hash is already the root.
    Whole(blake3::Hash),
}

/// Hashes one chunk, fed in order in as many pieces as the caller likes.
pub struct ChunkHasher {
    hasher: blake3::Hasher,
    whole: bool,
}

impl ChunkHasher {
    /// The hasher of the chunk starting at byte `start` of an input of `len` bytes cut in
    /// chunks of `chunk` bytes (a power of two, at least 1 KiB).
    pub fn new(start: usize, chunk: usize, len: usize) -> ChunkHasher {
        debug_assert!(chunk.is_power_of_two() && chunk >= blake3::CHUNK_LEN);
        debug_assert!(start % chunk == 0);
        let mut hasher = blake3::Hasher::new();
        hasher.set_input_offset(start as u64);
        ChunkHasher {
            hasher,
            whole: len <= chunk,
        }
    }

    /// The next bytes of the chunk.
    pub fn update(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
    }

    /// The chunk's part of the root.
    pub fn finish(self) -> Part {
        if self.whole {
            Part::Whole(self.hasher.finalize())
        } else {
            Part::Subtree(self.hasher.finalize_non_root())
        }
    }
}

/// The BLAKE3 of an input of `len` bytes from its chunks' parts, in chunk order, as lowercase
/// hex.
///
/// # Panics
/// If the parts do not match `len` cut in `chunk`-byte chunks (a bug of the caller).
pub fn root(parts: Vec<Part>, chunk: usize, len: usize) -> String {
    if len == 0 {
        return blake3::hash(b"").to_hex().to_string();
    }
    assert_eq!(parts.len(), len.div_ceil(chunk), "one part per chunk");
    let mut cvs = Vec::with_capacity(parts.len());
    for p in parts {
        match p {
            Part::Whole(h) => return h.to_hex().to_string(),
            Part::Subtree(cv) => cvs.push(cv),
        }
    }
    let (left, right, left_len) = split(&cvs, chunk as u64, len as u64);
    let l = subtree(left, chunk as u64, left_len);
    let r = subtree(right, chunk as u64, len as u64 - left_len);
    merge_subtrees_root(&l, &r, Mode::Hash).to_hex().to_string()
}

/// The chaining value of the subtree of `len` bytes made of these chunks.
fn subtree(cvs: &[ChainingValue], chunk: u64, len: u64) -> ChainingValue {
    if cvs.len() == 1 {
        return cvs[0];
    }
    let (left, right, left_len) = split(cvs, chunk, len);
    merge_subtrees_non_root(
        &subtree(left, chunk, left_len),
        &subtree(right, chunk, len - left_len),
        Mode::Hash,
    )
}

/// Where BLAKE3 splits `len` bytes (more than one chunk): its left subtree is the largest
/// power of two of leaves below `len`, a whole number of our chunks since `len > chunk`.
fn split(cvs: &[ChainingValue], chunk: u64, len: u64) -> (&[ChainingValue], &[ChainingValue], u64) {
    let left_len = left_subtree_len(len);
    let k = (left_len / chunk) as usize;
    (&cvs[..k], &cvs[k..], left_len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(data: &[u8], chunk: usize, piece: usize) -> String {
        let parts = data
            .chunks(chunk)
            .enumerate()
            .map(|(i, c)| {
                let mut h = ChunkHasher::new(i * chunk, chunk, data.len());
                for p in c.chunks(piece) {
                    h.update(p);
                }
                h.finish()
            })
            .collect();
        root(parts, chunk, data.len())
    }

    #[test]
    fn equals_plain_blake3_around_every_boundary() {
        let data: Vec<u8> = (0..160_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for chunk in [1024, 2048, 8192] {
            let mut sizes = vec![0, 1, 1023, 1024, 1025, 2047, 2048, 2049];
            for k in [1, 2, 3, 4, 5, 7, 8, 9, 16, 17] {
                let n = k * chunk;
                sizes.extend([n - 1, n, n + 1, n + 1024, n + 1500]);
            }
            for n in sizes.into_iter().filter(|&n| n <= data.len()) {
                let want = blake3::hash(&data[..n]).to_hex().to_string();
                assert_eq!(tree(&data[..n], chunk, 700), want, "chunk {chunk} len {n}");
            }
        }
    }

    #[test]
    fn the_scan_chunk_size_gives_b3sum_value() {
        let chunk = crate::detect::CHUNK_SIZE;
        let data: Vec<u8> = (0..(3 * chunk + 12_345) as u32)
            .map(|i| (i ^ i >> 7) as u8)
            .collect();
        let want = blake3::hash(&data).to_hex().to_string();
        assert_eq!(tree(&data, chunk, 256 << 10), want);
    }
}
