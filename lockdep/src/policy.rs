//! Report policy for code the user does not own: reports whose every site is in a dependency's
//! source go to their own tier, and a suppression file drops reports by class or site pattern
//! (docs/dependencies.md).
//!
//! - **In dependencies only**: every code site of the report (the acquisition being validated,
//!   the held lock it conflicts with, both sites of every link of the chain; the locks held
//!   for a report without those) is under the cargo registry or a git checkout. Such a report
//!   is logged under the label `lockdep: in dependencies only (crates): title` instead of
//!   panicking; `LOCKDEP_DEPENDENCY_REPORTS=panic` treats it as any other report and `off`
//!   drops it (its `tracing` event stays). Captures and callbacks get it unchanged.
//! - **Suppressed**: `LOCKDEP_SUPPRESS=path` names a file of rules, one a line,
//!   `class PATTERN REASON...` or `site PATTERN REASON...` (`#` starts a comment line); a
//!   report one of whose class names (or sites, `file:line:column`) matches a rule's pattern
//!   (`*` any run of characters, `?` one) is dropped in every mode.

use std::io::Write;
use std::sync::OnceLock;

use crate::class::{Site, dependency_path, sysroot_file};
use crate::report::Report;

/// What a suppression rule matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// A class name as reports print it (`mutex@/…/src/shard.rs:40:25`, `accounts`).
    Class,
    /// A site of the report, `file:line:column`.
    Site,
}

/// One line of a suppression file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Rule {
    pub(crate) target: Target,
    pub(crate) pattern: String,
    pub(crate) reason: String,
}

/// Parses a suppression file: the rules, and one message per line that is not one.
pub(crate) fn parse_rules(text: &str) -> (Vec<Rule>, Vec<String>) {
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.splitn(3, char::is_whitespace);
        let target = match words.next() {
            Some("class") => Target::Class,
            Some("site") => Target::Site,
            other => {
                errors.push(format!(
                    "line {}: expected `class` or `site`, found {:?}",
                    i + 1,
                    other.unwrap_or("")
                ));
                continue;
            }
        };
        let pattern = words.next().unwrap_or("").trim();
        let reason = words.next().unwrap_or("").trim();
        if pattern.is_empty() || reason.is_empty() {
            errors.push(format!(
                "line {}: a rule is `{} PATTERN REASON`, with a reason",
                i + 1,
                if target == Target::Class {
                    "class"
                } else {
                    "site"
                }
            ));
            continue;
        }
        rules.push(Rule {
            target,
            pattern: pattern.to_owned(),
            reason: reason.to_owned(),
        });
    }
    (rules, errors)
}

/// Whether `text` matches `pattern`: `*` is any run of characters, `?` one character.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// The crate a source file belongs to when it is a dependency's: the directory under the cargo
/// registry (`name-version`) or the git checkout (`repository-hash`) it is in.
pub(crate) fn dependency_crate(file: &str) -> Option<String> {
    // The first directory of the path from cargo's (a crate is a directory above the file).
    let mut parts = dependency_path(file)?.split(['/', '\\']);
    let first = parts.next()?;
    parts.next()?;
    Some(first.to_owned())
}

/// The sites that say whose code a report is about (see the module docs).
fn report_sites(report: &Report) -> Vec<&Site> {
    let mut sites: Vec<&Site> = Vec::new();
    sites.extend(report.acquiring.iter().map(|l| &l.site));
    sites.extend(report.held_lock.iter().map(|l| &l.site));
    for link in &report.chain {
        sites.push(&link.first_seen.from_site);
        sites.push(&link.first_seen.to_site);
    }
    if sites.is_empty() {
        sites.extend(report.held.iter().map(|l| &l.site));
    }
    sites
}

fn site_file(site: &Site) -> Option<String> {
    match site {
        Site::Code(l) => Some(l.file().to_owned()),
        Site::Text(t) => Some(
            t.rsplitn(3, ':')
                .nth(2)
                .map_or_else(|| t.to_string(), str::to_owned),
        ),
        Site::Unknown => None,
    }
}

