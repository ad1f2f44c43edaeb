//! libgcrypt S-expressions (Rivest's SPKI S-expressions as libgcrypt implements them,
//! docs/key-formats.md; libgcrypt `src/sexp.c`), the key format of GnuPG's agent and of its
//! `private-keys-v1.d/*.key` files, in the three syntaxes keys are found in:
//!
//! - **canonical** `(11:private-key(3:rsa(1:n257:…)…))`: length-prefixed atoms, no spaces
//!   (GnuPG's older `.key` files, and what the agent hands around between calls);
//! - **advanced** (transport/text) `(private-key (rsa (n #00C4…#)(e #010001#) …))`: tokens,
//!   hex between `#`, base64 between `|`, quoted strings, whitespace (also inside hex) — the
//!   `Key:` value of the newer "extended key format" files;
//! - **internal**, libgcrypt's in-memory `gcry_sexp_t` buffer: a byte stream of `ST_OPEN` (3),
//!   `ST_DATA` (1) followed by a native-endian (little-endian on every target gpg-agent runs
//!   on) 16-bit length and the bytes, `ST_CLOSE` (4), ending in `ST_STOP` (0). This is what a
//!   gpg-agent's heap actually keeps (measured: the only copies of the keys in a gpg-agent
//!   core are freed internal buffers whose first 16 bytes — `(private-key` — were overwritten
//!   by the allocator's free-list pointers).
//!
//! Hand-written rather than taken from a crate: no maintained Rust crate reads libgcrypt's
//! internal form, and a scanner must parse a *prefix* of hostile bytes (stop at the end of the
//! first complete list, never read further) with every length bounded. All three parsers
//! share the bounds below; a list deeper than [`MAX_DEPTH`], more than [`MAX_NODES`] nodes,
//! an atom over [`MAX_ATOM`] bytes or a span over [`MAX_SPAN`] bytes is "not a key".

/// Deepest nesting accepted: a protected RSA key is 5 deep; 16 leaves room and bounds recursion.
pub const MAX_DEPTH: usize = 16;
/// Most atoms and lists in one expression (a key has about 20).
pub const MAX_NODES: usize = 256;
/// Longest atom: an RSA-16384 number is 2 KiB, its protected (encrypted) blob about 5 KiB.
pub const MAX_ATOM: usize = 16 * 1024;
/// Longest expression followed (advanced form with hex and line breaks is the widest).
pub const MAX_SPAN: usize = 64 * 1024;

/// A parsed S-expression. Atoms hold decoded bytes (hex and base64 undone).
#[derive(Clone, PartialEq, Eq)]
pub enum Sexp {
    /// A byte string.
    Atom(Vec<u8>),
    /// A parenthesised list.
    List(Vec<Sexp>),
}

/// Holds key material: never printed.
impl std::fmt::Debug for Sexp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Sexp::Atom(a) => write!(f, "Atom({} bytes)", a.len()),
            Sexp::List(l) => f.debug_list().entries(l).finish(),
        }
    }
}

impl Sexp {
    /// The bytes of an atom; `None` for a list.
    pub fn atom(&self) -> Option<&[u8]> {
        match self {
            Sexp::Atom(a) => Some(a),
            Sexp::List(_) => None,
        }
    }

    /// The items of a list; `None` for an atom.
    pub fn list(&self) -> Option<&[Sexp]> {
        match self {
            Sexp::List(l) => Some(l),
            Sexp::Atom(_) => None,
        }
    }

    /// The first element of a list, when it is an atom: the list's name (`rsa`, `n`, `curve`).
    pub fn name(&self) -> Option<&[u8]> {
        self.list()?.first()?.atom()
    }

    /// The first sub-list named `name`.
    pub fn find(&self, name: &[u8]) -> Option<&Sexp> {
        self.list()?.iter().find(|e| e.name() == Some(name))
    }

    /// The atom after the name of the sub-list named `name`: `(n #00C4…#)` → the bytes of n.
    pub fn value(&self, name: &[u8]) -> Option<&[u8]> {
        self.find(name)?.list()?.get(1)?.atom()
    }
}

