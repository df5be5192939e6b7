//! The async Library API client (§1.5, §1.7, §4, §7).

use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use tokio::sync::OnceCell;

use crate::discovery::{fetch_version, level_from, ApiLevel};
use crate::error::{Error, ErrorKind, Result};
use crate::http::{decode_data, decode_maybe_enveloped, seg, Call, Http, Reply};
use crate::models::{
    Collection, Container, ContainerTags, Entity, Image, SearchResults, User, VersionInfo,
};
use crate::options::{
    build_http, build_transfer_http, normalize_base_url, RemoteOptions, RetryPolicy, Timeouts,
};
use crate::r#ref::{check_arch, check_name, LibraryRef, RefPart};
use crate::secret::Secret;

/// Description the reference client puts on everything it creates.
const DEFAULT_DESCRIPTION: &str = "No description";
/// Fewest characters `search` sends (the reference refuses shorter queries client-side).
pub const MIN_SEARCH_LEN: usize = 3;
/// Objects fetched one by one at most when a server has no list endpoint.
const MAX_FALLBACK_FETCHES: usize = 200;

/// Settings for a [`LibraryClient`].
#[derive(Debug, Clone)]
pub struct LibraryClientBuilder {
    base_url: String,
    token: Option<Secret>,
    options: RemoteOptions,
    timeouts: Timeouts,
    retry: RetryPolicy,
}

impl LibraryClientBuilder {
    /// Bearer token sent on library calls; an empty token counts as none.
    pub fn token(mut self, token: Option<Secret>) -> Self {
        self.token = token.filter(|t| !t.is_empty());
        self
    }

    /// Per-remote connection options.
    pub fn options(mut self, options: RemoteOptions) -> Self {
        self.options = options;
        self
    }

    /// Connect and request timeouts.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Retry policy for idempotent GETs.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Validates the URL and options and builds the client (no request is made).
    pub fn build(self) -> Result<LibraryClient> {
        let base = normalize_base_url(&self.base_url, self.options.insecure_http)?;
        let client = build_http(&self.options, self.timeouts)?;
        let transfer = build_transfer_http(&self.options, self.timeouts)?;
        Ok(LibraryClient {
            base,
            transfer,
            options: self.options,
            http: Http {
                client,
                token: self.token,
                retry: self.retry,
            },
            level: OnceCell::new(),
        })
    }
}

/// Client of one library service. Cheap to clone (the connection pool is shared).
#[derive(Clone)]
pub struct LibraryClient {
    base: Url,
    /// For file bodies: no overall timeout (a read timeout instead) and 303 not followed.
    transfer: reqwest::Client,
    options: RemoteOptions,
    pub(crate) http: Http,
    /// `/version` is asked once per client; the reference re-asks per call, which only
    /// costs round trips.
    level: OnceCell<ApiLevel>,
}

impl std::fmt::Debug for LibraryClient {
    // By hand: the token must never be printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LibraryClient")
            .field("base", &self.base.as_str())
            .field("has_token", &self.http.token.is_some())
            .field("options", &self.options)
            .field("retry", &self.http.retry)
            .finish_non_exhaustive()
    }
}

/// Outcome of the token check (§1.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenStatus {
    /// No token configured: logged out.
    Missing,
    /// 200. Hinkskalle also returns the user.
    Valid { user: Option<User> },
    /// 401 or 404 (the reference's "Invalid Credentials"): log in again.
    Invalid { status: u16 },
}

/// A search (§7).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchQuery {
    /// Text to look for; at least [`MIN_SEARCH_LEN`] characters.
    pub value: String,
    /// Architectures (`amd64` or `amd64,arm64`); when set, servers return images only.
    pub arch: Option<String>,
    /// Only signed images.
    pub signed: bool,
}

impl LibraryClient {
    /// Starts configuring a client for the library at `base_url` (`https://…`, or a bare
    /// host which gets https, or http with `insecure_http`).
    pub fn builder(base_url: impl Into<String>) -> LibraryClientBuilder {
        LibraryClientBuilder {
            base_url: base_url.into(),
            token: None,
            options: RemoteOptions::default(),
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
        }
    }

