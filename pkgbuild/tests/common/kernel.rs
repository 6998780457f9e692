//! A kernel-shaped image made by umoci: `kernel.tar` (an empty modules.dep for `6.1.0-fake`) and
//! the files given, as LinuxKit's kernel images lay them out, without a real kernel.

use std::path::Path;
use std::process::Command;

use super::{require, run_ok};

/// The image as an OCI layout under `dir`; returns its skopeo name, `oci:LAYOUT:fake`.
pub fn fake_kernel(dir: &Path, files: &[(&str, &[u8])]) -> String {
    require("umoci", "umoci");
    require("skopeo", "skopeo");
    let layout = dir.join("kernel-layout");
    let bundle = dir.join("kernel-bundle");
    let layout_ref = format!("{}:fake", layout.display());
    run_ok(
        Command::new("umoci")
            .args(["init", "--layout"])
            .arg(&layout),
    );
    run_ok(Command::new("umoci").args(["new", "--image", &layout_ref]));
    run_ok(
        Command::new("umoci")
            .args(["unpack", "--image", &layout_ref])
            .arg(&bundle),
    );
    let rootfs = bundle.join("rootfs");
    for (name, bytes) in files {
        std::fs::write(rootfs.join(name), bytes).unwrap();
    }
    let modules = dir.join("kernel-modules");
    std::fs::create_dir_all(modules.join("lib/modules/6.1.0-fake")).unwrap();
    std::fs::write(modules.join("lib/modules/6.1.0-fake/modules.dep"), "").unwrap();
    run_ok(
        Command::new("tar")
            .arg("-cf")
            .arg(rootfs.join("kernel.tar"))
            .arg("-C")
            .arg(&modules)
            .arg("lib"),
    );
    run_ok(
        Command::new("umoci")
            .args(["repack", "--image", &layout_ref])
            .arg(&bundle),
    );
    format!("oci:{layout_ref}")
}
