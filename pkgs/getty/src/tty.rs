//! The console's tty: opened as the controlling terminal of a new session, set up with
//! termios, and read a line at a time.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::termios::{
    self, BaudRate, ControlFlags, FlushArg, InputFlags, LocalFlags, OutputFlags, SetArg,
    SpecialCharacterIndices as Cc,
};
use zeroize::Zeroizing;

use crate::console::{Console, Parity};
use crate::sys;

/// The longest line kept; the rest of a longer one is read and dropped.
const MAX_LINE: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum TtyError {
    #[error("opening {path}: {source}")]
    Open { path: PathBuf, source: io::Error },
    #[error("{path} is not a terminal")]
    NotATty { path: PathBuf },
    #[error("{path}: making it the controlling terminal: {source}")]
    Controlling { path: PathBuf, source: io::Error },
    #[error("{path}: vhangup: {source}")]
    Vhangup { path: PathBuf, source: io::Error },
    #[error("{path}: setting the line up (termios): {source}")]
    Termios { path: PathBuf, source: Errno },
    #[error("{path}: unsupported baud rate {baud}")]
    Speed { path: PathBuf, baud: u32 },
}

/// An open console, the controlling terminal of this process's session.
#[derive(Debug)]
pub struct Tty {
    file: File,
    path: PathBuf,
}

fn open_path(path: &PathBuf) -> Result<File, TtyError> {
    // O_NONBLOCK: a serial line without CLOCAL would block the open until carrier. O_NOCTTY:
    // the controlling terminal is taken explicitly below. Rust adds O_CLOEXEC.
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY | libc::O_NONBLOCK)
        .open(path)
        .map_err(|source| TtyError::Open {
            path: path.clone(),
            source,
        })?;
    if !nix::unistd::isatty(&file).unwrap_or(false) {
        return Err(TtyError::NotATty { path: path.clone() });
    }
    Ok(file)
}

impl Tty {
    /// Opens the console as the controlling terminal of the caller, which must be a session
    /// leader (setsid). With `hangup`, first hangs the line up (vhangup), which cuts off any
    /// process left with it open from the last session.
    pub fn open(console: &Console, hangup: bool) -> Result<Tty, TtyError> {
        let path = console.path();
        let mut file = open_path(&path)?;
        let controlling = |file: &File| {
            sys::set_controlling_tty(file.as_fd(), true).map_err(|source| TtyError::Controlling {
                path: path.clone(),
                source,
            })
        };
        if hangup {
            controlling(&file)?;
            sys::vhangup().map_err(|source| TtyError::Vhangup {
                path: path.clone(),
                source,
            })?;
            // Our own descriptor is hung up too: open the line again.
            drop(file);
            file = open_path(&path)?;
        }
        if termios::tcgetsid(&file).ok() != Some(nix::unistd::getpid()) {
            controlling(&file)?;
        }
        let flags = fcntl(&file, FcntlArg::F_GETFL).map_err(|source| TtyError::Termios {
            path: path.clone(),
            source,
        })?;
        let flags = OFlag::from_bits_truncate(flags) & !OFlag::O_NONBLOCK;
        fcntl(&file, FcntlArg::F_SETFL(flags)).map_err(|source| TtyError::Termios {
            path: path.clone(),
            source,
        })?;
        Ok(Tty { file, path })
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }

