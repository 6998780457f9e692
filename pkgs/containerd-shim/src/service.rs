//! The task service containerd calls over ttrpc (task API v2).
//!
//! One lock guards every container; a request that runs runc holds it for
//! that long, so the exit of a process that runc just started is handled
//! only once its pid is recorded. Waiting (Wait, draining output) never
//! holds it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use containerd_shim::api::{
    CloseIORequest, ConnectRequest, ConnectResponse, CreateTaskRequest, CreateTaskResponse,
    DeleteRequest, DeleteResponse, Empty, ExecProcessRequest, KillRequest, Options, PauseRequest,
    PidsRequest, PidsResponse, ResizePtyRequest, ResumeRequest, ShutdownRequest, StartRequest,
    StartResponse, StateRequest, StateResponse, StatsRequest, StatsResponse, Status as ApiStatus,
    UpdateTaskRequest, WaitRequest, WaitResponse,
};
use containerd_shim::asynchronous::util::{mkdir, mount_rootfs, read_pid_from_file, write_options};
use containerd_shim::asynchronous::ExitSignal;
use containerd_shim::event::Event;
use containerd_shim::monitor::{monitor_subscribe, Subject, Topic};
use containerd_shim::protos::events::task::{
    TaskCreate, TaskDelete, TaskExecAdded, TaskExecStarted, TaskExit, TaskIO, TaskOOM, TaskPaused,
    TaskResumed, TaskStart,
};
use containerd_shim::protos::protobuf::well_known_types::timestamp::Timestamp;
use containerd_shim::protos::protobuf::{EnumOrUnknown, Message, MessageField};
use containerd_shim::protos::types::task::ProcessInfo;
use containerd_shim::publisher::RemotePublisher;
use containerd_shim::{Context, Task, TtrpcContext, TtrpcResult};
use log::{debug, info, warn};
use runc::io::NullIo;
use runc::options::{CreateOpts, DeleteOpts, ExecOpts, KillOpts};
use runc::Runc;
use tokio::sync::{watch, Mutex};
use tokio::task::JoinHandle;

use crate::console::ConsoleSocket;
use crate::error::{Error, Result};
use crate::io::{Copies, RuncIo, Stdio, DRAIN};
use crate::process::{kill_error, Exit, Lifecycle, Status};

/// One process: a container's init (exec id "") or an exec.
struct Proc {
    life: Lifecycle,
    stdio: Stdio,
    copies: Option<Copies>,
    /// Set once the process has exited and its output is drained: what
    /// Wait waits for.
    done: Arc<watch::Sender<Option<Exit>>>,
    /// An exec's process spec, until it starts.
    spec: Option<oci_spec::runtime::Process>,
}

impl Proc {
    fn new(life: Lifecycle, stdio: Stdio) -> Proc {
        Proc {
            life,
            stdio,
            copies: None,
            done: Arc::new(watch::channel(None).0),
            spec: None,
        }
    }
}

struct Container {
    id: String,
    bundle: PathBuf,
    runc: Runc,
    /// The rootfs the shim mounted (None when containerd mounted it).
    rootfs: Option<PathBuf>,
    init: Proc,
    execs: HashMap<String, Proc>,
    oom: Option<JoinHandle<()>>,
}

impl Container {
    fn process(&mut self, exec_id: &str) -> Result<&mut Proc> {
        if exec_id.is_empty() {
            return Ok(&mut self.init);
        }
        self.execs
            .get_mut(exec_id)
            .ok_or_else(|| Error::NotFound(format!("process {exec_id} in {}", self.id)))
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        if let Some(h) = self.oom.take() {
            h.abort();
        }
    }
}

struct Inner {
    namespace: String,
    publisher: RemotePublisher,
    exit: Arc<ExitSignal>,
    containers: Mutex<HashMap<String, Container>>,
}

/// The task service of one shim.
#[derive(Clone)]
pub struct Service {
    inner: Arc<Inner>,
}

