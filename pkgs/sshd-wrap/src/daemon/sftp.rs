//! The `sftp` subsystem: SFTP version 3 (what OpenSSH's `sftp` and `scp` speak) served on
//! stdin and stdout by the session helper, already running as the user, in the host's mount
//! namespace. russh-sftp does the packets; this maps each request onto the file system.
//!
//! Paths are Rust strings, so a name that is not UTF-8 is not reachable over SFTP.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions, ReadDir};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use nix::sys::stat::{utimensat, UtimensatFlags};
use nix::sys::time::TimeSpec;
use russh_sftp::protocol::{
    Attrs, Data, File as Entry, FileAttributes, Handle, Name, OpenFlags, Packet, Status,
    StatusCode, Version,
};
use russh_sftp::server::StatusReply;
use tokio::sync::oneshot;

/// Largest read answered at once; OpenSSH's client asks for 32 KiB to 255 KiB.
const MAX_READ: u32 = 256 * 1024;
/// Directory entries per READDIR answer.
const DIR_BATCH: usize = 128;

/// Serves SFTP on stdin/stdout until the client closes the stream.
pub fn serve_stdio() -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let (done_tx, done_rx) = oneshot::channel();
        let server = Sftp {
            next_handle: 0,
            files: HashMap::new(),
            dirs: HashMap::new(),
            _done: done_tx,
        };
        let stream = tokio::io::join(tokio::io::stdin(), tokio::io::stdout());
        russh_sftp::server::run(stream, server).await;
        // The server is dropped, and `done` with it, when the stream ends.
        let _ = done_rx.await;
    });
    Ok(())
}

struct Sftp {
    next_handle: u64,
    files: HashMap<String, OpenFile>,
    dirs: HashMap<String, OpenDir>,
    _done: oneshot::Sender<()>,
}

struct OpenFile {
    file: File,
    append: bool,
}

struct OpenDir {
    path: PathBuf,
    entries: Option<ReadDir>,
}

fn status(id: u32) -> Status {
    Status {
        id,
        status_code: StatusCode::Ok,
        error_message: "Success".into(),
        language_tag: "en-US".into(),
    }
}

fn io_error(e: io::Error) -> StatusReply {
    let code = match e.kind() {
        io::ErrorKind::NotFound => StatusCode::NoSuchFile,
        io::ErrorKind::PermissionDenied => StatusCode::PermissionDenied,
        _ => StatusCode::Failure,
    };
    code.with_message(e.to_string())
}

fn no_handle() -> StatusReply {
    StatusCode::Failure.with_message("no such handle")
}

fn attributes(meta: &fs::Metadata) -> FileAttributes {
    FileAttributes {
        size: Some(meta.size()),
        uid: Some(meta.uid()),
        user: None,
        gid: Some(meta.gid()),
        group: None,
        permissions: Some(meta.mode()),
        atime: Some(meta.atime() as u32),
        mtime: Some(meta.mtime() as u32),
    }
}

/// Applies SETSTAT attributes in OpenSSH's order: size, mode, owner, times.
fn set_attributes(path: &Path, attrs: &FileAttributes) -> io::Result<()> {
    if let Some(size) = attrs.size {
        OpenOptions::new().write(true).open(path)?.set_len(size)?;
    }
    if let Some(mode) = attrs.permissions {
        fs::set_permissions(path, fs::Permissions::from_mode(mode & 0o7777))?;
    }
    if attrs.uid.is_some() || attrs.gid.is_some() {
        std::os::unix::fs::chown(path, attrs.uid, attrs.gid)?;
    }
    if let (Some(atime), Some(mtime)) = (attrs.atime, attrs.mtime) {
        let ts = |t: u32| TimeSpec::new(i64::from(t), 0);
        utimensat(
            nix::fcntl::AT_FDCWD,
            path,
            &ts(atime),
            &ts(mtime),
            UtimensatFlags::FollowSymlink,
        )
        .map_err(io::Error::from)?;
    }
    Ok(())
}

/// An absolute, normalised path, as OpenSSH's realpath: the last component need not exist.
fn resolve(path: &str) -> io::Result<PathBuf> {
    let path = if path.is_empty() { "." } else { path };
    let full = std::env::current_dir()?.join(path);
    if let Ok(real) = fs::canonicalize(&full) {
        return Ok(real);
    }
    let mut out = PathBuf::from("/");
    for part in full.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(p) => out.push(p),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    Ok(out)
}

/// Reads one SSH string (u32 length, bytes) off the front of `data`.
fn take_string(data: &mut &[u8]) -> Option<String> {
    let len = u32::from_be_bytes(data.get(..4)?.try_into().ok()?) as usize;
    let bytes = data.get(4..4 + len)?;
    *data = &data[4 + len..];
    String::from_utf8(bytes.to_vec()).ok()
}

impl Sftp {
    fn new_handle(&mut self) -> String {
        self.next_handle += 1;
        self.next_handle.to_string()
    }

    fn file(&self, handle: &str) -> Result<&OpenFile, StatusReply> {
        self.files.get(handle).ok_or_else(no_handle)
    }
}

