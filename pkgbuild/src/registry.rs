//! A client for the OCI distribution-spec: push and pull blobs and manifests.
//!
//! Synchronous (ureq, rustls with the system's trust store). Plain HTTP is used only for loopback
//! registries (`127.0.0.0/8`, `::1`, `localhost`) or when [`Options::insecure`] is set.
//!
//! The API:
//! - [`Reference::parse`]`("host[:port]/ns/name:tag@sha256:...")` and [`Repo`] (registry +
//!   repository), with Docker Hub's defaults (`docker.io` -> [`DOCKER_HUB`], `library/`).
//! - [`Client::new`]`(`[`Options`]`)`: credentials given, or read from Docker's `config.json`
//!   (`auths`, `credHelpers`, `credsStore`); `Basic` and `Bearer` token challenges, tokens
//!   cached per scope; a [`RetryPolicy`] for transient failures.
//! - [`Client::blob_exists`] (HEAD), [`Client::push_blob`] (HEAD, then a cross-repository mount
//!   when asked, then POST + one PUT; says [`BlobOutcome`]), [`Client::get_blob`] (checked).
//! - [`Client::put_manifest`] sends the exact bytes and returns their digest, checked against
//!   the registry's `Docker-Content-Digest`; [`Client::get_manifest`] sends OCI and Docker
//!   `Accept` headers ([`MANIFEST_MEDIA_TYPES`]) and returns `None` on 404;
//!   [`Client::manifest_digest`] asks for the digest only (HEAD).
//! - [`Client::referrers`]: the referrers API's descriptors, `None` when the registry lacks it
//!   (404), so the caller falls back to the `sha256-<hex>` tag schema.
//! - [`Client::stats`]: requests made and blob bytes uploaded, to show re-push traffic.
//!
//! Errors are [`RegistryError`]s that name the registry, the repository, the operation and the
//! status with the spec's error code. 5xx (but 501), 408, 429, resets, refusals and timeouts
//! are retried with exponential backoff; an upload that fails half-way starts again in a new
//! upload session. Other 4xx fail at once.

mod auth;
mod error;
mod reference;

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use oci_spec::image::{Descriptor, ImageIndex};
use ureq::http::{Response, StatusCode};
use ureq::Body;

pub use auth::Credentials;
pub use error::{At, RegistryError, Status};
pub use reference::{is_digest, sha256_digest, Reference, Repo, DOCKER_HUB};

use auth::Challenge;

pub type Result<T, E = RegistryError> = std::result::Result<T, E>;

/// What `get_manifest` accepts when the caller names nothing: OCI first. docker-registry 2.8
/// serves an OCI index only to a client that lists its media type.
pub const MANIFEST_MEDIA_TYPES: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// How transient failures are retried: `attempts` tries in all, waiting `initial_backoff`,
/// then twice as long each time, at most `max_backoff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// One try only: the first failure is the answer.
    pub fn none() -> Self {
        RetryPolicy {
            attempts: 1,
            ..RetryPolicy::default()
        }
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    /// Plain HTTP to any registry, not only loopback ones.
    pub insecure: bool,
    /// Used for every registry, before anything in `config.json`.
    pub credentials: Option<Credentials>,
    /// The `config.json` to read; default `$DOCKER_CONFIG/config.json`, else
    /// `~/.docker/config.json`.
    pub docker_config: Option<PathBuf>,
    pub retry: RetryPolicy,
    /// The longest wait to connect, or for any progress on a connection.
    pub timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            insecure: false,
            credentials: None,
            docker_config: None,
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobOutcome {
    /// The repository already had it: nothing was sent.
    Existed,
    /// Linked from another repository of the same registry: nothing was sent.
    Mounted,
    Uploaded,
}

/// Traffic counters since the client was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Every HTTP request, retries and token requests included.
    pub requests: u64,
    pub heads: u64,
    pub blobs_uploaded: u64,
    /// Blob bytes sent, counting each attempt (a retried upload counts twice).
    pub bytes_uploaded: u64,
    pub retries: u64,
}