/// [`parse_headless`] for the internal syntax when the first atom's `ST_DATA` byte is gone
/// too (the buffer started one byte further in): `data[0..2]` is that atom's length.
pub fn parse_internal_headless_atom(data: &[u8]) -> Option<(Sexp, usize)> {
    let data = &data[..data.len().min(MAX_SPAN)];
    let mut p = Parser {
        d: data,
        pos: 0,
        nodes: 2,
    };
    let l = p.take(2)?;
    let len = u16::from_le_bytes([l[0], l[1]]) as usize;
    let first = Sexp::Atom(p.take(len)?.to_vec());
    let Sexp::List(mut items) = p.internal_items(0)? else {
        return None;
    };
    items.insert(0, first);
    Some((Sexp::List(items), p.pos))
}

/// Which syntax an expression was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// `(3:abc)`: length-prefixed, the form libgcrypt keeps in memory.
    Canonical,
    /// `(abc "d e" #0102#)`: the human-readable form.
    Advanced,
    /// libgcrypt's internal binary form (length bytes instead of digits).
    Internal,
}

impl Syntax {
    /// The syntax's name in finding encodings.
    pub fn as_str(self) -> &'static str {
        match self {
            Syntax::Canonical => "canonical",
            Syntax::Advanced => "advanced",
            Syntax::Internal => "internal",
        }
    }
}

/// Parses the list that starts at `data[0]` in `syntax`; returns it and the bytes it spans.
/// Bytes after the list are never read (beyond the internal form's end marker).
pub fn parse(data: &[u8], syntax: Syntax) -> Option<(Sexp, usize)> {
    let data = &data[..data.len().min(MAX_SPAN)];
    let mut p = Parser {
        d: data,
        pos: 0,
        nodes: 0,
    };
    let s = match syntax {
        Syntax::Canonical => p.canonical(0)?,
        Syntax::Advanced => p.advanced(0)?,
        Syntax::Internal => p.internal(0)?,
    };
    s.list()?;
    Some((s, p.pos))
}

/// Like [`parse`] for a list whose opening byte is gone: `data[0]` is its first element. A
/// freed heap buffer loses its first 16 bytes to the allocator's free-list pointers, and in
/// both the canonical and the internal syntax `(private-key` plus the next list's opening is
/// exactly 16 bytes, so what survives of a freed key is `rsa(1:n…` / `01 03 00 rsa 03 …`.
pub fn parse_headless(data: &[u8], syntax: Syntax) -> Option<(Sexp, usize)> {
    let data = &data[..data.len().min(MAX_SPAN)];
    let mut p = Parser {
        d: data,
        pos: 0,
        nodes: 1,
    };
    let s = match syntax {
        Syntax::Canonical => p.canonical_items(0)?,
        Syntax::Internal => p.internal_items(0)?,
        Syntax::Advanced => return None,
    };
    Some((s, p.pos))
}