    /// Sets the line up as `stty sane` would, at the console's speed, with the serial options
    /// of its `console=` entry. CLOCAL always: a console must not wait for modem carrier.
    pub fn configure(&self, console: &Console) -> Result<(), TtyError> {
        let err = |source| TtyError::Termios {
            path: self.path.clone(),
            source,
        };
        let baud = baud_rate(console.speed()).ok_or(TtyError::Speed {
            path: self.path.clone(),
            baud: console.speed(),
        })?;
        let mut t = termios::tcgetattr(&self.file).map_err(err)?;
        t.input_flags =
            InputFlags::BRKINT | InputFlags::ICRNL | InputFlags::IXON | InputFlags::IUTF8;
        t.output_flags = OutputFlags::OPOST | OutputFlags::ONLCR;
        let mut c = ControlFlags::CREAD | ControlFlags::HUPCL | ControlFlags::CLOCAL;
        c |= match console.bits.unwrap_or(8) {
            5 => ControlFlags::CS5,
            6 => ControlFlags::CS6,
            7 => ControlFlags::CS7,
            _ => ControlFlags::CS8,
        };
        match console.parity {
            Parity::None => {}
            Parity::Even => c |= ControlFlags::PARENB,
            Parity::Odd => c |= ControlFlags::PARENB | ControlFlags::PARODD,
        }
        if console.flow {
            c |= ControlFlags::CRTSCTS;
        }
        t.control_flags = c;
        t.local_flags = LocalFlags::ISIG
            | LocalFlags::ICANON
            | LocalFlags::ECHO
            | LocalFlags::ECHOE
            | LocalFlags::ECHOK
            | LocalFlags::ECHOCTL
            | LocalFlags::ECHOKE
            | LocalFlags::IEXTEN;
        for (i, v) in [
            (Cc::VINTR, 0x03),
            (Cc::VQUIT, 0x1c),
            (Cc::VERASE, 0x7f),
            (Cc::VKILL, 0x15),
            (Cc::VEOF, 0x04),
            (Cc::VTIME, 0),
            (Cc::VMIN, 1),
            (Cc::VSTART, 0x11),
            (Cc::VSTOP, 0x13),
            (Cc::VSUSP, 0x1a),
            (Cc::VEOL, 0),
            (Cc::VREPRINT, 0x12),
            (Cc::VDISCARD, 0x0f),
            (Cc::VWERASE, 0x17),
            (Cc::VLNEXT, 0x16),
            (Cc::VEOL2, 0),
        ] {
            t.control_chars[i as usize] = v;
        }
        // glibc's cf*speed functions are bound to versioned symbols (by the libc crate), which a
        // static link cannot resolve. On Linux the speed is the CBAUD bits of c_cflag.
        t.control_flags.remove(ControlFlags::CBAUD);
        t.control_flags
            .insert(ControlFlags::from_bits_retain(baud as nix::libc::tcflag_t));
        termios::tcsetattr(&self.file, SetArg::TCSANOW, &t).map_err(err)?;
        // What was typed before the prompt (or left from the last session) is not a user name.
        termios::tcflush(&self.file, FlushArg::TCIFLUSH).map_err(err)?;
        Ok(())
    }

    /// Turns echo on or off (for the password).
    pub fn set_echo(&self, on: bool) -> Result<(), TtyError> {
        let err = |source| TtyError::Termios {
            path: self.path.clone(),
            source,
        };
        let mut t = termios::tcgetattr(&self.file).map_err(err)?;
        t.local_flags.set(LocalFlags::ECHO, on);
        termios::tcsetattr(&self.file, SetArg::TCSANOW, &t).map_err(err)
    }

    pub fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all(bytes)
    }

    /// Reads one line (the tty is in canonical mode, so the kernel does the editing), without
    /// its newline. None at end of file (^D on an empty line) or when the line hung up.
    pub fn read_line(&mut self) -> io::Result<Option<Zeroizing<Vec<u8>>>> {
        let mut line = Zeroizing::new(Vec::new());
        let mut buf = Zeroizing::new([0u8; 256]);
        loop {
            let n = match self.file.read(&mut buf[..]) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // EIO: the other side hung up (or the line was vhangup'ed).
                Err(e) if e.raw_os_error() == Some(libc::EIO) => return Ok(None),
                Err(e) => return Err(e),
            };
            if n == 0 {
                return Ok(if line.is_empty() { None } else { Some(line) });
            }
            let room = MAX_LINE.saturating_sub(line.len());
            line.extend_from_slice(&buf[..n.min(room)]);
            if buf[..n].ends_with(b"\n") {
                if line.last() == Some(&b'\n') {
                    line.pop();
                }
                return Ok(Some(line));
            }
        }
    }
}

/// The termios constant for a numeric rate.
pub fn baud_rate(baud: u32) -> Option<BaudRate> {
    use BaudRate::*;
    Some(match baud {
        50 => B50,
        75 => B75,
        110 => B110,
        134 => B134,
        150 => B150,
        200 => B200,
        300 => B300,
        600 => B600,
        1200 => B1200,
        1800 => B1800,
        2400 => B2400,
        4800 => B4800,
        9600 => B9600,
        19200 => B19200,
        38400 => B38400,
        57600 => B57600,
        115_200 => B115200,
        230_400 => B230400,
        460_800 => B460800,
        500_000 => B500000,
        576_000 => B576000,
        921_600 => B921600,
        1_000_000 => B1000000,
        1_152_000 => B1152000,
        1_500_000 => B1500000,
        2_000_000 => B2000000,
        2_500_000 => B2500000,
        3_000_000 => B3000000,
        3_500_000 => B3500000,
        4_000_000 => B4000000,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baud_rates() {
        assert_eq!(baud_rate(115_200), Some(BaudRate::B115200));
        assert_eq!(baud_rate(38400), Some(BaudRate::B38400));
        assert_eq!(baud_rate(12345), None);
    }
}
