//! Text views over binary memory: the same detector logic runs over ASCII/UTF-8 bytes and
//! over UTF-16LE strings (Windows, .NET, Java), with offsets mapped back to the file.

use std::borrow::Cow;

/// How text is encoded in the dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// One byte per character.
    Ascii,
    /// Windows wide strings: two bytes per character, low byte first.
    Utf16Le,
}

impl Encoding {
    /// Bytes per character in the file.
    pub fn stride(self) -> usize {
        match self {
            Encoding::Ascii => 1,
            Encoding::Utf16Le => 2,
        }
    }

    /// The suffix an encoding name takes in reports (`pem` + `-utf16le`).
    pub fn suffix(self) -> &'static str {
        match self {
            Encoding::Ascii => "",
            Encoding::Utf16Le => "-utf16le",
        }
    }

    /// Encodes an ASCII literal as it appears in the dump.
    pub fn encode(self, s: &[u8]) -> Vec<u8> {
        match self {
            Encoding::Ascii => s.to_vec(),
            Encoding::Utf16Le => s.iter().flat_map(|&b| [b, 0]).collect(),
        }
    }

    /// Both encodings, in the order detectors try them.
    pub const ALL: [Encoding; 2] = [Encoding::Ascii, Encoding::Utf16Le];
}

/// Up to `max` characters of text starting at `start`. For UTF-16LE the view stops at the
/// first code unit outside ASCII (key armour and base64 are pure ASCII).
pub fn view(data: &[u8], start: usize, max: usize, enc: Encoding) -> Cow<'_, [u8]> {
    let data = data.get(start..).unwrap_or(&[]);
    match enc {
        Encoding::Ascii => Cow::Borrowed(&data[..data.len().min(max)]),
        Encoding::Utf16Le => Cow::Owned(ascii_units(data, max)),
    }
}

/// The low bytes of the leading UTF-16LE code units of `data` that are ASCII and not NUL, at
/// most `max` of them. Four units are tested per step as one word (high bytes and bit 7 of
/// the low bytes clear, no zero unit): detectors take views of up to 64 K characters, and
/// the unit-by-unit loop this replaces was a quarter of the CPU of scanning UTF-16 text.
fn ascii_units(data: &[u8], max: usize) -> Vec<u8> {
    const NOT_ASCII: u64 = 0xff80_ff80_ff80_ff80;
    const ONES: u64 = 0x0001_0001_0001_0001;
    const TOPS: u64 = 0x8000_8000_8000_8000;
    let units = (data.len() / 2).min(max);
    let mut out = Vec::with_capacity(units.min(4096));
    let mut i = 0;
    while i + 4 <= units {
        let w = crate::input::le::u64_le(data, 2 * i).unwrap_or(NOT_ASCII);
        // With every unit below 0x80, `w − ONES` borrows into bit 15 of a unit only where
        // the unit (the lowest zero one) is zero.
        if w & NOT_ASCII != 0 || w.wrapping_sub(ONES) & !w & TOPS != 0 {
            break;
        }
        out.extend_from_slice(&[w as u8, (w >> 16) as u8, (w >> 32) as u8, (w >> 48) as u8]);
        i += 4;
    }
    while i < units {
        let (lo, hi) = (data[2 * i], data[2 * i + 1]);
        if hi != 0 || lo == 0 || lo >= 0x80 {
            break;
        }
        out.push(lo);
        i += 1;
    }
    out
}

/// Walks back from `pos` over characters satisfying `pred`, at most `max` characters.
/// Returns the file offset of the first such character.
pub fn walk_back(
    data: &[u8],
    pos: usize,
    max: usize,
    enc: Encoding,
    pred: impl Fn(u8) -> bool,
) -> usize {
    let s = enc.stride();
    let mut p = pos;
    for _ in 0..max {
        if p < s {
            break;
        }
        let c = data[p - s];
        if !pred(c) || (enc == Encoding::Utf16Le && data[p - 1] != 0) {
            break;
        }
        p -= s;
    }
    p
}

/// Whether `c` may appear in a base64 body (standard alphabet, padding, URL-safe letters).
pub fn is_base64(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'+' || c == b'/'
}

