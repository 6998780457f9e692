//! Builds the fixture for all three platforms in two checkouts and checks the images with
//! skopeo, umoci and qemu-user.

mod common;

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::{pinned, read_json, require, run_ok, Fixture, HELLO_CONFIG};

const PLATFORMS: [(&str, &str, &str); 3] = [
    ("amd64", "x86_64", ""),
    ("arm64", "aarch64", "qemu-aarch64-static"),
    ("s390x", "s390x", "qemu-s390x-static"),
];

#[test]
fn three_platform_images_are_reproducible_and_readable_by_real_tools() {
    require("skopeo", "skopeo");
    require("umoci", "umoci");
    require("qemu-aarch64-static", "qemu-user-static");
    require("qemu-s390x-static", "qemu-user-static");

    // Two checkouts at different paths, each with a clean store. The first builds in the target
    // dir every test shares, the second from nothing in its own.
    let a = Fixture::new();
    let b = a.clone_to_new_path().with_own_target_dir();
    let store_a = tempfile::tempdir().unwrap();
    let store_b = tempfile::tempdir().unwrap();
    let out_a = a.pkgbuild_ok(store_a.path(), &["build", "hello"]);
    let out_b = b.pkgbuild_ok(store_b.path(), &["build", "hello"]);
    let (reference, digest) = pinned(&out_a, "hello");
    assert_eq!(
        pinned(&out_b, "hello"),
        (reference.clone(), digest.clone()),
        "not reproducible"
    );
    for (arch, _, _) in PLATFORMS {
        assert!(
            out_a.contains(&format!("hello linux/{arch}: built in")),
            "{out_a}"
        );
    }

    let image = format!("oci:{}:{reference}", store_a.path().display());
    // The index, read by skopeo, lists the three platforms.
    let raw: serde_json::Value = serde_json::from_str(&run_ok(
        Command::new("skopeo").args(["inspect", "--raw", &image]),
    ))
    .unwrap();
    assert_eq!(raw["mediaType"], "application/vnd.oci.image.index.v1+json");
    let archs: BTreeSet<String> = raw["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["platform"]["architecture"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        archs,
        BTreeSet::from(["amd64".into(), "arm64".into(), "s390x".into()])
    );

    // skopeo copies every platform with identical digests.
    let copy = tempfile::tempdir().unwrap();
    run_ok(Command::new("skopeo").args([
        "copy",
        "--all",
        "--preserve-digests",
        &image,
        &format!("oci:{}:copy", copy.path().display()),
    ]));
    let copied = read_json(&copy.path().join("index.json"));
    assert_eq!(copied["manifests"][0]["digest"], digest.as_str());

    let index_json = read_json(&store_a.path().join("index.json"));
    for (arch, uname, qemu) in PLATFORMS {
        // Each manifest and config, as skopeo reads them.
        let inspect: serde_json::Value =
            serde_json::from_str(&run_ok(Command::new("skopeo").args([
                "inspect",
                "--override-arch",
                arch,
                &image,
            ])))
            .unwrap();
        assert_eq!(inspect["Architecture"], arch);
        assert_eq!(inspect["Env"][0], "GREETING=hi");
        let label = inspect["Labels"]["org.mobyproject.config"]
            .as_str()
            .unwrap();
        let label: serde_json::Value = serde_json::from_str(label).unwrap();
        assert_eq!(
            label,
            serde_json::from_str::<serde_json::Value>(HELLO_CONFIG).unwrap()
        );
        assert_eq!(
            inspect["Labels"]["org.opencontainers.image.version"],
            "0.3.1"
        );
        assert_eq!(
            inspect["Labels"]["org.opencontainers.image.source"],
            "https://example.invalid/hello"
        );
        assert_eq!(inspect["Created"], "2026-01-02T03:04:05Z");
        let config: serde_json::Value =
            serde_json::from_str(&run_ok(Command::new("skopeo").args([
                "inspect",
                "--config",
                "--override-arch",
                arch,
                &image,
            ])))
            .unwrap();
        assert_eq!(config["config"]["Entrypoint"][0], "/usr/sbin/hello");
        assert_eq!(config["config"]["Cmd"][0], "--loud");

        // One platform copied out, then unpacked by umoci: exactly the declared files.
        let single = tempfile::tempdir().unwrap();
        let single_ref = format!("oci:{}:one", single.path().display());
        run_ok(Command::new("skopeo").args(["copy", "--override-arch", arch, &image, &single_ref]));
        let bundle = single.path().join("bundle");
        run_ok(
            Command::new("umoci")
                .args(["unpack", "--rootless", "--image"])
                .arg(format!("{}:one", single.path().display()))
                .arg(&bundle),
        );
        let rootfs = bundle.join("rootfs");
        assert_eq!(
            tree(&rootfs),
            vec![
                ("etc".to_string(), 0o40755),
                ("etc/hello.conf".to_string(), 0o100600),
                ("run".to_string(), 0o40755),
                ("usr".to_string(), 0o40755),
                ("usr/sbin".to_string(), 0o40755),
                ("usr/sbin/hello".to_string(), 0o100755),
            ]
        );
        assert_eq!(
            std::fs::read_to_string(rootfs.join("etc/hello.conf")).unwrap(),
            "greeting = hi\n"
        );

        // The binary is static and runs (natively or under qemu-user) in an empty environment.
        let binary = rootfs.join("usr/sbin/hello");
        let mut cmd = if qemu.is_empty() {
            Command::new(&binary)
        } else {
            Command::new(qemu)
        };
        if !qemu.is_empty() {
            cmd.arg(&binary);
        }
        let output = run_ok(cmd.env_clear());
        assert_eq!(output.trim(), format!("hello from {uname}"));

        // Its SBOM is a referrer of the platform manifest, in the layout.
        let manifest_digest = raw["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["platform"]["architecture"] == arch)
            .unwrap()["digest"]
            .as_str()
            .unwrap()
            .to_string();
        let sbom = sbom_for(store_a.path(), &index_json, &manifest_digest);
        assert_eq!(sbom["spdxVersion"], "SPDX-2.3");
        let names: Vec<&str> = sbom["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["hello", "greeting", "leftpad"]);
        let leftpad = &sbom["packages"][2];
        assert_eq!(
            leftpad["externalRefs"][0]["referenceLocator"],
            "pkg:cargo/leftpad@1.0.0"
        );
        assert_eq!(leftpad["licenseDeclared"], "MIT OR Apache-2.0");
        assert_eq!(
            leftpad["checksums"][0]["checksumValue"]
                .as_str()
                .unwrap()
                .len(),
            64
        );
        let binary_sha = common_sha256(&binary);
        assert_eq!(
            sbom["packages"][0]["checksums"][0]["checksumValue"],
            binary_sha.as_str()
        );
    }
}

/// Paths below `root` with their modes, sorted.
fn tree(root: &Path) -> Vec<(String, u32)> {
    let mut out = Vec::new();
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, u32)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            out.push((
                path.strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .to_string(),
                meta.permissions().mode(),
            ));
            if meta.is_dir() {
                walk(root, &path, out);
            }
        }
    }
    walk(root, root, &mut out);
    out.sort();
    out
}

fn blob(store: &Path, digest: &str) -> Vec<u8> {
    std::fs::read(
        store
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:")),
    )
    .unwrap()
}

/// Finds the SPDX document whose artifact manifest has `subject` as its subject.
fn sbom_for(store: &Path, index_json: &serde_json::Value, subject: &str) -> serde_json::Value {
    for entry in index_json["manifests"].as_array().unwrap() {
        if entry["artifactType"] != "application/spdx+json" {
            continue;
        }
        let manifest: serde_json::Value =
            serde_json::from_slice(&blob(store, entry["digest"].as_str().unwrap())).unwrap();
        if manifest["subject"]["digest"] == subject {
            assert_eq!(manifest["artifactType"], "application/spdx+json");
            assert_eq!(
                manifest["config"]["mediaType"],
                "application/vnd.oci.empty.v1+json"
            );
            let layer = &manifest["layers"][0];
            assert_eq!(layer["mediaType"], "application/spdx+json");
            return serde_json::from_slice(&blob(store, layer["digest"].as_str().unwrap()))
                .unwrap();
        }
    }
    panic!("no SBOM referrer for {subject}");
}

fn common_sha256(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}