fn timestamp(t: SystemTime) -> MessageField<Timestamp> {
    MessageField::some(Timestamp::from(t))
}

fn api_status(s: Status) -> EnumOrUnknown<ApiStatus> {
    EnumOrUnknown::new(match s {
        Status::Created => ApiStatus::CREATED,
        Status::Running => ApiStatus::RUNNING,
        Status::Paused => ApiStatus::PAUSED,
        Status::Stopped => ApiStatus::STOPPED,
    })
}

fn not_found(id: &str) -> Error {
    Error::NotFound(format!("container {id}"))
}

impl Service {
    /// The service, and the task that turns the reaper's exits into
    /// process state and TaskExit events.
    pub async fn new(
        namespace: &str,
        publisher: RemotePublisher,
        exit: Arc<ExitSignal>,
    ) -> Service {
        let svc = Service {
            inner: Arc::new(Inner {
                namespace: namespace.to_string(),
                publisher,
                exit,
                containers: Mutex::new(HashMap::new()),
            }),
        };
        match monitor_subscribe(Topic::Pid).await {
            Ok(mut sub) => {
                let s = svc.clone();
                tokio::spawn(async move {
                    while let Some(ev) = sub.rx.recv().await {
                        if let Subject::Pid(pid) = ev.subject {
                            s.exited(pid, ev.exit_code).await;
                        }
                    }
                });
            }
            Err(e) => warn!("no exit monitor: {e}"),
        }
        svc
    }

