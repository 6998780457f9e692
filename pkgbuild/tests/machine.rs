//! `pkgbuild image` lays a machine out as `linuxkit build` does: LinuxKit's fix-ups of init
//! images and of every bundle, container names as uid/gid, `files:` with metadata, owners and
//! parent folders, early microcode before the initrd, and what it refuses. The kernel is a fake
//! one made by umoci and put in the store by skopeo; the other images are the fixture's packages.

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::Command;

use common::{run_ok, Fixture};

/// One entry of the root: (mode, uid, gid, file contents or link target).
type Entry = (u32, u64, u64, Vec<u8>);

fn read_tar(path: &Path) -> BTreeMap<String, Entry> {
    let mut archive = tar::Archive::new(std::fs::File::open(path).unwrap());
    let mut out = BTreeMap::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry
            .path()
            .unwrap()
            .to_string_lossy()
            .trim_end_matches('/')
            .to_string();
        let header = entry.header().clone();
        let mut data = Vec::new();
        match header.link_name().unwrap() {
            Some(target) => data = target.to_string_lossy().into_owned().into_bytes(),
            None => {
                entry.read_to_end(&mut data).unwrap();
            }
        }
        out.insert(
            name,
            (
                header.mode().unwrap() & 0o7777,
                header.uid().unwrap(),
                header.gid().unwrap(),
                data,
            ),
        );
    }
    out
}

struct Setup {
    fx: Fixture,
    store: tempfile::TempDir,
    work: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let setup = Setup {
            fx: Fixture::new(),
            store: tempfile::tempdir().unwrap(),
            work: tempfile::tempdir().unwrap(),
        };
        let kernel = common::kernel::fake_kernel(
            setup.work.path(),
            &[
                ("kernel", b"fake kernel"),
                ("ucode.cpio", b"early microcode"),
            ],
        );
        run_ok(
            Command::new("skopeo")
                .args(["copy", "--quiet"])
                .arg(kernel)
                .arg(format!(
                    "oci:{}:linuxkit/kernel:fake",
                    setup.store.path().display()
                )),
        );
        setup
    }

    /// `pkgbuild image` of `manifest`; the output folder, or the error.
    fn image(&self, manifest: &str, format: &str) -> Result<std::path::PathBuf, String> {
        let path = self.work.path().join("os.yml");
        std::fs::write(&path, manifest).unwrap();
        let out = self.work.path().join(format!("out-{format}"));
        let made = self.fx.pkgbuild(
            self.store.path(),
            &[
                "image",
                path.to_str().unwrap(),
                "--format",
                format,
                "--arch",
                "amd64",
                "-o",
                out.to_str().unwrap(),
            ],
        );
        if made.status.success() {
            Ok(out)
        } else {
            Err(String::from_utf8_lossy(&made.stderr).into_owned())
        }
    }
}

const MANIFEST: &str = r#"kernel:
  image: linuxkit/kernel:fake
  cmdline: "console=ttyS0"
  ucode: ucode.cpio
init:
  - example/other:1.0.0
onboot:
  - name: first
    image: linuxkit/hello:0.3.1
    uid: second
    gid: first
volumes:
  - name: data
  - name: tools
    image: example/other:1.0.0
    readonly: true
services:
  - name: second
    image: example/other:1.0.0
    binds: ["data:/data", "tools:/tools:ro"]
files:
  - path: etc/linuxkit.yml
    metadata: yaml
  - path: /var/lib/app/config
    contents: "x"
    uid: second
    gid: first
  - path: var/lib/app/other
    contents: "y"
    mode: "0644"
  - path: opt/empty
    directory: true
"#;

