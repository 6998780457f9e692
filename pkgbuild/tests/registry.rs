//! The registry client against a real `docker-registry` (Debian package `docker-registry`), with
//! skopeo reading back what was pushed, and a fault-injecting proxy for the retry paths.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::registry::{docker_config, skopeo_raw, Fault, FaultProxy, RegistryServer};
use pkgbuild::registry::{
    sha256_digest, BlobOutcome, Client, Options, RegistryError, Repo, RetryPolicy,
};
use serde_json::json;

const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// A small image: a config, a large and a small layer, a manifest and an index over it.
struct Image {
    blobs: Vec<Vec<u8>>,
    manifest: Vec<u8>,
    index: Vec<u8>,
}

/// Bytes that do not compress away and differ per seed (xorshift).
fn noise(seed: &str, len: usize) -> Vec<u8> {
    let mut x = seed.bytes().fold(0x9e37_79b9_7f4a_7c15u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    });
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn descriptor(media_type: &str, bytes: &[u8]) -> serde_json::Value {
    json!({"mediaType": media_type, "digest": sha256_digest(bytes), "size": bytes.len()})
}

fn image(seed: &str) -> Image {
    let config = json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Labels": {"seed": seed}},
        "rootfs": {"type": "layers", "diff_ids": []},
    })
    .to_string()
    .into_bytes();
    let big = noise(seed, 300_000);
    let small = noise(&format!("{seed}-small"), 1_000);
    let manifest = json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": descriptor(OCI_CONFIG, &config),
        "layers": [descriptor(OCI_LAYER, &big), descriptor(OCI_LAYER, &small)],
    })
    .to_string()
    .into_bytes();
    let mut entry = descriptor(OCI_MANIFEST, &manifest);
    entry["platform"] = json!({"architecture": "amd64", "os": "linux"});
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [entry]})
        .to_string()
        .into_bytes();
    Image {
        blobs: vec![config, big, small],
        manifest,
        index,
    }
}

/// Tries quickly, so the fault tests stay fast.
fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        attempts: 5,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
    }
}

/// Options that never read this machine's own `~/.docker/config.json`.
fn options() -> Options {
    Options {
        docker_config: Some(PathBuf::from("/nonexistent/config.json")),
        retry: fast_retry(),
        ..Options::default()
    }
}

/// Pushes the blobs, the manifest and the index by digest, then tags the index: the
/// distribution-spec's order. Returns the manifest's and the index's digests.
fn push_image(client: &Client, repo: &Repo, img: &Image, tag: &str) -> (String, String) {
    for blob in &img.blobs {
        client
            .push_blob(repo, &sha256_digest(blob), blob, None)
            .unwrap();
    }
    let m = sha256_digest(&img.manifest);
    assert_eq!(
        client
            .put_manifest(repo, &m, OCI_MANIFEST, &img.manifest)
            .unwrap(),
        m
    );
    let i = sha256_digest(&img.index);
    assert_eq!(
        client
            .put_manifest(repo, &i, OCI_INDEX, &img.index)
            .unwrap(),
        i
    );
    assert_eq!(
        client
            .put_manifest(repo, tag, OCI_INDEX, &img.index)
            .unwrap(),
        i
    );
    (m, i)
}