    async fn publish<E: Event + 'static>(&self, ev: E) {
        let topic = ev.topic();
        if let Err(e) = self
            .inner
            .publisher
            .publish(
                Context::default(),
                &topic,
                &self.inner.namespace,
                Box::new(ev),
            )
            .await
        {
            warn!("publish {topic}: {e}");
        }
    }

    /// The reaper reaped `pid`: if it is one of ours, record the exit, let
    /// the output drain, then wake Wait and tell containerd.
    async fn exited(&self, pid: i32, code: i32) {
        let pid = pid as u32;
        let at = SystemTime::now();
        let mut cs = self.inner.containers.lock().await;
        for c in cs.values_mut() {
            let (id, p) = if c.init.life.pid == pid && c.init.life.exit.is_none() {
                (c.id.clone(), &mut c.init)
            } else if let Some((eid, p)) = c
                .execs
                .iter_mut()
                .find(|(_, p)| p.life.pid == pid && p.life.exit.is_none())
            {
                (eid.clone(), p)
            } else {
                continue;
            };
            p.life.exited(code as u32, at);
            debug!(
                "process exited: container={} id={id} pid={pid} status={code}",
                c.id
            );
            let copies = p.copies.take();
            let done = p.done.clone();
            let ev = TaskExit {
                container_id: c.id.clone(),
                id,
                pid,
                exit_status: code as u32,
                exited_at: timestamp(at),
                ..Default::default()
            };
            let s = self.clone();
            tokio::spawn(async move {
                if let Some(c) = copies {
                    c.finish(DRAIN).await;
                }
                done.send_replace(Some(Exit {
                    status: code as u32,
                    at,
                }));
                s.publish(ev).await;
            });
            return;
        }
    }

    async fn do_create(&self, req: CreateTaskRequest) -> Result<CreateTaskResponse> {
        let mut cs = self.inner.containers.lock().await;
        if cs.contains_key(&req.id) {
            return Err(Error::AlreadyExists(format!("container {}", req.id)));
        }
        let bundle = PathBuf::from(&req.bundle);
        let opts = match req.options.as_ref() {
            Some(any) if !any.value.is_empty() => Options::parse_from_bytes(&any.value)
                .map_err(|e| Error::InvalidArgument(format!("runtime options: {e}")))?,
            _ => Options::default(),
        };
        // `delete` reads them back after a crash.
        write_options(&bundle, &opts).await?;

        let rootfs = if req.rootfs.is_empty() {
            None
        } else {
            let target = bundle.join("rootfs");
            mkdir(&target, 0o711).await?;
            for m in &req.rootfs {
                if let Err(e) = mount_rootfs(m, &target).await {
                    unmount(&target);
                    return Err(e.into());
                }
            }
            Some(target)
        };
        let stdio = Stdio {
            stdin: req.stdin.clone(),
            stdout: req.stdout.clone(),
            stderr: req.stderr.clone(),
            terminal: req.terminal,
        };
        let created = self.run_create(&req.id, &bundle, &opts, &stdio).await;
        let (runc, pid, copies) = match created {
            Ok(v) => v,
            Err(e) => {
                if let Some(r) = &rootfs {
                    unmount(r);
                }
                return Err(e);
            }
        };
        let mut init = Proc::new(Lifecycle::created(pid), stdio.clone());
        init.copies = Some(copies);
        let oom = {
            let s = self.clone();
            let id = req.id.clone();
            crate::oom::watch(pid, move || {
                let s = s.clone();
                let ev = TaskOOM {
                    container_id: id.clone(),
                    ..Default::default()
                };
                tokio::spawn(async move { s.publish(ev).await });
            })
            .map_err(|e| warn!("no OOM events for {}: {e}", req.id))
            .ok()
        };
        cs.insert(
            req.id.clone(),
            Container {
                id: req.id.clone(),
                bundle: bundle.clone(),
                runc,
                rootfs,
                init,
                execs: HashMap::new(),
                oom,
            },
        );
        drop(cs);
        info!("created container={} pid={pid}", req.id);
        self.publish(TaskCreate {
            container_id: req.id.clone(),
            bundle: req.bundle.clone(),
            rootfs: req.rootfs.clone(),
            io: MessageField::some(TaskIO {
                stdin: stdio.stdin,
                stdout: stdio.stdout,
                stderr: stdio.stderr,
                terminal: stdio.terminal,
                ..Default::default()
            }),
            checkpoint: req.checkpoint.clone(),
            pid,
            ..Default::default()
        })
        .await;
        Ok(CreateTaskResponse {
            pid,
            ..Default::default()
        })
    }

    /// `runc create`, then the stdio copies.
    async fn run_create(
        &self,
        id: &str,
        bundle: &Path,
        opts: &Options,
        stdio: &Stdio,
    ) -> Result<(Runc, u32, Copies)> {
        let runc = crate::runc::client(opts, &self.inner.namespace, bundle)?;
        let pid_file = bundle.join("init.pid");
        let mut create = CreateOpts::new()
            .pid_file(&pid_file)
            .no_pivot(opts.no_pivot_root)
            .no_new_keyring(opts.no_new_keyring);
        let mut console = None;
        let mut piped = None;
        if stdio.terminal {
            let cs = ConsoleSocket::new()?;
            create = create
                .console_socket(cs.path())
                .io(Arc::new(NullIo::new().map_err(Error::io("null io"))?));
            console = Some(cs);
        } else {
            let io = Arc::new(RuncIo::new(stdio, opts.io_uid, opts.io_gid)?);
            create = create.io(io.clone());
            piped = Some(io);
        }
        runc.create(id, bundle, Some(&create))
            .await
            .map_err(|e| crate::runc::failed("create", bundle, e))?;
        let pid = read_pid_from_file(&pid_file).await? as u32;
        let copies = match (console, piped) {
            (Some(cs), _) => Copies::pty(stdio, cs.receive()?),
            (None, Some(io)) => Copies::piped(stdio, &io),
            (None, None) => Ok(Copies::default()),
        };
        match copies {
            Ok(c) => Ok((runc, pid, c)),
            Err(e) => {
                let _ = runc.delete(id, Some(&DeleteOpts::new().force(true))).await;
                Err(e)
            }
        }
    }

    async fn do_start(&self, req: StartRequest) -> Result<StartResponse> {
        let mut cs = self.inner.containers.lock().await;
        let c = cs.get_mut(&req.id).ok_or_else(|| not_found(&req.id))?;
        if req.exec_id.is_empty() {
            c.init.life.can_start(&req.id)?;
            c.runc
                .start(&req.id)
                .await
                .map_err(|e| crate::runc::failed("start", &c.bundle, e))?;
            let pid = c.init.life.pid;
            c.init.life.started(pid);
            drop(cs);
            info!("started container={} pid={pid}", req.id);
            self.publish(TaskStart {
                container_id: req.id.clone(),
                pid,
                ..Default::default()
            })
            .await;
            return Ok(StartResponse {
                pid,
                ..Default::default()
            });
        }

        let bundle = c.bundle.clone();
        let p = c.process(&req.exec_id)?;
        p.life.can_start(&req.exec_id)?;
        let spec = p
            .spec
            .clone()
            .ok_or_else(|| Error::InvalidArgument("exec without a process spec".into()))?;
        let stdio = p.stdio.clone();
        let pid_file = bundle.join(format!("{}.pid", req.exec_id));
        let mut opts = ExecOpts::new().pid_file(&pid_file).detach(true);
        let mut console = None;
        let mut piped = None;
        if stdio.terminal {
            let s = ConsoleSocket::new()?;
            opts = opts
                .console_socket(s.path())
                .io(Arc::new(NullIo::new().map_err(Error::io("null io"))?));
            console = Some(s);
        } else {
            let io = Arc::new(RuncIo::new(&stdio, 0, 0)?);
            opts = opts.io(io.clone());
            piped = Some(io);
        }
        c.runc
            .exec(&req.id, &spec, Some(&opts))
            .await
            .map_err(|e| crate::runc::failed("exec", &bundle, e))?;
        drop(opts);
        let pid = read_pid_from_file(&pid_file).await? as u32;
        let _ = std::fs::remove_file(&pid_file);
        let copies = match (console, piped) {
            (Some(s), _) => Copies::pty(&stdio, s.receive()?)?,
            (None, Some(io)) => Copies::piped(&stdio, &io)?,
            (None, None) => Copies::default(),
        };
        let p = c.process(&req.exec_id)?;
        p.spec = None;
        p.life.started(pid);
        if p.life.exit.is_none() {
            p.copies = Some(copies);
        }
        drop(cs);
        self.publish(TaskExecStarted {
            container_id: req.id.clone(),
            exec_id: req.exec_id.clone(),
            pid,
            ..Default::default()
        })
        .await;
        Ok(StartResponse {
            pid,
            ..Default::default()
        })
    }

    async fn do_delete(&self, req: DeleteRequest) -> Result<DeleteResponse> {
        let mut cs = self.inner.containers.lock().await;
        let c = cs.get_mut(&req.id).ok_or_else(|| not_found(&req.id))?;
        if !req.exec_id.is_empty() {
            let p = c.process(&req.exec_id)?;
            p.life.can_delete(&req.exec_id)?;
            let p = c.execs.remove(&req.exec_id).expect("found above");
            let exit = p.life.exit;
            return Ok(DeleteResponse {
                pid: p.life.pid,
                exit_status: exit.map(|e| e.status).unwrap_or(0),
                exited_at: exit.map(|e| timestamp(e.at)).unwrap_or_default(),
                ..Default::default()
            });
        }
        c.init.life.can_delete(&req.id)?;
        let force = c.init.life.status == Status::Created;
        if let Err(e) = c
            .runc
            .delete(&req.id, Some(&DeleteOpts::new().force(force)))
            .await
        {
            let msg = crate::runc::message(&c.bundle, &e);
            if !msg.contains("does not exist") {
                return Err(Error::Runc { op: "delete", msg });
            }
        }
        let c = cs.remove(&req.id).expect("found above");
        drop(cs);
        if let Some(r) = &c.rootfs {
            unmount(r);
        }
        let pid = c.init.life.pid;
        let exit = c.init.life.exit;
        let (exit_status, exited_at) = match exit {
            Some(e) => (e.status, timestamp(e.at)),
            None => (0, MessageField::none()),
        };
        drop(c);
        info!("deleted container={}", req.id);
        self.publish(TaskDelete {
            container_id: req.id.clone(),
            pid,
            exit_status,
            exited_at: exited_at.clone(),
            id: req.id.clone(),
            ..Default::default()
        })
        .await;
        Ok(DeleteResponse {
            pid,
            exit_status,
            exited_at,
            ..Default::default()
        })
    }

    async fn do_kill(&self, req: KillRequest) -> Result<()> {
        let mut cs = self.inner.containers.lock().await;
        let c = cs.get_mut(&req.id).ok_or_else(|| not_found(&req.id))?;
        if req.exec_id.is_empty() {
            c.init.life.can_kill(&req.id)?;
            let opts = KillOpts::new().all(req.all);
            return c
                .runc
                .kill(&req.id, req.signal, Some(&opts))
                .await
                .map_err(|e| kill_error(&req.id, &crate::runc::message(&c.bundle, &e)));
        }
        let p = c.process(&req.exec_id)?;
        p.life.can_kill(&req.exec_id)?;
        if p.life.pid == 0 {
            return Err(Error::FailedPrecondition(format!(
                "{} has not started",
                req.exec_id
            )));
        }
        let rc = unsafe { libc::kill(p.life.pid as i32, req.signal as i32) };
        if rc < 0 {
            let e = std::io::Error::last_os_error();
            return Err(kill_error(&req.exec_id, &e.to_string()));
        }
        Ok(())
    }

    async fn do_exec(&self, req: ExecProcessRequest) -> Result<()> {
        let mut cs = self.inner.containers.lock().await;
        let c = cs.get_mut(&req.id).ok_or_else(|| not_found(&req.id))?;
        if c.execs.contains_key(&req.exec_id) {
            return Err(Error::AlreadyExists(format!("process {}", req.exec_id)));
        }
        if c.init.life.status == Status::Stopped {
            return Err(Error::FailedPrecondition(format!(
                "container {} has stopped",
                req.id
            )));
        }
        let any = req
            .spec
            .as_ref()
            .ok_or_else(|| Error::InvalidArgument("exec without a process spec".into()))?;
        let mut spec = crate::spec::exec_process(&any.value)?;
        spec.set_terminal(Some(req.terminal));
        let mut p = Proc::new(
            Lifecycle::default(),
            Stdio {
                stdin: req.stdin.clone(),
                stdout: req.stdout.clone(),
                stderr: req.stderr.clone(),
                terminal: req.terminal,
            },
        );
        p.spec = Some(spec);
        c.execs.insert(req.exec_id.clone(), p);
        drop(cs);
        self.publish(TaskExecAdded {
            container_id: req.id.clone(),
            exec_id: req.exec_id.clone(),
            ..Default::default()
        })
        .await;
        Ok(())
    }

    async fn do_state(&self, req: StateRequest) -> Result<StateResponse> {
        let mut cs = self.inner.containers.lock().await;
        let c = cs.get_mut(&req.id).ok_or_else(|| not_found(&req.id))?;
        let bundle = c.bundle.display().to_string();
        let p = c.process(&req.exec_id)?;
        let exit = p.life.exit;
        Ok(StateResponse {
            id: if req.exec_id.is_empty() {
                req.id.clone()
            } else {
                req.exec_id.clone()
            },
            bundle,
            pid: p.life.pid,
            status: api_status(p.life.status),
            stdin: p.stdio.stdin.clone(),
            stdout: p.stdio.stdout.clone(),
            stderr: p.stdio.stderr.clone(),
            terminal: p.stdio.terminal,
            exit_status: exit.map(|e| e.status).unwrap_or(0),
            exited_at: exit.map(|e| timestamp(e.at)).unwrap_or_default(),
            exec_id: req.exec_id.clone(),
            ..Default::default()
        })
    }

    async fn do_wait(&self, req: WaitRequest) -> Result<WaitResponse> {
        let mut rx = {
            let mut cs = self.inner.containers.lock().await;
            let c = cs.get_mut(&req.id).ok_or_else(|| not_found(&req.id))?;
            c.process(&req.exec_id)?.done.subscribe()
        };
        let exit = rx
            .wait_for(|e| e.is_some())
            .await
            .map_err(|_| Error::NotFound(format!("process {} {}", req.id, req.exec_id)))?
            .expect("waited for Some");
        Ok(WaitResponse {
            exit_status: exit.status,
            exited_at: timestamp(exit.at),
            ..Default::default()
        })
    }

    async fn do_pids(&self, req: PidsRequest) -> Result<PidsResponse> {
        let cs = self.inner.containers.lock().await;
        let c = cs.get(&req.id).ok_or_else(|| not_found(&req.id))?;
        let pids = c
            .runc
            .ps(&req.id)
            .await
            .map_err(|e| crate::runc::failed("ps", &c.bundle, e))?;
        Ok(PidsResponse {
            processes: pids
                .into_iter()
                .map(|pid| ProcessInfo {
                    pid: pid as u32,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        })
    }

    async fn do_pause(&self, id: &str, pause: bool) -> Result<()> {
        let mut cs = self.inner.containers.lock().await;
        let c = cs.get_mut(id).ok_or_else(|| not_found(id))?;
        let r = if pause {
            c.runc.pause(id).await
        } else {
            c.runc.resume(id).await
        };
        r.map_err(|e| crate::runc::failed(if pause { "pause" } else { "resume" }, &c.bundle, e))?;
        c.init.life.paused(pause);
        drop(cs);
        if pause {
            self.publish(TaskPaused {
                container_id: id.to_string(),
                ..Default::default()
            })
            .await;
        } else {
            self.publish(TaskResumed {
                container_id: id.to_string(),
                ..Default::default()
            })
            .await;
        }
        Ok(())
    }

    async fn do_update(&self, req: UpdateTaskRequest) -> Result<()> {
        let cs = self.inner.containers.lock().await;
        let c = cs.get(&req.id).ok_or_else(|| not_found(&req.id))?;
        let any = req
            .resources
            .as_ref()
            .ok_or_else(|| Error::InvalidArgument("update without resources".into()))?;
        let resources: oci_spec::runtime::LinuxResources = serde_json::from_slice(&any.value)
            .map_err(|e| Error::InvalidArgument(format!("resources: {e}")))?;
        c.runc
            .update(&req.id, &resources)
            .await
            .map_err(|e| crate::runc::failed("update", &c.bundle, e))
    }

    async fn do_stats(&self, req: StatsRequest) -> Result<StatsResponse> {
        let pid = {
            let cs = self.inner.containers.lock().await;
            let c = cs.get(&req.id).ok_or_else(|| not_found(&req.id))?;
            c.init.life.can_kill(&req.id)?;
            c.init.life.pid
        };
        Ok(StatsResponse {
            stats: MessageField::some(crate::stats::metrics(pid)?),
            ..Default::default()
        })
    }

    async fn with_process<T>(
        &self,
        id: &str,
        exec_id: &str,
        f: impl FnOnce(&mut Proc) -> Result<T>,
    ) -> Result<T> {
        let mut cs = self.inner.containers.lock().await;
        let c = cs.get_mut(id).ok_or_else(|| not_found(id))?;
        f(c.process(exec_id)?)
    }
}

/// Unmounts the rootfs and everything below it.
fn unmount(rootfs: &Path) {
    if let Err(e) = containerd_shim::mount::umount_recursive(rootfs.to_str(), 0) {
        warn!("unmount {}: {e}", rootfs.display());
    }
}

#[async_trait]
impl Task for Service {
    async fn create(
        &self,
        _: &TtrpcContext,
        req: CreateTaskRequest,
    ) -> TtrpcResult<CreateTaskResponse> {
        Ok(self.do_create(req).await?)
    }

    async fn start(&self, _: &TtrpcContext, req: StartRequest) -> TtrpcResult<StartResponse> {
        Ok(self.do_start(req).await?)
    }

    async fn state(&self, _: &TtrpcContext, req: StateRequest) -> TtrpcResult<StateResponse> {
        Ok(self.do_state(req).await?)
    }

    async fn pids(&self, _: &TtrpcContext, req: PidsRequest) -> TtrpcResult<PidsResponse> {
        Ok(self.do_pids(req).await?)
    }

    async fn pause(&self, _: &TtrpcContext, req: PauseRequest) -> TtrpcResult<Empty> {
        self.do_pause(&req.id, true).await?;
        Ok(Empty::new())
    }

    async fn resume(&self, _: &TtrpcContext, req: ResumeRequest) -> TtrpcResult<Empty> {
        self.do_pause(&req.id, false).await?;
        Ok(Empty::new())
    }

    async fn kill(&self, _: &TtrpcContext, req: KillRequest) -> TtrpcResult<Empty> {
        self.do_kill(req).await?;
        Ok(Empty::new())
    }

    async fn exec(&self, _: &TtrpcContext, req: ExecProcessRequest) -> TtrpcResult<Empty> {
        self.do_exec(req).await?;
        Ok(Empty::new())
    }

    async fn resize_pty(&self, _: &TtrpcContext, req: ResizePtyRequest) -> TtrpcResult<Empty> {
        self.with_process(&req.id, &req.exec_id, |p| match &p.copies {
            Some(c) => c.resize(req.width, req.height),
            None => Err(Error::FailedPrecondition(
                "the process has no terminal".into(),
            )),
        })
        .await?;
        Ok(Empty::new())
    }

    async fn close_io(&self, _: &TtrpcContext, req: CloseIORequest) -> TtrpcResult<Empty> {
        if req.stdin {
            self.with_process(&req.id, &req.exec_id, |p| {
                if let Some(c) = p.copies.as_mut() {
                    c.close_stdin();
                }
                Ok(())
            })
            .await?;
        }
        Ok(Empty::new())
    }

    async fn update(&self, _: &TtrpcContext, req: UpdateTaskRequest) -> TtrpcResult<Empty> {
        self.do_update(req).await?;
        Ok(Empty::new())
    }

    async fn wait(&self, _: &TtrpcContext, req: WaitRequest) -> TtrpcResult<WaitResponse> {
        Ok(self.do_wait(req).await?)
    }

    async fn delete(&self, _: &TtrpcContext, req: DeleteRequest) -> TtrpcResult<DeleteResponse> {
        Ok(self.do_delete(req).await?)
    }

    async fn stats(&self, _: &TtrpcContext, req: StatsRequest) -> TtrpcResult<StatsResponse> {
        Ok(self.do_stats(req).await?)
    }

    async fn connect(&self, _: &TtrpcContext, req: ConnectRequest) -> TtrpcResult<ConnectResponse> {
        let cs = self.inner.containers.lock().await;
        let task_pid = cs.get(&req.id).map(|c| c.init.life.pid).unwrap_or(0);
        Ok(ConnectResponse {
            shim_pid: std::process::id(),
            task_pid,
            version: env!("CARGO_PKG_VERSION").to_string(),
            ..Default::default()
        })
    }

    async fn shutdown(&self, _: &TtrpcContext, req: ShutdownRequest) -> TtrpcResult<Empty> {
        let cs = self.inner.containers.lock().await;
        // A grouped shim stays while any of its containers does.
        if req.now || cs.is_empty() {
            info!("shutting down");
            self.inner.exit.signal();
        }
        Ok(Empty::new())
    }
}
