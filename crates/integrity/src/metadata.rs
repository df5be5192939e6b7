//! The image-metadata JSON document that modern signatures sign (sif-signing.md §3).
//!
//! Writing reproduces Go's `json.Marshal` output byte for byte (compact, fixed key order), so
//! signatures made here are identical to the reference's. Reading follows Go's
//! `json.Unmarshal` where it matters: any key order and whitespace, unknown keys ignored, keys
//! matched case-insensitively when there is no exact match, missing fields left at zero.

use std::io::{Read, Seek};

use berth_sif::{Descriptor, Image};
use serde_json::{Map, Value};

use crate::digest::{Digest, DigestAlgorithm, DigestError};
use crate::error::Result;

/// The only metadata version defined.
pub const METADATA_VERSION: i64 = 1;

/// Digest of the header integrity stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderMetadata {
    /// `None` when a parsed document lacks it (the reference then fails with "hash algorithm
    /// unavailable").
    pub digest: Option<Digest>,
}

/// Digests of one object's descriptor integrity stream and data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMetadata {
    /// Object ID minus the smallest ID in its group.
    pub relative_id: u32,
    /// Digest of the 557-byte descriptor integrity stream.
    pub descriptor_digest: Option<Digest>,
    /// Digest of the object data.
    pub object_digest: Option<Digest>,
}

/// The signed document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageMetadata {
    /// Document version (1).
    pub version: i64,
    /// Header digest.
    pub header: HeaderMetadata,
    /// One entry per signed object, ascending ID.
    pub objects: Vec<ObjectMetadata>,
}

impl HeaderMetadata {
    /// Metadata for a header integrity stream.
    pub fn compute(integrity_bytes: &[u8], algorithm: DigestAlgorithm) -> HeaderMetadata {
        HeaderMetadata {
            digest: Some(Digest::of_bytes(algorithm, integrity_bytes)),
        }
    }

    /// Compact JSON, as Go marshals it.
    pub fn to_json(&self) -> String {
        format!("{{\"digest\":{}}}", digest_json(self.digest.as_ref()))
    }
}

impl ObjectMetadata {
    /// Metadata for one object: its relative ID, descriptor integrity stream and data.
    pub fn compute(
        relative_id: u32,
        descriptor_bytes: &[u8],
        data: impl Read,
        algorithm: DigestAlgorithm,
    ) -> std::io::Result<ObjectMetadata> {
        Ok(ObjectMetadata {
            relative_id,
            descriptor_digest: Some(Digest::of_bytes(algorithm, descriptor_bytes)),
            object_digest: Some(Digest::of_reader(algorithm, data)?),
        })
    }

    /// Compact JSON, as Go marshals it.
    pub fn to_json(&self) -> String {
        format!(
            "{{\"relativeId\":{},\"descriptorDigest\":{},\"objectDigest\":{}}}",
            self.relative_id,
            digest_json(self.descriptor_digest.as_ref()),
            digest_json(self.object_digest.as_ref())
        )
    }
}

impl ImageMetadata {
    /// The document covering `objects` (ascending ID, all in one group whose smallest ID is
    /// `min_id`), streaming each object's data through the hash.
    pub fn compute<R: Read + Seek>(
        image: &mut Image<R>,
        min_id: u32,
        objects: &[Descriptor],
        algorithm: DigestAlgorithm,
    ) -> Result<ImageMetadata> {
        let header = HeaderMetadata::compute(&image.header().integrity_bytes(), algorithm);
        let mut entries = Vec::with_capacity(objects.len());
        for d in objects {
            let relative_id = d.id.checked_sub(min_id).ok_or_else(|| {
                crate::Error::Selection("integrity: minimum ID value invalid".to_owned())
            })?;
            let descriptor_bytes = d.integrity_bytes(image.relative_id(d));
            let reader = image.object_reader(d.id)?;
            entries.push(ObjectMetadata::compute(
                relative_id,
                &descriptor_bytes,
                reader,
                algorithm,
            )?);
        }
        Ok(ImageMetadata {
            version: METADATA_VERSION,
            header,
            objects: entries,
        })
    }

    /// Compact JSON with no trailing newline: exactly the bytes the reference signs.
    pub fn to_json(&self) -> String {
        let objects = if self.objects.is_empty() {
            // Go marshals an empty (nil) slice as null.
            "null".to_owned()
        } else {
            let items: Vec<String> = self.objects.iter().map(ObjectMetadata::to_json).collect();
            format!("[{}]", items.join(","))
        };
        format!(
            "{{\"version\":{},\"header\":{},\"objects\":{}}}",
            self.version,
            self.header.to_json(),
            objects
        )
    }

