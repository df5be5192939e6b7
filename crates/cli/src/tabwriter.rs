//! Go's `text/tabwriter` as siftool configures it (min width 0, pad with spaces, no
//! flags), on bytes. siftool's `header` and `info` go through it, so names and launch
//! scripts holding tabs, newlines or non-UTF-8 bytes must be laid out exactly as Go does.

/// The escape byte: text between two of them is one opaque piece of a cell.
const ESCAPE: u8 = 0xFF;

#[derive(Clone, Copy, Default)]
struct Cell {
    /// Bytes of text.
    size: usize,
    /// Width in runes, as Go counts them.
    width: usize,
}

/// Formats `input` into aligned columns, `padding` spaces at least between them.
pub fn format(input: &[u8], padding: usize) -> Vec<u8> {
    let mut w = Writer {
        padding,
        ..Writer::default()
    };
    for &b in input {
        w.byte(b);
    }
    w.flush();
    w.out
}

#[derive(Default)]
struct Writer {
    padding: usize,
    out: Vec<u8>,
    /// Text of the cells not yet written.
    buf: Vec<u8>,
    /// Start of the current cell in `buf`.
    cell_start: usize,
    /// Escape sequences opened in the current cell (each hides its two escape bytes).
    escapes: usize,
    in_escape: bool,
    lines: Vec<Vec<Cell>>,
    widths: Vec<usize>,
}

impl Writer {
    fn byte(&mut self, b: u8) {
        if self.in_escape {
            self.buf.push(b);
            if b == ESCAPE {
                self.in_escape = false;
            }
            return;
        }
        match b {
            b'\t' | b'\x0b' | b'\n' | b'\x0c' => {
                let cells = self.terminate_cell();
                if b == b'\n' || b == b'\x0c' {
                    self.lines.push(Vec::new());
                    // A line without tabs cannot affect the columns after it: Go flushes.
                    if b == b'\x0c' || cells == 1 {
                        self.flush_lines();
                    }
                }
            }
            ESCAPE => {
                self.buf.push(b);
                self.in_escape = true;
                self.escapes += 1;
            }
            _ => self.buf.push(b),
        }
    }

    fn terminate_cell(&mut self) -> usize {
        let text = &self.buf[self.cell_start..];
        let width = go_rune_count(text).saturating_sub(2 * self.escapes);
        let cell = Cell {
            size: text.len(),
            width,
        };
        self.cell_start = self.buf.len();
        self.escapes = 0;
        if self.lines.is_empty() {
            self.lines.push(Vec::new());
        }
        let line = self.lines.last_mut().expect("a line exists");
        line.push(cell);
        line.len()
    }

    fn flush(&mut self) {
        self.in_escape = false;
        if self.buf.len() > self.cell_start {
            self.terminate_cell();
        }
        self.flush_lines();
    }

    fn flush_lines(&mut self) {
        if self.lines.is_empty() {
            return;
        }
        let n = self.lines.len();
        let mut pos = 0;
        self.format_block(&mut pos, 0, n);
        self.buf.clear();
        self.cell_start = 0;
        self.lines.clear();
    }

    /// Go's `format`: lay out the lines `line0..line1` from column `widths.len()` on.
    fn format_block(&mut self, pos: &mut usize, mut line0: usize, line1: usize) {
        let column = self.widths.len();
        let mut this = line0;
        while this < line1 {
            if column + 1 >= self.lines[this].len() {
                this += 1;
                continue;
            }
            // A cell exists in this column: write the lines above, then size the block.
            self.write_lines(pos, line0, this);
            line0 = this;
            let mut width = 0;
            while this < line1 && column + 1 < self.lines[this].len() {
                width = width.max(self.lines[this][column].width + self.padding);
                this += 1;
            }
            self.widths.push(width);
            self.format_block(pos, line0, this);
            self.widths.pop();
            line0 = this;
        }
        self.write_lines(pos, line0, line1);
    }

    fn write_lines(&mut self, pos: &mut usize, line0: usize, line1: usize) {
        for i in line0..line1 {
            for (j, cell) in self.lines[i].iter().enumerate() {
                if cell.size > 0 {
                    self.out
                        .extend_from_slice(&self.buf[*pos..*pos + cell.size]);
                    *pos += cell.size;
                }
                if let Some(&w) = self.widths.get(j) {
                    self.out
                        .extend(std::iter::repeat_n(b' ', w.saturating_sub(cell.width)));
                }
            }
            if i + 1 != self.lines.len() {
                self.out.push(b'\n');
            }
        }
    }
}

/// `utf8.RuneCount`: every byte of an invalid sequence counts as one rune.
fn go_rune_count(bytes: &[u8]) -> usize {
    bytes
        .utf8_chunks()
        .map(|c| c.valid().chars().count() + c.invalid().len())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::format;

    fn f(s: &str, pad: usize) -> String {
        String::from_utf8(format(s.as_bytes(), pad)).unwrap()
    }

    #[test]
    fn one_column_is_as_wide_as_its_widest_label_plus_padding() {
        assert_eq!(
            f("Version:\t01\nData Offset:\t32176\n", 1),
            "Version:     01\nData Offset: 32176\n"
        );
        assert_eq!(f("\tID:\t1\n\tName:\tx\n", 2), "  ID:    1\n  Name:  x\n");
    }

    #[test]
    fn a_line_without_tabs_ends_the_column_block() {
        // A launch script with a newline: its first line is a block of its own.
        assert_eq!(
            f("Launch Script:\t#!/bin/sh\nexec x\nVersion:\t01\nPrimary Architecture:\tamd64\n", 1),
            "Launch Script: #!/bin/sh\nexec x\nVersion:              01\nPrimary Architecture: amd64\n"
        );
    }

    #[test]
    fn tabs_inside_values_make_more_columns() {
        assert_eq!(
            f("\tName:\ta\tb\n\tSize:\t2\n", 2),
            "  Name:  a  b\n  Size:  2\n"
        );
    }

    #[test]
    fn widths_count_runes_and_invalid_bytes_singly() {
        assert_eq!(f("é:\tx\nab:\ty\n", 1), "é:  x\nab: y\n");
        let out = format(b"\xe2\x82:\tx\nabcd:\ty\n", 1);
        assert_eq!(out, b"\xe2\x82:   x\nabcd: y\n");
    }

    #[test]
    fn escaped_text_is_opaque_and_its_escape_bytes_have_no_width() {
        let out = format(b"\xffa\tb\xff:\tx\nabcde:\ty\n", 1);
        assert_eq!(out, b"\xffa\tb\xff:   x\nabcde: y\n");
    }
}
