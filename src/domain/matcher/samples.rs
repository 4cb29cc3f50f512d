//! Example codes that a regex code matches, for conflict checks and the regex tester.

use std::collections::HashSet;

use regex_syntax::hir::{self, Hir, HirKind};

use super::regex::{compile_prepared, prepare};

/// Sample strings longer than this (bytes) are not produced by [`sample_matches`].
const MAX_SAMPLE_BYTES: usize = 1024;

/// Up to `n` distinct, deterministic example codes that the compiled pattern matches (each one
/// is checked against the compiled regex and is already trimmed and non-empty). Built by walking
/// the pattern's structure: classes give a few members (letters/digits preferred), repetitions
/// their minimum count and one more, alternations each branch. An invalid pattern gives no
/// samples. Used for conflict checks: if regex A matches a sample of regex B, they conflict.
pub fn sample_matches(pattern: &str, n: usize) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    let Ok(prepared) = prepare(pattern) else {
        return Vec::new();
    };
    let Ok(re) = compile_prepared(&prepared) else {
        return Vec::new();
    };
    let cap = n.saturating_mul(2).clamp(16, 512);
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for s in expand(&prepared.hir, cap) {
        if out.len() >= n {
            break;
        }
        if !s.is_empty() && s.trim() == s && re.is_match(&s) && seen.insert(s.clone()) {
            out.push(s);
        }
    }
    out
}

/// Up to `cap` strings matched by `h` (not yet checked against the compiled regex).
fn expand(h: &Hir, cap: usize) -> Vec<String> {
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => vec![String::new()],
        HirKind::Literal(hir::Literal(bytes)) => std::str::from_utf8(bytes)
            .map(|s| vec![s.to_owned()])
            .unwrap_or_default(),
        HirKind::Class(hir::Class::Unicode(class)) => pick_chars(
            |c| {
                class
                    .ranges()
                    .iter()
                    .any(|r| r.start() <= c && c <= r.end())
            },
            class.ranges().iter().map(|r| r.start()),
        ),
        HirKind::Class(hir::Class::Bytes(class)) => pick_chars(
            |c| {
                u8::try_from(c).is_ok_and(|b| {
                    b.is_ascii()
                        && class
                            .ranges()
                            .iter()
                            .any(|r| r.start() <= b && b <= r.end())
                })
            },
            class
                .ranges()
                .iter()
                .filter(|r| r.start().is_ascii())
                .map(|r| char::from(r.start())),
        ),
        HirKind::Capture(capture) => expand(&capture.sub, cap),
        HirKind::Concat(parts) => {
            let mut acc = vec![String::new()];
            for part in parts {
                let next = expand(part, cap);
                acc = product(&acc, &next, cap);
                if acc.is_empty() {
                    break;
                }
            }
            acc
        }
        HirKind::Alternation(branches) => {
            let lists: Vec<Vec<String>> = branches.iter().map(|b| expand(b, cap)).collect();
            interleave(lists, cap)
        }
        HirKind::Repetition(rep) => {
            let sub = expand(&rep.sub, cap);
            let mut counts = vec![rep.min];
            if rep.max.is_none_or(|max| max > rep.min) {
                counts.push(rep.min.saturating_add(1));
            }
            if let Some(max) = rep.max {
                if max > rep.min.saturating_add(1) && max - rep.min <= 16 {
                    counts.push(max);
                }
            }
            let mut lists = Vec::new();
            for count in counts {
                let count = count as usize;
                if count == 0 {
                    lists.push(vec![String::new()]);
                    continue;
                }
                let mut variants = Vec::new();
                for s in sub.iter().take(3) {
                    if s.len().saturating_mul(count) <= MAX_SAMPLE_BYTES {
                        variants.push(s.repeat(count));
                    }
                }
                if sub.len() > 1 && sub[0].len().saturating_mul(count) <= MAX_SAMPLE_BYTES {
                    let mixed: String = (0..count).map(|i| sub[i % sub.len()].as_str()).collect();
                    if mixed.len() <= MAX_SAMPLE_BYTES {
                        variants.push(mixed);
                    }
                }
                lists.push(variants);
            }
            interleave(lists, cap)
        }
    }
}

