//! Writes a realistic bulk-upload CSV in the template's format.
//!
//!   cargo run --release --example gen_codes -- --rows 100000 [--errors-every 1000]
//!       [--program 1] [--media-ids 10001,10002] [--prefix GEN] [--out file.csv]
//!
//! Without --out it writes to standard output. Media Ids default to the demo
//! brand's partners (10001-10012) and the program to 1 (Northwind US).

use std::io::{BufWriter, Write};

struct Args {
    rows: u64,
    errors_every: u64,
    program: String,
    media_ids: Vec<String>,
    prefix: String,
    out: Option<String>,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        rows: 1_000,
        errors_every: 0,
        program: "1".into(),
        media_ids: (10_001..=10_012).map(|m: u32| m.to_string()).collect(),
        prefix: "GEN".into(),
        out: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--rows" => a.rows = value()?.parse().map_err(|_| "--rows takes a number")?,
            "--errors-every" => {
                a.errors_every = value()?
                    .parse()
                    .map_err(|_| "--errors-every takes a number")?
            }
            "--program" => a.program = value()?,
            "--media-ids" => {
                a.media_ids = value()?.split(',').map(|s| s.trim().to_string()).collect()
            }
            "--prefix" => a.prefix = value()?,
            "--out" => a.out = Some(value()?),
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(a)
}

fn main() {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("gen_codes: {e}");
            std::process::exit(2);
        }
    };
    let sink: Box<dyn Write> = match &args.out {
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("gen_codes: {path}: {e}");
                std::process::exit(1);
            }
        },
        None => Box::new(std::io::stdout().lock()),
    };
    let mut w = BufWriter::with_capacity(1 << 20, sink);
    let rules = ["ALWAYS", "ALWAYS", "INVOLVED", "WINNER"];
    let zones = ["", "", "America/New_York", "Europe/Berlin"];
    let mut out = String::with_capacity(256);
    let _ = w.write_all(b"Promo Code,Program Id,Media Id,Type,Credit Rule,Match Mode,Deal Id,Active Start Date,Active End Date,Timezone\r\n");
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 1..=args.rows {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        out.clear();
        let media = &args.media_ids[(seed % args.media_ids.len() as u64) as usize];
        let month = 1 + (i % 12);
        let (code, mode) = if i % 50 == 0 {
            (format!("^{}R{:07}[0-9]{{2}}$", args.prefix, i), "RE")
        } else {
            (
                format!("{}{:08}-{:04X}", args.prefix, i, seed & 0xFFFF),
                "LI",
            )
        };
        let restricted = i % 97 == 0;
        let (media, rule, kind) = if restricted {
            ("", "", "RESTRICTED")
        } else {
            (media.as_str(), rules[(seed >> 8) as usize % 4], "TRACKING")
        };
        let start = format!("2026-{month:02}-01T00:00:00-05:00");
        let end = if i % 3 == 0 {
            format!("2027-{month:02}-01")
        } else {
            String::new()
        };
        let zone = zones[(seed >> 16) as usize % 4];
        let mut cols = [
            code,
            args.program.clone(),
            media.to_string(),
            kind.to_string(),
            rule.to_string(),
            mode.to_string(),
            String::new(),
            start,
            end,
            zone.to_string(),
        ];
        if args.errors_every > 0 && i % args.errors_every == 0 {
            match (i / args.errors_every) % 4 {
                0 => cols[3] = "TRAKING".into(),
                1 => cols[2] = "99999999".into(),
                2 => cols[7] = "31/12/2026".into(),
                _ => cols[4] = "SOMETIMES".into(),
            }
        }
        for (n, c) in cols.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            out.push_str(c);
        }
        out.push_str("\r\n");
        if w.write_all(out.as_bytes()).is_err() {
            std::process::exit(1);
        }
    }
    let _ = w.flush();
}
