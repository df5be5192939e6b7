//! The values that cross to the UI. TypeScript twins are generated into
//! `ui/src/lib/bindings` by [`crate::bindings`]; change a type here and regenerate.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::ApiError;

/// How an image came into the local list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum ImageSource {
    /// Added by the user (drop, picker, path).
    Added,
    /// Found in a watched folder.
    Watched,
}

/// One SIF file in the local list, as cheap to compute as a header read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct LocalImage {
    /// Absolute path.
    pub path: String,
    /// File name.
    pub name: String,
    /// File size in bytes.
    pub size: u64,
    /// Primary architecture (Go name), when the image has one.
    pub arch: Option<String>,
    /// Whether the image carries at least one signature object.
    pub signed: bool,
    /// Last modification of the file, Unix seconds.
    pub modified: Option<i64>,
    /// Where the entry came from.
    pub source: ImageSource,
    /// Why the file cannot be read as a SIF image, if it cannot.
    pub error: Option<ApiError>,
}

/// A folder whose `*.sif` files are listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct WatchedFolder {
    /// Absolute path.
    pub path: String,
    /// How many SIF files it holds now.
    pub image_count: u32,
    /// Why it cannot be read, if it cannot.
    pub error: Option<ApiError>,
}

/// The local image list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Catalog {
    /// Images, added ones first then watched ones, each sorted by path.
    pub images: Vec<LocalImage>,
    /// Watched folders.
    pub folders: Vec<WatchedFolder>,
}

/// The SIF global header, for display.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct HeaderView {
    /// Launch script, if any.
    pub launch_script: Option<String>,
    /// Format version ("01").
    pub version: String,
    /// Primary architecture, unless unknown.
    pub arch: Option<String>,
    /// Image UUID, unless nil.
    pub id: Option<String>,
    /// Creation time (Unix seconds), unless the zero time.
    pub created_at: Option<i64>,
    /// Modification time (Unix seconds), unless the zero time.
    pub modified_at: Option<i64>,
    /// Free descriptor slots.
    pub descriptors_free: i64,
    /// Descriptor capacity.
    pub descriptors_total: i64,
    /// Offset of the descriptor table.
    pub descriptors_offset: i64,
    /// Size of the descriptor table.
    pub descriptors_size: i64,
    /// Start of the data section.
    pub data_offset: i64,
    /// Size of the data section.
    pub data_size: i64,
}

/// A link from one object to another object or to a group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct LinkView {
    /// Object or group id.
    pub id: u32,
    /// True when `id` names a group.
    pub group: bool,
}

/// One decoded field of an object's type-specific metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ExtraField {
    /// Field name, as siftool prints it ("Filesystem Type", "Hash Type"...).
    pub label: String,
    /// Its value.
    pub value: String,
}

/// One data object of an image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ObjectView {
    /// Object id.
    pub id: u32,
    /// Type name as siftool prints it.
    pub data_type: String,
    /// Group, if the object is in one.
    pub group: Option<u32>,
    /// Link, if any.
    pub link: Option<LinkView>,
    /// Offset in the file.
    pub offset: i64,
    /// Size in bytes.
    pub size: i64,
    /// Object name (may be empty).
    pub name: String,
    /// True for the primary system partition.
    pub primary: bool,
    /// Decoded type-specific metadata.
    pub extras: Vec<ExtraField>,
}

/// A container label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Label {
    /// Label key.
    pub key: String,
    /// Label value.
    pub value: String,
}

/// An environment script of the container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct EnvFile {
    /// Path inside the container.
    pub path: String,
    /// Script text.
    pub content: String,
}

/// What `apptainer inspect` shows, read from `/.singularity.d` of the primary partition.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ContainerMetadata {
    /// Labels, sorted by key.
    pub labels: Vec<Label>,
    /// Definition file the image was built from.
    pub deffile: Option<String>,
    /// Run script.
    pub runscript: Option<String>,
    /// Start script (instances).
    pub startscript: Option<String>,
    /// Test script.
    pub test: Option<String>,
    /// Help text.
    pub helpfile: Option<String>,
    /// Environment scripts, in the order `apptainer inspect --environment` shows them.
    pub environment: Vec<EnvFile>,
    /// What could not be read, or was cut short, while the rest was read fine.
    pub problems: Vec<String>,
}

/// Everything Berth shows about one image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ImageDetails {
    /// Absolute path.
    pub path: String,
    /// File size.
    pub size: u64,
    /// Global header.
    pub header: HeaderView,
    /// Used descriptors in slot order.
    pub objects: Vec<ObjectView>,
    /// Number of signature objects.
    pub signature_count: u32,
    /// Why the file is damaged (objects past its end, overlapping objects), when it is:
    /// the header and objects are still shown, as far as they can be read.
    pub damage: Option<ApiError>,
    /// Container metadata, when the primary partition could be read.
    pub container: Option<ContainerMetadata>,
    /// Why the container metadata could not be read.
    pub container_error: Option<ApiError>,
}

/// Colour theme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    /// Follow the operating system.
    #[default]
    System,
    /// Always light.
    Light,
    /// Always dark.
    Dark,
}

