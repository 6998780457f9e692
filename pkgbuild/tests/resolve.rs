//! `resolve` pins a LinuxKit manifest by digest, keeping its comments; `verify` names bad lines.

mod common;

use common::{pinned, Fixture};

const MANIFEST: &str = "# An OS built from the fixture's packages.
kernel:
  image: linuxkit/kernel:6.6.13 # not ours: left alone
  cmdline: \"console=ttyS0\"
init:
  - linuxkit/init:v1.0.0
onboot:
  # Hello runs first.
  - name: hello
    image: linuxkit/hello:anything
    command: [\"/usr/sbin/hello\", \"-1\"]
services:
  - name: other
    image: \"registry.example.invalid/team/other\"
";

#[test]
fn resolve_pins_workspace_packages_and_verify_names_the_lines_left() {
    let fx = Fixture::new();
    let store = tempfile::tempdir().unwrap();
    fx.write("os.yml", MANIFEST);
    let built = fx.pkgbuild_ok(store.path(), &["build", "--platforms", "linux/amd64"]);
    let (hello_ref, hello_digest) = pinned(&built, "hello");
    let (other_ref, other_digest) = pinned(&built, "other");
    let other_tag = other_ref.rsplit_once(':').unwrap().1;

    let resolved = fx.pkgbuild_ok(
        store.path(),
        &[
            "resolve",
            "os.yml",
            "--org",
            "registry.example.invalid/team",
            "--platforms",
            "linux/amd64",
        ],
    );
    let expected = MANIFEST
        .replace(
            "linuxkit/hello:anything",
            &format!("{hello_ref}@{hello_digest}"),
        )
        .replace(
            "registry.example.invalid/team/other",
            &format!("registry.example.invalid/team/other:{other_tag}@{other_digest}"),
        );
    assert_eq!(resolved, expected);

    // In place, then verify against the local store: only the foreign references fail.
    fx.pkgbuild_ok(
        store.path(),
        &["resolve", "-i", "os.yml", "--platforms", "linux/amd64"],
    );
    let out = fx.pkgbuild(
        store.path(),
        &["verify", "--local", "--platforms", "linux/amd64", "os.yml"],
    );
    assert_eq!(out.status.code(), Some(1));
    let report = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines.len(), 3, "{report}");
    assert!(
        lines[0].starts_with("os.yml:3: linuxkit/kernel:6.6.13: not pinned by digest"),
        "{report}"
    );
    assert!(
        lines[1].starts_with("os.yml:6: linuxkit/init:v1.0.0: not pinned"),
        "{report}"
    );
    // The registry-namespaced reference was not matched without --org, so it stays unpinned.
    assert!(lines[2].starts_with("os.yml:14: "), "{report}");

    // A manifest of only our pinned references verifies; asking for a platform not built fails.
    let ours = format!("onboot:\n  - name: hello\n    image: {hello_ref}@{hello_digest}\n");
    fx.write("ours.yml", &ours);
    let ok = fx.pkgbuild_ok(
        store.path(),
        &[
            "verify",
            "--local",
            "--platforms",
            "linux/amd64",
            "ours.yml",
        ],
    );
    assert!(ok.contains("every reference is pinned and held"), "{ok}");
    let out = fx.pkgbuild(store.path(), &["verify", "--local", "ours.yml"]);
    assert_eq!(out.status.code(), Some(1));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("ours.yml:3: ") && report.contains("has no linux/arm64 image"),
        "{report}"
    );

    // Any YAML style: a flow sequence, and an alias pinned once where its anchor is written.
    let flow = "onboot: [{name: hello, image: &h 'linuxkit/hello:x'}]\r\nservices:\r\n  - {name: again, image: *h}  # the same\r\n";
    fx.write("flow.yml", flow);
    let resolved = fx.pkgbuild_ok(
        store.path(),
        &["resolve", "flow.yml", "--platforms", "linux/amd64"],
    );
    assert_eq!(
        resolved,
        flow.replace("linuxkit/hello:x", &format!("{hello_ref}@{hello_digest}"))
    );

    // verify checks the structure as LinuxKit does, naming the line of the field at fault.
    let bad = format!(
        "onboot:\n  - {{name: hello, image: '{hello_ref}@{hello_digest}'}}\n  - name: again\n    \
         image: {hello_ref}@{hello_digest}\n    capabilties: [CAP_NET_ADMIN]\n"
    );
    fx.write("bad.yml", &bad);
    let out = fx.pkgbuild(
        store.path(),
        &["verify", "--local", "--platforms", "linux/amd64", "bad.yml"],
    );
    assert_eq!(out.status.code(), Some(1));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.lines().count() == 1
            && report.starts_with("bad.yml:5: (manifest): ")
            && report.contains("capabilties"),
        "{report}"
    );
}