struct Parser<'a> {
    d: &'a [u8],
    pos: usize,
    nodes: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.d.get(self.pos).copied()
    }

    fn count(&mut self) -> Option<()> {
        self.nodes += 1;
        (self.nodes <= MAX_NODES).then_some(())
    }

    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if n > MAX_ATOM {
            return None;
        }
        let b = self.d.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(b)
    }

    /// Canonical: `(` elements `)`, atoms `LEN:bytes`, optional display hints `[LEN:…]`.
    fn canonical(&mut self, depth: usize) -> Option<Sexp> {
        if depth > MAX_DEPTH || self.peek()? != b'(' {
            return None;
        }
        self.pos += 1;
        self.count()?;
        self.canonical_items(depth)
    }

    /// The elements of a canonical list up to and including its `)`.
    fn canonical_items(&mut self, depth: usize) -> Option<Sexp> {
        let mut items = Vec::new();
        loop {
            match self.peek()? {
                b')' => {
                    self.pos += 1;
                    return Some(Sexp::List(items));
                }
                b'(' => items.push(self.canonical(depth + 1)?),
                b'[' => {
                    // A display hint belongs to the atom that follows; keys have none, but
                    // skipping it costs nothing.
                    self.pos += 1;
                    self.verbatim()?;
                    if self.peek()? != b']' {
                        return None;
                    }
                    self.pos += 1;
                }
                b'0'..=b'9' => {
                    self.count()?;
                    let a = self.verbatim()?;
                    items.push(Sexp::Atom(a));
                }
                _ => return None,
            }
        }
    }

    /// `LEN:bytes` with a decimal length without leading zeros.
    fn verbatim(&mut self) -> Option<Vec<u8>> {
        let start = self.pos;
        let mut len = 0usize;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            len = len.checked_mul(10)?.checked_add((c - b'0') as usize)?;
            if len > MAX_ATOM {
                return None;
            }
            self.pos += 1;
        }
        let digits = self.pos - start;
        if digits == 0 || (digits > 1 && self.d[start] == b'0') || self.peek()? != b':' {
            return None;
        }
        self.pos += 1;
        Some(self.take(len)?.to_vec())
    }

    /// Internal `gcry_sexp_t` buffer: 3 = open, 4 = close, 1 = data (u16 LE length, bytes).
    fn internal(&mut self, depth: usize) -> Option<Sexp> {
        const ST_OPEN: u8 = 3;
        if depth > MAX_DEPTH || self.peek()? != ST_OPEN {
            return None;
        }
        self.pos += 1;
        self.count()?;
        self.internal_items(depth)
    }

    /// The tokens of an internal list up to and including its `ST_CLOSE`.
    fn internal_items(&mut self, depth: usize) -> Option<Sexp> {
        const ST_DATA: u8 = 1;
        const ST_OPEN: u8 = 3;
        const ST_CLOSE: u8 = 4;
        let mut items = Vec::new();
        loop {
            match self.peek()? {
                ST_CLOSE => {
                    self.pos += 1;
                    return Some(Sexp::List(items));
                }
                ST_OPEN => items.push(self.internal(depth + 1)?),
                ST_DATA => {
                    self.pos += 1;
                    self.count()?;
                    let l = self.take(2)?;
                    let len = u16::from_le_bytes([l[0], l[1]]) as usize;
                    items.push(Sexp::Atom(self.take(len)?.to_vec()));
                }
                _ => return None,
            }
        }
    }

    fn skip_space(&mut self) {
        while let Some(b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c) = self.peek() {
            self.pos += 1;
        }
    }

    /// Advanced (text) form: tokens, `#hex#`, `|base64|`, `"quoted"`, `LEN:verbatim`,
    /// display hints `[…]`, whitespace between elements.
    fn advanced(&mut self, depth: usize) -> Option<Sexp> {
        if depth > MAX_DEPTH || self.peek()? != b'(' {
            return None;
        }
        self.pos += 1;
        self.count()?;
        let mut items = Vec::new();
        loop {
            self.skip_space();
            let c = self.peek()?;
            match c {
                b')' => {
                    self.pos += 1;
                    return Some(Sexp::List(items));
                }
                b'(' => items.push(self.advanced(depth + 1)?),
                b'[' => {
                    // Display hint: skip up to the closing bracket (bounded by the span).
                    let end = memchr::memchr(b']', &self.d[self.pos..])?;
                    self.pos += end + 1;
                }
                b'#' => {
                    self.count()?;
                    items.push(Sexp::Atom(self.hex()?));
                }
                b'|' => {
                    self.count()?;
                    items.push(Sexp::Atom(self.base64()?));
                }
                b'"' => {
                    self.count()?;
                    items.push(Sexp::Atom(self.quoted()?));
                }
                b'0'..=b'9' => {
                    self.count()?;
                    // `LEN:bytes` or a decimal token.
                    let save = self.pos;
                    match self.verbatim() {
                        Some(a) => items.push(Sexp::Atom(a)),
                        None => {
                            self.pos = save;
                            items.push(Sexp::Atom(self.token()?));
                        }
                    }
                }
                _ if is_token_start(c) => {
                    self.count()?;
                    items.push(Sexp::Atom(self.token()?));
                }
                _ => return None,
            }
        }
    }

    fn token(&mut self) -> Option<Vec<u8>> {
        let start = self.pos;
        while self.peek().is_some_and(is_token_char) {
            self.pos += 1;
        }
        let t = &self.d[start..self.pos];
        (!t.is_empty() && t.len() <= MAX_ATOM).then(|| t.to_vec())
    }

    /// `#…#`: hex digits, whitespace allowed anywhere inside (GnuPG breaks long numbers).
    fn hex(&mut self) -> Option<Vec<u8>> {
        self.pos += 1;
        let mut out = Vec::new();
        let mut hi: Option<u8> = None;
        loop {
            let c = self.peek()?;
            self.pos += 1;
            match c {
                b'#' => return hi.is_none().then_some(out),
                b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c => {}
                _ => {
                    let v = (c as char).to_digit(16)? as u8;
                    match hi.take() {
                        None => hi = Some(v),
                        Some(h) => {
                            out.push(h << 4 | v);
                            if out.len() > MAX_ATOM {
                                return None;
                            }
                        }
                    }
                }
            }
        }
    }

    /// `|…|`: base64, whitespace allowed inside.
    fn base64(&mut self) -> Option<Vec<u8>> {
        use base64::Engine;
        self.pos += 1;
        let end = memchr::memchr(b'|', &self.d[self.pos..])?;
        let body: Vec<u8> = self.d[self.pos..self.pos + end]
            .iter()
            .copied()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        self.pos += end + 1;
        if body.len() > MAX_ATOM * 4 / 3 + 4 {
            return None;
        }
        base64::engine::general_purpose::STANDARD.decode(body).ok()
    }

    /// `"…"` with C-style escapes (`\n`, `\"`, `\\`, octal `\ooo`, hex `\xhh`).
    fn quoted(&mut self) -> Option<Vec<u8>> {
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let c = self.peek()?;
            self.pos += 1;
            match c {
                b'"' => return Some(out),
                b'\\' => {
                    let e = self.peek()?;
                    self.pos += 1;
                    out.push(match e {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'f' => 12,
                        b'v' => 11,
                        b'x' => {
                            let h = self.take(2)?;
                            u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()?
                        }
                        b'0'..=b'7' => {
                            self.pos -= 1;
                            let o = self.take(3)?;
                            u8::from_str_radix(std::str::from_utf8(o).ok()?, 8).ok()?
                        }
                        b'\r' | b'\n' => continue,
                        other => other,
                    });
                }
                _ => out.push(c),
            }
            if out.len() > MAX_ATOM {
                return None;
            }
        }
    }
}

