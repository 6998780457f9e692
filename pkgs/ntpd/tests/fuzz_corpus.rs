//! Replays the fuzz corpus (fuzz/corpus/reply) and a few thousand random and
//! mutated datagrams through the same reply path as the fuzz target, so the
//! corpus is exercised by every `cargo test` and nothing in it panics.

use std::path::Path;

use ntpd::fuzzing::reply_path;
use ntpd::reply::Reply;
use ntpd::rng::SplitMix64;

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/reply");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn corpus_replays_with_the_expected_verdicts() {
    let files = corpus();
    assert!(files.len() >= 5, "the corpus is small but not empty");
    for (name, data) in &files {
        let r = reply_path(data);
        match name.as_str() {
            "good-v4" | "good-v3-leap-insert" | "with-extension" => {
                assert!(matches!(r, Ok(Reply::Sample(_))), "{name}: {r:?}")
            }
            "kod-rate" | "kod-deny" => assert!(matches!(r, Ok(Reply::Kiss(_))), "{name}: {r:?}"),
            _ => assert!(r.is_err(), "{name}: {r:?}"),
        }
    }
}

#[test]
fn random_and_mutated_datagrams_never_panic() {
    let mut rng = SplitMix64::new(0x5eed);
    let files = corpus();
    for _ in 0..3000 {
        let len = (rng.next_u64() % 120) as usize;
        let data: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        let _ = reply_path(&data);
    }
    for (_, base) in &files {
        for _ in 0..500 {
            let mut data = base.clone();
            for _ in 0..=(rng.next_u64() % 4) {
                if data.is_empty() {
                    break;
                }
                let i = (rng.next_u64() as usize) % data.len();
                data[i] ^= 1 << (rng.next_u64() % 8);
            }
            if rng.next_u64().is_multiple_of(8) {
                data.truncate((rng.next_u64() as usize) % (data.len() + 1));
            }
            let _ = reply_path(&data);
        }
    }
    for edge in [
        vec![],
        vec![0u8; 48],
        vec![0xff; 48],
        vec![0xff; 1024],
        vec![0x24; 47],
    ] {
        let _ = reply_path(&edge);
    }
}
