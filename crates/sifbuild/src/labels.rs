//! `/.singularity.d/labels.json` (oci-to-sif.md §5.7) and the Go-compatible JSON text it
//! and the SIF metadata objects need.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// Fields of a UTC time, enough for both label formats.
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    weekday: u32,
    hour: u32,
    minute: u32,
    second: u32,
}

fn civil(time: SystemTime) -> Civil {
    let secs = match time.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    };
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Days to civil date (proleptic Gregorian), Howard Hinnant's algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    Civil {
        year,
        month,
        day,
        // 1970-01-01 was a Thursday (index 4 with Sunday = 0).
        weekday: (days + 4).rem_euclid(7) as u32,
        hour: (rem / 3600) as u32,
        minute: (rem / 60 % 60) as u32,
        second: (rem % 60) as u32,
    }
}

const WEEKDAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// RFC 3339 in UTC, e.g. `2026-11-27T06:01:03Z`.
pub fn rfc3339(time: SystemTime) -> String {
    let c = civil(time);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// Apptainer's `org.label-schema.build-date` layout (Go `Monday_2_January_2006_15:4:5_MST`:
/// no zero padding), in UTC.
pub fn build_date(time: SystemTime) -> String {
    let c = civil(time);
    format!(
        "{}_{}_{}_{}_{}:{}:{}_UTC",
        WEEKDAYS[c.weekday as usize],
        c.day,
        MONTHS[(c.month - 1) as usize],
        c.year,
        c.hour,
        c.minute,
        c.second
    )
}

/// A JSON string as Go's encoder writes it: `<`, `>`, `&`, U+2028 and U+2029 escaped.
pub(crate) fn go_string(s: &str) -> String {
    let plain = serde_json::to_string(s).expect("strings always serialise");
    let mut out = String::with_capacity(plain.len());
    for c in plain.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// Compact JSON of any value with object keys sorted (Go's map order) and Go string escaping.
pub(crate) fn go_compact(value: &Value, out: &mut String) {
    match value {
        Value::String(s) => out.push_str(&go_string(s)),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_compact(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let sorted: BTreeMap<&String, &Value> = map.iter().collect();
            out.push('{');
            for (i, (k, v)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&go_string(k));
                out.push(':');
                go_compact(v, out);
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// labels.json text: Go `MarshalIndent` with a tab, keys sorted, no trailing newline.
pub fn labels_json(labels: &BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        return "{}".to_owned();
    }
    let body: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("\t{}: {}", go_string(k), go_string(v)))
        .collect();
    format!("{{\n{}\n}}", body.join(",\n"))
}

/// Build labels a build adds on top of the image's own (Apptainer's `addBuildLabels`).
pub(crate) struct BuildLabels<'a> {
    /// Header keywords of the stage, keys lower case, values without trailing comments;
    /// each becomes `org.label-schema.usage.singularity.deffile.<key>`.
    pub header: &'a [(&'a str, &'a str)],
    pub arch: &'a str,
    pub variant: Option<&'a str>,
    pub build_time: SystemTime,
    pub base_name: Option<&'a str>,
    pub base_digest: Option<&'a str>,
    pub berth_version: &'a str,
    /// Whether the definition has a `%help` section (adds the usage labels).
    pub help: bool,
}

/// The image's labels merged with the build labels (build labels win).
pub(crate) fn merged_labels(
    image: Option<&Value>,
    build: &BuildLabels<'_>,
) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    if let Some(Value::Object(map)) = image {
        for (k, v) in map {
            let v = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            labels.insert(k.clone(), v);
        }
    }
    add_build_labels(&mut labels, build);
    labels
}

pub(crate) fn add_build_labels(labels: &mut BTreeMap<String, String>, build: &BuildLabels<'_>) {
    let mut set = |k: &str, v: &str| {
        labels.insert(k.to_owned(), v.to_owned());
    };
    set("org.label-schema.schema-version", "1.0");
    set(
        "org.opencontainers.image.created",
        &rfc3339(build.build_time),
    );
    set("org.label-schema.build-date", &build_date(build.build_time));
    set("org.label-schema.usage.berth.version", build.berth_version);
    if build.help {
        set("org.label-schema.usage", HELP_PATH);
        set("org.label-schema.usage.apptainer.runscript.help", HELP_PATH);
    }
    for (key, value) in build.header {
        set(
            &format!("org.label-schema.usage.singularity.deffile.{key}"),
            value,
        );
    }
    if let (Some(name), Some(digest)) = (build.base_name, build.base_digest) {
        set("org.opencontainers.image.base.name", name);
        set("org.opencontainers.image.base.digest", digest);
    }
    set("org.opencontainers.image.architecture", build.arch);
    set("org.label-schema.build-arch", build.arch);
    if let Some(variant) = build.variant {
        set("org.opencontainers.image.variant", variant);
    }
}

/// Where `%help` lands, as the usage labels name it.
pub(crate) const HELP_PATH: &str = "/.singularity.d/runscript.help";

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn date_formats() {
        // 2021-08-02 19:09:36 UTC, the busybox reference build (14:9:36 CDT).
        let t = UNIX_EPOCH + Duration::from_secs(1_627_931_376);
        assert_eq!(build_date(t), "Monday_2_August_2021_19:9:36_UTC");
        assert_eq!(rfc3339(t), "2021-08-02T19:09:36Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29 00:00:00
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00Z");
        assert_eq!(build_date(leap), "Tuesday_29_February_2000_0:0:0_UTC");
    }

    #[test]
    fn labels_text() {
        let mut m = BTreeMap::new();
        m.insert("b".to_owned(), "x&y".to_owned());
        m.insert("a".to_owned(), "1".to_owned());
        assert_eq!(
            labels_json(&m),
            "{\n\t\"a\": \"1\",\n\t\"b\": \"x\\u0026y\"\n}"
        );
    }

    #[test]
    fn compact_sorted() {
        let v: Value =
            serde_json::from_str(r#"{"b":[1,true,null],"a":{"z":"<","y":1.5}}"#).unwrap();
        let mut s = String::new();
        go_compact(&v, &mut s);
        assert_eq!(s, r#"{"a":{"y":1.5,"z":"\u003c"},"b":[1,true,null]}"#);
    }
}
