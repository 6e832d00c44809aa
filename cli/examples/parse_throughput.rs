//! `lockcheck parse` throughput: generates a large kernel log (ordinary boot and driver noise
//! with a real lockdep splat every few MB), parses it with the library, and runs `grep -c` on the
//! same file for comparison. Two sizes, so that memory can be seen to stay flat in file size.
//!
//! ```text
//! cargo run --release -p lockcheck --example parse_throughput -- [SMALL_MB] [LARGE_MB] [--caller-ids] [--dense]
//! ```
//! (defaults 64 and 512). `--caller-ids` gives every line a caller id (`[ T123]`, as
//! syzkaller's consoles print; the splats come from a task that prints nothing else),
//! `--dense` makes every tenth noise line contain a report keyword (`INFO`, `BUG`,
//! `WARNING`) that is not a report, the pre-filter's worst case.
//! One splat is parsed first, so that the one-time cost of compiling the parser's regexes
//! is printed on its own rather than charged to the first size. The file is written to the
//! temporary directory and removed after.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Ordinary console noise, in the shapes real logs have (timestamps, subsystems, hex, paths).
const NOISE: &[&str] = &[
    "usb 1-1: new high-speed USB device number {n} using xhci_hcd",
    "EXT4-fs (sda1): mounted filesystem {h} r/w with ordered data mode. Quota mode: none.",
    "e1000e 0000:00:19.0 eth0: NIC Link is Up 1000 Mbps Full Duplex, Flow Control: Rx/Tx",
    "audit: type=1400 audit({n}.123:{n}): apparmor=\"STATUS\" operation=\"profile_load\" name=\"/usr/bin/man\" pid={n} comm=\"apparmor_parser\"",
    "systemd[1]: Started Journal Service.",
    "IPv6: ADDRCONF(NETDEV_CHANGE): wlan0: link becomes ready",
    "nvme nvme0: 8/0/0 default/read/poll queues",
    "random: crng init done",
    "kvm: exiting hardware virtualization",
    "pci 0000:00:1f.{n}: [8086:a323] type 00 class 0x0c0500",
    "ata1: SATA link up 6.0 Gbps (SStatus 133 SControl 300)",
    "Memory: 16318020K/16696428K available (18432K kernel code, 3176K rwdata, 12960K rodata)",
    "sd 0:0:0:0: [sda] 976773168 512-byte logical blocks: (500 GB/466 GiB)",
    "wlan0: associated with {h} (capab=0x431 status=0 aid=3)",
    "Bluetooth: hci0: Firmware revision 0.0 build {n} week 45 2021",
    "TCP: request_sock_TCP: Possible SYN flooding on port 8080. Sending cookies.",
    "device-mapper: uevent: version 1.0.3",
    "CPU: {n} PID: {n} Comm: kworker/0:{n} Not tainted 6.8.0 #1",
];

/// Noise lines that contain a report keyword without being a report.
const DENSE: &[&str] = &[
    "ACPI: INFO: Pre-boot firmware table loaded",
    "xhci_hcd 0000:00:14.0: BUG: no room for TRB, retrying",
    "thermal thermal_zone0: WARNING: trip point crossed, throttling",
];

#[derive(Debug, Clone, Copy, Default)]
struct Shape {
    caller_ids: bool,
    dense: bool,
}

fn caller_id(shape: Shape, i: u64) -> String {
    if shape.caller_ids {
        format!("[{:>6}]", format!("T{}", i % 997))
    } else {
        String::new()
    }
}

