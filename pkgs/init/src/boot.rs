//! Bringing the machine up to where containers can run: the root on a tmpfs, the kernel's
//! filesystems, cgroups, loopback, the host name.

use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use nix::mount::{mount, MsFlags};
use nix::sys::stat::{makedev, mknod, Mode, SFlag};
use nix::unistd::{chown, Gid, Uid};

use crate::log;

const RAMFS_MAGIC: i64 = 0x8584_58f6;
const TMPFS_MAGIC: i64 = 0x0102_1994;
/// Set in the environment of the init that runs on the copied root.
pub const SWITCHED: &str = "MINIOS_INIT_SWITCHED";

type Result<T> = std::result::Result<T, String>;

fn mount_fs(source: &str, target: &str, fstype: &str, flags: MsFlags, data: &str) -> Result<()> {
    fs::create_dir_all(target).map_err(|e| format!("mkdir {target}: {e}"))?;
    mount(
        Some(source),
        target,
        Some(fstype),
        flags,
        (!data.is_empty()).then_some(data),
    )
    .map_err(|e| format!("mount {fstype} on {target}: {e}"))
}

/// The initramfs root cannot be pivot_root'ed away from (runc needs that for every container):
/// copy it onto a tmpfs, make that the root, and run init again there.
pub fn switch_root_if_needed() -> Result<()> {
    if std::env::var_os(SWITCHED).is_some() {
        return Ok(());
    }
    let stat = nix::sys::statfs::statfs("/").map_err(|e| format!("statfs /: {e}"))?;
    let kind = stat.filesystem_type().0 as i64;
    if kind != RAMFS_MAGIC && kind != TMPFS_MAGIC {
        return Ok(());
    }
    let new_root = "/.root";
    mount_fs("rootfs", new_root, "tmpfs", MsFlags::empty(), "mode=0755")?;
    let root_dev = fs::metadata("/").map_err(|e| e.to_string())?.dev();
    // What is on the initramfs itself (not a mount on it, such as a devtmpfs the kernel made).
    let entries: Vec<std::path::PathBuf> = fs::read_dir("/")
        .map_err(|e| format!("reading /: {e}"))?
        .flatten()
        .filter(|e| e.file_name().as_bytes() != b".root")
        .filter(|e| fs::symlink_metadata(e.path()).is_ok_and(|m| m.dev() == root_dev))
        .map(|e| e.path())
        .collect();
    // Everything is copied before anything is freed: a copy that fails (a tmpfs too small)
    // leaves the initramfs whole, and init goes on there.
    for from in &entries {
        let to = Path::new(new_root).join(from.file_name().unwrap_or_default());
        if let Err(e) = copy_tree(from, &to) {
            let _ = nix::mount::umount2(new_root, nix::mount::MntFlags::MNT_DETACH);
            let _ = fs::remove_dir(new_root);
            return Err(e);
        }
    }
    for from in &entries {
        remove_tree(from);
    }
    std::env::set_current_dir(new_root).map_err(|e| e.to_string())?;
    mount(Some("."), "/", None::<&str>, MsFlags::MS_MOVE, None::<&str>)
        .map_err(|e| format!("moving the new root: {e}"))?;
    nix::unistd::chroot(".").map_err(|e| format!("chroot: {e}"))?;
    std::env::set_current_dir("/").map_err(|e| e.to_string())?;
    let exe = CString::new("/init").unwrap();
    let args: Vec<CString> = std::env::args()
        .map(|a| CString::new(a).unwrap_or_default())
        .collect();
    let mut env: Vec<CString> = std::env::vars()
        .filter_map(|(k, v)| CString::new(format!("{k}={v}")).ok())
        .collect();
    env.push(CString::new(format!("{SWITCHED}=1")).unwrap());
    let err = nix::unistd::execve(&exe, &args, &env).unwrap_err();
    Err(format!("exec /init on the new root: {err}"))
}