    /// The library base URL (always ends in `/`).
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// Whether a token is sent.
    pub fn has_token(&self) -> bool {
        self.http.token.is_some()
    }

    /// `GET /version` of the library.
    pub async fn version(&self) -> Result<VersionInfo> {
        fetch_version(&self.http, &self.base).await
    }

    /// The API generation, from `/version` (asked once per client). A missing or unreadable
    /// `/version` means [`ApiLevel::Legacy`].
    pub async fn api_level(&self) -> Result<ApiLevel> {
        self.level
            .get_or_try_init(|| async { level_from(self.version().await) })
            .await
            .copied()
    }

    /// Checks the token against the token service (`GET <token>/v1/token-status`, §1.5).
    /// Only 200 is valid; 401 and 404 say it is not; other failures are errors.
    pub async fn token_status(&self, token_service: &Url) -> Result<TokenStatus> {
        if self.http.token.is_none() {
            return Ok(TokenStatus::Missing);
        }
        let base = normalize_base_url(token_service.as_str(), self.options.insecure_http)?;
        let url = join(&base, "v1/token-status")?;
        let call = Call {
            method: Method::GET,
            url,
            query: &[],
            body: None,
            auth: true,
            ok: &[200],
        };
        match self.http.send(call).await {
            Ok(reply) => {
                // The body is ignored by the reference; Hinkskalle puts the user in `data`.
                let user = decode_data::<User>(&reply)
                    .ok()
                    .filter(|u| !u.username.is_empty());
                Ok(TokenStatus::Valid { user })
            }
            Err(e) if matches!(e.status(), Some(401 | 404)) => Ok(TokenStatus::Invalid {
                status: e.status().unwrap_or(401),
            }),
            Err(e) => Err(e),
        }
    }

    /// The logged-in user (`GET v1/rbac/users/current`, §1.7; not enveloped on Sylabs).
    /// 401 → `auth.token_invalid`; 404 → `library.not_found` (server has no such endpoint).
    pub async fn current_user(&self) -> Result<User> {
        let reply = self.get("v1/rbac/users/current", &[]).await?;
        decode_maybe_enveloped(&reply, "username")
    }

    /// `GET v1/entities/{entity}`.
    pub async fn get_entity(&self, entity: &str) -> Result<Entity> {
        check_name(RefPart::Entity, entity)?;
        self.get_data(&format!("v1/entities/{entity}"), &[]).await
    }

    /// `GET v1/collections/{entity}/{collection}`.
    pub async fn get_collection(&self, entity: &str, collection: &str) -> Result<Collection> {
        check_name(RefPart::Entity, entity)?;
        check_name(RefPart::Collection, collection)?;
        self.get_data(&format!("v1/collections/{entity}/{collection}"), &[])
            .await
    }

    /// `GET v1/containers/{entity}/{collection}/{container}`.
    pub async fn get_container(
        &self,
        entity: &str,
        collection: &str,
        container: &str,
    ) -> Result<Container> {
        check_name(RefPart::Entity, entity)?;
        check_name(RefPart::Collection, collection)?;
        check_name(RefPart::Container, container)?;
        self.get_data(
            &format!("v1/containers/{entity}/{collection}/{container}"),
            &[],
        )
        .await
    }

    /// The container a reference names; short paths are completed by the server (§3.3).
    pub async fn get_container_by_ref(&self, r: &LibraryRef) -> Result<Container> {
        self.get_data(&format!("v1/containers/{}", r.path()), &[])
            .await
    }

    /// Image metadata: `GET v1/images/{path}:{tag}?arch={arch}` with the first tag (an image
    /// id selects by hash, whatever the arch). `arch` `None` sends `arch=` (unspecified),
    /// as the reference always sends the parameter.
    pub async fn get_image(&self, r: &LibraryRef, arch: Option<&str>) -> Result<Image> {
        let arch = arch_param(arch)?;
        self.get_data(&format!("v1/images/{}", image_path(r)), &[("arch", arch)])
            .await
    }