#[test]
fn push_and_read_back_by_digest_and_tag() {
    let reg = RegistryServer::open();
    let client = Client::new(options());
    let repo = Repo::new(reg.host(), "linuxkit/hello");
    let img = image("hello");

    for blob in &img.blobs {
        let digest = sha256_digest(blob);
        assert!(!client.blob_exists(&repo, &digest).unwrap());
        assert_eq!(
            client.push_blob(&repo, &digest, blob, None).unwrap(),
            BlobOutcome::Uploaded
        );
        assert!(client.blob_exists(&repo, &digest).unwrap());
        assert_eq!(&client.get_blob(&repo, &digest).unwrap(), blob);
    }
    let total: usize = img.blobs.iter().map(Vec::len).sum();
    assert_eq!(client.stats().bytes_uploaded, total as u64);
    assert_eq!(client.stats().blobs_uploaded, 3);

    let (m, i) = push_image(&client, &repo, &img, "v1");
    let index = client.get_manifest(&repo, "v1", &[]).unwrap().unwrap();
    assert_eq!(
        (index.media_type.as_str(), &index.bytes, &index.digest),
        (OCI_INDEX, &img.index, &i)
    );
    let by_digest = client.get_manifest(&repo, &i, &[]).unwrap().unwrap();
    assert_eq!(by_digest, index);
    let manifest = client.get_manifest(&repo, &m, &[]).unwrap().unwrap();
    assert_eq!(
        (
            manifest.media_type.as_str(),
            &manifest.bytes,
            &manifest.digest
        ),
        (OCI_MANIFEST, &img.manifest, &m)
    );
    assert!(client.get_manifest(&repo, "v2", &[]).unwrap().is_none());
    // docker-registry 2.8 has no referrers API: the caller must fall back to the tag schema.
    assert!(client.referrers(&repo, &m).unwrap().is_none());

    // Another client reads back the same bytes.
    let host = reg.host();
    assert_eq!(skopeo_raw(&format!("{host}/linuxkit/hello:v1")), img.index);
    assert_eq!(skopeo_raw(&format!("{host}/linuxkit/hello@{i}")), img.index);
    assert_eq!(
        skopeo_raw(&format!("{host}/linuxkit/hello@{m}")),
        img.manifest
    );

    // Bytes pushed under a digest that is not theirs are refused before anything is sent.
    let before = client.stats().requests;
    let err = client
        .put_manifest(&repo, &i, OCI_MANIFEST, &img.manifest)
        .unwrap_err();
    assert!(matches!(err, RegistryError::DigestMismatch { .. }), "{err}");
    assert_eq!(client.stats().requests, before);
}

#[test]
fn second_push_uploads_nothing() {
    let reg = RegistryServer::open();
    let repo = Repo::new(reg.host(), "linuxkit/again");
    let img = image("again");
    push_image(&Client::new(options()), &repo, &img, "v1");

    let client = Client::new(options());
    for blob in &img.blobs {
        let outcome = client
            .push_blob(&repo, &sha256_digest(blob), blob, None)
            .unwrap();
        assert_eq!(outcome, BlobOutcome::Existed);
    }
    let stats = client.stats();
    assert_eq!(stats.bytes_uploaded, 0);
    assert_eq!(stats.blobs_uploaded, 0);
    assert_eq!(stats.heads, img.blobs.len() as u64);
    assert_eq!(stats.requests, stats.heads, "only HEADs: {stats:?}");
    // The tag can be checked the same way, without fetching the index.
    let index = sha256_digest(&img.index);
    assert_eq!(
        client.manifest_digest(&repo, "v1", &[]).unwrap(),
        Some(index)
    );
    assert_eq!(client.manifest_digest(&repo, "v2", &[]).unwrap(), None);
    assert_eq!(client.stats().requests, client.stats().heads);
}

#[test]
fn mount_across_repositories() {
    let reg = RegistryServer::open();
    let client = Client::new(options());
    let a = Repo::new(reg.host(), "linuxkit/a");
    let b = Repo::new(reg.host(), "linuxkit/b");
    let blob = noise("mount", 200_000);
    let digest = sha256_digest(&blob);
    assert_eq!(
        client.push_blob(&a, &digest, &blob, None).unwrap(),
        BlobOutcome::Uploaded
    );
    let sent = client.stats().bytes_uploaded;
    assert_eq!(
        client
            .push_blob(&b, &digest, &blob, Some("linuxkit/a"))
            .unwrap(),
        BlobOutcome::Mounted
    );
    assert_eq!(
        client.stats().bytes_uploaded,
        sent,
        "a mount sends no bytes"
    );
    assert_eq!(client.get_blob(&b, &digest).unwrap(), blob);

    // A source that lacks the blob: the registry opens an upload session instead, which is used.
    let other = noise("not-mountable", 1_000);
    let outcome = client
        .push_blob(&b, &sha256_digest(&other), &other, Some("linuxkit/empty"))
        .unwrap();
    assert_eq!(outcome, BlobOutcome::Uploaded);
    assert_eq!(client.get_blob(&b, &sha256_digest(&other)).unwrap(), other);
}

