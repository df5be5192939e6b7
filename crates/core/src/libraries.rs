//! Remotes and their container libraries for the app and the CLI: add and log in (token
//! checked before it is stored, then kept only in the keychain), service status, browse,
//! search and delete — as views the UI shows.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use berth_library::{
    discover, service_version, BuilderClient, Endpoints, Image, LibraryClient, LibraryRef,
    RemoteOptions, SearchQuery, Secret, Timeouts, TokenStatus,
};

use crate::credentials::Token;
use crate::model_library::{
    AddRemoteRequest, CollectionView, ContainerDetailView, ContainerView, LibraryImageView,
    RemoteStatusView, RemoteView, SearchView, ServiceStatus, TokenState,
};
use crate::remotes::{AddOptions, Remote, Remotes};
use crate::{ApiError, Error, Result};

/// The person's library remotes.
pub struct Libraries {
    remotes: Arc<Remotes>,
    // Discovery documents change rarely; status refreshes them.
    endpoints: Mutex<HashMap<String, Endpoints>>,
}

impl std::fmt::Debug for Libraries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Libraries")
    }
}

impl Libraries {
    /// Over these remotes.
    pub fn new(remotes: Arc<Remotes>) -> Self {
        Self {
            remotes,
            endpoints: Mutex::new(HashMap::new()),
        }
    }

    /// The remotes store.
    pub fn remotes(&self) -> &Remotes {
        &self.remotes
    }

    /// Every remote, with whether a token is stored.
    pub fn list(&self) -> Result<Vec<RemoteView>> {
        self.remotes.list()?.iter().map(|r| self.view(r)).collect()
    }

    fn view(&self, r: &Remote) -> Result<RemoteView> {
        Ok(RemoteView {
            name: r.name.clone(),
            uri: r.uri.clone(),
            base_url: r.base_url(),
            insecure_http: r.insecure_http,
            ca_file: r.ca_file.as_ref().map(|p| p.display().to_string()),
            proxy: r.proxy.clone(),
            is_default: r.is_default,
            logged_in: self.remotes.has_token(&r.name).unwrap_or(false),
        })
    }

    /// Adds a remote.
    pub fn add(&self, req: AddRemoteRequest) -> Result<RemoteView> {
        let opts = AddOptions {
            insecure_http: req.insecure_http,
            ca_file: req.ca_file.filter(|s| !s.is_empty()).map(Into::into),
            proxy: req.proxy.filter(|s| !s.is_empty()),
            make_default: req.make_default.then_some(true),
        };
        let r = self.remotes.add(&req.name, &req.uri, opts)?;
        self.view(&r)
    }

    /// Removes a remote and its token.
    pub fn remove(&self, name: &str) -> Result<Vec<RemoteView>> {
        self.remotes.remove(name)?;
        self.forget_endpoints(name);
        self.list()
    }

    /// Makes a remote the default.
    pub fn use_default(&self, name: &str) -> Result<Vec<RemoteView>> {
        self.remotes.use_default(name)?;
        self.list()
    }

    /// Deletes the remote's token from the keychain.
    pub fn logout(&self, name: &str) -> Result<Vec<RemoteView>> {
        self.remotes.clear_token(name)?;
        self.list()
    }

    fn forget_endpoints(&self, name: &str) {
        self.endpoints
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
    }

    fn options(r: &Remote) -> Result<RemoteOptions> {
        let extra_ca_pem = match &r.ca_file {
            Some(p) => Some(std::fs::read(p).map_err(|e| Error::io(p, e))?),
            None => None,
        };
        Ok(RemoteOptions {
            insecure_http: r.insecure_http,
            extra_ca_pem,
            proxy: r.proxy.clone(),
            accept_invalid_certs: false,
        })
    }