/// Copies files, folders, links and device nodes with their modes and owners.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    let meta = fs::symlink_metadata(from).map_err(|e| format!("{}: {e}", from.display()))?;
    let kind = meta.file_type();
    let fail = |e: &dyn std::fmt::Display| format!("copying {}: {e}", from.display());
    if kind.is_dir() {
        fs::create_dir_all(to).map_err(|e| fail(&e))?;
        for entry in fs::read_dir(from).map_err(|e| fail(&e))? {
            let entry = entry.map_err(|e| fail(&e))?;
            copy_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
    } else if kind.is_symlink() {
        let target = fs::read_link(from).map_err(|e| fail(&e))?;
        std::os::unix::fs::symlink(target, to).map_err(|e| fail(&e))?;
        return Ok(());
    } else if kind.is_file() {
        fs::copy(from, to).map_err(|e| fail(&e))?;
    } else {
        use std::os::unix::fs::FileTypeExt;
        let sflag = if kind.is_char_device() {
            SFlag::S_IFCHR
        } else if kind.is_block_device() {
            SFlag::S_IFBLK
        } else if kind.is_fifo() {
            SFlag::S_IFIFO
        } else {
            return Ok(()); // sockets do not survive a copy
        };
        let dev = meta.rdev();
        mknod(
            to,
            sflag,
            Mode::from_bits_truncate(meta.mode()),
            makedev(libc::major(dev) as u64, libc::minor(dev) as u64),
        )
        .map_err(|e| fail(&e))?;
    }
    chown(
        to,
        Some(Uid::from_raw(meta.uid())),
        Some(Gid::from_raw(meta.gid())),
    )
    .map_err(|e| fail(&e))?;
    fs::set_permissions(to, fs::Permissions::from_mode(meta.mode() & 0o7777))
        .map_err(|e| fail(&e))?;
    Ok(())
}

/// Frees the initramfs's memory; what cannot be removed stays.
fn remove_tree(path: &Path) {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            let _ = fs::remove_dir_all(path);
        }
        Ok(_) => {
            let _ = fs::remove_file(path);
        }
        Err(_) => {}
    }
}

/// The filesystems every LinuxKit machine has, as its init mounts them.
pub fn mount_filesystems(unified_cgroups: bool) -> Result<()> {
    let nosuid_noexec = MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC;
    let all = nosuid_noexec | MsFlags::MS_NODEV;
    mount_fs("proc", "/proc", "proc", all | MsFlags::MS_RELATIME, "")?;
    mount_fs("sysfs", "/sys", "sysfs", all, "")?;
    mount_fs(
        "dev",
        "/dev",
        "devtmpfs",
        nosuid_noexec | MsFlags::MS_RELATIME,
        "mode=0755,size=10m",
    )?;
    mount_fs(
        "devpts",
        "/dev/pts",
        "devpts",
        nosuid_noexec,
        "gid=5,mode=0620,ptmxmode=0666",
    )?;
    mount_fs("shm", "/dev/shm", "tmpfs", all, "mode=1777")?;
    mount_fs("mqueue", "/dev/mqueue", "mqueue", all, "")?;
    mount_fs(
        "tmpfs",
        "/run",
        "tmpfs",
        all | MsFlags::MS_RELATIME,
        "size=10%,mode=755",
    )?;
    mount_fs(
        "tmpfs",
        "/tmp",
        "tmpfs",
        all | MsFlags::MS_RELATIME,
        "size=10%,mode=1777",
    )?;
    mount_fs(
        "tmpfs",
        "/var",
        "tmpfs",
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        "mode=755",
    )?;
    for dir in ["/var/log", "/var/lib", "/run/resolvconf", "/run/config"] {
        fs::create_dir_all(dir).map_err(|e| format!("mkdir {dir}: {e}"))?;
    }
    for (link, target) in [
        ("/dev/fd", "/proc/self/fd"),
        ("/dev/stdin", "/proc/self/fd/0"),
        ("/dev/stdout", "/proc/self/fd/1"),
        ("/dev/stderr", "/proc/self/fd/2"),
    ] {
        let _ = std::os::unix::fs::symlink(target, link);
    }
    if fs::symlink_metadata("/etc/resolv.conf").is_err() {
        let _ = fs::create_dir_all("/etc");
        let _ = std::os::unix::fs::symlink("/run/resolvconf/resolv.conf", "/etc/resolv.conf");
    }
    mount_cgroups(unified_cgroups)?;
    // Containers' mounts propagate back (rootfsPropagation: shared, bind propagation).
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_SHARED,
        None::<&str>,
    )
    .map_err(|e| format!("making / rshared: {e}"))
}

