//! `/etc/issue` and its backslash escapes, as agetty expands them.

/// What the escapes expand to; the caller fills it from uname(2), the console and the clock.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IssueContext {
    /// `\n`: the node name.
    pub nodename: String,
    /// `\l`: the tty, without `/dev/`.
    pub line: String,
    /// `\s`: the system name (Linux).
    pub sysname: String,
    /// `\r`: the kernel release.
    pub release: String,
    /// `\v`: the kernel version string.
    pub version: String,
    /// `\m`: the machine (x86_64, aarch64, s390x).
    pub machine: String,
    /// `\o`: the NIS domain name.
    pub domain: String,
    /// `\b`: the line speed.
    pub baud: u32,
    /// `\d` and `\t`: seconds since the epoch. Shown in UTC: a static binary in a scratch
    /// image has no time zone database.
    pub now: i64,
}

/// Expands `\n \l \s \r \v \m \o \b \d \t` and `\\`. An unknown escape is kept as it is, as
/// is a backslash at the very end.
pub fn expand(template: &str, ctx: &IssueContext) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut chars = template.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push_str(&ctx.nodename),
            Some('l') => out.push_str(&ctx.line),
            Some('s') => out.push_str(&ctx.sysname),
            Some('r') => out.push_str(&ctx.release),
            Some('v') => out.push_str(&ctx.version),
            Some('m') => out.push_str(&ctx.machine),
            Some('o') => out.push_str(&ctx.domain),
            Some('b') => out.push_str(&ctx.baud.to_string()),
            Some('d') => out.push_str(&date(ctx.now)),
            Some('t') => out.push_str(&time(ctx.now)),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `\d` as agetty prints it (`%a %b %e %Y`): `Thu Jan  1 1970`.
fn date(now: i64) -> String {
    let days = now.div_euclid(86_400);
    let (y, m, d) = svckit::calendar::civil_from_days(days);
    let weekday = DAYS[days.rem_euclid(7) as usize];
    format!("{weekday} {} {d:2} {y}", MONTHS[(m - 1) as usize])
}

/// `\t` (`%H:%M:%S`).
fn time(now: i64) -> String {
    let s = now.rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> IssueContext {
        IssueContext {
            nodename: "linuxkit-025000000002".into(),
            line: "ttyS0".into(),
            sysname: "Linux".into(),
            release: "6.6.13-linuxkit".into(),
            version: "#1 SMP".into(),
            machine: "x86_64".into(),
            domain: "(none)".into(),
            baud: 115_200,
            // 2024-02-29 13:05:09 UTC, a Thursday.
            now: 1_709_211_909,
        }
    }

    #[test]
    fn expands_the_common_escapes() {
        let text = "Welcome to \\s \\r (\\m) on \\n \\l\n\\d \\t \\b \\v \\o\n";
        assert_eq!(
            expand(text, &ctx()),
            "Welcome to Linux 6.6.13-linuxkit (x86_64) on linuxkit-025000000002 ttyS0\n\
             Thu Feb 29 2024 13:05:09 115200 #1 SMP (none)\n"
        );
    }

    #[test]
    fn odd_backslashes() {
        assert_eq!(expand("a\\\\n \\q \\", &ctx()), "a\\n \\q \\");
        assert_eq!(expand("", &ctx()), "");
        assert_eq!(expand("no escapes ü", &ctx()), "no escapes ü");
    }

    #[test]
    fn dates() {
        assert_eq!(date(0), "Thu Jan  1 1970");
        assert_eq!(time(0), "00:00:00");
        assert_eq!(date(86_400 * 31 - 1), "Sat Jan 31 1970");
        assert_eq!(time(86_400 * 31 - 1), "23:59:59");
        assert_eq!(date(951_782_400), "Tue Feb 29 2000");
        assert_eq!(date(4_102_444_800), "Fri Jan  1 2100");
        assert_eq!(date(-1), "Wed Dec 31 1969");
    }
}