fn generate(
    path: &Path,
    megabytes: usize,
    splat: &str,
    shape: Shape,
) -> std::io::Result<(u64, usize)> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let target = (megabytes as u64) << 20;
    let splat_every = 4u64 << 20;
    let (mut written, mut next_splat, mut splats, mut i) = (0u64, splat_every, 0usize, 0u64);
    let mut line = String::new();
    while written < target {
        if written >= next_splat {
            let t = i as f64 / 1000.0;
            for l in splat.lines() {
                line.clear();
                // A task that prints nothing else: with caller ids, its report stays open
                // (only its own next line could end it) until the next splat.
                let id = if shape.caller_ids { "[ T99999]" } else { "" };
                line.push_str(&format!("[{t:12.6}]{id} {l}\n"));
                out.write_all(line.as_bytes())?;
                written += line.len() as u64;
            }
            splats += 1;
            next_splat += splat_every;
        }
        let template = if shape.dense && i % 10 == 0 {
            DENSE[(i / 10 % DENSE.len() as u64) as usize]
        } else {
            NOISE[(i % NOISE.len() as u64) as usize]
        };
        let text = template.replace("{n}", &(i % 9973).to_string()).replace(
            "{h}",
            &format!("{:016x}", i.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
        );
        line.clear();
        let id = caller_id(shape, i);
        line.push_str(&format!("[{:12.6}]{id} {text}\n", i as f64 / 1000.0));
        out.write_all(line.as_bytes())?;
        written += line.len() as u64;
        i += 1;
    }
    out.flush()?;
    Ok((written, splats))
}

/// The body of a real splat, its kernel timestamps stripped (the generator adds its own).
fn splat_text() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/logs/005-circular-console-sem-rq-lock-truncated.log"
    );
    let text = std::fs::read_to_string(path).expect("fixture log");
    text.lines()
        .map(|l| match l.find("] ") {
            Some(i) if l.starts_with('[') => &l[i + 2..],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn run(megabytes: usize, splat: &str, shape: Shape) {
    let path: PathBuf = std::env::temp_dir().join(format!("lockcheck-throughput-{megabytes}.log"));
    let (bytes, splats) = generate(&path, megabytes, splat, shape).expect("write the log");
    let mb = bytes as f64 / (1 << 20) as f64;

    // Warm the page cache (streaming, so the peak memory below is the parser's) so both readers
    // see the same file state.
    if let Ok(mut f) = File::open(&path) {
        let _ = std::io::copy(&mut f, &mut std::io::sink());
    }

    let start = Instant::now();
    let file = File::open(&path).expect("open the log");
    let mut reports = 0usize;
    let source = path.display().to_string();
    lockcheck::splat::parse_reader(&source, BufReader::with_capacity(1 << 16, file), |_r| {
        reports += 1;
        Ok(())
    })
    .expect("parse");
    let parse_s = start.elapsed().as_secs_f64();
    let hwm = vm_hwm_kib();

    let start = Instant::now();
    let grep = std::process::Command::new("grep")
        .args([
            "-c",
            "WARNING: possible circular locking dependency detected",
        ])
        .arg(&path)
        .output();
    let grep_s = start.elapsed().as_secs_f64();
    let grep_count = grep
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "grep not available".into());

    println!(
        "{mb:8.1} MB, {splats:4} splats: lockcheck parse {:8.1} MB/s ({reports} reports, {parse_s:.2} s, peak RSS {:.1} MiB) | grep -c {:8.1} MB/s ({grep_count} matches, {grep_s:.2} s)",
        mb / parse_s,
        hwm as f64 / 1024.0,
        mb / grep_s,
    );
    let _ = std::fs::remove_file(&path);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let sizes: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let shape = Shape {
        caller_ids: args.iter().any(|a| a == "--caller-ids"),
        dense: args.iter().any(|a| a == "--dense"),
    };
    let small = sizes.first().copied().unwrap_or(64);
    let large = sizes.get(1).copied().unwrap_or(512);
    let splat = splat_text();
    println!("{shape:?}");
    // The first report in a process compiles the parser's regexes (tens of milliseconds,
    // once); parse one splat first so that the sizes below compare like with like.
    let start = Instant::now();
    let warm = lockcheck::splat::parse_str("warm-up", &splat).len();
    println!(
        "warm-up: {warm} report from one splat in {:.1} ms (one-time regex compilation)",
        start.elapsed().as_secs_f64() * 1000.0
    );
    run(small, &splat, shape);
    run(large, &splat, shape);
}