/// A manifest (or index) as the registry holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub media_type: String,
    pub bytes: Vec<u8>,
    /// sha256 of `bytes`.
    pub digest: String,
}

/// How a registry asked us to authenticate, remembered per host.
#[derive(Debug, Clone)]
enum Scheme {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

#[derive(Default)]
struct AuthState {
    schemes: HashMap<String, Scheme>,
    credentials: HashMap<String, Option<Credentials>>,
    /// Keyed by host and the scopes asked for.
    tokens: HashMap<(String, String), String>,
}

/// One request, with what is needed to authorize it and to name it in an error.
struct Call<'a> {
    repo: &'a Repo,
    op: String,
    method: &'static str,
    url: String,
    headers: Vec<(&'static str, String)>,
    body: Option<&'a [u8]>,
    /// Token scopes, e.g. `repository:a/b:pull,push`.
    scopes: Vec<String>,
}

pub struct Client {
    /// Honours HTTP(S)_PROXY for remote registries.
    agent: ureq::Agent,
    /// Never through a proxy: for loopback registries.
    direct: ureq::Agent,
    options: Options,
    auth: Mutex<AuthState>,
    stats: Mutex<Stats>,
}

impl Client {
    pub fn new(options: Options) -> Client {
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::PlatformVerifier)
            .build();
        let config = |proxy: bool| {
            let builder = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .tls_config(tls.clone())
                .user_agent(concat!("pkgbuild/", env!("CARGO_PKG_VERSION")))
                .timeout_connect(Some(options.timeout))
                .timeout_per_read(Some(options.timeout))
                .timeout_per_write(Some(options.timeout))
                .max_redirects(5);
            let builder = if proxy { builder } else { builder.proxy(None) };
            builder.build().new_agent()
        };
        Client {
            agent: config(true),
            direct: config(false),
            options,
            auth: Mutex::default(),
            stats: Mutex::default(),
        }
    }

    pub fn stats(&self) -> Stats {
        *self.stats.lock().unwrap()
    }

    /// Whether `repo` holds the blob (HEAD).
    pub fn blob_exists(&self, repo: &Repo, digest: &str) -> Result<bool> {
        let what = format!("blob {digest}");
        let call = self.call(repo, "HEAD", format!("blobs/{digest}"), what, pull(repo));
        self.retrying(|| {
            let mut resp = self.send(&call)?;
            match resp.status().as_u16() {
                200 => Ok(true),
                404 => Ok(false),
                _ => Err(status_error(&call, &mut resp)),
            }
        })
    }

    /// Makes sure `repo` holds the blob `bytes` (whose digest is `digest`): nothing is sent if it
    /// is already there; with `mount_from`, the registry is first asked to link it from that
    /// repository; otherwise it is uploaded with POST and one PUT.
    pub fn push_blob(
        &self,
        repo: &Repo,
        digest: &str,
        bytes: &[u8],
        mount_from: Option<&str>,
    ) -> Result<BlobOutcome> {
        let actual = sha256_digest(bytes);
        if actual != digest {
            return Err(RegistryError::DigestMismatch {
                at: at(repo, format!("push blob {digest}")),
                expected: digest.to_string(),
                actual,
            });
        }
        if self.blob_exists(repo, digest)? {
            return Ok(BlobOutcome::Existed);
        }
        // Each try starts a new upload session: one cut half-way may be unusable.
        self.retrying(|| self.upload(repo, digest, bytes, mount_from))
    }

