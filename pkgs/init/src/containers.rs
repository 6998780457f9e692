//! The containers of /containers: onboot and onshutdown ones run to their exit with runc, one
//! after another; services run under containerd, started with `ctr` from their bundle's spec.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use linuxkit_config::{apply, Runtime};

use crate::log;
use crate::pid1::Reaper;

const RUNC: &str = "/usr/bin/runc";
const CONTAINERD: &str = "/usr/bin/containerd";
const CTR: &str = "/usr/bin/ctr";
const SOCKET: &str = "/run/containerd/containerd.sock";
/// LinuxKit's namespace for services, unless runtime.json names another.
const SERVICES_NAMESPACE: &str = "services.linuxkit";

/// The bundles under `dir`, in the order they run.
pub fn bundles(dir: &str) -> Vec<(String, PathBuf)> {
    let names = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("config.json").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    init::run_order(names)
        .into_iter()
        .map(|n| {
            let path = Path::new(dir).join(&n);
            (n, path)
        })
        .collect()
}

fn runtime_of(bundle: &Path) -> Result<Runtime, String> {
    match fs::read(bundle.join("runtime.json")) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| format!("runtime.json: {e}")),
        Err(_) => Ok(Runtime::default()),
    }
}

fn log_file(name: &str) -> Option<fs::File> {
    fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(format!("/var/log/{name}.log"))
        .ok()
}

/// Runs one onboot/onshutdown bundle to its exit; its output goes to /var/log/<phase>.<name>.log.
/// Returns the exit status (128+N for signal N).
pub fn run_to_exit(
    phase: &str,
    folder: &str,
    bundle: &Path,
    reaper: &mut Reaper,
) -> Result<i32, String> {
    let runtime = runtime_of(bundle)?;
    if let Err(e) = apply::prepare_filesystem(bundle, &runtime) {
        apply::cleanup(bundle);
        return Err(e.to_string());
    }
    let id = format!("{phase}-{}", init::container_name(folder));
    let runc = Path::new(RUNC);
    let result = (|| {
        let out = log_file(&format!("{phase}.{folder}"));
        let pid = apply::runc_create_logged(runc, bundle, &id, out.as_ref())
            .map_err(|e| e.to_string())?;
        apply::prepare_process(pid, &runtime).map_err(|e| e.to_string())?;
        apply::runc_start(runc, &id).map_err(|e| e.to_string())?;
        Ok(reaper.wait_for(pid))
    })();
    apply::runc_delete(runc, &id);
    apply::cleanup(bundle);
    result
}

/// Every bundle of a phase, each reported on the console; a failure never stops the next one.
pub fn run_phase(phase: &str, dir: &str, reaper: &mut Reaper) {
    for (folder, bundle) in bundles(dir) {
        let name = init::container_name(&folder);
        match run_to_exit(phase, &folder, &bundle, reaper) {
            Ok(0) => log(&format!("event={phase} name={name} status=0")),
            Ok(code) => log(&format!(
                "level=warn event={phase} name={name} status={code}"
            )),
            Err(e) => log(&format!(
                "level=error event={phase} name={name} error={e:?}"
            )),
        }
    }
}

/// containerd, started by init and serving the services.
pub struct Containerd {
    child: Child,
}

impl Containerd {
    pub fn start() -> Result<Containerd, String> {
        if !Path::new(CONTAINERD).exists() {
            return Err(format!(
                "{CONTAINERD} is missing: list a containerd image under init:"
            ));
        }
        let config = "/run/containerd-init.toml";
        fs::write(
            config,
            format!(
                "version = 2\nroot = \"/var/lib/containerd\"\nstate = \"/run/containerd\"\n\
                 disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n[grpc]\n  address = \"{SOCKET}\"\n"
            ),
        )
        .map_err(|e| e.to_string())?;
        let stderr = log_file("containerd")
            .map(Stdio::from)
            .unwrap_or_else(Stdio::null);
        let child = Command::new(CONTAINERD)
            .args(["--config", config])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("starting containerd: {e}"))?;
        let containerd = Containerd { child };
        // Ready when it answers on its socket.
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let answered = bounded(
                ctr(SERVICES_NAMESPACE).arg("version"),
                Duration::from_secs(10),
            )
            .is_ok_and(|o| o.status.success());
            if answered {
                log(&format!("event=containerd pid={}", containerd.child.id()));
                return Ok(containerd);
            }
            if !crate::pid1::is_alive(containerd.child.id()) {
                return Err("containerd exited; see /var/log/containerd.log".into());
            }
            if Instant::now() > deadline {
                return Err("containerd did not answer within 120 s".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

fn ctr(namespace: &str) -> Command {
    let mut cmd = Command::new(CTR);
    cmd.args(["--address", SOCKET, "--namespace", namespace]);
    cmd
}

/// Runs `cmd` to its end, killed after `limit`: a containerd that stops answering must not
/// hold up the boot or the shutdown. Its output is small (ctr's), so the pipes never fill.
fn bounded(cmd: &mut Command, limit: Duration) -> Result<std::process::Output, String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("running ctr: {e}"))?;
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => return child.wait_with_output().map_err(|e| e.to_string()),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("ctr did not finish within {limit:?}"));
            }
        }
    }
}

fn namespace_of(runtime: &Runtime) -> String {
    runtime
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| SERVICES_NAMESPACE.to_string())
}