    /// Collections of an entity. Uses the list route (`GET v1/collections/{entity}`,
    /// Hinkskalle); where a server answers that with 404 or a single object, falls back to
    /// the entity's collection IDs fetched one by one.
    pub async fn list_collections(&self, entity: &str) -> Result<Vec<Collection>> {
        check_name(RefPart::Entity, entity)?;
        if let Some(list) = self.try_list(&format!("v1/collections/{entity}")).await? {
            return Ok(list);
        }
        let e = self.get_entity(entity).await?;
        self.fetch_each("v1/collections", &e.collections).await
    }

    /// Containers of a collection: `GET v1/containers/{entity}/{collection}`, with the same
    /// fallback to the collection's container IDs.
    pub async fn list_containers(&self, entity: &str, collection: &str) -> Result<Vec<Container>> {
        check_name(RefPart::Entity, entity)?;
        check_name(RefPart::Collection, collection)?;
        if let Some(list) = self
            .try_list(&format!("v1/containers/{entity}/{collection}"))
            .await?
        {
            return Ok(list);
        }
        let c = self.get_collection(entity, collection).await?;
        self.fetch_each("v1/containers", &c.containers).await
    }

    /// Images of a container: `GET v1/containers/{e}/{c}/{n}/images` (Hinkskalle); where
    /// missing, the images its tags point to (each fetched by `path:tag?arch=`), so images
    /// without any tag are not listed on such servers.
    pub async fn list_images(
        &self,
        entity: &str,
        collection: &str,
        container: &str,
    ) -> Result<Vec<Image>> {
        check_name(RefPart::Entity, entity)?;
        check_name(RefPart::Collection, collection)?;
        check_name(RefPart::Container, container)?;
        let path = format!("{entity}/{collection}/{container}");
        if let Some(list) = self
            .try_list(&format!("v1/containers/{path}/images"))
            .await?
        {
            return Ok(list);
        }
        let c = self.get_container(entity, collection, container).await?;
        let mut wanted: Vec<(Option<String>, String, String)> = Vec::new();
        for (arch, tags) in &c.arch_tags {
            for (tag, id) in tags {
                wanted.push((Some(arch.clone()), tag.clone(), id.clone()));
            }
        }
        for (tag, id) in &c.image_tags {
            wanted.push((None, tag.clone(), id.clone()));
        }
        let mut images: Vec<Image> = Vec::new();
        for (arch, tag, id) in wanted.into_iter().take(MAX_FALLBACK_FETCHES) {
            if images.iter().any(|i| i.id == id) {
                continue;
            }
            let r = LibraryRef::parse(&format!("{path}:{tag}"))?;
            images.push(self.get_image(&r, arch.as_deref()).await?);
        }
        Ok(images)
    }

    /// Tags of a container by its ID: `v2/tags` (per arch) when the server has them, else
    /// `v1/tags`.
    pub async fn container_tags(&self, container_id: &str) -> Result<ContainerTags> {
        let level = self.api_level().await?;
        let version = if level.v2_tags() { "v2" } else { "v1" };
        let reply = self
            .get(&format!("{version}/tags/{}", seg(container_id)), &[])
            .await?;
        let data: Value = decode_data(&reply)?;
        Ok(if level.v2_tags() {
            ContainerTags {
                arch_tags: crate::de::to_arch_tag_map(data),
                ..Default::default()
            }
        } else {
            ContainerTags {
                image_tags: crate::de::to_tag_map(data),
                ..Default::default()
            }
        })
    }

    /// `POST v1/entities` (200 or 201). 409/412 → `library.exists`.
    pub async fn create_entity(&self, name: &str, default_private: bool) -> Result<Entity> {
        check_name(RefPart::Entity, name)?;
        let body = json!({"name": name, "description": DEFAULT_DESCRIPTION, "defaultPrivate": default_private});
        self.post_data("v1/entities", body).await
    }

    /// `POST v1/collections` under the entity with ID `entity_id`.
    pub async fn create_collection(
        &self,
        entity_id: &str,
        name: &str,
        private: bool,
    ) -> Result<Collection> {
        check_name(RefPart::Collection, name)?;
        let body = json!({"name": name, "description": DEFAULT_DESCRIPTION, "entity": entity_id, "private": private});
        self.post_data("v1/collections", body).await
    }