/// The dependencies a report is in when every site of it is a dependency's (sites in std and
/// unknown sites say nothing either way); `None` when any is the user's, or none is known.
/// `built` are the construction sites of the report's classes: a lock built in the user's
/// code makes the report the user's, whichever helper took it (a dependency's `safe_lock`).
pub(crate) fn dependencies_only(report: &Report, built: &[Site]) -> Option<Vec<String>> {
    let users = |file: &String| !sysroot_file(file) && dependency_crate(file).is_none();
    if built.iter().filter_map(site_file).any(|f| users(&f)) {
        return None;
    }
    let mut crates: Vec<String> = Vec::new();
    for file in report_sites(report).into_iter().filter_map(site_file) {
        if sysroot_file(&file) && dependency_crate(&file).is_none() {
            continue;
        }
        let name = dependency_crate(&file)?;
        if !crates.contains(&name) {
            crates.push(name);
        }
    }
    (!crates.is_empty()).then_some(crates)
}

/// The first rule that drops `report`, if any.
pub(crate) fn suppressed_by<'r>(report: &Report, rules: &'r [Rule]) -> Option<&'r Rule> {
    if rules.is_empty() {
        return None;
    }
    let classes = report.classes();
    let sites: Vec<String> = report_sites(report)
        .into_iter()
        .filter(|s| !matches!(s, Site::Unknown))
        .map(ToString::to_string)
        .collect();
    rules.iter().find(|rule| match rule.target {
        Target::Class => classes.iter().any(|c| glob(&rule.pattern, c)),
        Target::Site => sites.iter().any(|s| glob(&rule.pattern, s)),
    })
}

/// The rules of `LOCKDEP_SUPPRESS`, read once; problems with the file are printed once.
fn rules() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(|| {
        let Some(path) = std::env::var_os("LOCKDEP_SUPPRESS") else {
            return Vec::new();
        };
        let shown = path.to_string_lossy().into_owned();
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let (rules, errors) = parse_rules(&text);
                for e in errors {
                    eprintln!("lockdep: LOCKDEP_SUPPRESS={shown}: {e} (line ignored)");
                }
                rules
            }
            Err(e) => {
                eprintln!("lockdep: LOCKDEP_SUPPRESS={shown}: {e} (no rules)");
                Vec::new()
            }
        }
    })
}

/// What to do with reports in dependencies only (`LOCKDEP_DEPENDENCY_REPORTS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DependencyReports {
    Log,
    AsOthers,
    Off,
}

fn dependency_reports() -> DependencyReports {
    static MODE: OnceLock<DependencyReports> = OnceLock::new();
    *MODE.get_or_init(
        || match std::env::var("LOCKDEP_DEPENDENCY_REPORTS").as_deref() {
            Ok("panic") => DependencyReports::AsOthers,
            Ok("off") => DependencyReports::Off,
            Ok("log") | Err(_) => DependencyReports::Log,
            Ok(other) => {
                eprintln!(
                    "lockdep: ignoring LOCKDEP_DEPENDENCY_REPORTS={other:?}: expected log, panic or off"
                );
                DependencyReports::Log
            }
        },
    )
}

