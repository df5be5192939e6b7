//! The library's data: users, entities, collections, containers, images and upload sessions,
//! and how each flavour renders them as JSON (library-api.md §4, §14).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use serde_json::{json, Value};

use super::Flavour;

/// Go's zero time, which Sylabs' server emits for unset timestamps (§4.1).
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

#[derive(Debug, Clone)]
pub(crate) struct User {
    pub name: String,
    pub token: String,
    pub expired: bool,
    pub quota: Option<u64>,
}

#[derive(Debug, Clone)]
pub(crate) struct Entity {
    pub id: String,
    pub name: String,
    pub description: String,
    pub owner: Option<String>,
    pub default_private: bool,
    pub created_at: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Collection {
    pub id: String,
    pub name: String,
    pub entity: String,
    pub description: String,
    pub private: bool,
    pub created_at: String,
    pub created_by: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Container {
    pub id: String,
    pub name: String,
    pub collection: String,
    pub description: String,
    pub private: bool,
    pub read_only: bool,
    /// Legacy (v1) tags: tag → image ID.
    pub image_tags: BTreeMap<String, String>,
    /// v2 tags: arch → tag → image ID.
    pub arch_tags: BTreeMap<String, BTreeMap<String, String>>,
    pub download_count: u64,
    pub created_at: String,
    pub created_by: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Image {
    pub id: String,
    pub container: String,
    pub hash: String,
    pub description: String,
    pub size: u64,
    pub uploaded: bool,
    pub signed: bool,
    pub arch: String,
    pub fingerprints: Vec<String>,
    pub created_at: String,
    pub created_by: String,
    /// The stored file once uploaded.
    pub file: Option<PathBuf>,
}

/// A v2 upload started by `POST /v2/imagefile/{id}`; the presigned-style URL carries `token`.
/// A multipart part's presigned-style URL is one too, with `part` set (then `filesize` and
/// `sha256` are the part's).
#[derive(Debug, Clone)]
pub(crate) struct Upload {
    pub image: String,
    pub filesize: u64,
    pub sha256: String,
    /// The received bytes, once the PUT succeeded.
    pub received: Option<PathBuf>,
    /// `(uploadID, partNumber)` for a multipart part.
    pub part: Option<(String, u32)>,
}

/// A received multipart part.
#[derive(Debug, Clone)]
pub(crate) struct Part {
    pub file: PathBuf,
    /// The `ETag` answered for it (the completion token).
    pub etag: String,
}

/// A multipart session started by `POST /v2/imagefile/{id}/_multipart` (§5.1).
#[derive(Debug, Clone)]
pub(crate) struct Multipart {
    pub image: String,
    pub filesize: u64,
    pub part_size: u64,
    pub total_parts: u32,
    pub parts: BTreeMap<u32, Part>,
    /// Part numbers whose first PUT already failed because of `fail_part`.
    pub failed_parts: BTreeSet<u32>,
}

/// Everything the double knows. IDs are flavour-shaped strings (§14: Hinkskalle uses
/// decimal numbers, Sylabs 24-hex ObjectIDs).
pub(crate) struct Store {
    pub flavour: Flavour,
    next: u64,
    pub users: Vec<User>,
    pub entities: Vec<Entity>,
    pub collections: Vec<Collection>,
    pub containers: Vec<Container>,
    pub images: Vec<Image>,
    pub uploads: HashMap<String, Upload>,
    /// Multipart sessions by uploadID.
    pub multiparts: HashMap<String, Multipart>,
}

/// A path resolved to its three objects' indices.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Path3 {
    pub entity: usize,
    pub collection: usize,
    pub container: usize,
}

impl Store {
    pub fn new(flavour: Flavour) -> Self {
        Store {
            flavour,
            next: 0,
            users: Vec::new(),
            entities: Vec::new(),
            collections: Vec::new(),
            containers: Vec::new(),
            images: Vec::new(),
            uploads: HashMap::new(),
            multiparts: HashMap::new(),
        }
    }

    pub fn new_id(&mut self) -> String {
        self.next += 1;
        match self.flavour {
            Flavour::Sylabs => format!(
                "{:024x}",
                0x5cb9_c34d_7d96_0d82_f5f5_0000u128 + u128::from(self.next)
            ),
            Flavour::Hinkskalle => self.next.to_string(),
        }
    }

    /// A fresh opaque token for presigned-style URLs.
    pub fn new_token(&mut self) -> String {
        self.next += 1;
        let n = self.next;
        let mut h =
            sha256_hex(format!("berth-testkit-{n}-{:?}", std::time::SystemTime::now()).as_bytes());
        h.truncate(32);
        h
    }

    pub fn user_by_token(&self, token: &str) -> Option<&User> {
        self.users.iter().find(|u| u.token == token)
    }

    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    pub fn entity(&self, name: &str) -> Option<usize> {
        self.entities.iter().position(|e| e.name == name)
    }

    pub fn collection(&self, entity: usize, name: &str) -> Option<usize> {
        let eid = &self.entities[entity].id;
        self.collections
            .iter()
            .position(|c| &c.entity == eid && c.name == name)
    }

    pub fn container(&self, collection: usize, name: &str) -> Option<usize> {
        let cid = &self.collections[collection].id;
        self.containers
            .iter()
            .position(|c| &c.collection == cid && c.name == name)
    }

    pub fn entity_by_id(&self, id: &str) -> Option<usize> {
        self.entities.iter().position(|e| e.id == id)
    }
    pub fn collection_by_id(&self, id: &str) -> Option<usize> {
        self.collections.iter().position(|e| e.id == id)
    }
    pub fn container_by_id(&self, id: &str) -> Option<usize> {
        self.containers.iter().position(|e| e.id == id)
    }
    pub fn image_by_id(&self, id: &str) -> Option<usize> {
        self.images.iter().position(|e| e.id == id)
    }

    /// The entity/collection/container of a container index.
    pub fn path_of(&self, container: usize) -> Path3 {
        let collection = self
            .collection_by_id(&self.containers[container].collection)
            .expect("container without collection");
        let entity = self
            .entity_by_id(&self.collections[collection].entity)
            .expect("collection without entity");
        Path3 {
            entity,
            collection,
            container,
        }
    }

    pub fn resolve(&self, e: &str, c: &str, n: &str) -> Option<Path3> {
        let entity = self.entity(e)?;
        let collection = self.collection(entity, c)?;
        let container = self.container(collection, n)?;
        Some(Path3 {
            entity,
            collection,
            container,
        })
    }

    pub fn is_private(&self, p: Path3) -> bool {
        self.containers[p.container].private || self.collections[p.collection].private
    }

    pub fn owns(&self, user: Option<&str>, entity: usize) -> bool {
        user.is_some_and(|u| self.entities[entity].owner.as_deref() == Some(u))
    }

    pub fn images_of(&self, container: usize) -> impl Iterator<Item = usize> + '_ {
        let cid = self.containers[container].id.clone();
        self.images
            .iter()
            .enumerate()
            .filter(move |(_, i)| i.container == cid)
            .map(|(n, _)| n)
    }

    /// The image a tag names: `sha256.<hex>` by hash ignoring arch; with an arch from the
    /// arch tags; without one from the legacy tags (§4.5).
    pub fn find_image(&self, container: usize, tag: &str, arch: &str) -> Option<usize> {
        let c = &self.containers[container];
        if tag.starts_with("sha256.") {
            return self
                .images_of(container)
                .find(|&i| self.images[i].hash == tag);
        }
        let id = if arch.is_empty() {
            c.image_tags.get(tag)
        } else {
            c.arch_tags.get(arch).and_then(|t| t.get(tag))
        }?;
        self.image_by_id(id)
    }

    /// Tags pointing at an image, arch tags of its own arch and legacy ones.
    pub fn tags_of(&self, image: usize) -> Vec<String> {
        let img = &self.images[image];
        let Some(c) = self.container_by_id(&img.container) else {
            return Vec::new();
        };
        let c = &self.containers[c];
        let mut tags = BTreeSet::new();
        for (tag, id) in &c.image_tags {
            if *id == img.id {
                tags.insert(tag.clone());
            }
        }
        for (arch, map) in &c.arch_tags {
            if *arch == img.arch || img.arch.is_empty() {
                for (tag, id) in map {
                    if *id == img.id {
                        tags.insert(tag.clone());
                    }
                }
            }
        }
        tags.into_iter().collect()
    }

    /// Sets a tag; `arch` `None` for a legacy tag. The arch tag also updates the legacy map so
    /// that an arch-less lookup finds the most recently tagged image.
    pub fn set_tag(&mut self, container: usize, arch: Option<&str>, tag: &str, image: &str) {
        let c = &mut self.containers[container];
        c.image_tags.insert(tag.to_owned(), image.to_owned());
        let arch = match arch {
            Some(a) => Some(a.to_owned()),
            None => self
                .image_by_id(image)
                .map(|i| self.images[i].arch.clone())
                .filter(|a| !a.is_empty()),
        };
        if let Some(arch) = arch {
            self.containers[container]
                .arch_tags
                .entry(arch)
                .or_default()
                .insert(tag.to_owned(), image.to_owned());
        }
    }

    /// Removes a tag (Hinkskalle's empty-imageID tag write).
    pub fn remove_tag(&mut self, container: usize, arch: Option<&str>, tag: &str) {
        let c = &mut self.containers[container];
        match arch {
            Some(a) => {
                if let Some(m) = c.arch_tags.get_mut(a) {
                    m.remove(tag);
                }
                c.arch_tags.retain(|_, m| !m.is_empty());
            }
            None => {
                c.image_tags.remove(tag);
            }
        }
    }

    /// Deletes an image, its tags and (the caller removes) its file.
    pub fn delete_image(&mut self, image: usize) -> Image {
        let img = self.images.remove(image);
        for c in &mut self.containers {
            c.image_tags.retain(|_, id| *id != img.id);
            for m in c.arch_tags.values_mut() {
                m.retain(|_, id| *id != img.id);
            }
            c.arch_tags.retain(|_, m| !m.is_empty());
        }
        img
    }

    /// Bytes stored in entities owned by `user`.
    pub fn usage(&self, user: &str) -> u64 {
        self.images
            .iter()
            .filter(|i| i.uploaded)
            .filter(|i| {
                self.container_by_id(&i.container)
                    .map(|c| self.path_of(c))
                    .is_some_and(|p| self.entities[p.entity].owner.as_deref() == Some(user))
            })
            .map(|i| i.size)
            .sum()
    }

    fn container_size(&self, container: usize) -> u64 {
        self.images_of(container).map(|i| self.images[i].size).sum()
    }

    fn collection_size(&self, collection: usize) -> u64 {
        let id = &self.collections[collection].id;
        self.containers
            .iter()
            .enumerate()
            .filter(|(_, c)| &c.collection == id)
            .map(|(n, _)| self.container_size(n))
            .sum()
    }

    fn entity_size(&self, entity: usize) -> u64 {
        let id = &self.entities[entity].id;
        self.collections
            .iter()
            .enumerate()
            .filter(|(_, c)| &c.entity == id)
            .map(|(n, _)| self.collection_size(n))
            .sum()
    }

    fn audit(&self, v: &mut Value, created_by: &str, created_at: &str) {
        let o = v.as_object_mut().expect("object");
        o.insert("deleted".into(), json!(false));
        o.insert("createdBy".into(), json!(created_by));
        o.insert("createdAt".into(), json!(created_at));
        match self.flavour {
            Flavour::Sylabs => {
                o.insert("updatedAt".into(), json!(ZERO_TIME));
                o.insert("deletedAt".into(), json!(ZERO_TIME));
                o.insert("owner".into(), json!(created_by));
            }
            Flavour::Hinkskalle => {
                o.insert("updatedAt".into(), Value::Null);
            }
        }
    }

    pub fn entity_json(&self, e: usize, quota: Option<u64>) -> Value {
        let ent = &self.entities[e];
        let collections: Vec<&str> = self
            .collections
            .iter()
            .filter(|c| c.entity == ent.id)
            .map(|c| c.id.as_str())
            .collect();
        let mut v = json!({
            "id": ent.id,
            "name": ent.name,
            "description": ent.description,
            "size": self.entity_size(e),
            "quota": quota.unwrap_or(0),
            "defaultPrivate": ent.default_private,
            "customData": "",
        });
        if self.flavour == Flavour::Sylabs {
            v["collections"] = json!(collections);
        } else {
            v["isGroup"] = json!(false);
            v["used_quota"] = json!(self.entity_size(e));
        }
        let owner = ent.owner.clone().unwrap_or_default();
        self.audit(&mut v, &owner, &ent.created_at);
        v
    }

    pub fn collection_json(&self, c: usize) -> Value {
        let col = &self.collections[c];
        let entity = self.entity_by_id(&col.entity).expect("entity");
        let containers: Vec<&str> = self
            .containers
            .iter()
            .filter(|k| k.collection == col.id)
            .map(|k| k.id.as_str())
            .collect();
        let mut v = json!({
            "id": col.id,
            "name": col.name,
            "description": col.description,
            "entity": col.entity,
            "entityName": self.entities[entity].name,
            "size": self.collection_size(c),
            "private": col.private,
            "customData": "",
        });
        if self.flavour == Flavour::Sylabs {
            v["containers"] = json!(containers);
        }
        self.audit(&mut v, &col.created_by, &col.created_at);
        v
    }

    pub fn container_json(&self, k: usize) -> Value {
        let con = &self.containers[k];
        let p = self.path_of(k);
        let images: Vec<&str> = self
            .images_of(k)
            .map(|i| self.images[i].id.as_str())
            .collect();
        let mut v = json!({
            "id": con.id,
            "name": con.name,
            "description": con.description,
            "fullDescription": con.description,
            "collection": con.collection,
            "collectionName": self.collections[p.collection].name,
            "entity": self.entities[p.entity].id,
            "entityName": self.entities[p.entity].name,
            "imageTags": con.image_tags,
            "archTags": con.arch_tags,
            "size": self.container_size(k),
            "downloadCount": con.download_count,
            "stars": 0,
            "private": con.private || self.collections[p.collection].private,
            "readOnly": con.read_only,
            "customData": "",
        });
        if self.flavour == Flavour::Sylabs {
            // §14: Hinkskalle's containers have no `images` array.
            v["images"] = json!(images);
        }
        self.audit(&mut v, &con.created_by, &con.created_at);
        v
    }

    pub fn image_json(&self, i: usize) -> Value {
        let img = &self.images[i];
        let k = self.container_by_id(&img.container).expect("container");
        let p = self.path_of(k);
        let con = &self.containers[k];
        let mut v = json!({
            "id": img.id,
            "hash": img.hash,
            "description": img.description,
            "container": img.container,
            "containerName": con.name,
            "containerDescription": con.description,
            "containerStars": 0,
            "containerDownloads": con.download_count,
            "collection": self.collections[p.collection].id,
            "collectionName": self.collections[p.collection].name,
            "entity": self.entities[p.entity].id,
            "entityName": self.entities[p.entity].name,
            "signed": img.signed,
            "arch": img.arch,
            "fingerprints": img.fingerprints,
            "encrypted": false,
            "customData": "",
            "tags": self.tags_of(i),
        });
        match self.flavour {
            Flavour::Sylabs => {
                v["size"] = json!(img.size);
                v["uploaded"] = json!(img.uploaded);
                v["blob"] = json!("");
            }
            Flavour::Hinkskalle => {
                // §14: no `uploaded`; `uploadState`, and a null size until uploaded.
                v["size"] = if img.uploaded {
                    json!(img.size)
                } else {
                    Value::Null
                };
                v["uploadState"] = json!(if img.uploaded {
                    "completed"
                } else {
                    "initialized"
                });
            }
        }
        self.audit(&mut v, &img.created_by, &img.created_at);
        v
    }
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex(&sha2::Sha256::digest(bytes))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The current time as RFC 3339 UTC, to the second.
pub(crate) fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The client-side name rule (§3.4): lower case, separators `.` `_` `-` only between runs.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.split(['.', '_', '-']).all(|run| {
            !run.is_empty()
                && run
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(valid_name("alpine"));
        assert!(valid_name("a.b-c_d9"));
        assert!(!valid_name("Alpine"));
        assert!(!valid_name("a..b"));
        assert!(!valid_name("-a"));
        assert!(!valid_name(""));
    }

    #[test]
    fn time_format() {
        let t = now_rfc3339();
        assert_eq!(t.len(), 20, "{t}");
        assert!(t.starts_with("20"), "{t}");
    }

    #[test]
    fn ids() {
        let mut s = Store::new(Flavour::Sylabs);
        let id = s.new_id();
        assert_eq!(id.len(), 24);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        let mut h = Store::new(Flavour::Hinkskalle);
        assert_eq!(h.new_id(), "1");
        assert_eq!(h.new_id(), "2");
    }
}
