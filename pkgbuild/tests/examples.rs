//! The repository's own `examples/*.yml` against the real workspace: every image that names one
//! of our packages maps to it (so `pkgbuild resolve` pins it), every package with an image is
//! used by an example, and pinning rewrites exactly those references, keeping the rest.
//! Building them all (three platforms each) is what `pkgbuild resolve` does; that is left to
//! `cargo xtask build`, as it takes too long for the test run.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use pkgbuild::linuxkit::{image_refs, parse_reference, rewrite};
use pkgbuild::workspace::Workspace;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// LinuxKit's own images, which the examples take by tag from LinuxKit (or from the stand-ins
/// `cargo xtask standins` makes under the same names, busybox among them).
const LINUXKIT_IMAGES: &[&str] = &[
    "linuxkit/kernel",
    "linuxkit/init",
    "linuxkit/runc",
    "linuxkit/containerd",
    "linuxkit/busybox",
];

#[test]
fn the_examples_use_every_package_and_resolve_to_them() {
    let root = repo_root();
    let ws = Workspace::load(Some(&root.join("Cargo.toml"))).unwrap();
    let ours: BTreeSet<String> = ws.packages.iter().map(|p| p.repo()).collect();
    assert!(ours.contains("linuxkit/sshd-wrap"), "{ours:?}");

    let mut used = BTreeSet::new();
    let mut examples = 0;
    for entry in std::fs::read_dir(root.join("examples")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yml") {
            continue;
        }
        examples += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        let refs = image_refs(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(!refs.is_empty(), "{}: no image references", path.display());
        for r in &refs {
            let name = parse_reference(&r.reference).name.to_string();
            if LINUXKIT_IMAGES.contains(&name.as_str()) {
                continue;
            }
            assert!(
                ours.contains(&name),
                "{}:{}: {name} is neither ours nor LinuxKit's",
                path.display(),
                r.line
            );
            used.insert(name);
        }
        // Pinning as resolve does touches only our references and keeps every other line.
        let pinned = rewrite(&text, |r| {
            let name = parse_reference(&r.reference).name;
            ours.contains(name)
                .then(|| format!("{name}:0123456789abcdef0123@sha256:{}", "a".repeat(64)))
        })
        .unwrap();
        assert_eq!(pinned.lines().count(), text.lines().count());
        for (before, after) in text.lines().zip(pinned.lines()) {
            if before != after {
                let name = ours.iter().find(|o| before.contains(o.as_str()));
                assert!(
                    name.is_some(),
                    "changed a line that is not ours: {before:?}"
                );
                assert!(after.contains("@sha256:"), "{after:?}");
            }
        }
        for r in image_refs(&pinned).unwrap() {
            let name = parse_reference(&r.reference).name;
            if ours.contains(name) {
                assert!(r.reference.contains("@sha256:"), "{}", r.reference);
            }
        }
    }
    assert!(examples > 0);
    assert_eq!(
        used,
        ours,
        "packages no example uses: {:?}",
        ours.difference(&used).collect::<Vec<_>>()
    );
}
