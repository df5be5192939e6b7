//! Splitting text into lines that remember their exact terminator, so the writer can put
//! back CRLF, LF and a missing final newline exactly as they were.

/// One physical line of the input.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Line<'a> {
    /// 1-based line number.
    pub number: usize,
    /// The line with its terminator (`\n` or `\r\n`, or none on the last line).
    pub raw: &'a str,
    /// The line without its terminator.
    pub content: &'a str,
}

/// Splits `text` at `\n`. A `\r` directly before the `\n` belongs to the terminator; a lone
/// `\r` elsewhere is ordinary content (old Mac endings are not a definition-file thing).
pub(crate) fn split(text: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    let mut number = 1;
    while !rest.is_empty() {
        let (raw, next) = match rest.find('\n') {
            Some(i) => rest.split_at(i + 1),
            None => (rest, ""),
        };
        let content = raw.strip_suffix('\n').unwrap_or(raw);
        let content = if raw.ends_with('\n') {
            content.strip_suffix('\r').unwrap_or(content)
        } else {
            content
        };
        out.push(Line {
            number,
            raw,
            content,
        });
        number += 1;
        rest = next;
    }
    out
}

/// 1-based column of byte offset `byte` in `content`, counted in characters.
pub(crate) fn column(content: &str, byte: usize) -> usize {
    content[..byte].chars().count() + 1
}

/// Byte offset of the first non-whitespace character (or the length if there is none).
pub(crate) fn indent(content: &str) -> usize {
    content.len() - content.trim_start().len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminators_are_kept() {
        let lines = split("a\r\nb\nc");
        assert_eq!(lines.len(), 3);
        assert_eq!((lines[0].raw, lines[0].content), ("a\r\n", "a"));
        assert_eq!((lines[1].raw, lines[1].content), ("b\n", "b"));
        assert_eq!((lines[2].raw, lines[2].content), ("c", "c"));
        assert_eq!(split("x\r").first().map(|l| l.content), Some("x\r"));
        assert!(split("").is_empty());
    }
}
