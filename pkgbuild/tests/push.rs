//! `pkgbuild push`, `resolve` and `verify` against a real docker-registry on loopback: digests
//! read back by skopeo, no re-upload, merging, dirty trees, version tags, auth and faults.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::registry::{docker_config, skopeo_raw, Fault, FaultProxy, RegistryServer};
use common::{pinned, run_ok, Fixture};
use pkgbuild::registry::{sha256_digest, Client, Options, Repo};

const AMD64: &str = "linux/amd64";

/// pkgbuild with its own store and Docker config folder, so the host's credentials never leak in.
fn pkgbuild(fx: &Fixture, store: &Path, docker: &Path, args: &[&str]) -> Output {
    fx.pkgbuild_command(store)
        .args(args)
        .env("DOCKER_CONFIG", docker)
        .output()
        .unwrap()
}

fn ok(out: Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "pkgbuild failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn failed(out: Output) -> String {
    assert!(
        !out.status.success(),
        "expected a failure:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// The `ref@digest` of a push line.
fn pushed(stdout: &str, pkg: &str) -> (String, String) {
    let line = stdout
        .lines()
        .find(|l| l.starts_with(&format!("{pkg}: pushed ")))
        .unwrap_or_else(|| panic!("no push line for {pkg}:\n{stdout}"));
    let pinned = line.split_whitespace().nth(2).unwrap();
    let (r, d) = pinned.split_once('@').unwrap();
    (r.to_string(), d.to_string())
}

struct Setup {
    fx: Fixture,
    store: tempfile::TempDir,
    docker: tempfile::TempDir,
}

fn setup() -> Setup {
    Setup {
        fx: Fixture::new(),
        store: tempfile::tempdir().unwrap(),
        docker: tempfile::tempdir().unwrap(),
    }
}

impl Setup {
    fn run(&self, args: &[&str]) -> Output {
        pkgbuild(&self.fx, self.store.path(), self.docker.path(), args)
    }
}

#[test]
fn push_reads_back_identical_and_a_second_push_uploads_nothing() {
    let registry = RegistryServer::open();
    let s = setup();
    let org = format!("{}/team", registry.host());
    let out = ok(s.run(&[
        "push",
        "hello",
        "other",
        "--org",
        &org,
        "--platforms",
        AMD64,
    ]));
    let (hello_ref, hello_digest) = pushed(&out, "hello");
    let (other_ref, _) = pushed(&out, "other");
    assert!(hello_ref.starts_with(&format!("{org}/hello:")), "{out}");
    assert!(other_ref.starts_with(&format!("{org}/other:")), "{out}");
    // The empty config of other's SBOM came from hello's repository without an upload.
    let other_line = out
        .lines()
        .find(|l| l.starts_with("other: pushed"))
        .unwrap();
    assert!(other_line.contains("1 mounted"), "{other_line}");

    // What the registry serves is byte for byte what was built.
    let local = ok(s.run(&["build", "hello", "--platforms", AMD64]));
    assert_eq!(pinned(&local, "hello").1, hello_digest);
    for reference in [
        hello_ref.clone(),
        format!("{org}/hello@{hello_digest}"),
        format!("{org}/hello:0.3.1"),
    ] {
        assert_eq!(
            sha256_digest(&skopeo_raw(&reference)),
            hello_digest,
            "{reference}"
        );
    }
    let copy = tempfile::tempdir().unwrap();
    run_ok(Command::new("skopeo").args([
        "copy",
        "--all",
        "--preserve-digests",
        "--src-tls-verify=false",
        &format!("docker://{hello_ref}"),
        &format!("oci:{}:hello", copy.path().display()),
    ]));
    let copied = common::read_json(&copy.path().join("index.json"));
    assert_eq!(copied["manifests"][0]["digest"], hello_digest.as_str());

    // The SBOM travels as a referrer, under the tag schema since this registry has no referrers API.
    let index: serde_json::Value = serde_json::from_slice(&skopeo_raw(&hello_ref)).unwrap();
    let manifest_digest = index["manifests"][0]["digest"].as_str().unwrap();
    let fallback = format!("{org}/hello:{}", manifest_digest.replace(':', "-"));
    let referrers: serde_json::Value = serde_json::from_slice(&skopeo_raw(&fallback)).unwrap();
    assert_eq!(
        referrers["manifests"][0]["artifactType"],
        "application/spdx+json"
    );

    let again = ok(s.run(&[
        "push",
        "hello",
        "other",
        "--org",
        &org,
        "--platforms",
        AMD64,
    ]));
    assert!(again.contains("(0 blobs uploaded"), "{again}");
    assert!(again.contains("0 blobs uploaded, 0 bytes"), "{again}");
    assert_eq!(pushed(&again, "hello").1, hello_digest);
}

#[test]
fn push_merges_platforms_pushed_from_elsewhere() {
    let registry = RegistryServer::open();
    let s = setup();
    let org = format!("{}/team", registry.host());
    let tag = s.fx.show_tag(s.store.path(), "hello");
    let tag = tag.rsplit_once(':').unwrap().1.to_string();

    // Another machine pushed a riscv64 image under the same tag.
    let client = Client::new(Options::default());
    let repo = Repo::new(registry.host(), "team/hello");
    let config =
        br#"{"architecture":"riscv64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    client
        .push_blob(&repo, &sha256_digest(config), config, None)
        .unwrap();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256_digest(config), "size": config.len()},
        "layers": []
    })
    .to_string();
    let manifest_digest = sha256_digest(manifest.as_bytes());
    client
        .put_manifest(
            &repo,
            &manifest_digest,
            "application/vnd.oci.image.manifest.v1+json",
            manifest.as_bytes(),
        )
        .unwrap();
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest,
                       "size": manifest.len(), "platform": {"architecture": "riscv64", "os": "linux"}}]
    })
    .to_string();
    client
        .put_manifest(
            &repo,
            &tag,
            "application/vnd.oci.image.index.v1+json",
            index.as_bytes(),
        )
        .unwrap();

    let out = ok(s.run(&["push", "hello", "--org", &org, "--platforms", AMD64]));
    let (reference, digest) = pushed(&out, "hello");
    let served: serde_json::Value = serde_json::from_slice(&skopeo_raw(&reference)).unwrap();
    assert_eq!(
        sha256_digest(&serde_json::to_vec(&served).unwrap()).len(),
        digest.len()
    );
    assert_eq!(sha256_digest(&skopeo_raw(&reference)), digest);
    let archs: Vec<&str> = served["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["platform"]["architecture"].as_str().unwrap())
        .collect();
    assert_eq!(archs, ["amd64", "riscv64"], "{served}");
}