/// Result of collecting a base64 body out of text that may be wrapped in many ways.
pub struct Base64Body {
    /// The base64 characters only.
    pub chars: Vec<u8>,
    /// Text consumed (in characters), up to and excluding whatever stopped the body.
    pub consumed: usize,
    /// Line breaks were JSON-escaped (`\n` as two characters).
    pub json_escaped: bool,
}

/// Shortest line of a wrapped base64 body (PEM wraps at 64, MIME at 76, OpenSSH at 70).
/// The opening of a PEM block.
pub const PEM_BEGIN: &[u8] = b"-----BEGIN ";

/// The BEGIN line of a PEM block: its label, and where the text after the line's closing
/// dashes starts (headers or body), as an index into the text parsed.
pub struct PemBegin<'a> {
    /// The label between `BEGIN ` and the closing dashes.
    pub label: &'a [u8],
    /// Index in the parsed text where the headers or body start.
    pub body_start: usize,
}

/// Parses `-----BEGIN <label>-----` at the start of `t`, the label at most `max_label` bytes
/// (the closing dashes are looked for no further, so a stray BEGIN costs a bounded read). The
/// one PEM framing of the crate: the private-key detector, the public-key index and the
/// known-key inventory all read BEGIN lines through it.
pub fn pem_begin(t: &[u8], max_label: usize) -> Option<PemBegin<'_>> {
    let after = t.strip_prefix(PEM_BEGIN)?;
    let label_len = find(&after[..after.len().min(max_label + 5)], b"-----")?;
    Some(PemBegin {
        label: &after[..label_len],
        body_start: PEM_BEGIN.len() + label_len + 5,
    })
}

/// A break after a shorter run ends the body: only the last line may be short. Without this
/// rule, text like `MIIEpAIBAAKCAQEA MIIEpAIBAAKCAQEA ...` would make every anchor collect
/// the same 32 KiB of "body" again (quadratic work on hostile input).
pub const MIN_LINE: usize = 32;

/// Collects base64 characters from `t`, skipping line breaks written as `\n`, `\r\n`,
/// JSON-escaped `\\n` / `\\r\\n`, spaces and tabs, and JSON's `\/`. Stops at the first
/// character that is none of these, at a break after a line shorter than [`MIN_LINE`], or
/// after `max` base64 characters.
pub fn base64_body(t: &[u8], max: usize) -> Base64Body {
    let mut chars = Vec::new();
    let mut i = 0;
    let mut json_escaped = false;
    // Base64 characters since the last break; after a short line the body is closed: the
    // breaks that follow are consumed, the next base64 character is not.
    let mut line = 0;
    let mut closed = false;
    while i < t.len() && chars.len() < max {
        let c = t[i];
        let escaped_break = c == b'\\' && i + 1 < t.len() && matches!(t[i + 1], b'n' | b'r' | b't');
        if (escaped_break || matches!(c, b'\n' | b'\r' | b' ' | b'\t'))
            && line > 0
            && line < MIN_LINE
        {
            closed = true;
        }
        if closed && (is_base64(c) || c == b'=' || (c == b'\\' && !escaped_break)) {
            break;
        }
        if is_base64(c) || c == b'=' {
            chars.push(c);
            line += 1;
            i += 1;
        } else if matches!(c, b'\n' | b'\r' | b' ' | b'\t') {
            line = 0;
            i += 1;
        } else if escaped_break {
            json_escaped = true;
            line = 0;
            i += 2;
        } else if c == b'\\' && i + 1 < t.len() && t[i + 1] == b'/' {
            chars.push(b'/');
            line += 1;
            i += 2;
        } else {
            break;
        }
    }
    Base64Body {
        chars,
        consumed: i,
        json_escaped,
    }
}