#[test]
fn the_root_is_laid_out_as_linuxkit_lays_it_out() {
    let s = Setup::new();
    let out = s.image(MANIFEST, "tar").unwrap();
    let root = read_tar(&out.join("rootfs.tar"));
    let get = |path: &str| {
        root.get(path)
            .unwrap_or_else(|| panic!("{path} missing from the root"))
            .clone()
    };
    let text = |path: &str| String::from_utf8(get(path).3).unwrap();

    // init images: the host's resolv.conf is dhcpcd's, LinuxKit's hosts, mount points.
    assert_eq!(text("etc/resolv.conf"), "/run/resolvconf/resolv.conf");
    assert!(text("etc/hosts").contains("ff02::2 ip6-allrouters"));
    for d in ["dev/pts", "dev/shm", "proc", "sys"] {
        assert_eq!(get(d).0, 0o755, "{d}");
    }
    assert!(root.contains_key("lib/modules/6.1.0-fake/modules.dep"));

    // Every bundle: the same fix-ups, a placeholder resolv.conf.
    for lower in [
        "containers/onboot/000-first/lower",
        "containers/services/second/lower",
    ] {
        assert_eq!(
            text(&format!("{lower}/etc/resolv.conf")),
            "\n# no resolv.conf configured\n"
        );
        assert_eq!(text(&format!("{lower}/etc/hosts")), text("etc/hosts"));
        assert_eq!(text(&format!("{lower}/etc/mtab")), "/proc/mounts");
        assert!(root.contains_key(&format!("{lower}/dev/shm")), "{lower}");
    }

    // Container names as ids: onboot, onshutdown, services, from 100.
    let spec: serde_json::Value =
        serde_json::from_slice(&get("containers/onboot/000-first/config.json").3).unwrap();
    assert_eq!(spec["process"]["user"]["uid"], 101);
    assert_eq!(spec["process"]["user"]["gid"], 100);

    // Volumes: lower (the image's files, fixed up, or empty), merged, tmp when writable; the
    // entries' binds by volume name point at merged.
    for d in ["data/lower", "data/merged", "data/tmp", "tools/merged"] {
        assert_eq!(get(&format!("containers/volumes/{d}")).0, 0o755, "{d}");
    }
    assert!(!root.contains_key("containers/volumes/tools/tmp"));
    assert!(root.contains_key("containers/volumes/tools/lower/etc/hosts"));
    assert!(root
        .keys()
        .any(|k| k.starts_with("containers/volumes/tools/lower/usr/")));
    let spec: serde_json::Value =
        serde_json::from_slice(&get("containers/services/second/config.json").3).unwrap();
    let sources: Vec<(&str, &str)> = spec["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["source"].as_str().unwrap(),
                m["destination"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        sources.contains(&("/containers/volumes/data/merged", "/data"))
            && sources.contains(&("/containers/volumes/tools/merged", "/tools")),
        "{sources:?}"
    );

    // files: owners by name; parents not written before get the entry's owner and its mode
    // with x bits; later entries leave them; folders default to 0700.
    assert_eq!(get("var/lib/app/config").0, 0o600);
    assert_eq!(get("var/lib/app/config").1, 101);
    assert_eq!(get("var/lib/app/config").2, 100);
    for d in ["var", "var/lib", "var/lib/app"] {
        assert_eq!(get(d).0, 0o700, "{d}");
        assert_eq!((get(d).1, get(d).2), (101, 100), "{d}");
    }
    assert_eq!(get("var/lib/app/other").0, 0o644);
    assert_eq!(get("opt/empty").0, 0o700);
    assert_eq!(get("opt").0, 0o700);
    // The manifest itself, only where `metadata` asks for it.
    let written: serde_json::Value = serde_yaml::from_str(&text("etc/linuxkit.yml")).unwrap();
    let given: serde_json::Value = serde_yaml::from_str(MANIFEST).unwrap();
    assert_eq!(written, given);
    assert_eq!(get("etc").0, 0o700, "etc/linuxkit.yml's mode made /etc's");

    // kernel+initrd: the microcode goes first, uncompressed, then the gzip'd cpio.
    let out = s.image(MANIFEST, "kernel+initrd").unwrap();
    let initrd = std::fs::read(out.join("initrd.img")).unwrap();
    assert!(
        initrd.starts_with(b"early microcode\x1f\x8b"),
        "{:?}",
        &initrd[..20]
    );
    assert_eq!(std::fs::read(out.join("kernel")).unwrap(), b"fake kernel");
}

#[test]
fn what_linuxkit_refuses_is_refused_naming_the_entry() {
    let s = Setup::new();
    let cases = [
        (
            "files:\n  - path: a\n    contents: x\n    uid: nobody\n",
            "no id known for the name \"nobody\"",
        ),
        ("files:\n  - path: a\n    mode: \"0644\"\n", "files[0]"),
        (
            "files:\n  - path: a\n    metadata: toml\n",
            "files[0].metadata",
        ),
        (
            "volumes:\n  - name: ro\n    readonly: true\nservices:\n  - name: s\n    image: example/other:1.0.0\n    binds: [\"ro:/x\"]\n",
            "line 9: field `services[0].binds[0]`",
        ),
    ];
    for (files, expected) in cases {
        let manifest = format!("kernel:\n  image: linuxkit/kernel:fake\n{files}");
        let err = s.image(&manifest, "tar").unwrap_err();
        assert!(err.contains(expected), "{files}: {err}");
    }
    let err = s
        .image(
            "kernel:\n  image: linuxkit/kernel:fake\n  tar: modules.tar\n",
            "tar",
        )
        .unwrap_err();
    assert!(
        err.contains("has no file modules.tar"),
        "a missing kernel tar: {err}"
    );
}
