//! Hostile authorized_keys files, on stable: the fuzz target's seed corpus replayed, plus every
//! prefix of each seed (cut lines, cut quotes, cut base64) and a few made-up bad lines.

mod keys_check;

use std::path::PathBuf;

#[test]
fn the_corpus_and_its_prefixes_hold_the_property() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/authorized_keys");
    let mut seeds = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        for end in 0..=data.len() {
            keys_check::check(&data[..end]);
        }
        seeds += 1;
    }
    assert!(seeds >= 5, "seed corpus missing in {}", dir.display());
}

#[test]
fn made_up_bad_lines_hold_the_property() {
    for text in [
        "from=\"\" ssh-ed25519 AAAA",
        "command=\"unterminated ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI",
        ",,,, ssh-ed25519",
        "from=\"1.2.3.4/99\" ssh-rsa AAAAB3NzaC1yc2E=",
        "\u{0}\u{1}\u{7f}",
        "ssh-ed25519 \n\n\n ssh-ed25519",
        "restrict,restrict,pty,no-pty ecdsa-sha2-nistp256 AAAA",
    ] {
        keys_check::check(text.as_bytes());
    }
}
