//! Library objects (library-api.md §4) as both server flavours send them.
//!
//! Every field is optional on the wire (`#[serde(default)]`), unknown fields are ignored,
//! and the lenient decoders in [`crate::de`] accept numbers for IDs and `null` for zero
//! values. Field names are the camelCase ones of §4; Hinkskalle's spellings are aliases.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::de;
use crate::secret::Secret;

/// Audit fields embedded in every model (§4.1). Times are kept as the server's RFC 3339
/// text: Go's zero time (`0001-01-01T00:00:00Z`) means "never".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Audit {
    #[serde(deserialize_with = "de::bool")]
    pub deleted: bool,
    #[serde(deserialize_with = "de::opt_string")]
    pub created_by: Option<String>,
    #[serde(deserialize_with = "de::opt_string")]
    pub created_at: Option<String>,
    #[serde(deserialize_with = "de::opt_string")]
    pub updated_by: Option<String>,
    #[serde(deserialize_with = "de::opt_string")]
    pub updated_at: Option<String>,
    #[serde(deserialize_with = "de::opt_string")]
    pub owner: Option<String>,
}

/// A user or organisation namespace (§4.2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Entity {
    #[serde(deserialize_with = "de::string")]
    pub id: String,
    #[serde(deserialize_with = "de::string")]
    pub name: String,
    #[serde(deserialize_with = "de::string")]
    pub description: String,
    /// Collection IDs (Sylabs; Hinkskalle omits them).
    #[serde(deserialize_with = "de::strings")]
    pub collections: Vec<String>,
    #[serde(deserialize_with = "de::u64")]
    pub size: u64,
    /// 0 = unlimited.
    #[serde(deserialize_with = "de::u64")]
    pub quota: u64,
    #[serde(deserialize_with = "de::u64", alias = "used_quota")]
    pub used_quota: u64,
    #[serde(deserialize_with = "de::bool")]
    pub default_private: bool,
    #[serde(deserialize_with = "de::string")]
    pub custom_data: String,
    #[serde(flatten)]
    pub audit: Audit,
}

/// A group of containers inside an entity (§4.3).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Collection {
    #[serde(deserialize_with = "de::string")]
    pub id: String,
    #[serde(deserialize_with = "de::string")]
    pub name: String,
    #[serde(deserialize_with = "de::string")]
    pub description: String,
    /// Entity **ID**.
    #[serde(deserialize_with = "de::string")]
    pub entity: String,
    #[serde(deserialize_with = "de::string")]
    pub entity_name: String,
    /// Container IDs (Sylabs; Hinkskalle omits them).
    #[serde(deserialize_with = "de::strings")]
    pub containers: Vec<String>,
    #[serde(deserialize_with = "de::u64")]
    pub size: u64,
    #[serde(deserialize_with = "de::bool")]
    pub private: bool,
    #[serde(deserialize_with = "de::string")]
    pub custom_data: String,
    #[serde(flatten)]
    pub audit: Audit,
}

/// A named image repository with tags (§4.4).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Container {
    #[serde(deserialize_with = "de::string")]
    pub id: String,
    #[serde(deserialize_with = "de::string")]
    pub name: String,
    #[serde(deserialize_with = "de::string")]
    pub description: String,
    #[serde(deserialize_with = "de::string")]
    pub full_description: String,
    /// Collection **ID**.
    #[serde(deserialize_with = "de::string")]
    pub collection: String,
    #[serde(deserialize_with = "de::string")]
    pub collection_name: String,
    /// Entity ID (computed by the server).
    #[serde(deserialize_with = "de::string")]
    pub entity: String,
    #[serde(deserialize_with = "de::string")]
    pub entity_name: String,
    /// Image IDs (Sylabs; Hinkskalle lists images at `…/images` instead).
    #[serde(deserialize_with = "de::strings")]
    pub images: Vec<String>,
    /// Legacy, arch-less tags: tag → image ID.
    #[serde(deserialize_with = "de::tag_map")]
    pub image_tags: BTreeMap<String, String>,
    /// arch → tag → image ID.
    #[serde(deserialize_with = "de::arch_tag_map")]
    pub arch_tags: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(deserialize_with = "de::u64")]
    pub size: u64,
    #[serde(deserialize_with = "de::u64")]
    pub download_count: u64,
    #[serde(deserialize_with = "de::u64")]
    pub stars: u64,
    #[serde(deserialize_with = "de::bool")]
    pub private: bool,
    #[serde(deserialize_with = "de::bool")]
    pub read_only: bool,
    #[serde(deserialize_with = "de::string")]
    pub custom_data: String,
    #[serde(flatten)]
    pub audit: Audit,
}

