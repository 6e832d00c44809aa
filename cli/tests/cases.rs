//! Constructed inputs (`cli/tests/cases/`) for behaviour the real corpora do not exercise:
//! each was a regression a review of the parser found.

use std::path::PathBuf;

use lockcheck::report::Report;

fn parse(name: &str) -> Vec<Report> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cases")
        .join(name);
    let bytes = std::fs::read(&path).unwrap();
    lockcheck::splat::parse_bytes(name, &bytes)
}

#[test]
fn console_prefixes_with_bracketed_tags_are_prefixes_not_mail_tags() {
    for name in [
        "mtk-ts-pid-vendor-tag.log",
        "ts-then-digitless-tag.log",
        "bracket-nodigit-prefix.log",
        "dotted-date-prefix.log",
        "netconsole-ip-prefix.log",
    ] {
        let v = parse(name);
        assert_eq!(v.len(), 1, "{name}: {v:#?}");
        assert_eq!(v[0].title, "possible deadlock in take_a", "{name}");
    }
}

#[test]
fn a_reply_quoting_part_of_a_chain_is_no_second_report() {
    for name in [
        "circular-then-reply-quoting-chain.log",
        "circular-interleaved-calltrace-split.log",
    ] {
        let v = parse(name);
        assert_eq!(v.len(), 1, "{name}: {v:#?}");
    }
}

#[test]
fn another_cpus_warning_above_a_debug_locks_warn_on_is_not_its_own() {
    let v = parse("last-warning-foreign-x86.log");
    assert_eq!(v.len(), 1, "{v:#?}");
    assert_eq!(v[0].line, 3);
    assert_eq!(v[0].title, "WARNING in drm_bridge_hpd_enable");
    assert!(!v[0].truncated, "{:?}", v[0].damage);
}

#[test]
fn an_elision_or_a_word_after_the_stack_header_is_no_stack() {
    for name in ["bare-frames-elision.log", "bare-frames-prose-signoff.log"] {
        let v = parse(name);
        assert_eq!(v.len(), 1, "{name}: {v:#?}");
        assert!(v[0].truncated, "{name}");
        let damage = v[0].damage.clone().unwrap_or_default();
        assert!(damage.contains("stack trace missing"), "{name}: {damage}");
    }
}

#[test]
fn usage_layout_follows_the_kernels_age() {
    let hardirq_write = |name: &str| {
        let v = parse(name);
        let lock = v[0].acquiring.clone().unwrap();
        lock.usage_bits.unwrap().hardirq_write
    };
    // `[ BUG: Invalid wait context ]` (5.7 on) keeps the old banner style: its `-{n:n}` says
    // the layout is today's.
    assert_eq!(
        hardirq_write("invalid-wait-context-no-version.log"),
        "used_in_irq"
    );
    // 2.6.29 still printed the old layout (today's came with 2.6.30).
    assert_eq!(hardirq_write("usage-2.6.29-old-layout.log"), "irqs_enabled");
}
