//! Loading the modules the machine's devices need (and the few containers need), when the
//! kernel has them as modules rather than built in.

use std::collections::BTreeSet;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use init::modules::{name_of, Modules, ALWAYS};

use crate::log;

/// Every `modalias` under /sys/devices.
fn modaliases(dir: &Path, found: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            modaliases(&entry.path(), found);
        } else if entry.file_name() == "modalias" {
            if let Ok(text) = fs::read_to_string(entry.path()) {
                found.push(text.trim().to_string());
            }
        }
    }
}

fn loaded(name: &str) -> bool {
    Path::new("/sys/module").join(name).exists()
}

/// finit_module for plain and kernel-decompressed modules; gzip ones are inflated here.
fn load(path: &Path) -> Result<(), String> {
    let file = fs::File::open(path).map_err(|e| e.to_string())?;
    let name = path.to_string_lossy();
    let result = if name.ends_with(".ko.gz") {
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(file)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("inflating: {e}"))?;
        nix::kmod::init_module(&bytes, c"")
    } else {
        let flags = if name.ends_with(".ko") {
            nix::kmod::ModuleInitFlags::empty()
        } else {
            // .ko.xz / .ko.zst: MODULE_INIT_COMPRESSED_FILE, the kernel decompresses.
            nix::kmod::ModuleInitFlags::from_bits_retain(4)
        };
        nix::kmod::finit_module(&file, c"", flags)
    };
    match result {
        Ok(()) | Err(nix::errno::Errno::EEXIST) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

/// Loads what the devices need, round after round (a bus driver brings new devices), then the
/// modules containers need. Returns how many were loaded.
pub fn load_needed() -> usize {
    let release = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    let base = PathBuf::from("/lib/modules").join(&release);
    let Ok(dep) = fs::read_to_string(base.join("modules.dep")) else {
        return 0; // everything built in
    };
    let alias = fs::read_to_string(base.join("modules.alias")).unwrap_or_default();
    let modules = Modules::parse(&dep, &alias);
    let mut tried = BTreeSet::new();
    let mut count = 0;
    for round in 0..4 {
        let mut found = Vec::new();
        modaliases(Path::new("/sys/devices"), &mut found);
        let mut wanted: Vec<String> = modules
            .for_devices(found.iter().map(String::as_str))
            .into_iter()
            .collect();
        if round == 0 {
            wanted.extend(ALWAYS.iter().map(|s| s.to_string()));
        }
        let order = modules.load_order(wanted.iter().map(String::as_str));
        let fresh: Vec<String> = order
            .into_iter()
            .filter(|p| tried.insert(p.clone()) && !loaded(&name_of(p)))
            .collect();
        if fresh.is_empty() {
            break;
        }
        for path in fresh {
            match load(&base.join(&path)) {
                Ok(()) => count += 1,
                Err(e) => log(&format!(
                    "level=warn event=module name={} error={e:?}",
                    name_of(&path)
                )),
            }
        }
    }
    log(&format!("event=modules loaded={count}"));
    count
}