#[test]
fn htpasswd_registry_takes_credentials_from_docker_config() {
    let reg = RegistryServer::htpasswd("alice", "s3cret");
    let host = reg.host();
    let repo = Repo::new(&host, "linuxkit/private");
    let img = image("private");
    let good = tempfile::tempdir().unwrap();
    let client = Client::new(Options {
        docker_config: Some(docker_config(good.path(), &host, "alice", "s3cret")),
        ..options()
    });
    let (_, i) = push_image(&client, &repo, &img, "v1");
    let got = client.get_manifest(&repo, "v1", &[]).unwrap().unwrap();
    assert_eq!((got.bytes, got.digest), (img.index.clone(), i));

    let blob = &img.blobs[0];
    let digest = sha256_digest(blob);
    let bad = tempfile::tempdir().unwrap();
    let bad_config = docker_config(bad.path(), &host, "alice", "wrong");
    let wrong = Client::new(Options {
        docker_config: Some(bad_config.clone()),
        ..options()
    });
    let err = wrong.push_blob(&repo, &digest, blob, None).unwrap_err();
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err}");
    let msg = err.to_string();
    for part in [host.as_str(), "linuxkit/private", "401 Unauthorized"] {
        assert!(msg.contains(part), "{msg:?} should name {part}");
    }
    // Not retried: a 4xx does not heal.
    assert_eq!(wrong.stats().retries, 0);
    // A request with a body gets the registry's own error code back.
    let err = wrong
        .put_manifest(&repo, "v2", OCI_INDEX, &img.index)
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("PUT manifest v2: 401 Unauthorized (UNAUTHORIZED: "),
        "{msg}"
    );

    let anonymous = Client::new(options());
    let err = anonymous.get_manifest(&repo, "v1", &[]).unwrap_err();
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err}");

    // Credentials given by the caller come before config.json's.
    let explicit = Client::new(Options {
        credentials: Some(("alice".into(), "s3cret".into())),
        docker_config: Some(bad_config),
        ..options()
    });
    assert!(explicit.blob_exists(&repo, &digest).unwrap());
}

#[test]
fn credential_helper_named_in_docker_config() {
    let reg = RegistryServer::htpasswd("dave", "helper-pw");
    let host = reg.host();
    let dir = tempfile::tempdir().unwrap();
    // A credential helper speaks JSON on stdout for the server named on stdin.
    let helper = dir.path().join("docker-credential-pkgbuildtest");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\nread server\nif [ \"$server\" != \"{host}\" ]; then\n  \
             echo 'credentials not found in native keychain'; exit 1\nfi\n\
             echo '{{\"ServerURL\":\"{host}\",\"Username\":\"dave\",\"Secret\":\"helper-pw\"}}'\n"
        ),
    )
    .unwrap();
    let mut perms = std::fs::metadata(&helper).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&helper, perms).unwrap();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![dir.path().to_path_buf()];
    dirs.extend(std::env::split_paths(&path));
    // Only prepends a folder: the other tests still find their programs.
    std::env::set_var("PATH", std::env::join_paths(dirs).unwrap());

    let repo = Repo::new(&host, "linuxkit/helped");
    for (key, value) in [
        ("credHelpers", json!({ host.clone(): "pkgbuildtest" })),
        ("credsStore", json!("pkgbuildtest")),
    ] {
        let config = dir.path().join(format!("{key}.json"));
        std::fs::write(&config, json!({ key: value }).to_string()).unwrap();
        let client = Client::new(Options {
            docker_config: Some(config),
            ..options()
        });
        let blob = noise(key, 5_000);
        let outcome = client
            .push_blob(&repo, &sha256_digest(&blob), &blob, None)
            .unwrap();
        assert_eq!(outcome, BlobOutcome::Uploaded, "{key}");
    }
}

