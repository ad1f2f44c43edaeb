//! Per-dump work accounting for password tries, in estimated nanoseconds of one core
//! (measured on the project's CI-class machine; README "Default passwords" has the figures).
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// One SHA-1/SHA-256 compression (PBKDF2 costs two per iteration, the PKCS#12 KDF one).
pub const HASH_BLOCK: u64 = 300;
/// One Salsa20/8 core over a 64-byte block (scrypt).
pub const SALSA_BLOCK: u64 = 150;
/// One bcrypt hash (64 Blowfish key expansions), per round and 32-byte output block.
pub const BCRYPT_HASH: u64 = 1_800_000;
/// One Argon2 pass over one KiB block.
pub const ARGON2_BLOCK: u64 = 1_000;
/// Estimated work per dump: ten seconds of one core.
pub const PER_DUMP: u64 = 10_000_000_000;
/// Wall-clock backstop for the whole pass, should the estimates be far off.
pub const WALL: Duration = Duration::from_secs(30);

/// PBKDF2 iterations per try (OpenSSL 2048, the JDK 10 000, OWASP's 600 000).
pub const MAX_PBKDF2_ITERATIONS: u64 = 1_000_000;
/// scrypt memory (128·r·N bytes) per try, and its parallelism.
pub const MAX_SCRYPT_BYTES: u64 = 64 << 20;
pub const MAX_SCRYPT_P: u64 = 16;
/// bcrypt rounds per try (ssh-keygen's default is 16, `-a 100` is the documented maximum
/// anyone uses).
pub const MAX_BCRYPT_ROUNDS: u32 = 64;
/// Argon2 memory (KiB), passes and lanes per try (puttygen: 8 MiB, passes calibrated to
/// 100 ms, one lane).
pub const MAX_ARGON2_KIB: u32 = 64 * 1024;
pub const MAX_ARGON2_PASSES: u32 = 64;
pub const MAX_ARGON2_LANES: u32 = 16;

/// What is left of one dump's work budget.
pub struct Budget {
    left: AtomicU64,
    deadline: Instant,
    spent: AtomicBool,
}

impl Budget {
    pub fn new(units: u64, wall: Duration) -> Budget {
        Budget {
            left: AtomicU64::new(units),
            deadline: Instant::now() + wall,
            spent: AtomicBool::new(false),
        }
    }

    /// Reserves `cost` for one key derivation; false (and nothing reserved) when the
    /// budget cannot pay it or the wall-clock backstop has passed.
    pub fn spend(&self, cost: u64) -> bool {
        let left = self.left.load(Ordering::Relaxed);
        if cost > left || Instant::now() > self.deadline {
            self.spent.store(true, Ordering::Relaxed);
            return false;
        }
        self.left.store(left - cost, Ordering::Relaxed);
        true
    }

    /// Whether a try was refused for lack of budget.
    pub fn was_spent(&self) -> bool {
        self.spent.load(Ordering::Relaxed)
    }
}

/// Pays `cost` from `budget`, if there is one (the main pass's trivial tries have none:
/// their per-try bounds are all they need).
pub fn pay(budget: Option<&Budget>, cost: u64) -> bool {
    match budget {
        Some(b) => b.spend(cost),
        None => true,
    }
}

/// The cost of one PBES2 key derivation, or None when its parameters are beyond the
/// bounds (then it is not tried at all).
pub fn pbes2_cost(kdf: &pkcs5::pbes2::Kdf<'_>) -> Option<u64> {
    if let Some(p) = kdf.pbkdf2() {
        let iterations = p.iteration_count as u64;
        if iterations == 0 || iterations > MAX_PBKDF2_ITERATIONS {
            return None;
        }
        // Output blocks of the PRF (AES-256 with HMAC-SHA-1 needs two).
        let out = match p.prf {
            pkcs5::pbes2::Pbkdf2Prf::HmacWithSha1 => 20,
            pkcs5::pbes2::Pbkdf2Prf::HmacWithSha224 => 28,
            pkcs5::pbes2::Pbkdf2Prf::HmacWithSha256 => 32,
            _ => 48,
        };
        let blocks = (p.key_length.unwrap_or(32) as u64).div_ceil(out).max(1);
        return Some(2 * iterations * blocks * HASH_BLOCK);
    }
    let s = kdf.scrypt()?;
    let (n, r, p) = (
        s.cost_parameter,
        s.block_size as u64,
        s.parallelization as u64,
    );
    if n < 2 || !n.is_power_of_two() || r == 0 || p == 0 || p > MAX_SCRYPT_P {
        return None;
    }
    let bytes = 128u64.checked_mul(r)?.checked_mul(n)?;
    if bytes > MAX_SCRYPT_BYTES {
        return None;
    }
    // ROMix: 2N BlockMix calls of 2r Salsa20/8 cores each, per lane.
    Some((4 * n * r * p).saturating_mul(SALSA_BLOCK))
}
