//! The shim's lifecycle commands, run by containerd with the bundle as the
//! working folder: `start` (spawn or join the shim serving this container's
//! group), `delete` (clean up after a shim that died) and serving.

use std::env::current_dir;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use containerd_shim::api::DeleteResponse;
use containerd_shim::asynchronous::util::{read_options, read_pid_from_file, write_str_to_file};
use containerd_shim::asynchronous::{spawn, ExitSignal};
use containerd_shim::protos::protobuf::well_known_types::timestamp::Timestamp;
use containerd_shim::protos::protobuf::MessageField;
use containerd_shim::publisher::RemotePublisher;
use containerd_shim::{Config, Flags, StartOpts};
use log::warn;
use runc::options::DeleteOpts;

use crate::process::grouping_of_spec;
use crate::service::Service;

/// 128 + SIGKILL: how a task whose shim died is reported, as the Go shim
/// does.
pub const KILLED_STATUS: u32 = 137;

/// Removes the socket of a shim that died (its `address` file is in the
/// bundle); a socket a live shim still answers on (a group's) stays.
fn remove_dead_socket(bundle: &std::path::Path) {
    let Ok(address) = std::fs::read_to_string(bundle.join("address")) else {
        return;
    };
    let path = address.trim().trim_start_matches("unix://");
    if !path.is_empty() && std::os::unix::net::UnixStream::connect(path).is_err() {
        let _ = std::fs::remove_file(path);
    }
}

pub struct Shim {
    id: String,
    namespace: String,
    exit: Arc<ExitSignal>,
}

#[async_trait]
impl containerd_shim::Shim for Shim {
    type T = Service;

    async fn new(_runtime_id: &str, args: &Flags, _config: &mut Config) -> Self {
        Shim {
            id: args.id.clone(),
            namespace: args.namespace.clone(),
            exit: Arc::new(ExitSignal::default()),
        }
    }

    async fn start_shim(&mut self, opts: StartOpts) -> containerd_shim::Result<String> {
        // containerd runs `start` in the bundle.
        let spec = tokio::fs::read_to_string("config.json")
            .await
            .map_err(|err| containerd_shim::Error::IoError {
                context: "the bundle's config.json".into(),
                err,
            })?;
        let group = grouping_of_spec(&opts.id, &spec)
            .map_err(|e| containerd_shim::Error::InvalidArgument(e.to_string()))?;
        let address = spawn(opts, &group, Vec::new()).await?;
        write_str_to_file("address", &address).await?;
        Ok(address)
    }

    async fn delete_shim(&mut self) -> containerd_shim::Result<DeleteResponse> {
        let bundle = current_dir().map_err(|e| containerd_shim::Error::IoError {
            context: "the bundle (working folder)".into(),
            err: e,
        })?;
        let opts = read_options(&bundle).await.unwrap_or_default();
        let pid = read_pid_from_file(&bundle.join("init.pid"))
            .await
            .unwrap_or_default();
        match crate::runc::client(&opts, &self.namespace, &bundle) {
            Ok(runc) => {
                if let Err(e) = runc
                    .delete(&self.id, Some(&DeleteOpts::new().force(true)))
                    .await
                {
                    warn!("runc delete {}: {e}", self.id);
                }
            }
            Err(e) => warn!("runc: {e}"),
        }
        let rootfs = bundle.join("rootfs");
        if let Err(e) = containerd_shim::mount::umount_recursive(rootfs.to_str(), 0) {
            warn!("unmount {}: {e}", rootfs.display());
        }
        remove_dead_socket(&bundle);
        Ok(DeleteResponse {
            pid: pid as u32,
            exit_status: KILLED_STATUS,
            exited_at: MessageField::some(Timestamp::from(SystemTime::now())),
            ..Default::default()
        })
    }

    async fn wait(&mut self) {
        self.exit.wait().await;
    }

    async fn create_task_service(&self, publisher: RemotePublisher) -> Service {
        Service::new(&self.namespace, publisher, self.exit.clone()).await
    }
}