    /// Parses a document. The error text is what the reference embeds in "signature object N not
    /// valid: …" (Go's own JSON syntax messages are not reproduced word for word).
    pub fn parse(bytes: &[u8]) -> std::result::Result<ImageMetadata, String> {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| format!("json: {e}"))?;
        let top = match value {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            other => return Err(type_error(&other, "", "integrity.imageMetadata")),
        };
        let version = match field(&top, "version") {
            None | Some(Value::Null) => 0,
            Some(v) => v
                .as_i64()
                .ok_or_else(|| type_error(v, "imageMetadata.version", "integrity.mdVersion"))?,
        };
        let header = match field(&top, "header") {
            None | Some(Value::Null) => HeaderMetadata { digest: None },
            Some(Value::Object(h)) => HeaderMetadata {
                digest: digest_field(h, "digest")?,
            },
            Some(v) => {
                return Err(type_error(
                    v,
                    "imageMetadata.header",
                    "integrity.headerMetadata",
                ))
            }
        };
        let objects = match field(&top, "objects") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(parse_object)
                .collect::<std::result::Result<_, _>>()?,
            Some(v) => {
                return Err(type_error(
                    v,
                    "imageMetadata.objects",
                    "[]integrity.objectMetadata",
                ))
            }
        };
        Ok(ImageMetadata {
            version,
            header,
            objects,
        })
    }
}

fn parse_object(value: &Value) -> std::result::Result<ObjectMetadata, String> {
    let map = match value {
        Value::Object(map) => map,
        Value::Null => {
            return Ok(ObjectMetadata {
                relative_id: 0,
                descriptor_digest: None,
                object_digest: None,
            })
        }
        other => {
            return Err(type_error(
                other,
                "imageMetadata.objects",
                "integrity.objectMetadata",
            ))
        }
    };
    let relative_id = match field(map, "relativeId") {
        None | Some(Value::Null) => 0,
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| type_error(v, "objectMetadata.objects.relativeId", "uint32"))?,
    };
    Ok(ObjectMetadata {
        relative_id,
        descriptor_digest: digest_field(map, "descriptorDigest")?,
        object_digest: digest_field(map, "objectDigest")?,
    })
}

/// Go's field matching: the exact key, else the first key equal ignoring case.
pub(crate) fn field<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    map.get(name).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

fn digest_field(
    map: &Map<String, Value>,
    name: &str,
) -> std::result::Result<Option<Digest>, String> {
    match field(map, name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Digest::parse(s).map(Some).map_err(|e| e.to_string()),
        Some(other) => Err(DigestError::Malformed(Some(format!(
            "json: cannot unmarshal {} into Go value of type string",
            json_kind(other)
        )))
        .to_string()),
    }
}

fn digest_json(digest: Option<&Digest>) -> String {
    digest.map_or_else(|| "null".to_owned(), Digest::to_json)
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_error(value: &Value, field: &str, go_type: &str) -> String {
    let what = match value {
        Value::Number(n) => format!("number {n}"),
        other => json_kind(other).to_owned(),
    };
    if field.is_empty() {
        format!("json: cannot unmarshal {what} into Go value of type {go_type}")
    } else {
        format!("json: cannot unmarshal {what} into Go struct field {field} of type {go_type}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_go_leniency() {
        let d = Digest::of_bytes(DigestAlgorithm::Sha256, b"x");
        let doc = ImageMetadata {
            version: 1,
            header: HeaderMetadata {
                digest: Some(d.clone()),
            },
            objects: vec![ObjectMetadata {
                relative_id: 3,
                descriptor_digest: Some(d.clone()),
                object_digest: Some(d.clone()),
            }],
        };
        let json = doc.to_json();
        assert_eq!(ImageMetadata::parse(json.as_bytes()).unwrap(), doc);
        let spaced = format!(
            "{{ \"Objects\": [ {{\"objectDigest\":\"{d}\", \"RELATIVEID\": 3, \"descriptorDigest\":\"{d}\", \"x\": 1}} ], \"header\" : {{\"digest\":\"{d}\"}}, \"version\":1 }}\n"
        );
        assert_eq!(ImageMetadata::parse(spaced.as_bytes()).unwrap(), doc);
        assert_eq!(
            ImageMetadata::parse(br#"{"header":{"digest":"md5:00"}}"#).unwrap_err(),
            "hash algorithm unsupported"
        );
        assert!(ImageMetadata::parse(br#"{"objects":[{"relativeId":-1}]}"#).is_err());
        assert!(ImageMetadata::parse(b"not json").is_err());
    }
}
