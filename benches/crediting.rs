//! Crediting benchmark: one conversion -> one decision (SPEC §6), as a pure function.
//!
//! The program has 100,000 exact + 1,000 regex codes, 1,000 partners in three credit groups
//! (some inactive), journeys of 1-5 clicks, and a realistic mix of conversions: exact code hits
//! (in either case), regex hits, unknown codes, an unknown code followed by a hit, and orders
//! with no code.
//!
//! Run: `cargo bench --bench crediting`. Target: >= 2,000,000 decisions/s on one core.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use promodesk::domain::code::{CreditRule, MatchMode};
use promodesk::domain::crediting::{
    credit, Click, CodeFacts, CodeKind, Conversion, CreditReason, PartnerFacts, Partners,
    ProgramCodes,
};
use promodesk::domain::partner::{CreditGroup, PartnerStatus, Payout};
use promodesk::domain::{CodeId, PartnerId};
use rust_decimal::Decimal;

const EXACT_CODES: u64 = 100_000;
const REGEX_CODES: u64 = 1_000;
const PARTNERS: u64 = 1_000;
const CONVERSIONS: usize = 1 << 14;
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
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
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

fn partner_of(rng: &mut Rng) -> PartnerId {
    PartnerId(rng.below(PARTNERS) as i64 + 1)
}

fn payout(rng: &mut Rng) -> Payout {
    if rng.chance(70) {
        Payout::Percent(Decimal::new(rng.below(2_000) as i64 + 100, 2))
    } else {
        Payout::Flat(Decimal::new(rng.below(5_000) as i64 + 100, 2))
    }
}

fn partners() -> Partners {
    let mut rng = Rng(11);
    let mut partners = Partners::with_capacity(PARTNERS as usize);
    for id in 1..=PARTNERS {
        let credit_group = match rng.below(10) {
            0..=1 => CreditGroup::Preferred,
            2..=6 => CreditGroup::Standard,
            _ => CreditGroup::NonPreferred,
        };
        let status = if rng.chance(5) {
            PartnerStatus::Inactive
        } else {
            PartnerStatus::Active
        };
        let payout = rng.chance(95).then(|| payout(&mut rng));
        partners.insert(
            PartnerId(id as i64),
            PartnerFacts {
                credit_group,
                status,
                payout,
                media_id: 10_000 + id as i64,
            },
        );
    }
    partners
}

fn code_kind(rng: &mut Rng) -> CodeKind {
    if rng.chance(5) {
        return CodeKind::Restricted;
    }
    let rule = match rng.below(10) {
        0..=3 => CreditRule::Always,
        4..=7 => CreditRule::Involved,
        _ => CreditRule::Winner,
    };
    CodeKind::Tracking {
        partner: partner_of(rng),
        rule,
    }
}

fn codes(now: DateTime<Utc>) -> Vec<CodeFacts> {
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
        let kind = code_kind(&mut rng);
        codes.push(CodeFacts {
            id: CodeId(i as i64 + 1),
            value: exact_value(i),
            match_mode: MatchMode::Literal,
            kind,
            payout: (kind != CodeKind::Restricted && rng.chance(10)).then(|| payout(&mut rng)),
            active_start,
            active_end,
            created_at: now - TimeDelta::seconds(rng.below(86_400 * 700) as i64),
        });
    }
    for k in 0..REGEX_CODES {
        let kind = code_kind(&mut rng);
        codes.push(CodeFacts {
            id: CodeId((EXACT_CODES + k) as i64 + 1),
            value: regex_value(k),
            match_mode: MatchMode::Regex,
            kind,
            payout: None,
            active_start: None,
            active_end: None,
            created_at: now - TimeDelta::seconds(rng.below(86_400 * 700) as i64),
        });
    }
    codes
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Kind {
    ExactHit,
    RegexHit,
    Unknown,
    UnknownThenHit,
    NoCode,
}

struct Order {
    kind: Kind,
    entered: Vec<String>,
    journey: Vec<Click>,
    sale: Decimal,
}

/// 1-5 clicks in the last 30 days, oldest first; with `own`, one of them is the code's partner.
fn journey(rng: &mut Rng, now: DateTime<Utc>, own: Option<PartnerId>) -> Vec<Click> {
    let n = 1 + rng.below(5) as usize;
    let mut clicks: Vec<Click> = (0..n)
        .map(|_| Click {
            partner: partner_of(rng),
            clicked_at: now - TimeDelta::seconds(1 + rng.below(86_400 * 30) as i64),
        })
        .collect();
    if let Some(p) = own {
        let i = rng.below(n as u64) as usize;
        clicks[i].partner = p;
    }
    clicks.sort_by_key(|c| c.clicked_at);
    clicks
}