#[test]
fn dirty_trees_and_moved_version_tags_are_refused() {
    let registry = RegistryServer::open();
    let s = setup();
    let org = format!("{}/team", registry.host());
    let push = |extra: &[&str]| {
        let mut args = vec!["push", "hello", "--org", &org, "--platforms", AMD64];
        args.extend_from_slice(extra);
        s.run(&args)
    };

    // An uncommitted change in the package, or in a path dependency, blocks a push.
    s.fx.write("pkgs/hello/hello.conf", "greeting = dirty\n");
    let err = failed(push(&[]));
    assert!(
        err.contains("uncommitted changes") && err.contains("hello.conf"),
        "{err}"
    );
    assert!(err.contains("--allow-dirty"), "{err}");
    s.fx.edit("pkgs/hello/hello.conf", "dirty", "hi");
    s.fx.edit("crates/greeting/src/lib.rs", "hello", "hullo");
    let err = failed(push(&[]));
    assert!(err.contains("lib.rs"), "{err}");
    let dirty = ok(push(&["--allow-dirty"]));
    let (_, dirty_digest) = pushed(&dirty, "hello");

    // Committed, the same content pushes again to the same digest.
    common::git(s.fx.root(), &["commit", "-qam", "hullo"]);
    assert_eq!(pushed(&ok(push(&[])), "hello").1, dirty_digest);

    // New content under the same version: the version tag does not move.
    s.fx.edit("pkgs/hello/src/main.rs", "from {}", "from {}!");
    common::git(s.fx.root(), &["commit", "-qam", "louder"]);
    let err = failed(push(&[]));
    assert!(
        err.contains(&format!(
            "{org}/hello:0.3.1 already points to {dirty_digest}"
        )),
        "{err}"
    );
    assert!(err.contains("--force"), "{err}");
    let forced = ok(push(&["--force"]));
    let (_, digest) = pushed(&forced, "hello");
    assert_ne!(digest, dirty_digest);
    assert_eq!(
        sha256_digest(&skopeo_raw(&format!("{org}/hello:0.3.1"))),
        digest
    );
}

#[test]
fn auth_failures_name_registry_repository_and_status() {
    let registry = RegistryServer::htpasswd("ci", "s3cret");
    let s = setup();
    let org = format!("{}/team", registry.host());
    let err = failed(s.run(&["push", "other", "--org", &org]));
    assert!(
        err.contains(&registry.host()) && err.contains("team/other") && err.contains("401"),
        "{err}"
    );

    docker_config(s.docker.path(), &registry.host(), "ci", "wrong");
    let err = failed(s.run(&["push", "other", "--org", &org]));
    assert!(err.contains("401"), "{err}");

    docker_config(s.docker.path(), &registry.host(), "ci", "s3cret");
    let out = ok(s.run(&["push", "other", "--org", &org]));
    assert!(out.contains("other: pushed"), "{out}");
}

