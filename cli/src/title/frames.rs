//! Which frame a title names: syzkaller's stack walk over report text (skip list, syscall
//! prefixes, demangling) and its "is this report corrupted" checks.

use std::sync::LazyLock;

use regex::Regex;

use super::formats::{Format, Part, StackFmt, compile};

/// Frames never named in a title: sanitizers, lockdep itself, lock primitives, allocators,
/// printing, list/string helpers, generic device and workqueue plumbing.
const SKIP: &[&str] = &[
    "__sanitizer",
    "__asan",
    "kasan",
    "hwasan",
    "__msan",
    "kmsan",
    "kcsan_setup_watchpoint",
    "check_memory_region",
    "check_heap_object",
    "check_object",
    "read_word_at_a_time",
    "(read|write)_once_.*nocheck",
    "print_address_description",
    "panic",
    "invalid_op",
    "report_bug",
    "fixup_bug",
    "print_report",
    "print_usage_bug",
    "do_error",
    "invalid_op",
    "_trap$|do_trap",
    "show_stack",
    "dump_stack",
    "walk_stack",
    "dump_backtrace",
    "warn_slowpath",
    "warn_alloc",
    "warn_bogus",
    "__warn",
    "alloc_page",
    "k?v?(?:m|z|c)alloc",
    "krealloc",
    "kmem_cache",
    "allocate_slab",
    "__alloc_frozen_pages_noprof",
    "folio_(?:alloc|unlock)",
    "filemap_alloc_folio",
    "__filemap_get_folio",
    "find_or_create_page",
    "do_read_cache_folio",
    "read_cache_page",
    "pagecache_get_page",
    "grab_cache_page_write_begin",
    "slab_",
    "debug_object",
    "timer_is_static_object",
    "work_is_static_object",
    "__might_fault",
    "print_unlock",
    "imbalance_bug",
    "lockdep",
    "bh_enable",
    "bh_disable",
    "perf_trace",
    "lock_acquire",
    "lock_release",
    "lock_class",
    "mark_lock",
    "(reacquire|mark)_held_locks",
    "raw_spin_rq",
    "spin_lock",
    "spin_trylock",
    "spin_unlock",
    "read_lock",
    "read_trylock",
    "write_lock",
    "write_trylock",
    "read_unlock",
    "write_unlock",
    "^down$",
    "down_read",
    "down_write",
    "down_read_trylock",
    "down_write_trylock",
    "down_trylock",
    "up_read",
    "up_write",
    "^mutex_",
    "^__mutex_",
    "^rt_mutex_",
    "owner_on_cpu",
    "osq_lock",
    "osq_unlock",
    "atomic(64)?_(dec|inc|read|set|or|xor|and|add|sub|fetch|xchg|cmpxchg|try)",
    "(set|clear|change|test)_bit",
    "__wake_up",
    "^refcount_",
    "^kref_",
    "ref_tracker",
    "seqprop_assert",
    "memcpy",
    "memcmp",
    "memset",
    "memchr",
    "memmove",
    "memdup",
    "strcmp",
    "strncmp",
    "strcpy",
    "strlcpy",
    "strncpy",
    "strscpy",
    "strlen",
    "strstr",
    "strnstr",
    "strnlen",
    "strchr",
    "strdup",
    "strndup",
    "copy_to_user",
    "copy_from_user",
    "copy_to_iter",
    "copy_from_iter",
    "copy_page_to_iter",
    "copy_page_from_iter",
    "copy_folio_to_iter",
    "^copyin$",
    "^copyout$",
    "put_user",
    "get_user",
    "might_fault",
    "might_sleep",
    "list_add",
    "list_del",
    "list_replace",
    "list_move",
    "list_splice",
    "^rb_",
    "^__rb_",
    "_indirect_thunk_",
    "string",
    "pointer",
    "snprintf",
    "scnprintf",
    "kasprintf",
    "kvasprintf",
    "printk",
    "va_format",
    "dev_info",
    "dev_notice",
    "dev_warn",
    "dev_err",
    "dev_alert",
    "dev_crit",
    "dev_emerg",
    "program_check_exception",
    "program_check_common",
    "del_timer",
    "flush_work",
    "__cancel_work_timer",
    "cancel_work_sync",
    "try_to_grab_pending",
    "flush_workqueue",
    "drain_workqueue",
    "destroy_workqueue",
    "queue_work",
    "finish_wait",
    "kthread_stop",
    "kobject_",
    "add_uevent_var",
    "get_device_parent",
    "device_add",
    "device_del",
    "device_unregister",
    "device_destroy",
    "device_release",
    "devres_release_all",
    "hwrng_unregister",
    "i2c_del_adapter",
    "__unregister_client",
    "device_for_each_child",
    "rollback_registered",
    "unregister_netdev",
    "sysfs_remove",
    "device_remove_file",
    "tty_unregister_device",
    "dummy_urb_enqueue",
    "usb_kill_urb",
    "usb_kill_anchored_urbs",
    "usb_control_msg",
    "usb_hcd_submit_urb",
    "usb_submit_urb",
    "^complete$",
    "wait_for_completion",
    "^kv?free$",
    "kfree_skb",
    "readb$",
    "readw$",
    "readl$",
    "readq$",
    "writeb$",
    "writew$",
    "writel$",
    "writeq$",
    "logic_in",
    "logic_out",
    r"^crc\d+",
    "crc_itu_t",
    "__might_resched",
    "assertfail",
    "^iput$",
    "^iput_final$",
    "^ihold$",
    "hex_dump_to_buffer",
    "print_hex_dump",
    "^klist_",
    "(trace|lockdep)_(hard|soft)irq",
    "^(un)?lock_page",
    "stack_trace_consume_entry",
    "arch_stack_walk",
    "stack_trace_save",
    "insert_work",
    "__queue_delayed_work",
    "queue_delayed_work_on",
    "ida_free",
    "do_(kernel|translation)_fault",
    "do_mem_abort",
    "el1_abort",
    "el1h_64_sync(?:_handler)?",
    "print_tainted",
    "xas_(?:start|load|find)",
    "find_lock_entries",
    "truncate_inode_pages_range",
    "__phys_addr",
    "__fortify_report",
    "cleanup_srcu_struct",
    "rhashtable_lookup",
    "extract_(user|iter)_to_sg",
    "drop_nlink",
    "^get_taint$",
    "^put_device$",
    "lock_timer_base",
    "__timer_delete_sync",
    "sk_stop_timer_sync",
    "__mod_timer",
    "fast_dput",
    "dput",
    "mark_buffer_dirty",
];