fn orders(now: DateTime<Utc>, codes: &[CodeFacts]) -> Vec<Order> {
    let mut rng = Rng(42);
    (0..CONVERSIONS)
        .map(|_| {
            let kind = match rng.below(100) {
                0..=39 => Kind::ExactHit,
                40..=49 => Kind::RegexHit,
                50..=64 => Kind::Unknown,
                65..=69 => Kind::UnknownThenHit,
                _ => Kind::NoCode,
            };
            // Exact codes with dates are skipped so that every "hit" is active now.
            let exact = |rng: &mut Rng| loop {
                let i = rng.below(EXACT_CODES);
                if !i.is_multiple_of(10) {
                    let v = exact_value(i);
                    break (if rng.chance(50) { v } else { v.to_lowercase() }, i);
                }
            };
            let unknown = |rng: &mut Rng| exact_value(EXACT_CODES + rng.below(EXACT_CODES));
            let (entered, code_index) = match kind {
                Kind::ExactHit => {
                    let (v, i) = exact(&mut rng);
                    (vec![v], Some(i as usize))
                }
                Kind::RegexHit => {
                    let k = rng.below(REGEX_CODES);
                    (
                        vec![regex_hit(k, &mut rng)],
                        Some((EXACT_CODES + k) as usize),
                    )
                }
                Kind::Unknown => (vec![unknown(&mut rng)], None),
                Kind::UnknownThenHit => {
                    let (v, i) = exact(&mut rng);
                    (vec![unknown(&mut rng), v], Some(i as usize))
                }
                Kind::NoCode => (vec![], None),
            };
            // Half the code orders carry a click of the code's partner.
            let own = code_index
                .and_then(|i| codes[i].kind.partner())
                .filter(|_| rng.chance(50));
            Order {
                kind,
                entered,
                journey: journey(&mut rng, now, own),
                sale: Decimal::new(500 + rng.below(50_000) as i64, 2),
            }
        })
        .collect()
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

fn decide(o: &Order, now: DateTime<Utc>, codes: &ProgramCodes, partners: &Partners) -> usize {
    let conversion = Conversion {
        event_date: now,
        entered_codes: &o.entered,
        sale_amount: o.sale,
    };
    let d = credit(&conversion, &o.journey, codes, partners, true);
    d.reason as usize
}

/// Credits `list` round and round for about three seconds; prints wall and on-CPU decisions/s.
fn on_cpu_summary(
    name: &str,
    list: &[&Order],
    now: DateTime<Utc>,
    codes: &ProgramCodes,
    partners: &Partners,
) {
    for o in list {
        black_box(decide(black_box(o), now, codes, partners));
    }
    let wall = Instant::now();
    let cpu = on_cpu_ns();
    let mut n = 0usize;
    while wall.elapsed() < Duration::from_secs(3) {
        for _ in 0..16_384 {
            black_box(decide(
                black_box(list[n % list.len()]),
                now,
                codes,
                partners,
            ));
            n += 1;
        }
    }
    let wall_ns = wall.elapsed().as_nanos() as f64 / n as f64;
    match (cpu, on_cpu_ns()) {
        (Some(a), Some(b)) => {
            let cpu_ns = (b - a) as f64 / n as f64;
            println!(
                "summary {name:<18} wall {wall_ns:6.1} ns/decision ({:5.2} M/s)   on-CPU {cpu_ns:6.1} ns/decision ({:5.2} M/s)",
                1e3 / wall_ns,
                1e3 / cpu_ns
            );
        }
        _ => println!(
            "summary {name:<18} wall {wall_ns:6.1} ns/decision ({:5.2} M/s)",
            1e3 / wall_ns
        ),
    }
}

fn bench(c: &mut Criterion) {
    let now = Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap();
    let code_list = codes(now);
    let orders = orders(now, &code_list);
    let started = Instant::now();
    let (codes, errors) = ProgramCodes::build(code_list);
    println!(
        "build: {:.3} s for {codes:?}",
        started.elapsed().as_secs_f64()
    );
    assert!(errors.is_empty(), "{errors:?}");
    let partners = partners();

    // What the mix decides (and a check that the orders are what they claim to be).
    let mut reasons: HashMap<CreditReason, usize> = HashMap::new();
    let mut kinds: HashMap<Kind, usize> = HashMap::new();
    for o in &orders {
        let conversion = Conversion {
            event_date: now,
            entered_codes: &o.entered,
            sale_amount: o.sale,
        };
        let d = credit(&conversion, &o.journey, &codes, &partners, true);
        let hit = matches!(
            o.kind,
            Kind::ExactHit | Kind::RegexHit | Kind::UnknownThenHit
        );
        assert_eq!(d.matched.is_some(), hit, "{:?} {:?}", o.kind, o.entered);
        assert_eq!(
            d.misuse.len(),
            usize::from(matches!(o.kind, Kind::Unknown | Kind::UnknownThenHit))
        );
        *reasons.entry(d.reason).or_default() += 1;
        *kinds.entry(o.kind).or_default() += 1;
    }
    let mut reasons: Vec<_> = reasons.into_iter().collect();
    reasons.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
    println!("mix: {kinds:?}");
    println!("decisions: {reasons:?}");

    let all: Vec<&Order> = orders.iter().collect();
    let of = |k: Kind| -> Vec<&Order> { orders.iter().filter(|o| o.kind == k).collect() };
    let cases = [
        ("mix", all),
        ("exact_hit", of(Kind::ExactHit)),
        ("regex_hit", of(Kind::RegexHit)),
        ("unknown_code", of(Kind::Unknown)),
        ("unknown_then_hit", of(Kind::UnknownThenHit)),
        ("no_code", of(Kind::NoCode)),
    ];
    for (name, list) in &cases {
        on_cpu_summary(name, list, now, &codes, &partners);
    }

    let mut group = c.benchmark_group("credit");
    group.throughput(Throughput::Elements(1));
    for (name, list) in &cases {
        group.bench_function(*name, |b| {
            let mut i = 0usize;
            b.iter(|| {
                i = (i + 1) % list.len();
                black_box(decide(black_box(list[i]), now, &codes, &partners))
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
        .measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
