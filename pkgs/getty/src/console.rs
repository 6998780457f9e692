//! Which consoles to run on: `console=` entries of the kernel command line, or agetty's
//! `port [baud] [term]` arguments. Pure parsing; whether a device exists is checked elsewhere.

use std::path::PathBuf;

/// Parity of a serial line, from the `n`/`o`/`e` of `115200n8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Parity {
    #[default]
    None,
    Odd,
    Even,
}

/// What kind of line a console is, which decides its defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A virtual terminal: `tty0`..`tty63`. Always 38400 baud, TERM=linux.
    Virtual,
    /// A UART: `ttyS*`, `ttyAMA*`, ... TERM=vt100, 115200 baud unless given.
    Serial,
    /// Anything else that is a tty: `hvc0`, `ttysclp0`, a pseudo-terminal.
    Other,
}

/// One console to run a login loop on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Console {
    /// The name under `/dev` (`ttyS0`, `pts/3`), or an absolute path outside `/dev`.
    pub name: String,
    pub baud: Option<u32>,
    pub parity: Parity,
    /// Data bits (5 to 8); None means 8.
    pub bits: Option<u8>,
    /// RTS/CTS flow control (the `r` of `115200n8r`).
    pub flow: bool,
    /// TERM for the login; None picks one from the kind.
    pub term: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsoleError {
    #[error("empty console name")]
    Empty,
    #[error("console {0:?}: expected a device name such as ttyS0 or /dev/ttyS0")]
    BadName(String),
    #[error(
        "console {name:?}: bad options {options:?} (expected BAUD[PARITY[BITS[r]]], e.g. 115200n8)"
    )]
    BadOptions { name: String, options: String },
    #[error("bad baud rate {0:?}")]
    BadBaud(String),
    #[error("expected `port [baud] [term]`, got {0} arguments")]
    Arguments(usize),
}

/// Serial drivers' device names, as LinuxKit's getty script and the kernel know them.
const SERIAL_PREFIXES: &[&str] = &[
    "ttyS", "ttyAMA", "ttyUSB", "ttyACM", "ttyMFD", "ttymxc", "ttyO", "ttySAC", "ttyPS", "ttyLP",
    "ttyMSM", "ttyHS", "ttyTHS", "ttyGS",
];

impl Console {
    /// A console with nothing but a name; `/dev/` in front is dropped.
    pub fn named(name: &str) -> Result<Console, ConsoleError> {
        let name = name.strip_prefix("/dev/").unwrap_or(name);
        if name.is_empty() {
            return Err(ConsoleError::Empty);
        }
        if name.contains("..")
            || name.ends_with('/')
            || name
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == ',')
        {
            return Err(ConsoleError::BadName(name.to_string()));
        }
        // `console=tty` is the foreground virtual terminal, which tty0 is too.
        let name = if name == "tty" { "tty0" } else { name };
        Ok(Console {
            name: name.to_string(),
            baud: None,
            parity: Parity::None,
            bits: None,
            flow: false,
            term: None,
        })
    }

    /// Parses a `console=` value: `NAME[,OPTIONS]`, e.g. `ttyS0,115200n8`, `tty0`, `hvc0`.
    pub fn parse(value: &str) -> Result<Console, ConsoleError> {
        let (name, options) = match value.split_once(',') {
            Some((n, o)) => (n, Some(o)),
            None => (value, None),
        };
        let mut console = Console::named(name)?;
        if let Some(options) = options {
            console.apply_options(options)?;
        }
        Ok(console)
    }

    fn apply_options(&mut self, options: &str) -> Result<(), ConsoleError> {
        let bad = || ConsoleError::BadOptions {
            name: self.name.clone(),
            options: options.to_string(),
        };
        let digits = options.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        self.baud = Some(options[..digits].parse().map_err(|_| bad())?);
        let mut rest = options[digits..].chars();
        match rest.next() {
            None => return Ok(()),
            Some('n') => self.parity = Parity::None,
            Some('o') => self.parity = Parity::Odd,
            Some('e') => self.parity = Parity::Even,
            Some(_) => return Err(bad()),
        }
        match rest.next() {
            None => return Ok(()),
            Some(c @ '5'..='8') => self.bits = Some(c as u8 - b'0'),
            Some(_) => return Err(bad()),
        }
        match rest.next() {
            None => Ok(()),
            Some('r') if rest.next().is_none() => {
                self.flow = true;
                Ok(())
            }
            Some(_) => Err(bad()),
        }
    }

    /// The device to open.
    pub fn path(&self) -> PathBuf {
        if self.name.starts_with('/') {
            PathBuf::from(&self.name)
        } else {
            PathBuf::from("/dev").join(&self.name)
        }
    }

    pub fn kind(&self) -> Kind {
        let name = self.name.as_str();
        if name == "console" {
            return Kind::Other;
        }
        if let Some(n) = name.strip_prefix("tty") {
            if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) {
                return Kind::Virtual;
            }
        }
        let serial = SERIAL_PREFIXES.iter().any(|p| {
            name.strip_prefix(p)
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        });
        if serial {
            Kind::Serial
        } else {
            Kind::Other
        }
    }

    /// The line speed: 38400 on virtual terminals (which ignore it), else the one given, else
    /// 115200 as LinuxKit's getty does.
    pub fn speed(&self) -> u32 {
        match (self.kind(), self.baud) {
            (Kind::Virtual, _) => 38400,
            (_, Some(b)) => b,
            (_, None) => 115_200,
        }
    }

    /// TERM for logins on this console.
    pub fn term(&self) -> &str {
        match (&self.term, self.kind()) {
            (Some(t), _) => t,
            (None, Kind::Serial) => "vt100",
            (None, _) => "linux",
        }
    }
}