#[test]
fn bearer_tokens_are_fetched_per_scope_and_cached() {
    let reg = RegistryServer::open();
    let proxy = FaultProxy::with_token_auth(reg.port, "carol", "pw");
    let client = Client::new(Options {
        credentials: Some(("carol".into(), "pw".into())),
        ..options()
    });
    let a = Repo::new(proxy.host(), "team/a");
    let b = Repo::new(proxy.host(), "team/b");
    let one = noise("bearer-1", 10_000);
    let two = noise("bearer-2", 10_000);
    let d1 = sha256_digest(&one);
    let d2 = sha256_digest(&two);

    assert_eq!(
        client.push_blob(&a, &d1, &one, None).unwrap(),
        BlobOutcome::Uploaded
    );
    assert_eq!(
        proxy.token_requests(),
        vec![
            vec!["repository:team/a:pull".to_string()],
            vec!["repository:team/a:pull,push".to_string()],
        ]
    );
    // Both tokens are cached: a second blob needs no new one.
    client.push_blob(&a, &d2, &two, None).unwrap();
    assert_eq!(proxy.token_requests().len(), 2);

    // A mount asks for push on the target and pull on the source.
    assert_eq!(
        client.push_blob(&b, &d1, &one, Some("team/a")).unwrap(),
        BlobOutcome::Mounted
    );
    assert_eq!(
        proxy.token_requests().last().unwrap(),
        &vec![
            "repository:team/b:pull,push".to_string(),
            "repository:team/a:pull".to_string()
        ]
    );
    let img = image("bearer");
    let (_, i) = push_image(&client, &b, &img, "v1");
    assert_eq!(
        client.get_manifest(&b, "v1", &[]).unwrap().unwrap().digest,
        i
    );

    let wrong = Client::new(Options {
        credentials: Some(("carol".into(), "nope".into())),
        ..options()
    });
    let err = wrong.blob_exists(&a, &d1).unwrap_err();
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err}");
    let msg = err.to_string();
    for part in [
        proxy.host().as_str(),
        "team/a",
        "401",
        "bad user name or password",
    ] {
        assert!(msg.contains(part), "{msg:?} should name {part}");
    }
}

/// The upload session named by a `PUT /v2/.../blobs/uploads/<uuid>?...` line.
fn session(line: &str) -> Option<String> {
    let rest = line.split("/blobs/uploads/").nth(1)?;
    Some(rest.split('?').next()?.to_string())
}

#[test]
fn faults_are_retried_and_the_push_completes() {
    let reg = RegistryServer::open();
    let proxy = FaultProxy::start(reg.port);
    let client = Client::new(Options {
        timeout: Duration::from_secs(1),
        ..options()
    });
    let repo = Repo::new(proxy.host(), "linuxkit/faulty");
    let img = image("faulty");
    let p = "/v2/linuxkit/faulty";
    proxy.inject("HEAD ", Fault::Status(503), 2);
    proxy.inject("POST ", Fault::Reset, 1);
    proxy.inject(&format!("PUT {p}/blobs/"), Fault::CutBody, 1);
    proxy.inject(&format!("PUT {p}/manifests/sha256"), Fault::Status(500), 1);
    proxy.inject(&format!("PUT {p}/manifests/v1"), Fault::Status(429), 1);
    proxy.inject(
        &format!("GET {p}/manifests/"),
        Fault::Stall(Duration::from_secs(3)),
        1,
    );
    proxy.inject(&format!("GET {p}/blobs/"), Fault::Reset, 1);

    let (m, i) = push_image(&client, &repo, &img, "v1");
    assert_eq!(
        (m.clone(), i.clone()),
        (sha256_digest(&img.manifest), sha256_digest(&img.index))
    );
    let got = client.get_manifest(&repo, "v1", &[]).unwrap().unwrap();
    assert_eq!((got.bytes, got.digest), (img.index.clone(), i.clone()));
    let big = &img.blobs[1];
    assert_eq!(&client.get_blob(&repo, &sha256_digest(big)).unwrap(), big);
    assert_eq!(proxy.pending(), 0, "every fault was met");
    assert_eq!(client.stats().retries, 8);

    // The cut upload started again in a new session.
    let puts: Vec<String> = proxy
        .seen()
        .into_iter()
        .filter(|l| l.starts_with(&format!("PUT {p}/blobs/uploads/")))
        .collect();
    assert_eq!(puts.len(), img.blobs.len() + 1);
    assert_ne!(session(&puts[0]), session(&puts[1]));

    // What the registry holds, read without the proxy, is what was pushed.
    let direct = Client::new(options());
    let repo = Repo::new(reg.host(), "linuxkit/faulty");
    for blob in &img.blobs {
        assert_eq!(&direct.get_blob(&repo, &sha256_digest(blob)).unwrap(), blob);
    }
    let stored = direct.get_manifest(&repo, &m, &[]).unwrap().unwrap();
    assert_eq!(stored.bytes, img.manifest);
}

