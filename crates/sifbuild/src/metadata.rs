//! The SIF's JSON.Generic objects (oci-to-sif.md §6): what `apptainer inspect --all` would
//! report for the finished tree, and the image config.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::labels::{go_compact, go_string};
use crate::tree::RootFs;

/// The config fields in go-containerregistry's order; empty ones are omitted.
const CONFIG_FIELDS: [&str; 24] = [
    "AttachStderr",
    "AttachStdin",
    "AttachStdout",
    "Cmd",
    "Healthcheck",
    "Domainname",
    "Entrypoint",
    "Env",
    "Hostname",
    "Image",
    "Labels",
    "OnBuild",
    "OpenStdin",
    "StdinOnce",
    "Tty",
    "User",
    "Volumes",
    "WorkingDir",
    "ExposedPorts",
    "ArgsEscaped",
    "NetworkDisabled",
    "MacAddress",
    "StopSignal",
    "Shell",
];

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Number(n) => n.as_f64() == Some(0.0),
    }
}

/// `oci-config.json`: compact, Go field order, empty fields left out. Fields this order
/// does not know are dropped, as the reference's typed struct drops them.
pub fn oci_config_json(config: &Value) -> Vec<u8> {
    let mut out = String::from("{");
    let mut first = true;
    for field in CONFIG_FIELDS {
        let Some(v) = config.get(field) else { continue };
        if is_empty(v) {
            continue;
        }
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(&go_string(field));
        out.push(':');
        go_compact(v, &mut out);
    }
    out.push('}');
    out.into_bytes()
}

fn text(root: &RootFs, path: &str) -> Option<String> {
    let bytes = root.read(path)?;
    let s = String::from_utf8_lossy(&bytes);
    // inspect reports scripts with trailing white space trimmed.
    let trimmed = s.trim_end();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// `inspect-metadata.json` for the tree (after the skeleton was added).
pub fn inspect_metadata_json(root: &RootFs) -> Result<Vec<u8>> {
    let mut attrs: Vec<(&str, String)> = Vec::new();

    let mut env = BTreeMap::new();
    for name in root.list(".singularity.d/env").unwrap_or_default() {
        let docker = name.starts_with("10-docker") && name.ends_with(".sh");
        let custom = name.starts_with('9') && name.ends_with("-environment.sh");
        if docker || custom {
            let path = format!("/.singularity.d/env/{name}");
            if let Some(t) = text(root, &path) {
                env.insert(path, Value::String(t));
            }
        }
    }
    if !env.is_empty() {
        let mut s = String::new();
        go_compact(&Value::Object(env.into_iter().collect()), &mut s);
        attrs.push(("environment", s));
    }
    if let Some(labels) = root.read(".singularity.d/labels.json") {
        let v: Value = serde_json::from_slice(&labels)
            .map_err(|e| Error::InvalidMetadata(format!("labels.json: {e}")))?;
        if !is_empty(&v) {
            let mut s = String::new();
            go_compact(&v, &mut s);
            attrs.push(("labels", s));
        }
    }
    for (key, path) in [
        ("runscript", ".singularity.d/runscript"),
        ("test", ".singularity.d/test"),
        ("helpfile", ".singularity.d/runscript.help"),
        ("deffile", ".singularity.d/Singularity"),
        ("startscript", ".singularity.d/startscript"),
    ] {
        if let Some(t) = text(root, path) {
            attrs.push((key, go_string(&t)));
        }
    }

    let body: Vec<String> = attrs
        .into_iter()
        .map(|(k, v)| format!("\"{k}\":{v}"))
        .collect();
    Ok(format!(
        "{{\"data\":{{\"attributes\":{{{}}}}},\"type\":\"container\"}}",
        body.join(",")
    )
    .into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_order_and_omission() {
        let c: Value = serde_json::from_str(
            r#"{"Env":["PATH=/bin"],"Cmd":["sh"],"Tty":false,"WorkingDir":"","Labels":{"b":"1","a":"<"},"Unknown":1,"User":"1000"}"#,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(oci_config_json(&c)).unwrap(),
            r#"{"Cmd":["sh"],"Env":["PATH=/bin"],"Labels":{"a":"\u003c","b":"1"},"User":"1000"}"#
        );
        assert_eq!(oci_config_json(&Value::Null), b"{}");
    }
}