    fn upload(
        &self,
        repo: &Repo,
        digest: &str,
        bytes: &[u8],
        mount_from: Option<&str>,
    ) -> Result<BlobOutcome> {
        let mut scopes = push(repo);
        let path = match mount_from {
            Some(from) => {
                scopes.push(format!("repository:{from}:pull"));
                format!(
                    "blobs/uploads/?mount={}&from={}",
                    escape(digest),
                    escape(from)
                )
            }
            None => "blobs/uploads/".to_string(),
        };
        let mut start = self.call(repo, "POST", path, "upload".into(), scopes.clone());
        start.body = Some(&[]);
        let mut resp = self.send(&start)?;
        match resp.status().as_u16() {
            201 if mount_from.is_some() => return Ok(BlobOutcome::Mounted),
            202 => {}
            _ => return Err(status_error(&start, &mut resp)),
        }
        let location = self.location(&start, &resp)?;
        let sep = if location.contains('?') { '&' } else { '?' };
        let put = Call {
            repo,
            op: format!("PUT blob {digest}"),
            method: "PUT",
            url: format!("{location}{sep}digest={}", escape(digest)),
            headers: vec![("Content-Type", "application/octet-stream".to_string())],
            body: Some(bytes),
            scopes,
        };
        {
            let mut stats = self.stats.lock().unwrap();
            stats.bytes_uploaded += bytes.len() as u64;
        }
        let mut resp = self.send(&put)?;
        if resp.status() != StatusCode::CREATED {
            return Err(status_error(&put, &mut resp));
        }
        self.stats.lock().unwrap().blobs_uploaded += 1;
        Ok(BlobOutcome::Uploaded)
    }

    /// Fetches a blob and checks it against its digest.
    pub fn get_blob(&self, repo: &Repo, digest: &str) -> Result<Vec<u8>> {
        let what = format!("blob {digest}");
        let call = self.call(repo, "GET", format!("blobs/{digest}"), what, pull(repo));
        self.retrying(|| {
            let mut resp = self.send(&call)?;
            if resp.status() != StatusCode::OK {
                return Err(status_error(&call, &mut resp));
            }
            let bytes = read_body(&call, &mut resp, u64::MAX)?;
            check_digest(&call, digest, &bytes)?;
            Ok(bytes)
        })
    }