#[test]
fn without_retries_the_error_names_the_status() {
    let reg = RegistryServer::open();
    let proxy = FaultProxy::start(reg.port);
    let repo = Repo::new(proxy.host(), "linuxkit/strict");
    let blob = noise("strict", 1_000);
    let digest = sha256_digest(&blob);
    let once = Client::new(Options {
        retry: RetryPolicy::none(),
        ..options()
    });

    proxy.inject("HEAD ", Fault::Status(503), 1);
    let err = once.push_blob(&repo, &digest, &blob, None).unwrap_err();
    assert!(matches!(err, RegistryError::Server { .. }), "{err}");
    let msg = err.to_string();
    for part in [
        proxy.host().as_str(),
        "linuxkit/strict",
        "HEAD blob",
        "503 Service Unavailable",
    ] {
        assert!(msg.contains(part), "{msg:?} should name {part}");
    }

    proxy.inject("POST ", Fault::Reset, 1);
    let err = once.push_blob(&repo, &digest, &blob, None).unwrap_err();
    assert!(matches!(err, RegistryError::Transport { .. }), "{err}");
    assert!(err.to_string().contains("POST upload"), "{err}");

    // With retries on, 501 and other 4xx still fail at once, with the registry's words.
    let retrying = Client::new(options());
    let path = "/v2/linuxkit/strict/manifests/v1";
    proxy.inject(&format!("PUT {path}"), Fault::Status(501), 1);
    let err = retrying
        .put_manifest(&repo, "v1", OCI_CONFIG, b"{}")
        .unwrap_err();
    assert_eq!(err.status(), Some(501), "{err}");
    assert!(err.to_string().contains("INJECTED: fault 501"), "{err}");
    proxy.inject("HEAD ", Fault::Status(400), 1);
    let err = retrying.blob_exists(&repo, &digest).unwrap_err();
    assert!(matches!(err, RegistryError::Status { .. }), "{err}");
    assert_eq!(retrying.stats().retries, 0);
    let put_count = proxy
        .seen()
        .iter()
        .filter(|l| l.starts_with(&format!("PUT {path}")))
        .count();
    assert_eq!(put_count, 1);
}

#[test]
fn referrers_api_or_fallback() {
    let reg = RegistryServer::open();
    let proxy = FaultProxy::start(reg.port);
    let client = Client::new(options());
    let repo = Repo::new(proxy.host(), "linuxkit/refs");
    let subject = sha256_digest(b"subject");
    let sbom = sha256_digest(b"sbom");
    // A registry with the API answers an index of the referrers.
    let answer = json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": sbom, "size": 4,
                       "artifactType": "application/spdx+json"}],
    });
    proxy.inject(
        "GET /v2/linuxkit/refs/referrers/",
        Fault::Respond(200, OCI_INDEX, answer.to_string()),
        1,
    );
    let found = client.referrers(&repo, &subject).unwrap().unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].digest().to_string(), sbom);
    // docker-registry itself lacks it.
    assert!(client.referrers(&repo, &subject).unwrap().is_none());
}