/// User settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// Colour theme.
    #[serde(default)]
    pub theme: Theme,
    /// OpenPGP keyservers (HKP), tried in order.
    #[serde(default = "default_keyservers")]
    pub keyservers: Vec<String>,
    /// Folder pulled images go to when no destination is given (chosen once, remembered).
    #[serde(default)]
    pub pull_folder: Option<String>,
}

/// Apptainer's default keyserver.
pub fn default_keyservers() -> Vec<String> {
    vec!["https://keys.openpgp.org".to_owned()]
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            theme: Theme::default(),
            keyservers: default_keyservers(),
            pull_folder: None,
        }
    }
}

/// Algorithm of a new key pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum KeyAlgorithm {
    /// RSA 4096, what `apptainer key newpair` makes.
    #[default]
    Rsa4096,
    /// RSA 3072.
    Rsa3072,
    /// Ed25519: small and fast; read by Apptainer 1.1 and later.
    Ed25519,
}

/// What a person fills in to create a key pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct NewKeyRequest {
    /// Name in the user id.
    pub name: String,
    /// E-mail in the user id.
    pub email: String,
    /// Optional comment in the user id (empty for none).
    pub comment: String,
    /// Passphrase protecting the secret key; none leaves it unprotected.
    pub passphrase: Option<String>,
    /// Key algorithm.
    pub algorithm: KeyAlgorithm,
}

/// An OpenPGP key in Apptainer's keyrings, as the Keys page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct KeyView {
    /// Primary key fingerprint, 40 uppercase hex digits.
    pub fingerprint: String,
    /// Long key id, 16 uppercase hex digits.
    pub key_id: String,
    /// User ids, primary first.
    pub user_ids: Vec<String>,
    /// Algorithm and size, e.g. "RSA 4096".
    pub algorithm: String,
    /// Creation time, Unix seconds.
    pub created: i64,
    /// Expiry time, if any.
    pub expires: Option<i64>,
    /// Revoked by its owner.
    pub revoked: bool,
    /// Has a usable signing key.
    pub can_sign: bool,
    /// The secret key is in the local secret keyring.
    pub has_secret: bool,
    /// The secret key needs a passphrase.
    pub protected: bool,
    /// Comes from the system-wide (admin) keyring, read-only.
    pub global: bool,
    /// Index in the secret keyring, as `--keyidx` counts.
    pub secret_index: Option<u32>,
}

/// Which signature scheme an object uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum SignatureScheme {
    /// OpenPGP clear-signed image metadata (what `apptainer sign` writes).
    Pgp,
    /// DSSE envelope made with a PEM key.
    Dsse,
    /// Singularity 3.0–3.5 signature over object data only.
    Legacy,
}

/// The verdict on one signature, in words a person can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum SignatureState {
    /// Made by the key shown, over exactly the objects shown, none changed since.
    Valid,
    /// The signer's public key is not in the keyrings.
    UnknownSigner,
    /// Covered data changed after signing.
    Tampered,
    /// The signature itself does not verify, or does not match its metadata.
    Invalid,
    /// The key has expired or was revoked.
    KeyNotValid,
    /// No key material of the right kind was available (e.g. a DSSE signature, no PEM key).
    NoKeyMaterial,
}

/// One signature of an image and its verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SignatureView {
    /// Id of the signature object.
    pub signature_id: u32,
    /// Scheme.
    pub scheme: SignatureScheme,
    /// The group it is linked to, if linked to a group.
    pub group: Option<u32>,
    /// Signer fingerprint, when known.
    pub fingerprint: Option<String>,
    /// Signer user id, when the key is known.
    pub signer: Option<String>,
    /// Where the signer's key was found: "local" or "global" keyring, or "keyserver" (fetched for this check).
    pub key_source: Option<String>,
    /// Objects this signature verified.
    pub objects: Vec<u32>,
    /// Verdict.
    pub state: SignatureState,
    /// The verdict in a sentence, with what to do.
    pub explanation: String,
    /// The reference tool's error text, for the technical detail.
    pub detail: Option<String>,
}

/// The result of verifying an image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct VerifyView {
    /// Every signature verified and every signed object is intact.
    pub verified: bool,
    /// One sentence for the top of the view.
    pub summary: String,
    /// The reference tool's error text when not verified (`integrity: …`).
    pub error: Option<String>,
    /// Each signature object and its verdict.
    pub signatures: Vec<SignatureView>,
}

/// A key found on a keyserver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct KeyHitView {
    /// Fingerprint (or long key id when the server gives only that), uppercase hex.
    pub fingerprint: String,
    /// Algorithm name as the server reports it.
    pub algorithm: String,
    /// Key size in bits.
    pub bits: Option<u32>,
    /// Creation time, Unix seconds.
    pub created: Option<i64>,
    /// Expiry time, Unix seconds.
    pub expires: Option<i64>,
    /// Revoked, disabled or expired according to the server.
    pub revoked: bool,
    /// User ids.
    pub user_ids: Vec<String>,
    /// Already in the local public keyring.
    pub in_keyring: bool,
}