/// Why the policy takes a report out of the ordinary dispatch.
enum Taken {
    /// A suppression rule drops it.
    Suppressed(&'static Rule),
    /// Every site of it is in these dependencies (and such reports are not treated as others).
    Dependencies(Vec<String>),
}

/// Whether and why the policy takes `report`: a suppression rule drops it, or it is in
/// dependencies only and neither collected nor passed to a callback (`collecting`).
fn taken(report: &Report, collecting: bool, built: &[Site]) -> Option<Taken> {
    if let Some(rule) = suppressed_by(report, rules()) {
        return Some(Taken::Suppressed(rule));
    }
    if collecting || dependency_reports() == DependencyReports::AsOthers {
        return None;
    }
    dependencies_only(report, built).map(Taken::Dependencies)
}

/// Takes `report` out of the ordinary dispatch ([`taken`]): a report in dependencies only is then
/// logged under its label, or dropped. Returns whether it was taken.
pub(crate) fn intercept(report: &Report, collecting: bool, built: &[Site]) -> bool {
    match taken(report, collecting, built) {
        None => false,
        Some(Taken::Suppressed(rule)) => {
            tracing::debug!(
                target: "lockdep",
                pattern = %rule.pattern,
                reason = %rule.reason,
                "report suppressed: {}",
                report.title()
            );
            true
        }
        Some(Taken::Dependencies(crates)) => {
            if dependency_reports() == DependencyReports::Log {
                let text = format!(
                    "lockdep: in dependencies only ({}): {}\n{report}\n",
                    crates.join(", "),
                    report.title()
                );
                // A closed stderr loses the report; nothing else can be done with it.
                let _ = std::io::stderr().lock().write_all(text.as_bytes());
            }
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An ABBA whose every site is in `file` (a path), taken through a panicking validator: the
    /// reports, and whether one of them is raised (not taken by the policy).
    fn abba_in(file: &str) -> (Vec<Report>, bool) {
        abba_built_in(file, Site::Unknown)
    }

    /// [`abba_in`] with both classes built at `built`.
    fn abba_built_in(file: &str, built: Site) -> (Vec<Report>, bool) {
        use crate::{
            Acquire, Config, InstanceId, LockKind, Mode, OnReport, ThreadState, Validator,
        };
        let v = Validator::with_on_report(Config::default(), OnReport::Panic);
        let class = |name: &'static str| {
            let key = crate::class::KeySource::Name(name.into());
            v.class_for(&key, 0, LockKind::Mutex, built.clone(), &|| name.into())
                .unwrap()
        };
        let (a, b) = (class("A"), class("B"));
        let acq = |class, id, line: u32| Acquire {
            class,
            instance: InstanceId(id),
            mode: Mode::Write,
            trylock: false,
            nest_lock: None,
            kind: LockKind::Mutex,
            site: Site::Text(format!("{file}:{line}:5").into()),
        };
        let mut t1 = ThreadState::new("t1", 1, 8);
        assert!(v.acquire(&mut t1, acq(a, 1, 10)).is_empty());
        assert!(v.acquire(&mut t1, acq(b, 2, 11)).is_empty());
        v.release(&mut t1, InstanceId(2), Some(b), Site::Unknown);
        v.release(&mut t1, InstanceId(1), Some(a), Site::Unknown);
        let mut t2 = ThreadState::new("t2", 2, 8);
        assert!(v.acquire(&mut t2, acq(b, 2, 20)).is_empty());
        let reports = v.acquire(&mut t2, acq(a, 1, 21));
        let unwinds = reports
            .iter()
            .any(|r| taken(r, false, &v.built_at(r)).is_none());
        (reports, unwinds)
    }

    /// A report in dependencies only is logged, not raised (`LOCKDEP_DEPENDENCY_REPORTS` unset in
    /// tests), so its acquisition goes on (undone only when its dispatch unwinds).
    #[test]
    fn a_report_in_dependencies_only_does_not_unwind() {
        let (reports, unwinds) =
            abba_in("/home/u/.cargo/registry/src/index.crates.io-1/deplib-1.0.0/src/lib.rs");
        assert_eq!(reports.len(), 1);
        assert!(dependencies_only(&reports[0], &[]).is_some());
        assert!(!unwinds);
        let (reports, unwinds) = abba_in("/work/app/src/main.rs");
        assert_eq!(reports.len(), 1);
        assert!(unwinds);
        // The user's own locks, taken only through a dependency's helper: the user's report.
        let (reports, unwinds) = abba_built_in(
            "/home/u/.cargo/registry/src/index.crates.io-1/deplib-1.0.0/src/lib.rs",
            Site::Text("src/manager.rs:934:41".into()),
        );
        assert_eq!(reports.len(), 1);
        assert!(unwinds);
    }

    #[test]
    fn rules_need_a_target_a_pattern_and_a_reason() {
        let text = "# comment\n\nclass mutex@*/quick_cache-*/src/shard.rs:* shards nest in address order\nsite */tokio-1.*/src/runtime/*   the scheduler's own order\nclass onlypattern\nlock x y\n";
        let (rules, errors) = parse_rules(text);
        assert_eq!(
            rules,
            vec![
                Rule {
                    target: Target::Class,
                    pattern: "mutex@*/quick_cache-*/src/shard.rs:*".into(),
                    reason: "shards nest in address order".into(),
                },
                Rule {
                    target: Target::Site,
                    pattern: "*/tokio-1.*/src/runtime/*".into(),
                    reason: "the scheduler's own order".into(),
                },
            ]
        );
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].starts_with("line 5:"), "{errors:?}");
        assert!(errors[1].starts_with("line 6:"), "{errors:?}");
    }

    #[test]
    fn globs() {
        assert!(glob(
            "mutex@*/shard.rs:*",
            "mutex@/r/quick_cache-0.7.0/src/shard.rs:40:25"
        ));
        assert!(glob("*", ""));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a?c", "ac"));
        assert!(glob("*b*b", "abcbab"));
        assert!(!glob("mutex@*", "rwlock@src/x.rs:1:1"));
        assert!(glob("accounts", "accounts"));
    }