/// Starts one service from its bundle: runtime.json's mounts and mkdir, then `ctr run` with the
/// bundle's spec (its root made absolute), output to /var/log/<name>.log. `ctr run` creates and
/// starts in one call, so runtime.json's interfaces and bindNS, which LinuxKit applies between
/// the two, run as the spec's createRuntime hook: runc calls `init prepare-service BUNDLE` once
/// the container's namespaces exist and before its process runs.
pub fn start_service(name: &str, bundle: &Path) -> Result<(), String> {
    let runtime = runtime_of(bundle)?;
    apply::prepare_filesystem(bundle, &runtime).map_err(|e| e.to_string())?;
    let mut spec: serde_json::Value = serde_json::from_slice(
        &fs::read(bundle.join("config.json")).map_err(|e| format!("config.json: {e}"))?,
    )
    .map_err(|e| format!("config.json: {e}"))?;
    let spec_object = spec.as_object_mut().ok_or("config.json is not an object")?;
    let root = spec_object
        .get_mut("root")
        .and_then(|r| r.as_object_mut())
        .ok_or("config.json has no root object")?;
    root.insert(
        "path".into(),
        bundle.join("rootfs").to_string_lossy().into_owned().into(),
    );
    if needs_prepare(&runtime) {
        let init = std::env::current_exe().map_err(|e| format!("init's own path: {e}"))?;
        let hook = serde_json::json!({
            "path": init,
            "args": ["init", PREPARE_SERVICE, bundle],
            "timeout": 60,
        });
        let hooks = spec_object
            .entry("hooks")
            .or_insert_with(|| serde_json::json!({}))
            .as_object_mut()
            .ok_or("config.json: hooks is not an object")?;
        hooks
            .entry("createRuntime")
            .or_insert_with(|| serde_json::json!([]))
            .as_array_mut()
            .ok_or("config.json: hooks.createRuntime is not a list")?
            .push(hook);
    }
    fs::create_dir_all("/run/init").map_err(|e| e.to_string())?;
    let spec_path = format!("/run/init/{name}.json");
    fs::write(&spec_path, serde_json::to_vec(&spec).unwrap()).map_err(|e| e.to_string())?;
    let out = bounded(
        ctr(&namespace_of(&runtime))
            .args(["run", "--detach", "--config", &spec_path])
            .arg("--log-uri")
            .arg(format!("file:///var/log/{name}.log"))
            .arg(name),
        Duration::from_secs(120),
    )?;
    if !out.status.success() {
        return Err(format!(
            "ctr run: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

/// The argument that makes init runc's createRuntime hook for a service.
pub const PREPARE_SERVICE: &str = "prepare-service";

fn needs_prepare(runtime: &Runtime) -> bool {
    runtime.interfaces.as_ref().is_some_and(|i| !i.is_empty())
        || !runtime.bind_ns.binds().is_empty()
}

/// `init prepare-service BUNDLE`, run by runc as a createRuntime hook: the container's state
/// (with its PID) on stdin; moves runtime.json's interfaces into its namespace and binds the
/// namespaces it names, as LinuxKit does between task create and start.
pub fn prepare_service_hook(bundle: &Path) -> Result<(), String> {
    let mut state = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut state)
        .map_err(|e| format!("reading the container's state: {e}"))?;
    let state: serde_json::Value =
        serde_json::from_str(&state).map_err(|e| format!("the container's state: {e}"))?;
    let pid = state
        .get("pid")
        .and_then(|p| p.as_i64())
        .and_then(|p| i32::try_from(p).ok())
        .filter(|p| *p > 0)
        .ok_or("the container's state has no pid")?;
    let runtime = runtime_of(bundle)?;
    apply::prepare_process(pid, &runtime).map_err(|e| e.to_string())
}

pub fn start_services(dir: &str) -> Vec<(String, String)> {
    let mut started = Vec::new();
    for (folder, bundle) in bundles(dir) {
        match start_service(&folder, &bundle) {
            Ok(()) => {
                log(&format!("event=service name={folder} state=started"));
                let ns = runtime_of(&bundle)
                    .map(|r| namespace_of(&r))
                    .unwrap_or_default();
                started.push((folder, ns));
            }
            Err(e) => log(&format!(
                "level=error event=service name={folder} error={e:?}"
            )),
        }
    }
    started
}

/// The longest a ctr call may take while the services stop.
const CTR_STEP: Duration = Duration::from_secs(15);

/// SIGTERM to every service, SIGKILL to what is left after `grace`, then their tasks and
/// containers are deleted.
pub fn stop_services(services: &[(String, String)], grace: Duration) {
    for (name, ns) in services {
        let _ = bounded(
            ctr(ns).args(["task", "kill", "-s", "SIGTERM", name]),
            CTR_STEP,
        );
    }
    let deadline = Instant::now() + grace;
    for (name, ns) in services {
        loop {
            let out = bounded(ctr(ns).args(["task", "ls"]), CTR_STEP);
            let running = out.is_ok_and(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .any(|l| l.split_whitespace().next() == Some(name) && l.contains("RUNNING"))
            });
            if !running {
                break;
            }
            if Instant::now() > deadline {
                let _ = bounded(
                    ctr(ns).args(["task", "kill", "-s", "SIGKILL", name]),
                    CTR_STEP,
                );
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = bounded(ctr(ns).args(["task", "delete", "--force", name]), CTR_STEP);
        let _ = bounded(ctr(ns).args(["container", "delete", name]), CTR_STEP);
        log(&format!("event=service name={name} state=stopped"));
    }
}