/// Splits a kernel command line into parameters: spaces separate, double quotes group.
fn params(cmdline: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in cmdline.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

/// The consoles of a kernel command line, in order, each name once (the first entry wins).
/// Entries that do not parse come back as errors, for the caller to log.
pub fn from_cmdline(cmdline: &str) -> (Vec<Console>, Vec<ConsoleError>) {
    let mut consoles: Vec<Console> = Vec::new();
    let mut errors = Vec::new();
    for p in params(cmdline) {
        let Some(value) = p.strip_prefix("console=") else {
            continue;
        };
        match Console::parse(value) {
            Ok(c) if consoles.iter().any(|o| o.name == c.name) => {}
            Ok(c) => consoles.push(c),
            Err(e) => errors.push(e),
        }
    }
    (consoles, errors)
}

/// agetty's positional arguments: `port [baud[,baud...]] [term]`, or the old order
/// `baud port [term]`. Of a list of rates the first is used.
pub fn from_agetty_args(args: &[String]) -> Result<Console, ConsoleError> {
    let starts_with_digit = |s: &str| s.bytes().next().is_some_and(|b| b.is_ascii_digit());
    let (port, baud, term) = match args {
        [port] => (port, None, None),
        [a, b] if starts_with_digit(a) => (b, Some(a), None),
        [port, b] if starts_with_digit(b) => (port, Some(b), None),
        [port, term] => (port, None, Some(term)),
        [a, b, term] if starts_with_digit(a) => (b, Some(a), Some(term)),
        [port, baud, term] => (port, Some(baud), Some(term)),
        _ => return Err(ConsoleError::Arguments(args.len())),
    };
    let mut console = Console::named(port)?;
    if let Some(baud) = baud {
        let first = baud.split(',').next().unwrap_or_default();
        console.baud = Some(
            first
                .parse()
                .map_err(|_| ConsoleError::BadBaud(baud.clone()))?,
        );
    }
    console.term = term.cloned();
    Ok(console)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(cs: &[Console]) -> Vec<&str> {
        cs.iter().map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn reads_the_usual_cmdlines() {
        let (cs, errs) = from_cmdline(
            "BOOT_IMAGE=/kernel console=ttyS0,115200n8 console=tty0 page_poison=1 \
             console=ttyAMA0 console=hvc0 root=/dev/sda1\n",
        );
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(names(&cs), ["ttyS0", "tty0", "ttyAMA0", "hvc0"]);
        assert_eq!(cs[0].baud, Some(115_200));
        assert_eq!(cs[0].bits, Some(8));
        assert_eq!(cs[0].parity, Parity::None);
        assert_eq!(
            (cs[0].kind(), cs[0].speed(), cs[0].term()),
            (Kind::Serial, 115_200, "vt100")
        );
        assert_eq!(
            (cs[1].kind(), cs[1].speed(), cs[1].term()),
            (Kind::Virtual, 38400, "linux")
        );
        assert_eq!((cs[2].kind(), cs[2].speed()), (Kind::Serial, 115_200));
        assert_eq!((cs[3].kind(), cs[3].term()), (Kind::Other, "linux"));
        assert_eq!(cs[0].path(), PathBuf::from("/dev/ttyS0"));
    }

    #[test]
    fn drops_duplicates_keeping_the_first() {
        let (cs, _) =
            from_cmdline("console=ttyS0,9600 console=tty0 console=ttyS0,115200 console=/dev/tty0");
        assert_eq!(names(&cs), ["ttyS0", "tty0"]);
        assert_eq!(cs[0].baud, Some(9600));
        let (cs, _) = from_cmdline("quiet splash");
        assert!(cs.is_empty());
    }

    #[test]
    fn serial_options() {
        let c = Console::parse("ttyS1,57600e7r").unwrap();
        assert_eq!(
            (c.baud, c.parity, c.bits, c.flow),
            (Some(57600), Parity::Even, Some(7), true)
        );
        let c = Console::parse("ttyS1,9600o").unwrap();
        assert_eq!((c.baud, c.parity, c.bits), (Some(9600), Parity::Odd, None));
        for bad in [
            "ttyS0,",
            "ttyS0,fast",
            "ttyS0,9600x",
            "ttyS0,9600n9",
            "ttyS0,9600n8rr",
        ] {
            assert!(
                matches!(Console::parse(bad), Err(ConsoleError::BadOptions { .. })),
                "{bad}"
            );
        }
        // A virtual terminal ignores a speed it is given.
        assert_eq!(Console::parse("tty1,9600").unwrap().speed(), 38400);
    }

    #[test]
    fn quoting_and_odd_entries() {
        let (cs, errs) = from_cmdline(
            "a=\"x y\" console=\"ttyS2,38400\" console= console=tty console=../etc/passwd",
        );
        assert_eq!(names(&cs), ["ttyS2", "tty0"]);
        assert_eq!(cs[0].baud, Some(38400));
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert_eq!(errs[0], ConsoleError::Empty);
    }

    #[test]
    fn kinds() {
        for (name, kind) in [
            ("tty0", Kind::Virtual),
            ("tty12", Kind::Virtual),
            ("ttyS0", Kind::Serial),
            ("ttyAMA0", Kind::Serial),
            ("ttyUSB3", Kind::Serial),
            ("ttyS", Kind::Other),
            ("hvc0", Kind::Other),
            ("ttysclp0", Kind::Other),
            ("pts/3", Kind::Other),
            ("console", Kind::Other),
        ] {
            assert_eq!(Console::named(name).unwrap().kind(), kind, "{name}");
        }
        assert_eq!(
            Console::named("pts/3").unwrap().path(),
            PathBuf::from("/dev/pts/3")
        );
        assert_eq!(Console::named("/dev/pts/3").unwrap().name, "pts/3");
        assert_eq!(
            Console::named("/run/tty").unwrap().path(),
            PathBuf::from("/run/tty")
        );
    }

    #[test]
    fn agetty_arguments() {
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let c = from_agetty_args(&s(&["ttyS0"])).unwrap();
        assert_eq!(
            (c.name.as_str(), c.baud, c.term()),
            ("ttyS0", None, "vt100")
        );
        let c = from_agetty_args(&s(&["/dev/ttyS0", "115200,38400,9600", "vt102"])).unwrap();
        assert_eq!(
            (c.name.as_str(), c.baud, c.term()),
            ("ttyS0", Some(115_200), "vt102")
        );
        let c = from_agetty_args(&s(&["38400", "tty1", "linux"])).unwrap();
        assert_eq!(
            (c.name.as_str(), c.baud, c.term()),
            ("tty1", Some(38400), "linux")
        );
        let c = from_agetty_args(&s(&["9600", "ttyS1"])).unwrap();
        assert_eq!((c.name.as_str(), c.baud), ("ttyS1", Some(9600)));
        let c = from_agetty_args(&s(&["hvc0", "xterm"])).unwrap();
        assert_eq!((c.baud, c.term()), (None, "xterm"));
        assert_eq!(from_agetty_args(&[]), Err(ConsoleError::Arguments(0)));
        assert_eq!(
            from_agetty_args(&s(&["a", "b", "c", "d"])),
            Err(ConsoleError::Arguments(4))
        );
        assert!(matches!(
            from_agetty_args(&s(&["ttyS0", "9x", "vt100"])),
            Err(ConsoleError::BadBaud(_))
        ));
    }
}
