//! Detectors: small units with one job each. A detector declares literal *anchors*; the scan
//! engine finds every anchor in one multi-pattern pass (aho-corasick) and calls the detector
//! at each hit with the whole dump in reach, so decoding may look before and after the hit.
//! Adding a detector = one file here + one line in [`registry`].

mod aes_schedule;
pub mod align;
mod base64_key;
mod bigint;
pub mod binary;
mod capi;
mod cng;
mod default_passwords;
mod der_key;
mod dotnet_xml;
mod encoded;
mod gcrypt_sexp;
mod jwk;
mod kdf_budget;
mod openssh;
mod openssl_text;
mod partial_rsa;
mod pem;
mod pgp;
mod pkcs12;
mod public_keys;
mod putty;
mod raw_ed25519;
mod raw_private;
mod rsa_factor;
pub mod rules;
mod ssh_agent;
pub mod ssh_wire;
mod symcrypt;
pub mod symmetric;
/// The text views detectors scan (moved down to `crate::encoding` so `keys` can share them).
pub use crate::encoding::text;
mod verdict_cache;

use crate::input::{AddressSpace, Region};
use crate::report::Finding;

/// A literal byte pattern a detector wants to be called for.
#[derive(Debug, Clone)]
pub struct Anchor {
    /// The anchor's bytes, as searched for.
    pub bytes: Vec<u8>,
    /// Detector-private tag passed back on a hit.
    pub tag: u32,
}

/// Everything a detector may read: the whole dump, its attribution data, and the known-key
/// inventory supplied by the user.
pub struct ScanContext<'a> {
    /// The whole dump, as one byte slice (file offsets index it).
    pub data: &'a [u8],
    /// The regions the input parser described, to place findings (stack, heap, module).
    pub regions: &'a [Region],
    /// File offset → virtual address, module and thread, for each finding's location.
    pub space: &'a AddressSpace,
    /// Public keys the user told us about (`--known-keys`); empty when none.
    pub inventory: &'a [PublicKeyRecord],
    /// The mapped file behind `data`, when there is one: a whole-dump pass after the main one
    /// (the factor search) hands its pages back with [`ScanContext::release`] so peak memory
    /// stays flat, as the main pass does.
    pub pages: Option<&'a crate::input::DumpBytes<'a>>,
}

impl ScanContext<'_> {
    /// Done with `[start, end)` of `data` for now (see `crate::input::DumpBytes::release`).
    pub fn release(&self, start: usize, end: usize) {
        if let Some(p) = self.pages {
            p.release(start, end);
        }
    }
}

/// Bytes per parallel work item: the most one `scan_chunk` call sees (plus the overlap). Large
/// enough to amortise dispatch, small enough to balance two cores and to release pages of a
/// huge dump promptly. Detectors size their per-chunk budgets by it; the scan engine cuts by it.
pub const CHUNK_SIZE: usize = 4 << 20;

/// Public keys detectors collect (defined with the key model in [`crate::keys`]).
pub use crate::keys::PublicKeyRecord;

/// Where detectors put what they find. One sink per chunk.
#[derive(Default)]
pub struct Sink {
    /// Findings pushed so far; the engine numbers, merges and sorts them.
    pub findings: Vec<Finding>,
    /// Public keys and certificates seen: context for pairing and the factor search, not findings.
    pub public_keys: Vec<PublicKeyRecord>,
    /// Per-chunk working state of detectors. Dropped with the chunk.
    pub(crate) scratch: Scratch,
    /// What detectors hand to a later stage of a scan. Kept per scan, so a scanner shared
    /// between threads never mixes two dumps.
    pub(crate) handoffs: Handoffs,
}

impl Sink {
    /// Adds a finding; detectors call this instead of touching `findings` so the sink can bound it.
    pub fn push(&mut self, f: Finding) {
        self.findings.push(f);
    }
}

/// Per-chunk working state, one typed field per detector that keeps any: a detector reaches
/// its own field directly (no lookup by name on the anchor path, no downcast that could miss).
#[derive(Default)]
pub(crate) struct Scratch {
    /// The token rules: how far each anchor's window reached, so a chunk dense with anchors
    /// costs linear time.
    pub(crate) rules: Option<rules::ChunkState>,
    /// The encoded-key unwrapper: the spans already decoded in this chunk.
    pub(crate) encoded: Vec<(usize, usize)>,
}