#[test]
fn faults_during_a_push_still_end_with_the_same_digests() {
    let registry = RegistryServer::open();
    let proxy = FaultProxy::start(registry.port);
    let s = setup();
    let local = ok(s.run(&["build", "other"]));
    let (_, digest) = pinned(&local, "other");

    proxy.inject("HEAD /v2/team/other/blobs/", Fault::Status(503), 2);
    proxy.inject("PUT /v2/team/other/blobs/uploads/", Fault::CutBody, 1);
    proxy.inject("PUT /v2/team/other/manifests/", Fault::Reset, 1);
    proxy.inject("PUT /v2/team/other/manifests/", Fault::Status(500), 1);
    let org = format!("{}/team", proxy.host());
    let out = ok(s.run(&["push", "other", "--org", &org]));
    assert_eq!(proxy.pending(), 0, "every fault was hit");
    assert_eq!(pushed(&out, "other").1, digest);
    assert!(!out.contains(", 0 retries"), "{out}");
    // Straight from the registry, not through the proxy.
    let tag = pushed(&out, "other")
        .0
        .rsplit_once(':')
        .unwrap()
        .1
        .to_string();
    assert_eq!(
        sha256_digest(&skopeo_raw(&format!(
            "{}/team/other:{tag}",
            registry.host()
        ))),
        digest
    );
}

#[test]
fn resolve_then_verify_against_the_registry() {
    let registry = RegistryServer::open();
    let s = setup();
    let org = format!("{}/team", registry.host());
    s.fx.write(
        "os.yml",
        &format!("# pinned by pkgbuild\nonboot:\n  - name: hello\n    image: {org}/hello\nservices:\n  - name: other\n    image: {org}/other:latest\n"),
    );
    common::git(s.fx.root(), &["add", "os.yml"]);
    common::git(s.fx.root(), &["commit", "-qm", "os"]);
    ok(s.run(&["push", "--org", &org, "--platforms", AMD64]));

    // Before resolving, nothing is pinned.
    let out = s.run(&["verify", "os.yml", "--platforms", AMD64]);
    assert_eq!(out.status.code(), Some(1));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("os.yml:4: ") && report.contains("os.yml:7: "),
        "{report}"
    );

    ok(s.run(&[
        "resolve",
        "-i",
        "os.yml",
        "--org",
        &org,
        "--platforms",
        AMD64,
    ]));
    let text = std::fs::read_to_string(s.fx.root().join("os.yml")).unwrap();
    assert!(text.starts_with("# pinned by pkgbuild\n"), "{text}");
    let verified = ok(s.run(&["verify", "os.yml", "--platforms", AMD64]));
    assert!(
        verified.contains("every reference is pinned and held"),
        "{verified}"
    );

    // The registry holds amd64 only: asking for arm64 names the line.
    let out = s.run(&["verify", "os.yml"]);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("os.yml:4: ") && report.contains("has no linux/arm64 image"),
        "{report}"
    );
}

/// The fake kernel image, copied by skopeo to the registry as a single-platform Docker v2s2
/// image: the other shape a registry serves.
fn push_fake_kernel(registry: &RegistryServer, dir: &Path, kernel: &[u8]) -> String {
    let layout = common::kernel::fake_kernel(dir, &[("kernel", kernel)]);
    let reference = format!("{}/linuxkit/kernel:fake", registry.host());
    run_ok(
        Command::new("skopeo")
            .args([
                "copy",
                "--quiet",
                "--format",
                "v2s2",
                "--dest-tls-verify=false",
            ])
            .args(["--dest-creds", "ci:s3cret"])
            .arg(layout)
            .arg(format!("docker://{reference}")),
    );
    reference
}

