//! The file-name patterns `/bin/sh` expands in a `%files` source (Apptainer hands each
//! source to `for n in SRC`): `*`, `?` and bracket expressions per path component, no
//! match for a leading dot unless the pattern has one, sorted results, and the pattern
//! itself when nothing matches.

/// Whether `s` holds a pattern character (so it must be expanded, not taken literally).
pub(crate) fn has_magic(s: &[u8]) -> bool {
    let mut escaped = false;
    for &b in s {
        match b {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            b'*' | b'?' | b'[' => return true,
            _ => {}
        }
    }
    false
}

/// The component with backslash escapes removed (a literal component of a pattern).
pub(crate) fn unescape(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut escaped = false;
    for &b in s {
        if !escaped && b == b'\\' {
            escaped = true;
            continue;
        }
        escaped = false;
        out.push(b);
    }
    out
}

/// Whether `name` matches the one-component `pattern`.
pub(crate) fn matches(pattern: &[u8], name: &[u8]) -> bool {
    if name.first() == Some(&b'.') && pattern.first() != Some(&b'.') {
        return false;
    }
    match_from(pattern, name)
}

fn match_from(p: &[u8], n: &[u8]) -> bool {
    let (mut pi, mut ni) = (0, 0);
    // Where the last `*` was and what it has swallowed so far, for backtracking.
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() {
            match p[pi] {
                b'*' => {
                    star = Some((pi, ni));
                    pi += 1;
                    continue;
                }
                b'?' => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                b'[' => {
                    if let Some((hit, len)) = bracket(&p[pi..], n[ni]) {
                        if hit {
                            pi += len;
                            ni += 1;
                            continue;
                        }
                    } else if n[ni] == b'[' {
                        // An unclosed bracket is an ordinary character.
                        pi += 1;
                        ni += 1;
                        continue;
                    }
                }
                b'\\' if pi + 1 < p.len() && p[pi + 1] == n[ni] => {
                    pi += 2;
                    ni += 1;
                    continue;
                }
                // An escape before a different character: no match here.
                b'\\' if pi + 1 < p.len() => {}
                c if c == n[ni] => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, sn)) => {
                pi = sp + 1;
                ni = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// A bracket expression at the start of `p` against `c`: `(matched, pattern length)`, or
/// `None` when the bracket is not closed.
fn bracket(p: &[u8], c: u8) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(p.get(i), Some(b'!') | Some(b'^'));
    if negate {
        i += 1;
    }
    let mut hit = false;
    let mut first = true;
    loop {
        let &b = p.get(i)?;
        if b == b']' && !first {
            return Some((hit != negate, i + 1));
        }
        first = false;
        if p.get(i + 1) == Some(&b'-') && p.get(i + 2).is_some_and(|&e| e != b']') {
            let end = p[i + 2];
            if (b..=end).contains(&c) {
                hit = true;
            }
            i += 3;
        } else {
            if b == c {
                hit = true;
            }
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_patterns() {
        assert!(matches(b"*.txt", b"a.txt"));
        assert!(!matches(b"*.txt", b".hidden.txt"));
        assert!(matches(b".*", b".hidden"));
        assert!(matches(b"a?c", b"abc"));
        assert!(matches(b"[a-c]x", b"bx"));
        assert!(!matches(b"[!a-c]x", b"bx"));
        assert!(matches(b"[]]", b"]"));
        assert!(matches(b"a*b*c", b"axxbyyc"));
        assert!(!matches(b"a*b*c", b"axxbyy"));
        assert!(matches(b"\\*", b"*"));
        assert!(!matches(b"\\*", b"x"));
        assert!(matches(b"[ab", b"[ab"));
        assert!(has_magic(b"a*"));
        assert!(!has_magic(b"a\\*"));
        assert_eq!(unescape(b"a\\*b"), b"a*b");
    }
}