/// Syscall entry prefixes; the shortest stripped form of a frame is kept.
const STRIP_PREFIXES: &[&str] = &[
    "SYSC_",
    "SyS_",
    "sys_",
    "__x64_",
    "__ia32_",
    "__arm64_",
    "____sys_",
    "___sys_",
    "__sys_",
    "__se_",
    "__se_sys_",
    "__do_sys_",
    "compat_SYSC_",
    "compat_SyS_",
    "ksys_",
];

pub(super) const RISCV_STACK_START: &str =
    "status: [0-9a-f]{16} badaddr: [0-9a-f]{16} cause: [0-9a-f]{16}";

/// Lines that start a stack trace.
static STACK_START: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        "Call (?:T|t)race",
        "Allocated:",
        "Allocated by task [0-9]+:",
        "Freed:",
        "Freed by task [0-9]+:",
        // `backtrace:` but not `stack backtrace:`.
        r"[^k] backtrace(?: \(crc [[:xdigit:]]*\))?:",
        "Backtrace:",
        "Uninit was stored to memory at",
        RISCV_STACK_START,
    ]
    .iter()
    .map(|r| compile(r))
    .collect()
});

/// Lines that hold a frame; the capture groups are function names.
static FRAME: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        "^ *(?:{{PC}} ){0,2}{{FUNC}}",
        // 32-bit ARM prints callee and caller on one line.
        r"^ *{{PC}} \(([a-zA-Z0-9_.]+)\) from {{PC}} \({{FUNC}}",
    ]
    .iter()
    .map(|r| compile(r))
    .collect()
});

/// A fault-injection stack mixed into the report.
static CORRUPTED_LINE: LazyLock<Regex> = LazyLock::new(|| {
    compile(r"^( \[<?(?:0x)?[0-9a-f]+>?\])? should_fail(slab)?(\.[a-z0-9.]+)?\+0x")
});

/// A title that swallowed a timestamp (lines merged).
static CORRUPTED_TITLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\[ *[0-9]+\.[0-9]+\]").unwrap());

static GLOBAL_SKIP: LazyLock<Regex> = LazyLock::new(|| Regex::new(&SKIP.join("|")).unwrap());

/// A compiled stack format: its patterns and its skip regex.
pub(super) struct CompiledStack {
    parts: Vec<Option<Regex>>,
    parts2: Vec<Option<Regex>>,
    skip: Option<Regex>,
}

fn compile_parts(parts: &[Part]) -> Vec<Option<Regex>> {
    parts
        .iter()
        .map(|p| match p {
            Part::Line(r) => Some(compile(r)),
            Part::Stack => None,
        })
        .collect()
}

impl CompiledStack {
    pub(super) fn new(s: &StackFmt) -> CompiledStack {
        CompiledStack {
            parts: compile_parts(s.parts),
            parts2: compile_parts(s.parts2),
            skip: (!s.skip.is_empty()).then(|| Regex::new(&s.skip.join("|")).unwrap()),
        }
    }

    fn skipped(&self, name: &str) -> bool {
        GLOBAL_SKIP.is_match(name) || self.skip.as_ref().is_some_and(|s| s.is_match(name))
    }
}

/// Whether syzkaller's global skip list drops this function name.
pub fn is_skipped(name: &str) -> bool {
    GLOBAL_SKIP.is_match(name)
}

/// A C++ or Rust symbol in readable form, without parameters; anything else unchanged.
pub fn demangle(name: &str) -> String {
    if (name.starts_with("_R") || name.starts_with("_ZN") && name.ends_with('E'))
        && let Ok(d) = rustc_demangle::try_demangle(name)
    {
        return format!("{d:#}");
    }
    if name.starts_with("_Z")
        && let Ok(sym) = cpp_demangle::Symbol::new(name)
    {
        let opts = cpp_demangle::DemangleOptions::new().no_params();
        if let Ok(d) = sym.demangle_with_options(&opts) {
            return d;
        }
    }
    name.to_string()
}