/// One SIF file in a container (§4.5).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Image {
    #[serde(deserialize_with = "de::string")]
    pub id: String,
    /// `sha256.<hex>` (or `sif.<uuid>`).
    #[serde(deserialize_with = "de::string")]
    pub hash: String,
    #[serde(deserialize_with = "de::string")]
    pub description: String,
    /// Container **ID**.
    #[serde(deserialize_with = "de::string")]
    pub container: String,
    #[serde(deserialize_with = "de::opt_string")]
    pub blob: Option<String>,
    /// Bytes; `None` while Hinkskalle has no file yet.
    #[serde(deserialize_with = "de::opt_u64")]
    pub size: Option<u64>,
    /// Sylabs' upload flag (Hinkskalle has none: see [`Image::is_uploaded`]).
    #[serde(deserialize_with = "de::bool")]
    pub uploaded: bool,
    /// Hinkskalle's upload state (`initialized`, `completed`, …).
    #[serde(deserialize_with = "de::opt_string")]
    pub upload_state: Option<String>,
    #[serde(deserialize_with = "de::opt_bool")]
    pub signed: Option<bool>,
    #[serde(deserialize_with = "de::opt_string")]
    pub arch: Option<String>,
    #[serde(deserialize_with = "de::strings")]
    pub fingerprints: Vec<String>,
    #[serde(deserialize_with = "de::bool")]
    pub encrypted: bool,
    #[serde(deserialize_with = "de::string")]
    pub custom_data: String,
    #[serde(deserialize_with = "de::string")]
    pub entity: String,
    #[serde(deserialize_with = "de::string")]
    pub entity_name: String,
    #[serde(deserialize_with = "de::string")]
    pub collection: String,
    #[serde(deserialize_with = "de::string")]
    pub collection_name: String,
    #[serde(deserialize_with = "de::string")]
    pub container_name: String,
    #[serde(deserialize_with = "de::strings")]
    pub tags: Vec<String>,
    #[serde(deserialize_with = "de::string")]
    pub container_description: String,
    #[serde(deserialize_with = "de::u64")]
    pub container_stars: u64,
    #[serde(deserialize_with = "de::u64")]
    pub container_downloads: u64,
    #[serde(flatten)]
    pub audit: Audit,
}

impl Image {
    /// Whether the file is on the server: Sylabs' `uploaded`, or Hinkskalle's
    /// `uploadState == "completed"` (§14: trusting `uploaded` alone re-uploads every time).
    pub fn is_uploaded(&self) -> bool {
        self.uploaded || self.upload_state.as_deref() == Some("completed")
    }
}

/// Tags of one container as the tag endpoints report them (§4.6).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerTags {
    /// arch → tag → image ID (`v2/tags`); empty on servers without arch-aware tags.
    pub arch_tags: BTreeMap<String, BTreeMap<String, String>>,
    /// tag → image ID (`v1/tags`, arch-less); empty when `v2/tags` was used.
    pub image_tags: BTreeMap<String, String>,
}

/// Answer of `v1/search` (§7). Sylabs and Hinkskalle use the singular keys; the plural
/// ones some servers and older documents use are accepted too.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SearchResults {
    #[serde(alias = "entity", deserialize_with = "null_vec")]
    pub entities: Vec<Entity>,
    #[serde(alias = "collection", deserialize_with = "null_vec")]
    pub collections: Vec<Collection>,
    #[serde(alias = "container", deserialize_with = "null_vec")]
    pub containers: Vec<Container>,
    #[serde(alias = "image", deserialize_with = "null_vec")]
    pub images: Vec<Image>,
}

fn null_vec<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// The logged-in user: `/v1/rbac/users/current` (Sylabs, un-enveloped) or the `data` of
/// Hinkskalle's token-status answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct User {
    #[serde(deserialize_with = "de::string")]
    pub username: String,
    #[serde(deserialize_with = "de::string")]
    pub email: String,
    #[serde(deserialize_with = "de::string")]
    pub realname: String,
    /// Hinkskalle's split name.
    #[serde(deserialize_with = "de::string")]
    pub firstname: String,
    #[serde(deserialize_with = "de::string")]
    pub lastname: String,
    #[serde(deserialize_with = "de::u64")]
    pub quota: u64,
    #[serde(deserialize_with = "de::u64", alias = "usedQuota")]
    pub used_quota: u64,
    #[serde(deserialize_with = "de::bool", alias = "isAdmin")]
    pub is_admin: bool,
    /// Sylabs' CLI secret for the backing OCI registry (`oidc_user_meta.secret`).
    #[serde(rename = "oidc_user_meta", deserialize_with = "registry_secret")]
    pub registry_secret: Option<Secret>,
}