impl russh_sftp::server::Handler for Sftp {
    type Error = StatusReply;

    fn unimplemented(&self) -> Self::Error {
        StatusCode::OpUnsupported.into()
    }

    async fn init(
        &mut self,
        version: u32,
        _extensions: HashMap<String, String>,
    ) -> Result<Version, Self::Error> {
        if version < 3 {
            return Err(StatusCode::OpUnsupported.with_message("SFTP version 3 or later needed"));
        }
        let mut v = Version::new();
        v.extensions
            .insert("posix-rename@openssh.com".into(), "1".into());
        v.extensions.insert("fsync@openssh.com".into(), "1".into());
        v.extensions
            .insert("hardlink@openssh.com".into(), "1".into());
        Ok(v)
    }

    async fn open(
        &mut self,
        id: u32,
        filename: String,
        pflags: OpenFlags,
        attrs: FileAttributes,
    ) -> Result<Handle, Self::Error> {
        let mut options = OpenOptions::new();
        let create = pflags.contains(OpenFlags::CREATE);
        options
            .read(pflags.contains(OpenFlags::READ))
            .write(pflags.contains(OpenFlags::WRITE) || pflags.contains(OpenFlags::APPEND))
            .append(pflags.contains(OpenFlags::APPEND))
            .truncate(pflags.contains(OpenFlags::TRUNCATE))
            .create(create)
            .create_new(create && pflags.contains(OpenFlags::EXCLUDE))
            .mode(attrs.permissions.map_or(0o666, |m| m & 0o7777));
        let file = options.open(&filename).map_err(io_error)?;
        let handle = self.new_handle();
        self.files.insert(
            handle.clone(),
            OpenFile {
                file,
                append: pflags.contains(OpenFlags::APPEND),
            },
        );
        Ok(Handle { id, handle })
    }

    async fn close(&mut self, id: u32, handle: String) -> Result<Status, Self::Error> {
        let known = self.files.remove(&handle).is_some() | self.dirs.remove(&handle).is_some();
        if known {
            Ok(status(id))
        } else {
            Err(no_handle())
        }
    }

    async fn read(
        &mut self,
        id: u32,
        handle: String,
        offset: u64,
        len: u32,
    ) -> Result<Data, Self::Error> {
        let open = self.file(&handle)?;
        let mut data = vec![0; len.min(MAX_READ) as usize];
        let n = open.file.read_at(&mut data, offset).map_err(io_error)?;
        if n == 0 && !data.is_empty() {
            return Err(StatusCode::Eof.into());
        }
        data.truncate(n);
        Ok(Data { id, data })
    }

    async fn write(
        &mut self,
        id: u32,
        handle: String,
        offset: u64,
        data: Vec<u8>,
    ) -> Result<Status, Self::Error> {
        let open = self.file(&handle)?;
        let result = if open.append {
            (&open.file).write_all(&data)
        } else {
            open.file.write_all_at(&data, offset)
        };
        result.map_err(io_error)?;
        Ok(status(id))
    }

    async fn lstat(&mut self, id: u32, path: String) -> Result<Attrs, Self::Error> {
        let meta = fs::symlink_metadata(path).map_err(io_error)?;
        Ok(Attrs {
            id,
            attrs: attributes(&meta),
        })
    }

    async fn stat(&mut self, id: u32, path: String) -> Result<Attrs, Self::Error> {
        let meta = fs::metadata(path).map_err(io_error)?;
        Ok(Attrs {
            id,
            attrs: attributes(&meta),
        })
    }

    async fn fstat(&mut self, id: u32, handle: String) -> Result<Attrs, Self::Error> {
        let meta = self.file(&handle)?.file.metadata().map_err(io_error)?;
        Ok(Attrs {
            id,
            attrs: attributes(&meta),
        })
    }

    async fn setstat(
        &mut self,
        id: u32,
        path: String,
        attrs: FileAttributes,
    ) -> Result<Status, Self::Error> {
        set_attributes(Path::new(&path), &attrs).map_err(io_error)?;
        Ok(status(id))
    }

    async fn fsetstat(
        &mut self,
        id: u32,
        handle: String,
        attrs: FileAttributes,
    ) -> Result<Status, Self::Error> {
        // Through /proc, so the times and owner apply to the open file even if it was renamed.
        let open = self.file(&handle)?;
        if let Some(size) = attrs.size {
            open.file.set_len(size).map_err(io_error)?;
        }
        let fd = std::os::fd::AsRawFd::as_raw_fd(&open.file);
        let rest = FileAttributes {
            size: None,
            ..attrs
        };
        set_attributes(Path::new(&format!("/proc/self/fd/{fd}")), &rest).map_err(io_error)?;
        Ok(status(id))
    }

    async fn opendir(&mut self, id: u32, path: String) -> Result<Handle, Self::Error> {
        let entries = fs::read_dir(&path).map_err(io_error)?;
        let handle = self.new_handle();
        self.dirs.insert(
            handle.clone(),
            OpenDir {
                path: PathBuf::from(path),
                entries: Some(entries),
            },
        );
        Ok(Handle { id, handle })
    }