/// True when the base64 text starting at file offset `start` continues a wrapped body: it
/// follows a line break (or a few spaces, or a JSON-escaped break) that follows a full line
/// of base64. Such a position is the middle of a larger blob, never the start of a key, and
/// skipping it keeps the work per body linear however many anchors it contains.
pub fn continues_wrapped_body(data: &[u8], start: usize, enc: Encoding) -> bool {
    let s = enc.stride();
    let char_at = |p: usize| -> Option<u8> {
        let c = *data.get(p)?;
        (enc == Encoding::Ascii || data.get(p + 1) == Some(&0)).then_some(c)
    };
    // Walk back over at most 8 break characters (`\n`, `\r`, space, tab, or escaped `\n`).
    let mut p = start;
    let mut breaks = 0;
    while breaks < 8 && p >= s {
        match char_at(p - s) {
            Some(b'\n' | b'\r' | b' ' | b'\t') => p -= s,
            Some(b'n' | b'r' | b't') if p >= 2 * s && char_at(p - 2 * s) == Some(b'\\') => {
                p -= 2 * s
            }
            _ => break,
        }
        breaks += 1;
    }
    if breaks == 0 {
        return false;
    }
    walk_back(data, p, MIN_LINE, enc, |c| is_base64(c) || c == b'=') + MIN_LINE * s <= p
}

/// A text view grown in stages: a short view first, a longer one only when the text runs to
/// its end. In UTF-16 the view is a copy, and a flat 64 KiB copy per anchor made repeated
/// armour lines cost 1,000 times their size; staged, each anchor costs about the text it
/// actually uses.
pub fn staged_views(max: usize) -> impl Iterator<Item = usize> {
    [512, 4096, 32 * 1024]
        .into_iter()
        .filter(move |&n| n < max)
        .chain(std::iter::once(max))
}

/// Decodes base64 leniently: padding optional, a trailing partial quantum dropped.
pub fn decode_base64(chars: &[u8]) -> Option<Vec<u8>> {
    use base64::engine::{
        general_purpose::GeneralPurpose, DecodePaddingMode, GeneralPurposeConfig,
    };
    use base64::Engine;
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let body: Vec<u8> = chars.iter().copied().take_while(|&c| c != b'=').collect();
    let usable = body.len() - body.len() % 4
        + if body.len() % 4 >= 2 {
            body.len() % 4
        } else {
            0
        };
    LENIENT.decode(&body[..usable]).ok()
}

/// Finds `needle` in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference: unit by unit.
    fn units_one_by_one(data: &[u8], max: usize) -> Vec<u8> {
        data.chunks_exact(2)
            .take(max)
            .take_while(|c| c[1] == 0 && c[0] != 0 && c[0] < 0x80)
            .map(|c| c[0])
            .collect()
    }

    /// The word-at-a-time UTF-16 view stops exactly where the unit-by-unit one does: for a
    /// stopping unit of every kind (NUL, 0x80, 0xff, a high byte, a lone odd byte) at every
    /// position of a word, every `max`, and odd lengths.
    #[test]
    fn utf16_view_stops_where_each_unit_would() {
        let stoppers: [[u8; 2]; 6] = [
            [0, 0],
            [0x80, 0],
            [0xff, 0],
            [b'A', 1],
            [0, 0x80],
            [0x7f, 0xff],
        ];
        for len in 0..24 {
            for stop_at in 0..=len {
                for stop in stoppers {
                    let mut d: Vec<u8> =
                        (0..len).flat_map(|i| [b'a' + (i % 26) as u8, 0]).collect();
                    if stop_at < len {
                        d[2 * stop_at..2 * stop_at + 2].copy_from_slice(&stop);
                    }
                    for extra in [0usize, 1] {
                        let mut d = d.clone();
                        d.resize(d.len() + extra, b'z');
                        for max in [0, 1, 3, 4, 5, 8, 100] {
                            assert_eq!(
                                ascii_units(&d, max),
                                units_one_by_one(&d, max),
                                "len {len} stop {stop:?} at {stop_at} max {max}"
                            );
                        }
                    }
                }
            }
        }
        // Random bytes with many ASCII units.
        let mut x = 0x1234_5678_9abc_def0u64;
        for _ in 0..2000 {
            let d: Vec<u8> = (0..64)
                .map(|i| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    if i % 2 == 1 && x % 16 != 0 {
                        0
                    } else {
                        (x >> 8) as u8 & if x % 8 == 0 { 0xff } else { 0x7f }
                    }
                })
                .collect();
            assert_eq!(ascii_units(&d, 40), units_one_by_one(&d, 40));
        }
    }
}