/// Intermediate results a detector's `scan_chunk` or `on_anchor` collects and a `finish`
/// consumes (its own, or another detector's: partial RSA keys wait for a modulus). Typed
/// fields, so the compiler checks that producer and consumer agree on what is handed over.
/// Chunks' hand-offs are appended in chunk order.
#[derive(Default)]
pub(crate) struct Handoffs {
    /// RSA keys without a modulus (`partial-rsa`), completed once every public key is known.
    pub(crate) partial_rsa: Vec<partial_rsa::Pending>,
    /// AES schedule findings (`aes-schedule`), held back until every DRBG key is known.
    pub(crate) aes_schedules: Vec<Finding>,
    /// Keys found in OpenSSL CTR-DRBG state (`aes-schedule`).
    pub(crate) drbg_keys: Vec<aes_schedule::DrbgKey>,
    /// Each chunk's big-integer candidates (`bigint`), paired with public keys at the end.
    pub(crate) bigint_candidates: Vec<Vec<crate::keys::containers::Candidate>>,
    /// All-zero 4 KiB pages the main pass saw, as ascending `[start, end)` runs: whole-dump
    /// passes that look for non-zero bytes skip them (see [`note_zero_pages`]).
    pub(crate) zero_pages: Vec<(usize, usize)>,
}

impl Handoffs {
    /// Appends a later chunk's hand-offs.
    pub(crate) fn append(&mut self, later: &mut Handoffs) {
        self.partial_rsa.append(&mut later.partial_rsa);
        self.aes_schedules.append(&mut later.aes_schedules);
        self.drbg_keys.append(&mut later.drbg_keys);
        self.bigint_candidates.append(&mut later.bigint_candidates);
        self.zero_pages.append(&mut later.zero_pages);
    }
}

/// Appends the all-zero 4 KiB pages lying wholly in `block` (which starts at file offset
/// `from`) to `out`, merging adjacent ones. Called by the engine right after the detectors
/// read the block, so it costs one load per page that does not start with zeros: the
/// raw-private-integer pass then reads a dump a second time without faulting in its zero
/// pages (a quarter of the synthetic benchmark dump, whole heaps in some cores).
pub(crate) fn note_zero_pages(block: &[u8], from: usize, out: &mut Vec<(usize, usize)>) {
    const PAGE: usize = 4096;
    let all_zero = |page: &[u8]| {
        page.chunks_exact(8).fold(0u64, |acc, w| {
            acc | u64::from_ne_bytes(w.try_into().unwrap_or([1; 8]))
        }) == 0
    };
    let mut p = from.div_ceil(PAGE) * PAGE;
    while p + PAGE <= from + block.len() {
        let page = &block[p - from..p - from + PAGE];
        if page[..64].iter().all(|&b| b == 0) && all_zero(page) {
            match out.last_mut() {
                Some((_, end)) if *end == p => *end = p + PAGE,
                _ => out.push((p, p + PAGE)),
            }
        }
        p += PAGE;
    }
}