    #[test]
    fn dependency_files_name_their_crate() {
        let reg = "/home/u/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/quick_cache-0.7.0/src/shard.rs";
        assert_eq!(dependency_crate(reg).as_deref(), Some("quick_cache-0.7.0"));
        let git = "/home/u/.cargo/git/checkouts/tokio-0b3e2a/5f1c2d4/tokio/src/sync/mutex.rs";
        assert_eq!(dependency_crate(git).as_deref(), Some("tokio-0b3e2a"));
        assert_eq!(dependency_crate("src/main.rs"), None);
        assert_eq!(dependency_crate("/work/app/src/registry/src/x.rs"), None);
        let win = r"C:\Users\u\.cargo\registry\src\index.crates.io-1949cf8c6b5b557f\moka-0.12.1\src\cht.rs";
        assert_eq!(dependency_crate(win).as_deref(), Some("moka-0.12.1"));
    }

    fn lock(name: &str, site: &str) -> crate::report::LockRef {
        crate::report::LockRef {
            class: crate::class::ClassId(0),
            name: name.into(),
            instance: crate::held::InstanceId(1),
            mode: crate::held::Mode::Write,
            trylock: false,
            kind: crate::class::LockKind::Mutex,
            site: Site::Text(site.into()),
            downgraded_at: None,
        }
    }

    fn report(acquiring: &str, held: &str) -> Report {
        Report {
            kind: crate::report::ReportKind::RecursiveLocking,
            thread: crate::report::ThreadRef {
                name: "main".into(),
                id: 1,
            },
            acquiring: Some(lock("mutex@a", acquiring)),
            held_lock: Some(lock("mutex@b", held)),
            chain: Vec::new(),
            new_dependency: None,
            held: vec![lock("mine", "src/main.rs:3:9")],
            context_wait: None,
            limit: None,
            backtrace: None,
            notes: Vec::new(),
            never_written: Vec::new(),
        }
    }

    const DEP: &str = "/h/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/quick_cache-0.7.0/src/shard.rs:40:25";
    const DEP2: &str = "/h/.cargo/git/checkouts/tokio-0b3e2a/5f1c2d4/tokio/src/sync/mutex.rs:9:1";

    #[test]
    fn a_report_is_in_dependencies_only_when_every_site_of_it_is() {
        assert_eq!(
            dependencies_only(&report(DEP, DEP2), &[]),
            Some(vec!["quick_cache-0.7.0".into(), "tokio-0b3e2a".into()])
        );
        // A lock the user holds around the call is not part of the conflict.
        assert!(dependencies_only(&report(DEP, DEP), &[]).is_some());
        assert_eq!(
            dependencies_only(&report(DEP, "src/main.rs:10:5"), &[]),
            None
        );
        assert_eq!(dependencies_only(&report("src/lib.rs:1:1", DEP), &[]), None);
        // Std sites say nothing either way; a report of no known site is the user's.
        let std_site = "/rustc/abc/library/std/src/sync/once.rs:1:1";
        assert!(dependencies_only(&report(DEP, std_site), &[]).is_some());
        assert_eq!(dependencies_only(&report(std_site, std_site), &[]), None);
        // Locks the user built, taken only through a dependency's helper (fyrox-core's
        // `safe_lock`), are the user's; locks built in a dependency or std change nothing.
        let built = |s: &str| Site::Text(s.into());
        assert_eq!(
            dependencies_only(&report(DEP, DEP), &[built("src/untyped.rs:327:23")]),
            None
        );
        assert!(dependencies_only(&report(DEP, DEP), &[built(DEP2), built(std_site)]).is_some());
    }

    #[test]
    fn rules_match_class_names_or_sites() {
        let r = report(DEP, "src/main.rs:10:5");
        let (rules, _) = parse_rules("class mutex@b deliberate\n");
        assert_eq!(
            suppressed_by(&r, &rules).map(|r| r.reason.as_str()),
            Some("deliberate")
        );
        let (rules, _) = parse_rules("site */quick_cache-*/src/shard.rs:* shards\n");
        assert!(suppressed_by(&r, &rules).is_some());
        let (rules, _) =
            parse_rules("site */tokio-*/* no\nclass mine held around, not part of it\n");
        assert!(suppressed_by(&r, &rules).is_none());
    }
}