    /// Stores `bytes`, exactly as given, as a manifest under `reference` (a tag or a digest),
    /// and returns their digest.
    pub fn put_manifest(
        &self,
        repo: &Repo,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<String> {
        let path = format!("manifests/{reference}");
        let mut call = self.call(
            repo,
            "PUT",
            path,
            format!("manifest {reference}"),
            push(repo),
        );
        call.headers.push(("Content-Type", media_type.to_string()));
        call.body = Some(bytes);
        let digest = sha256_digest(bytes);
        if is_digest(reference) {
            check_digest(&call, reference, bytes)?;
        }
        self.retrying(|| {
            let mut resp = self.send(&call)?;
            if !matches!(resp.status().as_u16(), 200 | 201) {
                return Err(status_error(&call, &mut resp));
            }
            // The registry must have stored the bytes we hashed, not a rewritten copy.
            match header(&resp, "Docker-Content-Digest") {
                Some(theirs) if theirs.starts_with("sha256:") && theirs != digest => {
                    Err(RegistryError::DigestMismatch {
                        at: call_at(&call),
                        expected: digest.clone(),
                        actual: theirs,
                    })
                }
                _ => Ok(digest.clone()),
            }
        })
    }

    /// A GET or HEAD of a manifest, with the Accept header the registry needs to serve OCI types.
    fn manifest_call<'a>(
        &self,
        repo: &'a Repo,
        method: &'static str,
        reference: &str,
        accept: &[&str],
    ) -> Call<'a> {
        let accept = if accept.is_empty() {
            MANIFEST_MEDIA_TYPES
        } else {
            accept
        };
        let mut call = self.call(
            repo,
            method,
            format!("manifests/{reference}"),
            format!("manifest {reference}"),
            pull(repo),
        );
        call.headers.push(("Accept", accept.join(", ")));
        call
    }

    /// Fetches the manifest named by `reference` (a tag or a digest); `None` if there is none.
    /// `accept` lists the media types wanted; empty means [`MANIFEST_MEDIA_TYPES`].
    pub fn get_manifest(
        &self,
        repo: &Repo,
        reference: &str,
        accept: &[&str],
    ) -> Result<Option<Manifest>> {
        let call = self.manifest_call(repo, "GET", reference, accept);
        self.retrying(|| {
            let mut resp = self.send(&call)?;
            match resp.status().as_u16() {
                200 => {}
                404 => return Ok(None),
                _ => return Err(status_error(&call, &mut resp)),
            }
            let content_type = header(&resp, "Content-Type");
            let claimed = header(&resp, "Docker-Content-Digest");
            // The spec's limit for a manifest is 4 MiB; stay well above it.
            let bytes = read_body(&call, &mut resp, 16 << 20)?;
            if is_digest(reference) {
                check_digest(&call, reference, &bytes)?;
            }
            if let Some(claimed) = claimed.filter(|c| c.starts_with("sha256:")) {
                check_digest(&call, &claimed, &bytes)?;
            }
            let media_type = content_type
                .map(|t| t.split(';').next().unwrap_or("").trim().to_string())
                .filter(|t| !t.is_empty() && t != "application/json")
                .or_else(|| {
                    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
                    Some(v.get("mediaType")?.as_str()?.to_string())
                })
                .unwrap_or_default();
            Ok(Some(Manifest {
                media_type,
                digest: sha256_digest(&bytes),
                bytes,
            }))
        })
    }

    /// The digest `reference` points to (HEAD), without fetching the manifest; `None` if there
    /// is none. Lets a re-push skip a tag that is already right.
    pub fn manifest_digest(
        &self,
        repo: &Repo,
        reference: &str,
        accept: &[&str],
    ) -> Result<Option<String>> {
        let call = self.manifest_call(repo, "HEAD", reference, accept);
        self.retrying(|| {
            let mut resp = self.send(&call)?;
            match resp.status().as_u16() {
                200 => {}
                404 => return Ok(None),
                _ => return Err(status_error(&call, &mut resp)),
            }
            match header(&resp, "Docker-Content-Digest").filter(|d| is_digest(d)) {
                Some(digest) => Ok(Some(digest)),
                None => Err(RegistryError::Protocol {
                    at: call_at(&call),
                    message: "no sha256 Docker-Content-Digest in the answer".into(),
                }),
            }
        })
    }

    /// The manifests whose `subject` is `digest`, from the referrers API; `None` when the
    /// registry has no such API (404): the caller then reads the `sha256-<hex>` tag instead.
    pub fn referrers(&self, repo: &Repo, digest: &str) -> Result<Option<Vec<Descriptor>>> {
        let path = format!("referrers/{digest}");
        let mut call = self.call(repo, "GET", path, format!("referrers {digest}"), pull(repo));
        call.headers
            .push(("Accept", "application/vnd.oci.image.index.v1+json".into()));
        self.retrying(|| {
            let mut resp = self.send(&call)?;
            match resp.status().as_u16() {
                200 => {}
                404 => return Ok(None),
                _ => return Err(status_error(&call, &mut resp)),
            }
            let bytes = read_body(&call, &mut resp, 16 << 20)?;
            let index: ImageIndex =
                serde_json::from_slice(&bytes).map_err(|e| RegistryError::Protocol {
                    at: call_at(&call),
                    message: format!("the referrers answer is not an OCI index: {e}"),
                })?;
            Ok(Some(index.manifests().clone()))
        })
    }

    /// `http` for loopback registries or when insecure, else `https`.
    fn base(&self, registry: &str) -> String {
        let scheme = if self.options.insecure || is_loopback(registry) {
            "http"
        } else {
            "https"
        };
        format!("{scheme}://{registry}")
    }

    /// A call to `/v2/<repo>/<path>`, named `METHOD <what>` in errors.
    fn call<'a>(
        &self,
        repo: &'a Repo,
        method: &'static str,
        path: String,
        what: String,
        scopes: Vec<String>,
    ) -> Call<'a> {
        Call {
            repo,
            op: format!("{method} {what}"),
            method,
            url: format!("{}/v2/{}/{path}", self.base(&repo.registry), repo.name),
            headers: Vec::new(),
            body: None,
            scopes,
        }
    }

    /// Runs `op` until it succeeds, fails for good, or the policy's tries are spent.
    fn retrying<T>(&self, mut op: impl FnMut() -> Result<T>) -> Result<T> {
        let policy = self.options.retry;
        let mut delay = policy.initial_backoff;
        let mut attempt = 1;
        loop {
            match op() {
                Err(e) if e.is_transient() && attempt < policy.attempts => {
                    self.stats.lock().unwrap().retries += 1;
                    std::thread::sleep(delay);
                    delay = (delay * 2).min(policy.max_backoff);
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    /// One exchange, sent again once after a 401 that credentials or a fresh token may answer.
    fn send(&self, call: &Call) -> Result<Response<Body>> {
        let sent_auth = self.authorization(call)?;
        let resp = self.send_once(call, sent_auth.as_deref())?;
        if resp.status() != StatusCode::UNAUTHORIZED {
            return Ok(resp);
        }
        let challenge = resp
            .headers()
            .get_all("WWW-Authenticate")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(auth::parse_challenge);
        let Some(challenge) = challenge else {
            return Ok(resp);
        };
        match self.answer(call, challenge)? {
            // The same answer again would only get the same 401.
            Some(auth) if Some(&auth) != sent_auth.as_ref() => self.send_once(call, Some(&auth)),
            _ => Ok(resp),
        }
    }

    fn send_once(&self, call: &Call, authorization: Option<&str>) -> Result<Response<Body>> {
        let mut req = ureq::http::Request::builder()
            .method(call.method)
            .uri(&call.url);
        for (name, value) in &call.headers {
            req = req.header(*name, value);
        }
        if let Some(value) = authorization {
            req = req.header("Authorization", value);
        }
        {
            let mut stats = self.stats.lock().unwrap();
            stats.requests += 1;
            if call.method == "HEAD" {
                stats.heads += 1;
            }
        }
        let host = call
            .url
            .parse::<ureq::http::Uri>()
            .ok()
            .and_then(|u| u.authority().map(|a| a.to_string()))
            .unwrap_or_default();
        let agent = if is_loopback(&host) {
            &self.direct
        } else {
            &self.agent
        };
        let bad_request = |e: ureq::http::Error| RegistryError::Protocol {
            at: call_at(call),
            message: format!("cannot build the request for {}: {e}", call.url),
        };
        let result = match call.body {
            Some(body) => agent.run(req.body(body).map_err(bad_request)?),
            None => agent.run(req.body(()).map_err(bad_request)?),
        };
        result.map_err(|source| RegistryError::Transport {
            at: call_at(call),
            source: Box::new(source),
        })
    }

    /// The Authorization header to send before being asked, from what the host asked before.
    fn authorization(&self, call: &Call) -> Result<Option<String>> {
        let host = &call.repo.registry;
        let scheme = self.auth.lock().unwrap().schemes.get(host).cloned();
        match scheme {
            None => Ok(None),
            Some(Scheme::Basic) => Ok(self.credentials(host)?.as_ref().map(auth::basic_header)),
            Some(Scheme::Bearer { realm, service }) => {
                let key = (host.clone(), call.scopes.join(" "));
                if let Some(token) = self.auth.lock().unwrap().tokens.get(&key) {
                    return Ok(Some(format!("Bearer {token}")));
                }
                self.token(call, &realm, service.as_deref(), &call.scopes)
                    .map(|t| Some(format!("Bearer {t}")))
            }
        }
    }

    /// Answers a challenge: `None` when there is nothing to answer with.
    fn answer(&self, call: &Call, challenge: Challenge) -> Result<Option<String>> {
        let host = &call.repo.registry;
        match challenge {
            Challenge::Basic => {
                self.auth
                    .lock()
                    .unwrap()
                    .schemes
                    .insert(host.clone(), Scheme::Basic);
                Ok(self.credentials(host)?.as_ref().map(auth::basic_header))
            }
            Challenge::Bearer {
                realm,
                service,
                scope,
            } => {
                self.auth.lock().unwrap().schemes.insert(
                    host.clone(),
                    Scheme::Bearer {
                        realm: realm.clone(),
                        service: service.clone(),
                    },
                );
                let scopes = if call.scopes.is_empty() {
                    scope.into_iter().collect()
                } else {
                    call.scopes.clone()
                };
                let token = self.token(call, &realm, service.as_deref(), &scopes)?;
                Ok(Some(format!("Bearer {token}")))
            }
        }
    }

    /// Fetches a token for `scopes` from the realm (with basic credentials when we have
    /// some, anonymously otherwise) and caches it.
    fn token(
        &self,
        call: &Call,
        realm: &str,
        service: Option<&str>,
        scopes: &[String],
    ) -> Result<String> {
        let host = &call.repo.registry;
        let mut query: Vec<String> = service
            .map(|s| format!("service={}", escape(s)))
            .into_iter()
            .collect();
        query.extend(scopes.iter().map(|s| format!("scope={}", escape(s))));
        let sep = if realm.contains('?') { '&' } else { '?' };
        let url = format!("{realm}{sep}{}", query.join("&"));
        let mut fetch = Call {
            repo: call.repo,
            op: format!("GET token from {realm}"),
            method: "GET",
            url,
            headers: Vec::new(),
            body: None,
            scopes: Vec::new(),
        };
        let authority = realm
            .parse::<ureq::http::Uri>()
            .ok()
            .and_then(|u| u.authority().map(|a| a.to_string()))
            .unwrap_or_default();
        let credentials = self.credentials(host)?;
        if credentials.is_some()
            && realm.starts_with("http://")
            && !(self.options.insecure || is_loopback(&authority))
        {
            return Err(RegistryError::Protocol {
                at: call_at(&fetch),
                message: "refusing to send credentials to a token realm over plain HTTP".into(),
            });
        }
        if let Some(creds) = &credentials {
            fetch
                .headers
                .push(("Authorization", auth::basic_header(creds)));
        }
        let mut resp = self.send_once(&fetch, None)?;
        if resp.status() != StatusCode::OK {
            return Err(status_error(&fetch, &mut resp));
        }
        let bytes = read_body(&fetch, &mut resp, 1 << 20)?;
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        let token = ["token", "access_token"]
            .iter()
            .find_map(|k| json.get(k)?.as_str().filter(|t| !t.is_empty()))
            .ok_or_else(|| RegistryError::Protocol {
                at: call_at(&fetch),
                message: "the token answer has neither `token` nor `access_token`".into(),
            })?
            .to_string();
        self.auth
            .lock()
            .unwrap()
            .tokens
            .insert((host.clone(), scopes.join(" ")), token.clone());
        Ok(token)
    }

    /// The caller's credentials, else `config.json`'s for `host`; looked up once per host.
    fn credentials(&self, host: &str) -> Result<Option<Credentials>> {
        if let Some(creds) = &self.options.credentials {
            return Ok(Some(creds.clone()));
        }
        if let Some(known) = self.auth.lock().unwrap().credentials.get(host) {
            return Ok(known.clone());
        }
        let found = match auth::docker_config_path(self.options.docker_config.as_deref()) {
            Some(path) => {
                auth::lookup(&path, host).map_err(|message| RegistryError::Credentials {
                    registry: host.to_string(),
                    message,
                })?
            }
            None => None,
        };
        self.auth
            .lock()
            .unwrap()
            .credentials
            .insert(host.to_string(), found.clone());
        Ok(found)
    }

    /// The upload session's URL from `Location`, which may be relative to the registry.
    fn location(&self, call: &Call, resp: &Response<Body>) -> Result<String> {
        let location = header(resp, "Location").ok_or_else(|| RegistryError::Protocol {
            at: call_at(call),
            message: "the registry started an upload but sent no Location".into(),
        })?;
        if location.starts_with("http://") || location.starts_with("https://") {
            Ok(location)
        } else if location.starts_with('/') {
            Ok(format!("{}{location}", self.base(&call.repo.registry)))
        } else {
            Err(RegistryError::Protocol {
                at: call_at(call),
                message: format!("unusable upload Location {location:?}"),
            })
        }
    }
}

fn pull(repo: &Repo) -> Vec<String> {
    vec![format!("repository:{}:pull", repo.name)]
}

fn push(repo: &Repo) -> Vec<String> {
    vec![format!("repository:{}:pull,push", repo.name)]
}

fn at(repo: &Repo, op: String) -> At {
    At {
        registry: repo.registry.clone(),
        repository: repo.name.clone(),
        op,
    }
}

fn call_at(call: &Call) -> At {
    at(call.repo, call.op.clone())
}

fn header(resp: &Response<Body>, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn read_body(call: &Call, resp: &mut Response<Body>, limit: u64) -> Result<Vec<u8>> {
    resp.body_mut()
        .with_config()
        .limit(limit)
        .read_to_vec()
        .map_err(|source| RegistryError::Transport {
            at: call_at(call),
            source: Box::new(source),
        })
}

/// The error for an unexpected status, with what the body says.
fn status_error(call: &Call, resp: &mut Response<Body>) -> RegistryError {
    let code = resp.status().as_u16();
    let body = resp
        .body_mut()
        .with_config()
        .limit(64 << 10)
        .read_to_vec()
        .unwrap_or_default();
    RegistryError::from_status(call_at(call), Status::from_body(code, &body))
}

fn check_digest(call: &Call, expected: &str, bytes: &[u8]) -> Result<()> {
    let actual = sha256_digest(bytes);
    if actual == expected {
        Ok(())
    } else {
        Err(RegistryError::DigestMismatch {
            at: call_at(call),
            expected: expected.to_string(),
            actual,
        })
    }
}

/// Percent-encodes a query value (only the unreserved characters stay).
fn escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `localhost`, `127.0.0.0/8` or `::1`, with or without a port.
fn is_loopback(authority: &str) -> bool {
    let host = if let Some(rest) = authority.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        authority.split(':').next().unwrap_or("")
    };
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_use_http() {
        for h in [
            "127.0.0.1:5000",
            "127.1.2.3",
            "localhost:80",
            "[::1]:5000",
            "LOCALHOST",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        for h in [
            "10.0.0.1:5000",
            "localhost.example:5000",
            "ghcr.io",
            "[::2]:1",
        ] {
            assert!(!is_loopback(h), "{h}");
        }
        let client = Client::new(Options::default());
        assert_eq!(client.base("127.0.0.1:5000"), "http://127.0.0.1:5000");
        assert_eq!(client.base("ghcr.io"), "https://ghcr.io");
        let insecure = Client::new(Options {
            insecure: true,
            ..Options::default()
        });
        assert_eq!(insecure.base("ghcr.io"), "http://ghcr.io");
    }

    #[test]
    fn client_can_be_shared_between_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<Client>();
    }

    #[test]
    fn escapes_query_values() {
        assert_eq!(
            escape("repository:a/b:pull,push"),
            "repository%3Aa%2Fb%3Apull%2Cpush"
        );
        assert_eq!(escape("sha256:ab"), "sha256%3Aab");
    }

    #[test]
    fn ops_read_well_in_errors() {
        let client = Client::new(Options::default());
        let repo = Repo::new("127.0.0.1:5000", "a/b");
        let what = "blob sha256:00".to_string();
        let call = client.call(&repo, "HEAD", "blobs/sha256:00".into(), what, pull(&repo));
        assert_eq!(call.op, "HEAD blob sha256:00");
        assert_eq!(call.url, "http://127.0.0.1:5000/v2/a/b/blobs/sha256:00");
    }
}
