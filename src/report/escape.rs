//! Making strings from a dump safe to show. Module names, paths, thread names, region labels
//! and previews come from the dump, which an attacker may have shaped: a module name holding
//! ESC, CR and LF could rewrite an engineer's terminal ("no findings / summary: 0 critical"),
//! and bidirectional-override characters reorder what is read (issue #12, part 6). Every human
//! and HTML output of such strings goes through [`visible`] (HTML: [`push_visible`]), which
//! shows each control character as an escape sequence and never emits it.

use std::borrow::Cow;

/// True for characters that are never written raw: C0 and C1 controls, DEL, and the Unicode
/// format characters that change how the rest of a line reads (bidirectional embeddings,
/// overrides and isolates, zero-width joiners, line and paragraph separators, BOM).
fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2069}'
            | '\u{feff}')
}

/// Appends `c` as it may be shown: itself, or an escape (`\n`, `\r`, `\t`, `\x1b`,
/// `\u{202e}`).
pub fn push_visible(out: &mut String, c: char) {
    if !hidden(c) {
        out.push(c);
        return;
    }
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
        c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
    }
}

/// `s` with every control character shown as an escape; borrowed when there is none.
pub fn visible(s: &str) -> Cow<'_, str> {
    if !s.chars().any(hidden) {
        return Cow::Borrowed(s);
    }
    let mut o = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        push_visible(&mut o, c);
    }
    Cow::Owned(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_shown_never_emitted() {
        let forged = "evil.dll\x1b[2K\r\n  no findings\u{202e}\u{9b}";
        let v = visible(forged);
        assert_eq!(v, "evil.dll\\x1b[2K\\r\\n  no findings\\u{202e}\\x9b");
        assert!(!v.chars().any(hidden));
        assert!(matches!(
            visible("C:\\Windows\\ntdll.dll"),
            Cow::Borrowed(_)
        ));
    }
}
