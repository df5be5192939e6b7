//! Text output identical, byte for byte, to the reference `siftool` (`header`, `list`,
//! `info`): people diff these, so every space matters.

use std::fmt::Write as _;

use crate::tabwriter;

use berth_core::inspect::extra_fields;
use berth_sif::{DataType, Descriptor, Header, Link, ZERO_TIME};

/// `siftool header`.
pub fn header(h: &Header) -> Vec<u8> {
    let mut rows: Vec<(&str, Vec<u8>)> = Vec::new();
    if !h.launch_script.is_empty() {
        let script = h
            .launch_script
            .strip_suffix(b"\n")
            .unwrap_or(&h.launch_script);
        rows.push(("Launch Script:", script.to_vec()));
    }
    rows.push(("Version:", h.version.clone().into_bytes()));
    if h.arch.is_known() {
        rows.push(("Primary Architecture:", h.arch.go_name().into()));
    }
    if !h.is_nil_id() {
        rows.push(("ID:", h.id_string().into_bytes()));
    }
    if h.created_at != ZERO_TIME {
        rows.push(("Created At:", go_utc_time(h.created_at).into_bytes()));
    }
    if h.modified_at != ZERO_TIME {
        rows.push(("Modified At:", go_utc_time(h.modified_at).into_bytes()));
    }
    rows.push((
        "Descriptors Free:",
        h.descriptors_free.to_string().into_bytes(),
    ));
    rows.push((
        "Descriptors Total:",
        h.descriptors_total.to_string().into_bytes(),
    ));
    rows.push((
        "Descriptors Offset:",
        h.descriptors_offset.to_string().into_bytes(),
    ));
    rows.push((
        "Descriptors Size:",
        readable_size(h.descriptors_size).into_bytes(),
    ));
    rows.push(("Data Offset:", h.data_offset.to_string().into_bytes()));
    rows.push(("Data Size:", readable_size(h.data_size).into_bytes()));
    table(&rows, "", 1)
}

/// `siftool list`.
pub fn list(descriptors: &[Descriptor]) -> String {
    const RULE: &str =
        "------------------------------------------------------------------------------\n";
    let mut out = String::new();
    out.push_str(RULE);
    out.push_str("ID   |GROUP   |LINK    |SIF POSITION (start-end)  |TYPE\n");
    out.push_str(RULE);
    for d in descriptors {
        let _ = write!(out, "{:<4} ", d.id);
        match d.group_id {
            0 => out.push_str("|NONE    "),
            g => {
                let _ = write!(out, "|{g:<7} ");
            }
        }
        let _ = match d.link {
            Link::None => write!(out, "|{:<7} ", "NONE"),
            Link::Group(g) => write!(out, "|{g:<3} (G) "),
            Link::Object(id) => write!(out, "|{id:<7} "),
        };
        let _ = write!(
            out,
            "{:<26} ",
            format!("|{}-{} ", d.offset, d.offset.saturating_add(d.size))
        );
        // Like the reference, an object whose metadata cannot be decoded ends its line
        // without a type (and without a newline).
        let name = d.data_type.siftool_name();
        let _ = match d.data_type {
            DataType::Partition => match d.partition() {
                Ok(p) => writeln!(out, "|{name} ({}/{}/{})", p.fs, p.part, p.arch.go_name()),
                Err(_) => Ok(()),
            },
            DataType::Signature => match d.signature() {
                Ok(s) => writeln!(out, "|{name} ({})", s.hash),
                Err(_) => Ok(()),
            },
            DataType::CryptoMessage => match d.crypto_message() {
                Ok(c) => writeln!(out, "|{name} ({}/{})", c.format, c.message),
                Err(_) => Ok(()),
            },
            DataType::Sbom => match d.sbom() {
                Ok(f) => writeln!(out, "|{name} ({f})"),
                Err(_) => Ok(()),
            },
            _ => writeln!(out, "|{name}"),
        };
    }
    out
}

