//! Property tests: arbitrary input never panics and stays bounded; a real splat with
//! noise interleaved or cut short still yields its kind.

use proptest::prelude::*;

const SEED: &str = include_str!("../../fixtures/logs/seed-003-pidmap-seqcount.log");
const RTNL: &str =
    include_str!("../../fixtures/logs/006-circular-rtnl-xt-sklock-questionable-frames.log");

fn noise_line() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ 0-9.]{0,12}[a-z0-9: ]{0,40}".prop_map(|s| s),
        Just("[   82.000000] usb 1-1: new high-speed USB device number 2".to_string()),
        Just("[   82.000001][ T9999] ntfs3: loop4: Mark volume as dirty".to_string()),
        Just(String::new()),
        Just("random serial garbage \u{1b}[31m!!\u{1b}[0m".to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let reports = lockcheck::splat::parse_bytes("fuzz", &bytes);
        let lines = bytes.iter().filter(|b| **b == b'\n').count() + 1;
        for r in reports {
            prop_assert!(r.line >= 1 && r.end_line <= lines && r.line <= r.end_line);
        }
    }

    #[test]
    fn banner_soup_never_panics(parts in proptest::collection::vec(prop_oneof![
        Just("WARNING: possible circular locking dependency detected\n"),
        Just("-> #1 (a){+.+.}-{3:3}:\n"),
        Just("-> #0 (b){+.+.}:\n"),
        Just("x/1 is trying to acquire lock:\n"),
        Just("ffff (a){+.+.}, at: f+0x1/0x2\n"),
        Just("stack backtrace:\n"),
        Just("Call Trace:\n"),
        Just(" f+0x1/0x2\n"),
        Just("=====\n"),
        Just("  lock(a);\n"),
        Just(" Possible unsafe locking scenario:\n"),
        Just("1 lock held by x/1:\n"),
        Just(" #0: ffff (a){+.+.}, at: f+0x1/0x2\n"),
        Just("WARNING: possible recursive locking detected\n"),
        Just("general protection fault\n"),
        Just("=3D\n"),
    ], 0..60)) {
        let text: String = parts.concat();
        let _ = lockcheck::splat::parse_str("soup", &text);
    }

    #[test]
    fn noise_interleaved_keeps_the_kind(noise in proptest::collection::vec((0usize..200, noise_line()), 0..20)) {
        for base in [SEED, RTNL] {
            let mut lines: Vec<String> = base.lines().map(str::to_string).collect();
            for (at, n) in &noise {
                let i = at % (lines.len() + 1);
                // Noise goes anywhere but between the banner and the line before it.
                lines.insert(i, n.clone());
            }
            let text = lines.join("\n");
            let reports = lockcheck::splat::parse_str("noisy", &text);
            prop_assert!(reports.iter().any(|r| r.kind.as_str() == "circular_dependency"));
        }
    }

    #[test]
    fn cut_anywhere_keeps_the_kind(cut in 0usize..10_000) {
        for base in [SEED, RTNL] {
            let start = base.find("WARNING: possible circular").unwrap();
            let banner_end = start + base[start..].find('\n').unwrap();
            let at = banner_end + cut % (base.len() - banner_end + 1);
            let mut end = at.min(base.len());
            while !base.is_char_boundary(end) {
                end -= 1;
            }
            let reports = lockcheck::splat::parse_str("cut", &base[..end]);
            prop_assert!(reports.iter().any(|r| r.kind.as_str() == "circular_dependency"));
            if end < base.find("stack backtrace:").unwrap() {
                prop_assert!(reports.iter().any(|r| r.truncated));
            }
        }
    }
}

#[test]
fn memory_stays_bounded_on_a_huge_report() {
    // One banner followed by far more lines than a report may keep.
    let mut s = String::from("WARNING: possible circular locking dependency detected\n");
    for i in 0..20_000 {
        s.push_str(&format!("noise line {i}\n"));
    }
    let reports = lockcheck::splat::parse_str("big", &s);
    assert_eq!(reports.len(), 1);
    assert!(reports[0].truncated);
    assert!(
        reports[0]
            .damage
            .as_deref()
            .unwrap()
            .contains("longer than")
    );
}