#[test]
fn image_pulls_what_the_store_lacks_with_push_credentials() {
    let registry = RegistryServer::htpasswd("ci", "s3cret");
    let s = setup();
    let org = format!("{}/team", registry.host());
    docker_config(s.docker.path(), &registry.host(), "ci", "s3cret");
    let (_, digest) = pushed(
        &ok(s.run(&["push", "other", "--org", &org, "--platforms", AMD64])),
        "other",
    );
    let work = tempfile::tempdir().unwrap();
    let kernel_bytes = b"not really a kernel, but its bytes must arrive".to_vec();
    let kernel = push_fake_kernel(&registry, work.path(), &kernel_bytes);
    let manifest = work.path().join("os.yml");
    std::fs::write(
        &manifest,
        format!(
            "kernel:\n  image: {kernel}\n  cmdline: \"console=ttyS0\"\nservices:\n  - name: other\n    image: {org}/other@{digest}\n"
        ),
    )
    .unwrap();
    let image = |store: &Path, docker: &Path, arch: &str, out: &Path| {
        let manifest = manifest.to_str().unwrap();
        let out = out.to_str().unwrap();
        let args = [
            "image", manifest, "--format", "tar", "--arch", arch, "-o", out,
        ];
        pkgbuild(&s.fx, store, docker, &args)
    };

    // A store that holds neither image: both are pulled, with the credentials push uses.
    let store = tempfile::tempdir().unwrap();
    let out_a = work.path().join("a");
    let made = image(store.path(), s.docker.path(), "amd64", &out_a);
    ok(made.clone());
    let log = String::from_utf8_lossy(&made.stderr);
    assert!(
        log.contains(&format!("pulling {kernel} "))
            && log.contains(&format!("pulling {org}/other@{digest} ")),
        "{log}"
    );
    assert_eq!(std::fs::read(out_a.join("kernel")).unwrap(), kernel_bytes);
    let listing = run_ok(Command::new("tar").arg("-tf").arg(out_a.join("rootfs.tar")));
    for path in [
        "lib/modules/6.1.0-fake/modules.dep",
        "containers/services/other/config.json",
        "containers/services/other/rootfs",
    ] {
        assert!(
            listing.lines().any(|l| l.trim_end_matches('/') == path),
            "{path} missing:\n{listing}"
        );
    }
    let names = ok(pkgbuild(&s.fx, store.path(), s.docker.path(), &["ls"]));
    assert!(names.contains(&format!("{kernel} ")), "{names}");

    // Pulled once: with the registry gone, the store alone makes the same machine.
    drop(registry);
    let out_b = work.path().join("b");
    ok(image(store.path(), s.docker.path(), "amd64", &out_b));
    assert_eq!(
        std::fs::read(out_a.join("rootfs.tar")).unwrap(),
        std::fs::read(out_b.join("rootfs.tar")).unwrap()
    );

    // What the registry cannot give is an error naming the reference and the reason; nothing
    // is named in the store for it.
    let empty = tempfile::tempdir().unwrap();
    let err = failed(image(empty.path(), s.docker.path(), "amd64", &out_b));
    assert!(err.contains(&kernel) && err.contains("kernel"), "{err}");
    let names = ok(pkgbuild(&s.fx, empty.path(), s.docker.path(), &["ls"]));
    assert!(!names.contains(&kernel), "{names}");
}

#[test]
fn image_pulls_refuse_bad_credentials_and_other_platforms() {
    let registry = RegistryServer::htpasswd("ci", "s3cret");
    let s = setup();
    let work = tempfile::tempdir().unwrap();
    let kernel = push_fake_kernel(&registry, work.path(), b"k");
    let manifest = work.path().join("os.yml");
    std::fs::write(&manifest, format!("kernel:\n  image: {kernel}\n")).unwrap();
    let run = |docker: &Path, arch: &str| {
        let store = tempfile::tempdir().unwrap();
        let out = work.path().join("out");
        let (manifest, out) = (manifest.to_str().unwrap(), out.to_str().unwrap());
        failed(pkgbuild(
            &s.fx,
            store.path(),
            docker,
            &["image", manifest, "--arch", arch, "-o", out],
        ))
    };
    docker_config(s.docker.path(), &registry.host(), "ci", "wrong");
    let err = run(s.docker.path(), "amd64");
    assert!(
        err.contains("401") && err.contains("linuxkit/kernel"),
        "{err}"
    );
    docker_config(s.docker.path(), &registry.host(), "ci", "s3cret");
    let err = run(s.docker.path(), "arm64");
    assert!(
        err.contains("single-platform image for amd64, not linux/arm64"),
        "{err}"
    );
}

#[test]
fn a_workspace_plans_each_package_once() {
    // push checks the tree, builds and pushes from one plan: git and cargo metadata are asked
    // once per package, not once per step (and each platform's toolchain once per workspace).
    let fx = common::Fixture::new();
    let ws = pkgbuild::workspace::Workspace::load(Some(&fx.root().join("Cargo.toml"))).unwrap();
    let pkg = ws.select(&["other".to_string()]).unwrap()[0];
    let first = ws.plan(pkg).unwrap();
    let again = ws.plan(pkg).unwrap();
    assert!(std::rc::Rc::ptr_eq(&first, &again));
    assert!(
        first.reference.starts_with("example/other:"),
        "{}",
        first.reference
    );
}