impl User {
    /// Display name: `realname`, else `firstname lastname`, else the username.
    pub fn display_name(&self) -> String {
        let joined = format!("{} {}", self.firstname, self.lastname);
        let name = [self.realname.trim(), joined.trim(), self.username.as_str()]
            .into_iter()
            .find(|s| !s.is_empty())
            .unwrap_or_default()
            .to_owned();
        name
    }
}

fn registry_secret<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(v.get("secret")
        .and_then(|s| s.as_str())
        .filter(|s| !s.is_empty())
        .map(Secret::new))
}

/// `GET /version` of any service (§4.7).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct VersionInfo {
    #[serde(deserialize_with = "de::string")]
    pub version: String,
    #[serde(deserialize_with = "de::opt_string")]
    pub api_version: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sylabs_container() {
        let c: Container = serde_json::from_str(
            r#"{"id":"5cb9c34d7d960d82f5f5bc55","name":"alpine","collection":"5cb9c34d7d960d82f5f5bc54",
               "images":["5cb9c34d7d960d82f5f5bc56"],"imageTags":{"latest":"5cb9c34d7d960d82f5f5bc56"},
               "archTags":{"amd64":{"latest":"5cb9c34d7d960d82f5f5bc56"}},"downloadCount":7,"stars":1,
               "private":false,"readOnly":false,"entityName":"library","collectionName":"default",
               "deleted":false,"createdAt":"2019-04-19T12:00:00Z","updatedAt":"0001-01-01T00:00:00Z",
               "somethingNew":{"x":1}}"#,
        )
        .unwrap();
        assert_eq!(c.arch_tags["amd64"]["latest"], "5cb9c34d7d960d82f5f5bc56");
        assert_eq!(c.download_count, 7);
        assert_eq!(c.audit.created_at.as_deref(), Some("2019-04-19T12:00:00Z"));
    }

    #[test]
    fn hinkskalle_image_numbers_and_nulls() {
        let i: Image = serde_json::from_str(
            r#"{"id":1,"hash":"sha256.ab","container":"2","size":null,"uploadState":"initialized",
               "signed":null,"arch":null,"tags":null,"fingerprints":null,"description":null}"#,
        )
        .unwrap();
        assert_eq!(i.id, "1");
        assert_eq!(i.container, "2");
        assert_eq!(i.size, None);
        assert!(!i.is_uploaded());
        let i: Image =
            serde_json::from_str(r#"{"id":"3","uploadState":"completed","size":"800"}"#).unwrap();
        assert!(i.is_uploaded());
        assert_eq!(i.size, Some(800));
    }

    #[test]
    fn user_secret_is_redacted() {
        let u: User = serde_json::from_str(
            r#"{"username":"jo","email":"jo@x","realname":"Jo X","oidc_user_meta":{"secret":"s3cr3t"}}"#,
        )
        .unwrap();
        assert_eq!(
            u.registry_secret.as_ref().map(Secret::expose),
            Some("s3cr3t")
        );
        assert!(!format!("{u:?}").contains("s3cr3t"));
        assert_eq!(u.display_name(), "Jo X");
        let h: User = serde_json::from_str(
            r#"{"username":"jo","firstname":"Jo","lastname":"Y","quota":0,"used_quota":5,"isAdmin":true}"#,
        )
        .unwrap();
        assert_eq!(h.display_name(), "Jo Y");
        assert_eq!(h.used_quota, 5);
        assert!(h.is_admin);
    }

    #[test]
    fn search_both_spellings() {
        let s: SearchResults = serde_json::from_str(
            r#"{"entity":[{"name":"a"}],"image":[{"hash":"sha256.x"}],"collection":null}"#,
        )
        .unwrap();
        assert_eq!(s.entities.len(), 1);
        assert_eq!(s.images.len(), 1);
        let p: SearchResults =
            serde_json::from_str(r#"{"entities":[],"containers":[{"name":"c"}]}"#).unwrap();
        assert_eq!(p.containers[0].name, "c");
    }
}