/// One way of recognising secrets. The engine runs every detector over the same pages: each
/// names its anchors (literal bytes that must occur), and is called at each anchor hit or,
/// for anchorless detectors, once per chunk. Public so that an embedder can add its own
/// detector to an [`crate::Engine`] (`Engine::with_detectors`).
pub trait Detector: Send + Sync {
    /// Stable detector family name, e.g. `pem`, `der`.
    fn name(&self) -> &'static str;
    /// The family `scan --detectors` selects it by.
    fn family(&self) -> Family;
    /// What it finds, in a few words: `--detectors` help and the README check read it.
    fn describe(&self) -> &'static str;
    /// The anchors this detector is called for.
    fn anchors(&self) -> Vec<Anchor>;
    /// Called once per anchor hit at file offset `pos`.
    fn on_anchor(&self, cx: &ScanContext<'_>, pos: usize, tag: u32, sink: &mut Sink);

    /// Called for every chunk `[start, end)` of the dump, in parallel, for detectors that
    /// look at all bytes rather than at anchors (key schedules, prime hunting). Reads past
    /// `end` are allowed; a match is owned by the chunk it starts in.
    fn scan_chunk(&self, _cx: &ScanContext<'_>, _start: usize, _end: usize, _sink: &mut Sink) {}

    /// Called once after every chunk was scanned, with everything found so far (findings and
    /// public keys from all detectors), for work that needs the whole picture: pairing private
    /// material with public keys seen anywhere in the dump.
    fn finish(&self, _cx: &ScanContext<'_>, _found: &Sink, _sink: &mut Sink) {}

    /// Configuration beyond the anchors that decides what the detector finds (the rule
    /// pack's digest), hashed into the engine digest that reports carry as `rules_digest`.
    fn digest_input(&self) -> Vec<u8> {
        Vec::new()
    }
}

/// Detector families. `scan --detectors` selects families, so a debug engineer can ask for
/// only what they need and the benchmark can price each family against the core key scan; the
/// gate and the sweep always run every family. Each detector names its own family
/// ([`Detector::family`]): the lists below are derived from the registry, never written twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    /// Private keys in their standard encodings.
    Keys,
    /// Keys inside the containers of a platform, runtime or tool.
    Wrappers,
    /// Key material with no wrapper: integers, schedules, public keys that pair with them.
    Raw,
    /// Credentials that are not keys: token rules.
    Tokens,
}

impl Family {
    /// Every family, in `--detectors` order.
    pub const ALL: [Family; 4] = [Family::Keys, Family::Wrappers, Family::Raw, Family::Tokens];

    /// The name `--detectors` takes.
    pub fn name(self) -> &'static str {
        match self {
            Family::Keys => "keys",
            Family::Wrappers => "wrappers",
            Family::Raw => "raw",
            Family::Tokens => "tokens",
        }
    }

    /// The family of this name.
    pub fn from_name(name: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// `--detectors` named a family that does not exist: an error rather than a silently
/// narrower scan.
#[derive(Debug, thiserror::Error)]
#[error("unknown detector family '{name}' (known: keys, wrappers, raw, tokens)")]
pub struct UnknownFamily {
    /// The name given.
    pub name: String,
}

/// Each family with the names of its detectors, from the registry.
pub fn families() -> Vec<(Family, Vec<&'static str>)> {
    let all = registry();
    Family::ALL
        .into_iter()
        .map(|f| {
            let names = all
                .iter()
                .filter(|d| d.family() == f)
                .map(|d| d.name())
                .collect();
            (f, names)
        })
        .collect()
}

/// The family a detector belongs to.
pub fn family_of(detector: &str) -> Option<Family> {
    // Asked per finding (raw-private-integer filters by family): built once.
    static BY_NAME: std::sync::OnceLock<Vec<(&'static str, Family)>> = std::sync::OnceLock::new();
    BY_NAME
        .get_or_init(|| registry().iter().map(|d| (d.name(), d.family())).collect())
        .iter()
        .find(|(n, _)| *n == detector)
        .map(|(_, f)| *f)
}

/// The `--detectors` help: every family with its detectors and what they find, derived from
/// the registry so a new detector appears there by being registered.
pub fn families_help() -> String {
    let all = registry();
    let mut out = String::from(
        "Run only these detector families (comma-separated); default: all. The gate and the \
         sweep always run every family.",
    );
    for f in Family::ALL {
        out.push_str(&format!("\n  {}:", f.name()));
        for d in all.iter().filter(|d| d.family() == f) {
            out.push_str(&format!("\n    {:<20} {}", d.name(), d.describe()));
        }
    }
    out
}

/// All built-in detectors.
pub fn registry() -> Vec<Box<dyn Detector>> {
    vec![
        Box::new(pem::Pem),
        Box::new(der_key::DerKey),
        Box::new(base64_key::Base64Key),
        Box::new(encoded::Encoded),
        Box::new(openssl_text::OpensslText),
        Box::new(cng::Cng),
        Box::new(capi::Capi),
        Box::new(dotnet_xml::DotnetXml),
        Box::new(jwk::Jwk),
        Box::new(openssh::OpenSsh),
        Box::new(putty::Putty),
        Box::new(pgp::Pgp),
        Box::new(pkcs12::Pkcs12),
        Box::new(symcrypt::SymCrypt),
        Box::new(partial_rsa::PartialRsa),
        Box::new(gcrypt_sexp::GcryptSexp),
        Box::new(default_passwords::DefaultPasswords),
        Box::new(rules::Rules::builtin()),
        Box::new(public_keys::PublicKeys),
        Box::new(aes_schedule::AesSchedule),
        Box::new(ssh_agent::SshAgent),
        // bigint's whole-dump pass first: the factor search skips moduli it proved.
        Box::new(bigint::BigInt),
        Box::new(rsa_factor::RsaFactor),
        Box::new(raw_ed25519::RawEd25519),
        // Last: it reports raw copies of the private integers of keys proven above.
        Box::new(raw_private::RawPrivate),
    ]
}

/// The built-in detectors with the token rules replaced by `rules` (`--rules FILE`,
/// `--include-noisy`).
pub fn registry_with_rules(rules: std::sync::Arc<crate::rules::RuleSet>) -> Vec<Box<dyn Detector>> {
    let mut v = registry();
    v.retain(|d| d.name() != "rules");
    v.push(Box::new(rules::Rules::new(rules)));
    v
}

/// Decodes a DER private-key blob (exactly one TLV at the start of `der`) and turns it into a
/// finding. Shared by every detector that ends up holding DER bytes (binary DER, PEM, bare
/// base64), so they all verify and fingerprint the same way.
pub fn der_key_finding(
    detector: &str,
    encoding: &str,
    offset: u64,
    length: u64,
    der: &[u8],
    preview: impl FnOnce(&str) -> String,
) -> Option<Finding> {
    let len = crate::keys::decode::tlv_len(der)?;
    let der = &der[..len];
    let (verdict, format) = verify_der_cached(der)?;
    let mut f = Finding::key(
        detector,
        encoding,
        offset,
        length,
        &verdict,
        preview(format),
    );
    f.content_hash = Some(crate::keys::fingerprint::sha256_fingerprint(der));
    Some(f)
}

/// Decodes and verifies a DER private key once per distinct encoding ([`verdict_cache`]): the
/// same key usually sits in a dump many times, and a hostile dump can repeat one millions of
/// times.
fn verify_der_cached(der: &[u8]) -> Option<(crate::keys::Verdict, &'static str)> {
    verdict_cache::der(der, || {
        crate::keys::decode::private_key_der(der).map(|decoded| {
            let mut verdict = crate::keys::verify(&decoded.key);
            verdict
                .key
                .format
                .get_or_insert_with(|| decoded.format.to_string());
            (verdict, decoded.format)
        })
    })
}

#[cfg(test)]
mod family_tests {
    use super::*;

    #[test]
    fn families_come_from_the_registry() {
        let fams = families();
        let listed: usize = fams.iter().map(|(_, n)| n.len()).sum();
        assert_eq!(
            listed,
            registry().len(),
            "every detector in exactly one family"
        );
        let help = families_help();
        for d in registry() {
            assert_eq!(family_of(d.name()), Some(d.family()));
            assert!(
                help.contains(d.name()) && help.contains(d.describe()),
                "{}",
                d.name()
            );
            assert!(!d.describe().is_empty());
        }
        let known: Vec<&str> = Family::ALL.iter().map(|f| f.name()).collect();
        let message = UnknownFamily { name: "x".into() }.to_string();
        assert!(
            message.ends_with(&format!("(known: {})", known.join(", "))),
            "{message}"
        );
        for f in Family::ALL {
            assert_eq!(Family::from_name(f.name()), Some(f));
            assert!(help.contains(&format!("{}:", f.name())));
            assert!(
                fams.iter().any(|(g, n)| *g == f && !n.is_empty()),
                "empty family {f:?}"
            );
        }
        // Names are unique: `--detectors` and reports identify a detector by it.
        let mut names: Vec<&str> = registry().iter().map(|d| d.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), registry().len());
    }
}