    /// `POST v1/containers` under the collection with ID `collection_id`.
    pub async fn create_container(
        &self,
        collection_id: &str,
        name: &str,
        private: bool,
    ) -> Result<Container> {
        check_name(RefPart::Container, name)?;
        let body = json!({"name": name, "description": DEFAULT_DESCRIPTION, "collection": collection_id, "private": private});
        self.post_data("v1/containers", body).await
    }

    /// Points `tag` at `image_id`: `POST v2/tags/{cid}` `{Arch,Tag,ImageID}` when the server
    /// has arch-aware tags and `arch` is given, else `POST v1/tags/{cid}` `{Tag,ImageID}`.
    /// Keys are capitalised as the Go client sends them (§4.6).
    pub async fn set_tag(
        &self,
        container_id: &str,
        tag: &str,
        image_id: &str,
        arch: Option<&str>,
    ) -> Result<()> {
        // Validates the tag with the reference rules (an image id is not a tag).
        let checked = LibraryRef::parse("x")?.with_tags([tag])?;
        if checked.tags().len() != 1 || checked.image_id().is_some() {
            return Err(Error::input(format!("{tag:?} is not a single tag")));
        }
        let arch = arch.filter(|a| !a.is_empty());
        if let Some(a) = arch {
            check_arch(a)?;
        }
        let level = self.api_level().await?;
        let (path, body) = match arch {
            Some(a) if level.v2_tags() => (
                format!("v2/tags/{}", seg(container_id)),
                json!({"Arch": a, "Tag": checked.tag(), "ImageID": image_id}),
            ),
            _ => (
                format!("v1/tags/{}", seg(container_id)),
                json!({"Tag": checked.tag(), "ImageID": image_id}),
            ),
        };
        let url = join(&self.base, &path)?;
        self.http
            .send(Call {
                method: Method::POST,
                url,
                query: &[],
                body: Some(body),
                auth: true,
                ok: &[200, 201, 204],
            })
            .await?;
        Ok(())
    }

    /// Removes a tag by pointing it at an empty image ID, which Hinkskalle documents as
    /// deletion (§4.6). **Uncertain on Sylabs servers**, which document no tag deletion.
    pub async fn delete_tag(
        &self,
        container_id: &str,
        tag: &str,
        arch: Option<&str>,
    ) -> Result<()> {
        self.set_tag(container_id, tag, "", arch).await
    }

    /// `DELETE v1/images/{path}:{tag}?arch={arch}` (§4.5), as `apptainer delete` does.
    pub async fn delete_image(&self, r: &LibraryRef, arch: Option<&str>) -> Result<()> {
        let arch = arch_param(arch)?;
        let url = join(&self.base, &format!("v1/images/{}", image_path(r)))?;
        let query = [("arch", arch)];
        self.http
            .send(Call {
                method: Method::DELETE,
                url,
                query: &query,
                body: None,
                auth: true,
                ok: &[200, 202, 204],
            })
            .await?;
        Ok(())
    }