/// `siftool info ID`.
pub fn info(d: &Descriptor) -> Result<Vec<u8>, berth_sif::Error> {
    let mut rows: Vec<(&str, Vec<u8>)> = vec![
        ("Data Type:", d.data_type.siftool_name().into()),
        ("ID:", d.id.to_string().into_bytes()),
        (
            "Group ID:",
            if d.group_id == 0 {
                b"NONE".to_vec()
            } else {
                d.group_id.to_string().into_bytes()
            },
        ),
        (
            "Linked ID:",
            match d.link {
                Link::None => b"NONE".to_vec(),
                Link::Group(g) => format!("{g} (G)").into_bytes(),
                Link::Object(id) => id.to_string().into_bytes(),
            },
        ),
        ("Offset:", d.offset.to_string().into_bytes()),
        ("Size:", d.size.to_string().into_bytes()),
    ];
    if d.created_at != ZERO_TIME {
        rows.push(("Created At:", go_utc_time(d.created_at).into_bytes()));
    }
    if d.modified_at != ZERO_TIME {
        rows.push(("Modified At:", go_utc_time(d.modified_at).into_bytes()));
    }
    // The raw bytes, as Go prints them: only trailing NULs are dropped.
    let name_len = d
        .raw_name
        .iter()
        .rposition(|&b| b != 0)
        .map_or(0, |i| i + 1);
    if name_len > 0 {
        rows.push(("Name:", d.raw_name[..name_len].to_vec()));
    }
    let extras = extra_fields(d)?;
    let labels: Vec<String> = extras.iter().map(|e| format!("{}:", e.label)).collect();
    for (label, e) in labels.iter().zip(&extras) {
        rows.push((label, e.value.clone().into_bytes()));
    }
    Ok(table(&rows, "\t", 2))
}

/// `label\tvalue` rows through Go's tabwriter, as siftool writes them (`indent` is the
/// leading cell siftool's `info` starts every line with).
fn table(rows: &[(&str, Vec<u8>)], indent: &str, padding: usize) -> Vec<u8> {
    let mut text = Vec::new();
    for (label, value) in rows {
        text.extend_from_slice(indent.as_bytes());
        text.extend_from_slice(label.as_bytes());
        text.push(b'\t');
        text.extend_from_slice(value);
        text.push(b'\n');
    }
    tabwriter::format(&text, padding)
}

/// A size as siftool prints it: `N B` below 1 KiB, else the largest binary unit that keeps
/// the integer quotient below 1024, rounded half away from zero.
pub fn readable_size(size: i64) -> String {
    if -1024 < size && size < 1024 {
        return format!("{size} B");
    }
    const UNITS: &[u8] = b"KMGTPE";
    let (mut div, mut exp) = (1024u64, 0usize);
    let mut n = size / 1024;
    while n <= -1024 || 1024 <= n {
        div *= 1024;
        exp += 1;
        n /= 1024;
    }
    #[allow(clippy::cast_precision_loss)] // same float arithmetic as the reference
    let value = (size as f64 / div as f64).round();
    format!("{value:.0} {}iB", UNITS[exp] as char)
}

/// Unix seconds as Go prints a UTC `time.Time`: `2020-05-22 19:30:59 +0000 UTC`.
pub fn go_utc_time(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    // Go pads the year to four digits after its sign: -0005, not -005.
    let year = if y < 0 {
        format!("-{:04}", -y)
    } else {
        format!("{y:04}")
    };
    let (hh, mm, ss) = (rem / 3600, rem % 3600 / 60, rem % 60);
    format!("{year}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02} +0000 UTC")
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_the_reference_rounding() {
        assert_eq!(readable_size(0), "0 B");
        assert_eq!(readable_size(1023), "1023 B");
        assert_eq!(readable_size(28080), "27 KiB");
        assert_eq!(readable_size(8784), "9 KiB");
        assert_eq!(readable_size(272_825), "266 KiB");
        assert_eq!(readable_size(2560), "3 KiB"); // half away from zero
        assert_eq!(readable_size(1_048_575), "1024 KiB");
        assert_eq!(readable_size(4 << 30), "4 GiB");
    }

    #[test]
    fn times_match_go() {
        assert_eq!(go_utc_time(1_590_175_859), "2020-05-22 19:30:59 +0000 UTC");
        assert_eq!(go_utc_time(0), "1970-01-01 00:00:00 +0000 UTC");
        assert_eq!(go_utc_time(951_782_400), "2000-02-29 00:00:00 +0000 UTC");
        assert_eq!(go_utc_time(-86_400), "1969-12-31 00:00:00 +0000 UTC");
        assert_eq!(
            go_utc_time(-62_324_985_600),
            "-0005-01-01 00:00:00 +0000 UTC"
        );
    }
}