fn mount_cgroups(unified: bool) -> Result<()> {
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC | MsFlags::MS_NODEV;
    if unified {
        return mount_fs("cgroup2", "/sys/fs/cgroup", "cgroup2", flags, "nsdelegate");
    }
    mount_fs(
        "cgroup_root",
        "/sys/fs/cgroup",
        "tmpfs",
        flags,
        "mode=755,size=10m",
    )?;
    let table = fs::read_to_string("/proc/cgroups").map_err(|e| e.to_string())?;
    for line in table.lines().filter(|l| !l.starts_with('#')) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if let [name, _, _, "1"] = fields.as_slice() {
            mount_fs(
                name,
                &format!("/sys/fs/cgroup/{name}"),
                "cgroup",
                flags,
                name,
            )?;
        }
    }
    Ok(())
}

/// `lo` up (the kernel gives it 127.0.0.1/8), through SIOCSIFFLAGS: no netlink needed.
pub fn loopback_up() -> Result<()> {
    let sock = nix::sys::socket::socket(
        nix::sys::socket::AddressFamily::Inet,
        nix::sys::socket::SockType::Datagram,
        nix::sys::socket::SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| format!("socket: {e}"))?;
    // SAFETY: ifreq is plain data; the ioctls read and write only it. (The request type is
    // c_ulong with glibc and c_int with musl, hence the casts.)
    unsafe {
        let mut req: libc::ifreq = std::mem::zeroed();
        for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
            *dst = *src as libc::c_char;
        }
        use std::os::fd::AsRawFd;
        if libc::ioctl(
            sock.as_raw_fd(),
            libc::SIOCGIFFLAGS as libc::Ioctl,
            &mut req,
        ) < 0
        {
            return Err(format!(
                "SIOCGIFFLAGS lo: {}",
                std::io::Error::last_os_error()
            ));
        }
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS as libc::Ioctl, &req) < 0 {
            return Err(format!(
                "SIOCSIFFLAGS lo: {}",
                std::io::Error::last_os_error()
            ));
        }
    }
    Ok(())
}

/// The host name from /etc/hostname, else from the first network interface's MAC.
pub fn set_hostname() -> Result<String> {
    let from_file = fs::read_to_string("/etc/hostname").ok();
    let mut macs: Vec<(String, String)> = fs::read_dir("/sys/class/net")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let mac = fs::read_to_string(e.path().join("address")).ok()?;
            (name != "lo").then_some((name, mac))
        })
        .collect();
    macs.sort();
    let name = init::hostname(from_file.as_deref(), macs.first().map(|(_, m)| m.as_str()));
    nix::unistd::sethostname(&name).map_err(|e| format!("sethostname: {e}"))?;
    log(&format!("event=hostname name={name}"));
    Ok(name)
}

/// `/containers/volumes/NAME`, before any container runs: a read-write volume (one with `tmp/`)
/// is an overlay of `lower/` with its writes on a tmpfs in `tmp/`; a read-only one is `lower/`
/// bound read-only. Either is seen at `merged/`, where the entries' binds point. Returns
/// (name, error) for each volume that could not be mounted; the others are mounted anyway.
pub fn mount_volumes(dir: &str) -> Vec<(String, String)> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut failed = Vec::new();
    for name in names {
        let at = format!("{dir}/{name}");
        let result = if Path::new(&format!("{at}/tmp")).is_dir() {
            mount_fs(
                "tmpfs",
                &format!("{at}/tmp"),
                "tmpfs",
                MsFlags::MS_RELATIME,
                "",
            )
            .and_then(|()| {
                for d in ["upper", "work"] {
                    fs::create_dir_all(format!("{at}/tmp/{d}"))
                        .map_err(|e| format!("mkdir {d}: {e}"))?;
                }
                let options =
                    format!("lowerdir={at}/lower,upperdir={at}/tmp/upper,workdir={at}/tmp/work");
                mount_fs(
                    "overlay",
                    &format!("{at}/merged"),
                    "overlay",
                    MsFlags::empty(),
                    &options,
                )
            })
        } else {
            let merged = format!("{at}/merged");
            mount_fs(
                &format!("{at}/lower"),
                &merged,
                "",
                MsFlags::MS_BIND | MsFlags::MS_REC,
                "",
            )
            .and_then(|()| {
                let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
                mount(
                    None::<&str>,
                    merged.as_str(),
                    None::<&str>,
                    flags,
                    None::<&str>,
                )
                .map_err(|e| format!("remounting {merged} read-only: {e}"))
            })
        };
        match result {
            Ok(()) => crate::log(&format!("event=volume name={name} state=mounted")),
            Err(e) => failed.push((name, e)),
        }
    }
    failed
}