    /// `GET v1/search?value=…[&arch=…][&signed=true]` (§7). Queries shorter than
    /// [`MIN_SEARCH_LEN`] are refused without a request, as the reference does.
    pub async fn search(&self, q: &SearchQuery) -> Result<SearchResults> {
        let value = q.value.trim();
        if value.chars().count() < MIN_SEARCH_LEN {
            return Err(Error::input(format!(
                "bad query {value:?}: search for at least {MIN_SEARCH_LEN} characters"
            )));
        }
        let mut query: Vec<(&str, &str)> = vec![("value", value)];
        if let Some(arch) = q.arch.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
            for one in arch.split(',') {
                check_arch(one.trim())?;
            }
            query.push(("arch", arch));
        }
        if q.signed {
            query.push(("signed", "true"));
        }
        self.get_data("v1/search", &query).await
    }

    // ----- plumbing -----

    /// `path` under the library base URL.
    pub(crate) fn url(&self, path: &str) -> Result<Url> {
        join(&self.base, path)
    }

    /// `v1/imagefile/{path}:{tag}?arch=…` (§6 step 4.2).
    pub(crate) fn imagefile_url(&self, r: &LibraryRef, arch: Option<&str>) -> Result<Url> {
        let arch = arch_param(arch)?;
        let mut url = join(&self.base, &format!("v1/imagefile/{}", image_path(r)))?;
        url.query_pairs_mut().append_pair("arch", arch);
        Ok(url)
    }

    /// A request on the transfer client, with the token when `auth`.
    pub(crate) fn transfer_request(
        &self,
        method: Method,
        url: Url,
        auth: bool,
    ) -> Result<reqwest::RequestBuilder> {
        let req = self.transfer.request(method, url);
        if auth {
            self.http.authorize(req)
        } else {
            Ok(req)
        }
    }

    /// A GET for file bytes, optionally of the inclusive byte range `range`; any status is
    /// returned (the caller decides what 200/206/303 mean).
    pub(crate) async fn send_get(
        &self,
        url: &Url,
        auth: bool,
        range: Option<(u64, u64)>,
        cancel: &crate::transfer::Cancel,
    ) -> Result<reqwest::Response> {
        let mut req = self.transfer_request(Method::GET, url.clone(), auth)?;
        if let Some((a, b)) = range {
            req = req.header(reqwest::header::RANGE, format!("bytes={a}-{b}"));
        }
        tokio::select! {
            r = req.send() => r.map_err(Error::from_transport),
            () = cancel.cancelled() => Err(Error::cancelled()),
        }
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Reply> {
        let url = join(&self.base, path)?;
        self.http
            .send(Call {
                method: Method::GET,
                url,
                query,
                body: None,
                auth: true,
                ok: &[200],
            })
            .await
    }

    async fn get_data<T: DeserializeOwned>(&self, path: &str, query: &[(&str, &str)]) -> Result<T> {
        decode_data(&self.get(path, query).await?)
    }

    pub(crate) async fn post_data<T: DeserializeOwned>(
        &self,
        path: &str,
        body: Value,
    ) -> Result<T> {
        let url = join(&self.base, path)?;
        let reply = self
            .http
            .send(Call {
                method: Method::POST,
                url,
                query: &[],
                body: Some(body),
                auth: true,
                ok: &[200, 201],
            })
            .await?;
        decode_data(&reply)
    }

    /// `Some(list)` if `path` answers a JSON array in `data`; `None` if the server has no such
    /// list route (404, or a single object where a list was expected).
    async fn try_list<T: DeserializeOwned>(&self, path: &str) -> Result<Option<Vec<T>>> {
        match self.get(path, &[]).await {
            Ok(reply) => match decode_data::<Value>(&reply)? {
                Value::Array(items) => items
                    .into_iter()
                    .map(|v| {
                        T::deserialize(v)
                            .map_err(|e| Error::bad_response(format!("unexpected list item: {e}")))
                    })
                    .collect::<Result<Vec<T>>>()
                    .map(Some),
                Value::Null => Ok(Some(Vec::new())),
                _ => Ok(None),
            },
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn fetch_each<T: DeserializeOwned>(
        &self,
        prefix: &str,
        ids: &[String],
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        for id in ids.iter().take(MAX_FALLBACK_FETCHES) {
            out.push(self.get_data(&format!("{prefix}/{}", seg(id)), &[]).await?);
        }
        Ok(out)
    }
}

fn join(base: &Url, path: &str) -> Result<Url> {
    base.join(path)
        .map_err(|e| Error::input(format!("cannot build URL for {path:?}: {e}")))
}

/// `path:tag` for image URLs (names and tags are validated, so nothing needs escaping).
fn image_path(r: &LibraryRef) -> String {
    r.path_with_tag()
}

fn arch_param(arch: Option<&str>) -> Result<&str> {
    match arch.map(str::trim).filter(|a| !a.is_empty()) {
        Some(a) => {
            check_arch(a)?;
            Ok(a)
        }
        None => Ok(""),
    }
}
