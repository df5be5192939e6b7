//! Text output identical, byte for byte, to the reference `siftool` (`header`, `list`,
//! `info`): people diff these, so every space matters.

use std::fmt::Write as _;

use berth_core::inspect::extra_fields;
use berth_sif::{DataType, Descriptor, Header, Link, ZERO_TIME};

/// `siftool header`.
pub fn header(h: &Header) -> String {
    let mut rows: Vec<(&str, String)> = Vec::new();
    if !h.launch_script.is_empty() {
        let script = String::from_utf8_lossy(&h.launch_script);
        rows.push((
            "Launch Script:",
            script.strip_suffix('\n').unwrap_or(&script).to_owned(),
        ));
    }
    rows.push(("Version:", h.version.clone()));
    if h.arch.go_name() != "unknown" {
        rows.push(("Primary Architecture:", h.arch.go_name().to_owned()));
    }
    if !h.is_nil_id() {
        rows.push(("ID:", h.id_string()));
    }
    if h.created_at != ZERO_TIME {
        rows.push(("Created At:", go_utc_time(h.created_at)));
    }
    if h.modified_at != ZERO_TIME {
        rows.push(("Modified At:", go_utc_time(h.modified_at)));
    }
    rows.push(("Descriptors Free:", h.descriptors_free.to_string()));
    rows.push(("Descriptors Total:", h.descriptors_total.to_string()));
    rows.push(("Descriptors Offset:", h.descriptors_offset.to_string()));
    rows.push(("Descriptors Size:", readable_size(h.descriptors_size)));
    rows.push(("Data Offset:", h.data_offset.to_string()));
    rows.push(("Data Size:", readable_size(h.data_size)));
    aligned(&rows, "", 1)
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
pub fn info(d: &Descriptor) -> Result<String, berth_sif::Error> {
    let mut rows: Vec<(&str, String)> = vec![
        ("Data Type:", d.data_type.siftool_name().to_owned()),
        ("ID:", d.id.to_string()),
        (
            "Group ID:",
            if d.group_id == 0 {
                "NONE".to_owned()
            } else {
                d.group_id.to_string()
            },
        ),
        (
            "Linked ID:",
            match d.link {
                Link::None => "NONE".to_owned(),
                Link::Group(g) => format!("{g} (G)"),
                Link::Object(id) => id.to_string(),
            },
        ),
        ("Offset:", d.offset.to_string()),
        ("Size:", d.size.to_string()),
    ];
    if d.created_at != ZERO_TIME {
        rows.push(("Created At:", go_utc_time(d.created_at)));
    }
    if d.modified_at != ZERO_TIME {
        rows.push(("Modified At:", go_utc_time(d.modified_at)));
    }
    if !d.name.is_empty() {
        rows.push(("Name:", d.name.clone()));
    }
    let extras = extra_fields(d)?;
    let labels: Vec<String> = extras.iter().map(|e| format!("{}:", e.label)).collect();
    for (label, e) in labels.iter().zip(&extras) {
        rows.push((label, e.value.clone()));
    }
    Ok(aligned(&rows, "  ", 2))
}

/// Go `text/tabwriter` with one label column: the column is as wide as its widest cell
/// plus `padding`; `indent` stands for an empty leading cell (its width is the padding).
fn aligned(rows: &[(&str, String)], indent: &str, padding: usize) -> String {
    let width = rows
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0)
        + padding;
    let mut out = String::new();
    for (label, value) in rows {
        let _ = writeln!(out, "{indent}{label:<width$}{value}");
    }
    out
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
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} +0000 UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
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
    }
}