pub(super) fn strip_prefixes(frame: &str) -> &str {
    STRIP_PREFIXES
        .iter()
        .map(|p| frame.strip_prefix(p).unwrap_or(frame))
        .min_by_key(|f| f.len())
        .unwrap_or(frame)
}

fn append_frames(frames: &mut Vec<String>, caps: &regex::Captures, stack: &CompiledStack) {
    for m in caps.iter().skip(1).flatten() {
        let name = demangle(m.as_str());
        if !stack.skipped(&name) {
            frames.push(name);
        }
    }
}

fn matches_any(line: &str, res: &[Regex]) -> bool {
    res.iter().any(|r| r.is_match(line))
}

/// The frames a stack format names in `text` (which starts at the title), one per stack
/// part, `corrupted` for a part that found none; `ok` is false when a part found none or
/// a fault-injection frame was seen.
pub(super) fn extract_frames(text: &str, stack: &CompiledStack) -> (Vec<String>, bool) {
    let (frames, ok) = extract_with(text, stack, &stack.parts);
    if ok || stack.parts2.is_empty() {
        return (frames, ok);
    }
    extract_with(text, stack, &stack.parts2)
}

fn extract_with(text: &str, stack: &CompiledStack, parts: &[Option<Regex>]) -> (Vec<String>, bool) {
    let mut lines = text.split('\n');
    let mut raw: Vec<String> = Vec::new();
    let mut results = Vec::new();
    let mut ok = true;
    let mut stacks = 0;
    let mut idx = 0;
    loop {
        if idx == parts.len() || parts[idx].is_none() && stacks > 0 {
            match raw.first() {
                Some(f) => results.push(strip_prefixes(f).to_string()),
                None => {
                    results.push("corrupted".to_string());
                    ok = false;
                }
            }
            raw.clear();
        }
        if idx == parts.len() {
            break;
        }
        match &parts[idx] {
            None => {
                stacks += 1;
                'lines: for ln in lines.by_ref() {
                    if CORRUPTED_LINE.is_match(ln) {
                        ok = false;
                        break 'lines;
                    }
                    if matches_any(ln, &STACK_START) {
                        break 'lines;
                    }
                    if let Some(Some(next)) = parts.get(idx + 1)
                        && let Some(c) = next.captures(ln)
                    {
                        append_frames(&mut raw, &c, stack);
                        idx += 1;
                        break 'lines;
                    }
                    if let Some(c) = FRAME.iter().find_map(|r| r.captures(ln)) {
                        append_frames(&mut raw, &c, stack);
                    }
                }
            }
            Some(re) => {
                for ln in lines.by_ref() {
                    if CORRUPTED_LINE.is_match(ln) {
                        ok = false;
                        break;
                    }
                    if let Some(c) = re.captures(ln) {
                        append_frames(&mut raw, &c, stack);
                        break;
                    }
                }
            }
        }
        idx += 1;
    }
    (results, ok)
}

/// Why syzkaller would call a titled report corrupted, if it would: a merged timestamp in
/// the title, or a stack keyword without frames after it, or no stack at all.
pub(super) fn corruption(title: &str, report: &str, format: Option<&Format>) -> Option<String> {
    if CORRUPTED_TITLE.is_match(title) {
        return Some("title matches corrupted regexp".into());
    }
    let format = format?;
    if format.no_stack_trace {
        return None;
    }
    let mut has_stack = false;
    for (k, key) in STACK_START.iter().enumerate() {
        let Some(m) = key.find(report) else { continue };
        let lines: Vec<&str> = report[m.start()..].split('\n').collect();
        if lines.len() < 4 {
            return Some("call trace is missed".into());
        }
        let mut corrupted = true;
        for ln in lines[1..].iter().take(15) {
            if matches_any(ln, &STACK_START) {
                break;
            }
            if ln.contains("(stack is not available)") || matches_any(ln, &FRAME) {
                has_stack = true;
                corrupted = false;
                break;
            }
        }
        let riscv = k == STACK_START.len() - 1;
        if !riscv && corrupted {
            return Some("no frames in a stack trace".into());
        }
    }
    if !has_stack {
        return Some("no stack trace in report".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demangles_and_strips() {
        assert_eq!(demangle("_Z8fakeNameiii"), "fakeName");
        assert_eq!(demangle("alloc_pid"), "alloc_pid");
        // Each prefix is tried on the original name; the shortest result wins.
        assert_eq!(strip_prefixes("__x64_sys_mount"), "sys_mount");
        assert_eq!(strip_prefixes("__do_sys_rt_sigreturn"), "rt_sigreturn");
        assert!(is_skipped("_raw_spin_lock_nested"));
        assert!(is_skipped("fixup_bug"));
        assert!(is_skipped("perf_trace_init"));
        assert!(!is_skipped("alloc_pid"));
    }
}
