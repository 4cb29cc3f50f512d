//! Matcher benchmark: 1,000,000 exact codes + 1,000 regex codes, single lookups.
//!
//! Run: `cargo bench --bench matcher`. Target: >= 2,000,000 lookups/s (<= 500 ns) on one core
//! for exact hits and misses.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use promodesk::domain::matcher::{Lookup, MatchKind, Matcher, MatcherCode};
use regex::RegexSet;

const EXACT_CODES: u64 = 1_000_000;
const REGEX_CODES: u64 = 1_000;
const PROBES: usize = 1 << 14;
const PREFIXES: [&str; 8] = [
    "SUMMER24",
    "FALL24",
    "WINTER25",
    "SPRING25",
    "BLACKFRIDAY",
    "CYBER24",
    "VIP",
    "WELCOME10",
];
const BASE36: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// splitmix64: deterministic pseudo-random numbers without extra crates.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Six base-36 characters, a bijection of `i` below 36^6 (1,000,003 is coprime with 36).
fn suffix(i: u64) -> String {
    let mut x = (i.wrapping_mul(1_000_003)) % 36u64.pow(6);
    let mut out = [0u8; 6];
    for slot in out.iter_mut().rev() {
        *slot = BASE36[(x % 36) as usize];
        x /= 36;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn exact_value(i: u64) -> String {
    format!("{}-{}", PREFIXES[(i % 8) as usize], suffix(i))
}

fn regex_value(k: u64) -> String {
    match k % 5 {
        0 => format!("^PARTNER{k:04}[0-9]{{3}}$"),
        1 => format!("FALL{:03}.*", k % 1000),
        2 => format!("^(?i)(WINTER{k:04})-[A-Z]{{2}}[0-9]{{2}}$"),
        3 => format!("(SPRING|SPR)_{k:04}[A-Z0-9]{{4}}"),
        _ => format!("^VIP{k:04}-[A-Z]{{3}}[0-9]*$"),
    }
}

/// An entered code that the regex code `k` matches.
fn regex_hit(k: u64, rng: &mut Rng) -> String {
    let d = rng.below(1000);
    match k % 5 {
        0 => format!("PARTNER{k:04}{d:03}"),
        1 => format!("FALL{:03}-{}", k % 1000, suffix(d)),
        2 => format!("winter{k:04}-AB{:02}", d % 100),
        3 => format!("SPRING_{k:04}{}", &suffix(d)[..4]),
        _ => format!("VIP{k:04}-XYZ{d}"),
    }
}

fn codes(now: DateTime<Utc>) -> Vec<MatcherCode> {
    let mut rng = Rng(7);
    let mut codes = Vec::with_capacity((EXACT_CODES + REGEX_CODES) as usize);
    for i in 0..EXACT_CODES {
        // One code in ten has dates around now, as scheduled/expiring campaigns do.
        let (active_start, active_end) = if i % 10 == 0 {
            (
                Some(now - TimeDelta::days(30 + rng.below(300) as i64)),
                Some(now + TimeDelta::days(1 + rng.below(300) as i64)),
            )
        } else {
            (None, None)
        };
        codes.push(MatcherCode {
            id: i as i64 + 1,
            value: exact_value(i),
            kind: MatchKind::Literal,
            active_start,
            active_end,
            created_at: now - TimeDelta::seconds(rng.below(86_400 * 700) as i64),
        });
    }
    for k in 0..REGEX_CODES {
        codes.push(MatcherCode {
            id: (EXACT_CODES + k) as i64 + 1,
            value: regex_value(k),
            kind: MatchKind::Regex,
            active_start: None,
            active_end: None,
            created_at: now - TimeDelta::seconds(rng.below(86_400 * 700) as i64),
        });
    }
    codes
}

struct Probes {
    exact_hits: Vec<String>,
    misses: Vec<String>,
    near_misses: Vec<String>,
    regex_hits: Vec<String>,
}

fn probes() -> Probes {
    let mut rng = Rng(42);
    let exact_hits = (0..PROBES)
        .map(|_| {
            let v = exact_value(rng.below(EXACT_CODES));
            // Half as printed, half typed in lower case.
            if rng.below(2) == 0 {
                v
            } else {
                v.to_lowercase()
            }
        })
        .collect();
    // Same shape as real codes, never issued (the suffix bijection keeps them distinct).
    let misses = (0..PROBES)
        .map(|_| exact_value(EXACT_CODES + rng.below(EXACT_CODES)))
        .collect();
    // Share a regex code's literal prefix but fail the rest of it.
    let near_misses = (0..PROBES)
        .map(|_| {
            let k = rng.below(REGEX_CODES);
            match k % 5 {
                0 => format!("PARTNER{k:04}X1"),
                1 => format!("FALL{:03}", k % 1000).replace("FALL", "FALX"),
                2 => format!("WINTER{k:04}-A1"),
                3 => format!("SPRING_{k:04}"),
                _ => format!("VIP{k:04}-XY"),
            }
        })
        .collect();
    let regex_hits = (0..PROBES)
        .map(|_| {
            let k = rng.below(REGEX_CODES);
            regex_hit(k, &mut rng)
        })
        .collect();
    Probes {
        exact_hits,
        misses,
        near_misses,
        regex_hits,
    }
}

/// Time this thread has spent on a CPU (ns), from `/proc/thread-self/schedstat`: unlike the wall
/// clock, it leaves out the time the thread waited while other processes ran (this 2-core box
/// is shared with builds).
fn on_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Runs lookups over `list` for about two seconds; prints wall and on-CPU ns per lookup.
fn on_cpu_summary(name: &str, m: &Matcher, list: &[String], now: DateTime<Utc>) {
    for s in list.iter().take(100_000) {
        black_box(m.lookup(black_box(s), now));
    }
    let wall = Instant::now();
    let cpu = on_cpu_ns();
    let mut n = 0usize;
    while wall.elapsed() < Duration::from_secs(2) {
        for _ in 0..16_384 {
            black_box(m.lookup(black_box(&list[n & (PROBES - 1)]), now));
            n += 1;
        }
    }
    let wall_ns = wall.elapsed().as_nanos() as f64 / n as f64;
    match (cpu, on_cpu_ns()) {
        (Some(a), Some(b)) => {
            let cpu_ns = (b - a) as f64 / n as f64;
            println!(
                "summary {name:<24} wall {wall_ns:7.1} ns/lookup ({:5.2} M/s)   on-CPU {cpu_ns:7.1} ns/lookup ({:5.2} M/s)",
                1e3 / wall_ns,
                1e3 / cpu_ns
            );
        }
        _ => println!(
            "summary {name:<24} wall {wall_ns:7.1} ns/lookup ({:5.2} M/s)",
            1e3 / wall_ns
        ),
    }
}

fn bench(c: &mut Criterion) {
    let now = Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap();
    let codes = codes(now);
    let started = Instant::now();
    let (m, errors) = Matcher::build(codes);
    let build = started.elapsed();
    assert!(errors.is_empty(), "{errors:?}");
    println!(
        "build: {:.3} s for {} exact + {} regex codes ({m:?})",
        build.as_secs_f64(),
        m.exact_count(),
        m.regex_count()
    );

    let p = probes();
    // Sanity: the probes are what they claim to be.
    for s in &p.exact_hits {
        assert!(
            matches!(m.lookup(s, now), Lookup::Matched(id) if id <= EXACT_CODES as i64),
            "{s}"
        );
    }
    for s in p.misses.iter().chain(&p.near_misses) {
        assert_eq!(m.lookup(s, now), Lookup::NoMatch, "{s}");
    }
    for s in &p.regex_hits {
        assert!(
            matches!(m.lookup(s, now), Lookup::Matched(id) if id > EXACT_CODES as i64),
            "{s}"
        );
    }

    let cases = [
        ("exact_hit", &p.exact_hits),
        ("miss", &p.misses),
        ("near_miss_regex_prefix", &p.near_misses),
        ("regex_hit", &p.regex_hits),
    ];
    for (name, list) in cases {
        on_cpu_summary(name, &m, list, now);
    }

    let mut group = c.benchmark_group("lookup");
    group.throughput(Throughput::Elements(1));
    for (name, list) in cases {
        group.bench_function(name, |b| {
            let mut i = 0usize;
            b.iter(|| {
                i = (i + 1) & (PROBES - 1);
                black_box(m.lookup(black_box(&list[i]), now))
            })
        });
    }
    group.finish();

    // For comparison: one RegexSet over all 1,000 anchored regex codes, asked on every lookup.
    let started = Instant::now();
    let set = RegexSet::new((0..REGEX_CODES).map(|k| {
        promodesk::domain::matcher::compile_code_regex(&regex_value(k))
            .unwrap()
            .as_str()
            .to_owned()
    }))
    .unwrap();
    println!(
        "baseline RegexSet build: {:.3} s",
        started.elapsed().as_secs_f64()
    );
    let mut group = c.benchmark_group("baseline_regexset_1000");
    group.throughput(Throughput::Elements(1));
    for (name, list) in [("miss", &p.misses), ("regex_hit", &p.regex_hits)] {
        group.bench_function(name, |b| {
            let mut i = 0usize;
            b.iter(|| {
                i = (i + 1) & (PROBES - 1);
                black_box(set.matches(black_box(&list[i])).iter().next())
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(50)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(6));
    targets = bench
}
criterion_main!(benches);