    async fn endpoints(&self, r: &Remote, refresh: bool) -> Result<Endpoints> {
        if !refresh {
            if let Some(e) = self
                .endpoints
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&r.name)
            {
                return Ok(e.clone());
            }
        }
        let e = discover(&r.uri, &Self::options(r)?, Timeouts::default()).await?;
        self.endpoints
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(r.name.clone(), e.clone());
        Ok(e)
    }

    async fn client(
        &self,
        r: &Remote,
        token: Option<Secret>,
    ) -> Result<(LibraryClient, Endpoints)> {
        let e = self.endpoints(r, false).await?;
        let library = e
            .library
            .clone()
            .ok_or_else(|| Error::RemoteWithoutLibrary {
                name: r.name.clone(),
            })?;
        let client = LibraryClient::builder(library.to_string())
            .token(token)
            .options(Self::options(r)?)
            .build()?;
        Ok((client, e))
    }

    fn stored_token(&self, name: &str) -> Result<Option<Secret>> {
        Ok(self.remotes.token(name)?.map(|t| Secret::new(t.expose())))
    }

    /// The remote a transfer uses and a logged-in client of its library: the named remote,
    /// else the one whose address has the reference's host, else the default remote.
    pub async fn transfer_client(
        &self,
        remote: Option<&str>,
        reference: &LibraryRef,
    ) -> Result<(Remote, LibraryClient)> {
        let r = self.pick_remote(remote, reference)?;
        let token = self.stored_token(&r.name)?;
        let (client, _) = self.client(&r, token).await?;
        Ok((r, client))
    }

    /// The build service of `remote` (the default remote when `None`), or the builder at
    /// `builder_url`, with the remote's token; also the remote's library URL, which the
    /// builder pushes to.
    pub async fn builder_client(
        &self,
        remote: Option<&str>,
        builder_url: Option<&str>,
    ) -> Result<(Remote, BuilderClient, Option<String>)> {
        let r = match remote.map(str::trim).filter(|n| !n.is_empty()) {
            Some(name) => self.remotes.get(name)?,
            None => self.remotes.default()?.ok_or(Error::NoDefaultRemote)?,
        };
        let token = self.stored_token(&r.name)?;
        let e = self.endpoints(&r, false).await?;
        let url = match builder_url.map(str::trim).filter(|u| !u.is_empty()) {
            Some(u) => u.to_owned(),
            None => e.builder.as_ref().map(ToString::to_string).ok_or_else(|| {
                Error::RemoteWithoutBuilder {
                    name: r.name.clone(),
                }
            })?,
        };
        let client = BuilderClient::new(&url, token, &Self::options(&r)?)?;
        let library = e
            .library
            .as_ref()
            .map(|u| u.as_str().trim_end_matches('/').to_owned());
        Ok((r, client, library))
    }

    /// Every remote with its build service, for the builder choice. Remotes whose
    /// discovery fails are listed with the error.
    pub async fn builders(&self) -> Result<Vec<crate::model_build::BuilderView>> {
        let default = self.remotes.default()?.map(|r| r.name);
        let mut out = Vec::new();
        for r in self.remotes.list()? {
            let logged_in = self.remotes.has_token(&r.name).unwrap_or(false);
            let (url, error) = match self.endpoints(&r, false).await {
                Ok(e) => (e.builder.as_ref().map(ToString::to_string), None),
                Err(e) => (None, Some(ApiError::from(&e))),
            };
            out.push(crate::model_build::BuilderView {
                is_default: default.as_deref() == Some(r.name.as_str()),
                remote: r.name,
                url,
                logged_in,
                error,
            });
        }
        Ok(out)
    }

    /// [`Libraries::transfer_client`]'s choice of remote, without network.
    pub fn pick_remote(&self, remote: Option<&str>, reference: &LibraryRef) -> Result<Remote> {
        if let Some(name) = remote.filter(|n| !n.trim().is_empty()) {
            return self.remotes.get(name.trim());
        }
        if let Some(host) = reference.host() {
            return self
                .remotes
                .list()?
                .into_iter()
                .find(|r| {
                    r.uri
                        .split('/')
                        .next()
                        .is_some_and(|h| h.eq_ignore_ascii_case(host))
                })
                .ok_or_else(|| Error::RemoteNotFound {
                    name: host.to_owned(),
                });
        }
        self.remotes.default()?.ok_or(Error::NoDefaultRemote)
    }

    async fn client_for(&self, remote: &str) -> Result<LibraryClient> {
        let r = self.remotes.get(remote)?;
        let token = self.stored_token(&r.name)?;
        Ok(self.client(&r, token).await?.0)
    }

    /// Discovery, each service's version, the token and the user.
    pub async fn status(&self, name: &str) -> Result<RemoteStatusView> {
        let r = self.remotes.get(name)?;
        let token = self.stored_token(&r.name)?;
        self.status_with(&r, token).await
    }

    async fn status_with(&self, r: &Remote, token: Option<Secret>) -> Result<RemoteStatusView> {
        let mut view = RemoteStatusView {
            remote: self.view(r)?,
            discovery_error: None,
            services: Vec::new(),
            token: if token.is_some() {
                TokenState::Unknown
            } else {
                TokenState::None
            },
            user: None,
            entity: None,
            token_page: Some(format!("{}/auth/tokens", r.base_url())),
        };
        let endpoints = match self.endpoints(r, true).await {
            Ok(e) => e,
            Err(e) => {
                view.discovery_error = Some(ApiError::from(&e));
                return Ok(view);
            }
        };
        let opts = Self::options(r)?;
        for (name, url) in endpoints.services() {
            let (version, error) = match service_version(&url, &opts, Timeouts::default()).await {
                Ok(v) => (Some(v.version), None),
                Err(e) => (None, Some(ApiError::from(&Error::from(e)))),
            };
            view.services.push(ServiceStatus {
                name,
                url: url.to_string(),
                version,
                error,
            });
        }
        if let (Some(token), Some(library), Some(token_url)) =
            (token, endpoints.library.clone(), endpoints.token.clone())
        {
            let client = LibraryClient::builder(library.to_string())
                .token(Some(token))
                .options(opts)
                .build()?;
            match client.token_status(&token_url).await {
                Ok(TokenStatus::Valid { user }) => {
                    view.token = TokenState::Valid;
                    let user = match user {
                        Some(u) => Some(u),
                        None => client.current_user().await.ok(),
                    };
                    if let Some(u) = user {
                        view.entity = Some(u.username.clone());
                        view.user = Some(u.display_name());
                    }
                }
                Ok(TokenStatus::Invalid { .. }) => view.token = TokenState::Invalid,
                Ok(TokenStatus::Missing) => view.token = TokenState::None,
                Err(_) => view.token = TokenState::Unknown,
            }
        }
        Ok(view)
    }

    /// Checks `token` with the remote's token service and stores it in the keychain only
    /// when it is accepted. A refused token is an `auth.token_invalid` error, nothing stored.
    pub async fn login(&self, name: &str, token: &str) -> Result<RemoteStatusView> {
        let r = self.remotes.get(name)?;
        let secret = Secret::new(token.trim());
        let view = self.status_with(&r, Some(secret)).await?;
        match view.token {
            TokenState::Valid => {
                self.remotes.set_token(&r.name, &Token::new(token.trim()))?;
                Ok(RemoteStatusView {
                    remote: self.view(&r)?,
                    ..view
                })
            }
            TokenState::Invalid => Err(Error::TokenRefused {
                name: r.name.clone(),
            }),
            _ => Err(Error::TokenUncheckable {
                name: r.name.clone(),
                reason: view
                    .discovery_error
                    .map(|e| e.message)
                    .unwrap_or_else(|| "the token service did not answer".to_owned()),
            }),
        }
    }

    /// Collections of an entity.
    pub async fn collections(&self, remote: &str, entity: &str) -> Result<Vec<CollectionView>> {
        let client = self.client_for(remote).await?;
        let host = client.base_url().authority().to_owned();
        Ok(client
            .list_collections(entity)
            .await?
            .into_iter()
            .map(|c| CollectionView {
                reference: format!("library://{host}/{entity}/{}", c.name),
                name: c.name,
                description: c.description,
                private: c.private,
            })
            .collect())
    }

    /// Containers of a collection.
    pub async fn containers(
        &self,
        remote: &str,
        entity: &str,
        collection: &str,
    ) -> Result<Vec<ContainerView>> {
        let client = self.client_for(remote).await?;
        let host = client.base_url().authority().to_owned();
        Ok(client
            .list_containers(entity, collection)
            .await?
            .into_iter()
            .map(|c| container_view(&host, entity, collection, c))
            .collect())
    }

    /// A container with its images and their tags.
    pub async fn container(
        &self,
        remote: &str,
        entity: &str,
        collection: &str,
        name: &str,
    ) -> Result<ContainerDetailView> {
        let client = self.client_for(remote).await?;
        let host = client.base_url().authority().to_owned();
        let container = client.get_container(entity, collection, name).await?;
        let tags = client
            .container_tags(&container.id)
            .await
            .unwrap_or_default();
        let images = client.list_images(entity, collection, name).await?;
        let base = format!("library://{host}/{entity}/{collection}/{name}");
        let images = images
            .into_iter()
            .map(|img| {
                let mut t: Vec<String> = Vec::new();
                for (arch, map) in &tags.arch_tags {
                    if img.arch.as_deref().is_none_or(|a| a == arch) {
                        t.extend(
                            map.iter()
                                .filter(|(_, id)| **id == img.id)
                                .map(|(tag, _)| tag.clone()),
                        );
                    }
                }
                t.extend(
                    tags.image_tags
                        .iter()
                        .filter(|(_, id)| **id == img.id)
                        .map(|(tag, _)| tag.clone()),
                );
                t.sort();
                t.dedup();
                image_view(&base, img, t)
            })
            .collect();
        Ok(ContainerDetailView {
            full_description: container.full_description.clone(),
            container: container_view(&host, entity, collection, container),
            images,
        })
    }

    /// Searches the remote's library.
    pub async fn search(
        &self,
        remote: &str,
        query: &str,
        arch: Option<String>,
        signed: bool,
    ) -> Result<SearchView> {
        let client = self.client_for(remote).await?;
        let host = client.base_url().authority().to_owned();
        let found = client
            .search(&SearchQuery {
                value: query.to_owned(),
                arch,
                signed,
            })
            .await?;
        Ok(SearchView {
            entities: found.entities.into_iter().map(|e| e.name).collect(),
            collections: found
                .collections
                .into_iter()
                .map(|c| CollectionView {
                    reference: format!("library://{host}/{}/{}", c.entity_name, c.name),
                    name: c.name,
                    description: c.description,
                    private: c.private,
                })
                .collect(),
            containers: found
                .containers
                .into_iter()
                .map(|c| {
                    let (e, col) = (c.entity_name.clone(), c.collection_name.clone());
                    container_view(&host, &e, &col, c)
                })
                .collect(),
            images: found
                .images
                .into_iter()
                .map(|img| {
                    let base = format!(
                        "library://{host}/{}/{}/{}",
                        img.entity_name, img.collection_name, img.container_name
                    );
                    let tags = img.tags.clone();
                    image_view(&base, img, tags)
                })
                .collect(),
        })
    }

    /// Deletes one image (`library://…:sha256.<hex>` or `…:tag`).
    pub async fn delete(&self, remote: &str, reference: &str, arch: Option<&str>) -> Result<()> {
        let r = LibraryRef::parse(reference).map_err(berth_library::Error::from)?;
        let client = self.client_for(remote).await?;
        Ok(client.delete_image(&r, arch).await?)
    }
}

fn container_view(
    host: &str,
    entity: &str,
    collection: &str,
    c: berth_library::Container,
) -> ContainerView {
    ContainerView {
        reference: format!("library://{host}/{entity}/{collection}/{}", c.name),
        entity: entity.to_owned(),
        collection: collection.to_owned(),
        downloads: Some(c.download_count),
        name: c.name,
        description: c.description,
        private: c.private,
    }
}

fn image_view(base: &str, img: Image, tags: Vec<String>) -> LibraryImageView {
    let hash_reference = format!("{base}:{}", img.hash);
    LibraryImageView {
        reference: tags
            .first()
            .map_or_else(|| hash_reference.clone(), |t| format!("{base}:{t}")),
        hash_reference,
        uploaded: img.is_uploaded(),
        hash: img.hash,
        size: img.size,
        arch: img.arch,
        signed: img.signed,
        fingerprints: img.fingerprints,
        tags,
        description: img.description,
    }
}