    async fn readdir(&mut self, id: u32, handle: String) -> Result<Name, Self::Error> {
        let dir = self.dirs.get_mut(&handle).ok_or_else(no_handle)?;
        let Some(entries) = dir.entries.as_mut() else {
            return Err(StatusCode::Eof.into());
        };
        let mut files = Vec::new();
        for entry in entries.by_ref().take(DIR_BATCH) {
            let entry = entry.map_err(io_error)?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            // A file removed since the listing began is skipped, as ls does.
            if let Ok(meta) = fs::symlink_metadata(dir.path.join(&name)) {
                files.push(Entry::new(name, attributes(&meta)));
            }
        }
        if files.is_empty() {
            dir.entries = None;
            return Err(StatusCode::Eof.into());
        }
        Ok(Name { id, files })
    }

    async fn remove(&mut self, id: u32, filename: String) -> Result<Status, Self::Error> {
        fs::remove_file(filename).map_err(io_error)?;
        Ok(status(id))
    }

    async fn mkdir(
        &mut self,
        id: u32,
        path: String,
        attrs: FileAttributes,
    ) -> Result<Status, Self::Error> {
        fs::DirBuilder::new()
            .mode(attrs.permissions.map_or(0o777, |m| m & 0o7777))
            .create(path)
            .map_err(io_error)?;
        Ok(status(id))
    }

    async fn rmdir(&mut self, id: u32, path: String) -> Result<Status, Self::Error> {
        fs::remove_dir(path).map_err(io_error)?;
        Ok(status(id))
    }

    async fn realpath(&mut self, id: u32, path: String) -> Result<Name, Self::Error> {
        let real = resolve(&path).map_err(io_error)?;
        Ok(Name {
            id,
            files: vec![Entry::dummy(real.to_string_lossy())],
        })
    }

    async fn rename(
        &mut self,
        id: u32,
        oldpath: String,
        newpath: String,
    ) -> Result<Status, Self::Error> {
        // SFTP v3's rename never replaces a file (posix-rename@openssh.com does).
        if fs::symlink_metadata(&newpath).is_ok() {
            return Err(StatusCode::Failure.with_message(format!("{newpath} exists")));
        }
        fs::rename(oldpath, newpath).map_err(io_error)?;
        Ok(status(id))
    }

    async fn readlink(&mut self, id: u32, path: String) -> Result<Name, Self::Error> {
        let target = fs::read_link(path).map_err(io_error)?;
        Ok(Name {
            id,
            files: vec![Entry::dummy(target.to_string_lossy())],
        })
    }

    async fn symlink(
        &mut self,
        id: u32,
        linkpath: String,
        targetpath: String,
    ) -> Result<Status, Self::Error> {
        // OpenSSH's client sends the target first (the reverse of the draft), and its server
        // reads them so; we do the same, so `ln -s` in sftp makes what the user meant.
        std::os::unix::fs::symlink(linkpath, targetpath).map_err(io_error)?;
        Ok(status(id))
    }

    async fn extended(
        &mut self,
        id: u32,
        request: String,
        data: Vec<u8>,
    ) -> Result<Packet, Self::Error> {
        let mut rest = data.as_slice();
        let bad = || StatusReply::from(StatusCode::BadMessage);
        match request.as_str() {
            "posix-rename@openssh.com" => {
                let from = take_string(&mut rest).ok_or_else(bad)?;
                let to = take_string(&mut rest).ok_or_else(bad)?;
                fs::rename(from, to).map_err(io_error)?;
            }
            "hardlink@openssh.com" => {
                let from = take_string(&mut rest).ok_or_else(bad)?;
                let to = take_string(&mut rest).ok_or_else(bad)?;
                fs::hard_link(from, to).map_err(io_error)?;
            }
            "fsync@openssh.com" => {
                let handle = take_string(&mut rest).ok_or_else(bad)?;
                self.file(&handle)?.file.sync_all().map_err(io_error)?;
            }
            _ => return Err(self.unimplemented()),
        }
        Ok(Packet::Status(status(id)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realpath_needs_no_last_component() {
        let dir = tempfile::tempdir().unwrap();
        let base = fs::canonicalize(dir.path()).unwrap();
        let p = format!("{}/sub/../new-file", base.display());
        assert_eq!(resolve(&p).unwrap(), base.join("new-file"));
        assert_eq!(resolve(&base.display().to_string()).unwrap(), base);
    }

    #[test]
    fn strings_are_length_prefixed() {
        let data = [0, 0, 0, 2, b'a', b'b', 0, 0, 0, 1, b'c'];
        let mut rest = &data[..];
        assert_eq!(take_string(&mut rest).as_deref(), Some("ab"));
        assert_eq!(take_string(&mut rest).as_deref(), Some("c"));
        assert_eq!(take_string(&mut rest), None);
        let mut short = &[0u8, 0, 0, 9, b'x'][..];
        assert_eq!(take_string(&mut short), None);
    }
}
