//! Conversions API request parsing benchmark: bytes of a request -> `ConversionInput`, as a pure
//! function (SPEC §6). Each case runs both steps the endpoint runs: `RawFields::from_request`
//! and `campaign_id()`, then `parse()` with the program's defaults (which also builds the
//! stored payload).
//!
//! Run: `cargo bench --bench conversion`. Budget: a few µs per request (the API's target is
//! 3,000 conversions/s end to end on 2 cores, so parsing should be well under 1 % of it).

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use promodesk::domain::conversion::{ProgramDefaults, RawFields};

// The server's allocator (src/main.rs): the parse allocates its payload and texts.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

/// The reference's example submission (form, two item lines, discount).
const REFERENCE_FORM: &str =
    "CampaignId=1000&EventTypeId=4000&EventDate=2024-08-01T23%3A55%3A24-08%3A00\
    &OrderId=1234567890123&ClickId=QiiWXOVnrQ3SQHl24jQjyxBGUkmzfJ3i1VHrWM0\
    &CustomerId=BCZ2WVSH674563PDPYOTM3AXDQ&OrderPromoCode=10OFF-FORGE&CustomerStatus=NEW\
    &CustomerPostCode=93107&CurrencyCode=USD&OrderDiscount=5&IpAddress=192.0.2.1\
    &ItemSku1=12345&ItemName1=Anvil&ItemCategory1=Anvils&ItemQuantity1=2&ItemPrice1=10\
    &ItemSku2=55555&ItemName2=Hammer&ItemCategory2=Hammers&ItemQuantity2=1&ItemPrice2=6.99";

/// stape's GTM server tag (JSON, numbers, three item lines).
const STAPE_JSON: &str = r#"{"ClickId":"QiiWXOVnrQ3SQHl24jQjyxBGUkmzfJ3i1VHrWM0",
    "EventDate":"2026-07-01T09:30:15+00:00","EventTypeId":"38245","CampaignId":"1000",
    "OrderId":"T-10042","ItemSku1":"SKU-1","ItemName1":"Blue shirt","ItemCategory1":"Apparel",
    "ItemQuantity1":2,"ItemPrice1":29.99,"ItemSku2":"SKU-2","ItemName2":"Socks",
    "ItemCategory2":"Apparel","ItemQuantity2":1,"ItemPrice2":5.5,"ItemSku3":"SKU-3",
    "ItemName3":"Cap \u00e9t\u00e9","ItemCategory3":"Hats","ItemQuantity3":1,"ItemPrice3":12,
    "CurrencyCode":"EUR","OrderPromoCode":"SUMMER10","OrderDiscount":6.5,"IpAddress":"203.0.113.9"}"#;

/// Kilo's sale (JSON, one line, a code).
const KILO_JSON: &str = r#"{"CampaignId":"1000","ActionTrackerId":71659,
    "EventDate":"2026-04-09T10:05:00.000Z","ClickId":"QiiWXOVnrQ3SQHl24jQjyxBGUkmzfJ3i1VHrWM0",
    "CustomerId":"user_123","CustomerEmail":"a9993e364706816aba3e25717850c26c9cd0d89d",
    "CustomerStatus":"NEW","OrderId":"inv_9f8e7d","ItemSubTotal1":"49.00","CurrencyCode":"USD",
    "ItemCategory1":"subscription","ItemName1":"Kilo Pro","ItemQuantity1":1,"PromoCode":"KILO20"}"#;

/// A minimal order total (form), zone-less date in the program's zone.
const MINIMAL_FORM: &str = "CampaignId=1000&OrderId=A-77&EventDate=2026-07-01T10%3A00%3A00\
    &OrderPromoCode=SUMMER10&OrderSubTotalPostDiscount=95.00";

/// Time this thread has spent on a CPU (ns), from `/proc/thread-self/schedstat`: unlike the wall
/// clock, it leaves out the time the thread waited while other processes ran (this 2-core box
/// is shared with builds). As in benches/crediting.rs.
fn on_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn parse_one(
    ct: &str,
    body: &str,
    query: &str,
    defaults: &ProgramDefaults<'_>,
    now: DateTime<Utc>,
) -> bool {
    let fields = RawFields::from_request(Some(ct), black_box(body.as_bytes()), query).unwrap();
    let _ = black_box(fields.campaign_id());
    black_box(fields.parse(defaults, now)).is_ok()
}

/// Parses one request round and round for about two seconds; prints wall and on-CPU µs/parse.
fn on_cpu_summary(
    name: &str,
    ct: &str,
    body: &str,
    query: &str,
    defaults: &ProgramDefaults<'_>,
    now: DateTime<Utc>,
) {
    let wall = Instant::now();
    let cpu = on_cpu_ns();
    let mut n = 0u64;
    while wall.elapsed() < Duration::from_secs(2) {
        for _ in 0..1_024 {
            parse_one(ct, body, query, defaults, now);
            n += 1;
        }
    }
    let wall_us = wall.elapsed().as_nanos() as f64 / n as f64 / 1e3;
    match (cpu, on_cpu_ns()) {
        (Some(a), Some(b)) => {
            let cpu_us = (b - a) as f64 / n as f64 / 1e3;
            println!(
                "summary {name:<15} wall {wall_us:5.2} µs/parse   on-CPU {cpu_us:5.2} µs/parse ({:6.0} k/s a core)",
                1e3 / cpu_us
            );
        }
        _ => println!("summary {name:<15} wall {wall_us:5.2} µs/parse"),
    }
}

fn bench(c: &mut Criterion) {
    let now = Utc.with_ymd_and_hms(2026, 7, 1, 12, 0, 0).unwrap();
    let defaults = ProgramDefaults {
        time_zone: chrono_tz::America::New_York,
        currency: "USD",
    };
    let cases: [(&str, &str, &str, &str); 5] = [
        ("reference_form", FORM, REFERENCE_FORM, ""),
        ("stape_json", JSON, STAPE_JSON, ""),
        ("kilo_json", JSON, KILO_JSON, ""),
        ("minimal_form", FORM, MINIMAL_FORM, ""),
        ("query_string", "", "", REFERENCE_FORM),
    ];
    for (name, ct, body, query) in &cases {
        let fields = RawFields::from_request(Some(ct), body.as_bytes(), query).unwrap();
        fields.campaign_id().unwrap();
        let input = fields.parse(&defaults, now).unwrap();
        println!(
            "{name}: {} fields, sale {} {}, {} items",
            fields.len(),
            input.sale_amount,
            input.currency,
            input.items.len()
        );
    }

    for (name, ct, body, query) in &cases {
        on_cpu_summary(name, ct, body, query, &defaults, now);
    }

    let mut group = c.benchmark_group("conversion_parse");
    group.throughput(Throughput::Elements(1));
    for (name, ct, body, query) in &cases {
        group.bench_function(*name, |b| {
            b.iter(|| parse_one(ct, body, query, &defaults, now))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