/// A few members of a character class: the first and last letter/digit it contains, else other
/// printable members, else its first member.
fn pick_chars(contains: impl Fn(char) -> bool, starts: impl Iterator<Item = char>) -> Vec<String> {
    let alnum = ('A'..='Z').chain('a'..='z').chain('0'..='9');
    let mut found = alnum.filter(|&c| contains(c));
    let mut picks: Vec<char> = Vec::new();
    if let Some(first) = found.next() {
        picks.push(first);
        if let Some(last) = found.last() {
            picks.push(last);
        }
    }
    let starts: Vec<char> = starts.collect();
    if picks.is_empty() {
        picks.extend(['-', '_'].into_iter().filter(|&c| contains(c)));
    }
    if picks.is_empty() {
        picks.extend(
            starts
                .iter()
                .copied()
                .filter(|c| !c.is_control() && !c.is_whitespace())
                .take(2),
        );
    }
    if picks.is_empty() && contains(' ') {
        picks.push(' ');
    }
    if picks.is_empty() {
        picks.extend(starts.first().copied());
    }
    picks.into_iter().map(String::from).collect()
}

/// Concatenations of `acc` × `next`: first a "zip" round so every variant of both sides shows up
/// early, then the rest of the cross product, up to `cap` distinct strings.
fn product(acc: &[String], next: &[String], cap: usize) -> Vec<String> {
    if acc.is_empty() || next.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut push = |a: &str, b: &str, out: &mut Vec<String>| {
        if a.len() + b.len() <= MAX_SAMPLE_BYTES {
            let s = format!("{a}{b}");
            if seen.insert(s.clone()) {
                out.push(s);
            }
        }
    };
    let rounds = acc.len().max(next.len());
    for i in 0..rounds {
        push(&acc[i % acc.len()], &next[i % next.len()], &mut out);
        if out.len() >= cap {
            return out;
        }
    }
    for a in acc {
        for b in next {
            push(a, b, &mut out);
            if out.len() >= cap {
                return out;
            }
        }
    }
    out
}

/// Round-robin over `lists`, distinct strings, up to `cap`.
fn interleave(lists: Vec<Vec<String>>, cap: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut iters: Vec<_> = lists.into_iter().map(Vec::into_iter).collect();
    loop {
        let mut any = false;
        for it in &mut iters {
            if let Some(s) = it.next() {
                any = true;
                if seen.insert(s.clone()) {
                    out.push(s);
                    if out.len() >= cap {
                        return out;
                    }
                }
            }
        }
        if !any {
            return out;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::compile_code_regex;
    use super::*;

    #[test]
    fn sample_matches_all_match_and_cover_branches() {
        let samples = sample_matches("^(AB|CD)[0-9]{4}$", 6);
        assert!(!samples.is_empty() && samples.len() <= 6, "{samples:?}");
        assert!(samples.iter().any(|s| s.starts_with("AB")), "{samples:?}");
        assert!(samples.iter().any(|s| s.starts_with("CD")), "{samples:?}");
        assert_eq!(
            samples,
            sample_matches("^(AB|CD)[0-9]{4}$", 6),
            "deterministic"
        );
        let patterns = [
            "SUMMER.*",
            "^PARTNER123[0-9]{3}$",
            "FALL042.*",
            "^(?i)(WINTER)-[A-Z]{2}[0-9]{2}$",
            "(SPRING|SPR)_[A-Z0-9]{4}",
            "VIP\\d{2,5}",
            "[A-Z]+-[a-z]?[0-9]*X",
            "\\w+@\\w+",
            "A\\sB",
            "(?x) SUMMER [0-9]+ # comment",
            "ÉTÉ[0-9]+",
            "(?-u:[a-c]x)",
            "\\bCODE\\b",
            ".",
        ];
        for p in patterns {
            let re = compile_code_regex(p).unwrap();
            let samples = sample_matches(p, 10);
            assert!(!samples.is_empty(), "{p}: no samples");
            assert!(samples.len() <= 10);
            let mut distinct = samples.clone();
            distinct.sort();
            distinct.dedup();
            assert_eq!(distinct.len(), samples.len(), "{p}: {samples:?}");
            for s in &samples {
                assert!(re.is_match(s), "{p}: {s:?}");
                assert_eq!(s.trim(), s, "{p}: {s:?}");
            }
        }
        assert!(sample_matches("SUMMER(", 5).is_empty());
        assert!(sample_matches("SUMMER", 0).is_empty());
        assert_eq!(sample_matches("SUMMER", 5), vec!["SUMMER"]);
        // Conflict check use: a broad pattern matches a narrower one's samples.
        let broad = compile_code_regex("SUMMER.*").unwrap();
        assert!(sample_matches("SUMMER2[0-9]", 5)
            .iter()
            .all(|s| broad.is_match(s)));
        let other = compile_code_regex("WINTER.*").unwrap();
        assert!(!sample_matches("SUMMER2[0-9]", 5)
            .iter()
            .any(|s| other.is_match(s)));
    }
}