fn is_token_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || b"-./_:*+=".contains(&c)
}

fn is_token_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-./_:*+=".contains(&c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(s: &Sexp) -> Vec<String> {
        s.list()
            .unwrap()
            .iter()
            .filter_map(|e| e.name().or(e.atom()))
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .collect()
    }

    #[test]
    fn the_three_syntaxes_give_the_same_tree() {
        let canonical = b"(11:private-key(3:rsa(1:n3:\x00\xc4\x01)(1:e3:\x01\x00\x01)))trailing";
        let advanced = b"(private-key\n (rsa (n #00C4\n 01#)(e |AQAB|)))";
        let mut internal = vec![3, 1, 11, 0];
        internal.extend_from_slice(b"private-key");
        internal.extend_from_slice(&[3, 1, 3, 0]);
        internal.extend_from_slice(b"rsa");
        internal.extend_from_slice(&[3, 1, 1, 0, b'n', 1, 3, 0, 0, 0xc4, 1, 4]);
        internal.extend_from_slice(&[3, 1, 1, 0, b'e', 1, 3, 0, 1, 0, 1, 4, 4, 4, 0]);
        let (a, la) = parse(canonical, Syntax::Canonical).unwrap();
        let (b, lb) = parse(advanced, Syntax::Advanced).unwrap();
        let (c, lc) = parse(&internal, Syntax::Internal).unwrap();
        assert_eq!(la, canonical.len() - b"trailing".len());
        assert_eq!(lb, advanced.len());
        assert_eq!(
            lc,
            internal.len() - 1,
            "the stop byte is not part of the list"
        );
        assert_eq!(a, b);
        assert_eq!(a, c);
        let rsa = a.find(b"rsa").unwrap();
        assert_eq!(rsa.value(b"n"), Some(&[0, 0xc4, 1][..]));
        assert_eq!(rsa.value(b"e"), Some(&[1, 0, 1][..]));
        assert_eq!(names(&a), ["private-key", "rsa"]);
    }

    #[test]
    fn quoted_strings_tokens_and_hints() {
        let (s, _) = parse(
            b"(x (comment \"a\\\"b\\n\\101\") [text/plain]5:hello 12 tok-en.1)",
            Syntax::Advanced,
        )
        .unwrap();
        let l = s.list().unwrap();
        assert_eq!(l[1].value(b"comment"), None); // value() wants `(comment x)` form
        assert_eq!(l[1].list().unwrap()[1].atom(), Some(&b"a\"b\nA"[..]));
        assert_eq!(l[2].atom(), Some(&b"hello"[..]));
        assert_eq!(l[3].atom(), Some(&b"12"[..]));
        assert_eq!(l[4].atom(), Some(&b"tok-en.1"[..]));
    }

    #[test]
    fn malformed_and_hostile_inputs_are_rejected() {
        for bad in [
            &b"(3:rsa"[..],              // unterminated
            b"(4:rsa)",                  // atom runs past the end
            b"(03:rsa)",                 // leading zero
            b"(99999999999999999999:x)", // length overflow
            b"(rsa #0G#)",               // bad hex
            b"(rsa #abc#)",              // odd hex digits
            b")",                        // not a list
            b"(rsa \x01)",               // control byte
        ] {
            let syntax = if bad.contains(&b' ') {
                Syntax::Advanced
            } else {
                Syntax::Canonical
            };
            assert!(
                parse(bad, syntax).is_none(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        // Depth: 10 000 nested lists end at MAX_DEPTH, without recursion trouble.
        let deep = "(".repeat(10_000);
        assert!(parse(deep.as_bytes(), Syntax::Advanced).is_none());
        assert!(parse(deep.as_bytes(), Syntax::Canonical).is_none());
        assert!(parse(&vec![3u8; 10_000], Syntax::Internal).is_none());
        // Node count: a flat list of 100 000 atoms stops at MAX_NODES.
        let mut wide = b"(".to_vec();
        wide.extend(std::iter::repeat_n(&b"1:a"[..], 100_000).flatten());
        wide.push(b')');
        assert!(parse(&wide, Syntax::Canonical).is_none());
        // Huge declared atom.
        assert!(parse(b"(999999:x)", Syntax::Canonical).is_none());
        let mut internal = vec![3, 1, 0xff, 0xff];
        internal.extend(vec![0u8; 70_000]);
        assert!(parse(&internal, Syntax::Internal).is_none());
    }

    #[test]
    fn headless_lists() {
        let (a, la) = parse_headless(b"3:rsa(1:n1:\x05))x", Syntax::Canonical).unwrap();
        assert_eq!(la, 14);
        assert_eq!(a.name(), Some(&b"rsa"[..]));
        assert_eq!(a.value(b"n"), Some(&[5][..]));
        let (b, lb) = parse_headless(&[1, 3, 0, b'r', b's', b'a', 4, 0], Syntax::Internal).unwrap();
        assert_eq!(lb, 7);
        assert_eq!(b.name(), Some(&b"rsa"[..]));
        assert!(parse_headless(b"3:rsa(1:n", Syntax::Canonical).is_none());
        let (c, lc) = parse_internal_headless_atom(&[3, 0, b'r', b's', b'a', 4]).unwrap();
        assert_eq!((lc, c), (6, b));
    }

    #[test]
    fn debug_never_shows_atom_bytes() {
        let (s, _) = parse(b"(1:d4:\xde\xad\xbe\xef)", Syntax::Canonical).unwrap();
        let d = format!("{s:?}");
        assert!(!d.contains("de") && !d.contains("222"), "{d}");
    }
}
