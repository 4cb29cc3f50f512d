//! The index of one program's codes: exact codes by case-folded value, regex codes in a trie of
//! their literal prefixes (see the module documentation of `matcher`).

use std::borrow::Borrow;
use std::collections::hash_map::{Entry, HashMap};
use std::fmt;
use std::hash::{Hash, Hasher};

use chrono::{DateTime, TimeDelta, Utc};
use regex::{Regex, RegexSet, RegexSetBuilder};
use regex_syntax::hir::literal::Extractor;
use regex_syntax::hir::Hir;

use super::regex::{compile_prepared, prepare, RegexCodeError, REGEX_NEST_LIMIT, REGEX_SIZE_LIMIT};
use super::{fold_key, normalize_literal, MatchKind};

/// Nodes of the regex prefix index with at least this many codes are matched with one
/// [`RegexSet`] instead of one regex at a time.
const NODE_SET_MIN: usize = 8;
/// At most this many prefix keys are indexed per regex code (see [`prefix_keys`]).
const MAX_PREFIX_KEYS: usize = 16;
/// Entered codes up to this length (ASCII) are case-folded on the stack during a lookup.
const STACK_KEY_BYTES: usize = 64;
/// One code as the matcher needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatcherCode {
    pub id: i64,
    /// The code as stored (exact value or regex pattern).
    pub value: String,
    pub kind: MatchKind,
    /// Inclusive start of the active window; `None` = since always.
    pub active_start: Option<DateTime<Utc>>,
    /// Exclusive end of the active window; `None` = never ends.
    pub active_end: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// Result of [`Matcher::lookup`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// The code (id) active at the instant that the entered code stands for.
    Matched(i64),
    /// No code is active for the entered code at that instant, but this code matches it outside
    /// its dates (`not_yet_active`: the instant is before its start; otherwise at/after its end).
    OutsideWindow { code_id: i64, not_yet_active: bool },
    /// Nothing matches (or the entered code is empty).
    NoMatch,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
}

impl Window {
    #[inline]
    fn contains(&self, at: DateTime<Utc>) -> bool {
        self.start.is_none_or(|s| s <= at) && self.end.is_none_or(|e| at < e)
    }

    /// For an instant outside the window: how far it is from the window, and whether it is
    /// before the start.
    fn distance(&self, at: DateTime<Utc>) -> (TimeDelta, bool) {
        match (self.start, self.end) {
            (Some(s), _) if at < s => (s - at, true),
            (_, Some(e)) if at >= e => (at - e, false),
            _ => (TimeDelta::zero(), false),
        }
    }
}

const NO_NEXT: u32 = u32::MAX;

/// Hasher of the exact-code table: std's keyed SipHash. Measured on the 1M-code benchmark,
/// `rustc-hash`'s FxHash was not faster for hits (it was slower), so no extra crate is used.
type ExactHasher = std::collections::hash_map::RandomState;

/// Inline capacity of [`FoldedKey`]: 22 bytes keeps the key at 24 bytes.
const INLINE_KEY_BYTES: usize = 22;

/// A case-folded exact value. Short ones (nearly all promo codes) are stored inline, so that a
/// lookup reads one hash-table bucket instead of following a pointer to the key.
#[derive(Clone)]
enum FoldedKey {
    Inline {
        len: u8,
        bytes: [u8; INLINE_KEY_BYTES],
    },
    Heap(Box<[u8]>),
}

impl FoldedKey {
    fn new(s: String) -> FoldedKey {
        match u8::try_from(s.len()) {
            Ok(len) if s.len() <= INLINE_KEY_BYTES => {
                let mut bytes = [0u8; INLINE_KEY_BYTES];
                bytes[..s.len()].copy_from_slice(s.as_bytes());
                FoldedKey::Inline { len, bytes }
            }
            _ => FoldedKey::Heap(s.into_bytes().into_boxed_slice()),
        }
    }

    #[inline]
    fn as_bytes(&self) -> &[u8] {
        match self {
            FoldedKey::Inline { len, bytes } => &bytes[..usize::from(*len)],
            FoldedKey::Heap(bytes) => bytes,
        }
    }
}

impl Borrow<[u8]> for FoldedKey {
    #[inline]
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Hash for FoldedKey {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl PartialEq for FoldedKey {
    #[inline]
    fn eq(&self, other: &FoldedKey) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for FoldedKey {}

/// One exact code (48 bytes; with its key a table bucket is 72 bytes).
#[derive(Debug, Clone, Copy)]
struct ExactEntry {
    id: i64,
    window: Window,
    created_at: DateTime<Utc>,
    /// Next code with the same case-folded value (index into `Matcher::exact_more`), or
    /// `NO_NEXT`.
    next: u32,
}

#[derive(Debug)]
struct RegexEntry {
    id: i64,
    window: Window,
    re: Regex,
}

/// A node of the regex prefix index: a byte trie over case-folded literal prefixes.
#[derive(Debug, Default)]
struct TrieNode {
    /// (byte, child node), sorted by byte.
    children: Vec<(u8, usize)>,
    /// Regex codes (indexes into `Matcher::regexes`, i.e. ranks) whose prefix ends here, ascending.
    codes: Vec<usize>,
    /// One set over `codes`, when there are many of them.
    set: Option<RegexSet>,
}

/// An in-memory index of one program's codes for crediting (SPEC §6 step 1). Immutable once
/// built; `Send + Sync`, so one instance can be shared (e.g. in an `Arc`) by all workers.
pub struct Matcher {
    /// Exact codes by case-folded value: the first listed code of that value.
    exact: HashMap<FoldedKey, ExactEntry, ExactHasher>,
    /// Further exact codes sharing a value, chained through `ExactEntry::next`.
    exact_more: Vec<ExactEntry>,
    /// Regex codes sorted by rank: longest pattern, then oldest `created_at`, then lowest id.
    regexes: Vec<RegexEntry>,
    /// Prefix index over `regexes`; node 0 is the root (codes without a usable prefix).
    nodes: Vec<TrieNode>,
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Matcher")
            .field("exact_codes", &self.exact_count())
            .field("exact_values", &self.exact.len())
            .field("regex_codes", &self.regexes.len())
            .field("prefix_nodes", &self.nodes.len())
            .finish()
    }
}

impl Matcher {
    /// Builds the index. Regex codes that do not compile are left out and reported with their
    /// id. Exact codes whose value is empty after trimming can never match and are left out.
    pub fn build(codes: Vec<MatcherCode>) -> (Matcher, Vec<(i64, RegexCodeError)>) {
        let literal_count = codes
            .iter()
            .filter(|c| c.kind == MatchKind::Literal)
            .count();
        let mut exact: HashMap<FoldedKey, ExactEntry, ExactHasher> =
            HashMap::with_capacity_and_hasher(literal_count, ExactHasher::default());
        let mut exact_more: Vec<ExactEntry> = Vec::new();
        let mut errors = Vec::new();
        // (length, created_at, id, window, regex, prefix keys)
        let mut pending = Vec::new();

        for code in codes {
            let window = Window {
                start: code.active_start,
                end: code.active_end,
            };
            match code.kind {
                MatchKind::Literal => {
                    let key = normalize_literal(&code.value);
                    if key.is_empty() {
                        continue;
                    }
                    let entry = ExactEntry {
                        id: code.id,
                        window,
                        created_at: code.created_at,
                        next: NO_NEXT,
                    };
                    match exact.entry(FoldedKey::new(key)) {
                        Entry::Occupied(mut o) => {
                            // The newcomer goes to `exact_more`, right after the head.
                            let idx = u32::try_from(exact_more.len())
                                .ok()
                                .filter(|&i| i != NO_NEXT)
                                .expect("fewer than 2^32 - 1 exact codes sharing values");
                            exact_more.push(ExactEntry {
                                next: o.get().next,
                                ..entry
                            });
                            o.get_mut().next = idx;
                        }
                        Entry::Vacant(v) => {
                            v.insert(entry);
                        }
                    }
                }
                MatchKind::Regex => {
                    let compiled =
                        prepare(&code.value).and_then(|p| compile_prepared(&p).map(|re| (p, re)));
                    match compiled {
                        Ok((prepared, re)) => {
                            let keys = prefix_keys(&prepared.hir);
                            let len = prepared.inner.chars().count();
                            pending.push((len, code.created_at, code.id, window, re, keys));
                        }
                        Err(e) => errors.push((code.id, e)),
                    }
                }
            }
        }

        pending.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        let mut nodes = vec![TrieNode::default()];
        let mut regexes = Vec::with_capacity(pending.len());
        for (rank, (_, _, id, window, re, keys)) in pending.into_iter().enumerate() {
            for key in &keys {
                let mut node = 0;
                for &b in key.as_bytes() {
                    node = match nodes[node].children.binary_search_by_key(&b, |&(k, _)| k) {
                        Ok(i) => nodes[node].children[i].1,
                        Err(i) => {
                            let child = nodes.len();
                            nodes.push(TrieNode::default());
                            nodes[node].children.insert(i, (b, child));
                            child
                        }
                    };
                }
                nodes[node].codes.push(rank);
            }
            regexes.push(RegexEntry { id, window, re });
        }
        for node in &mut nodes {
            if node.codes.len() >= NODE_SET_MIN {
                node.set = RegexSetBuilder::new(node.codes.iter().map(|&r| regexes[r].re.as_str()))
                    .size_limit(REGEX_SIZE_LIMIT.saturating_mul(node.codes.len()))
                    .nest_limit(REGEX_NEST_LIMIT + 2)
                    .build()
                    .ok();
            }
        }

        (
            Matcher {
                exact,
                exact_more,
                regexes,
                nodes,
            },
            errors,
        )
    }

    /// Number of exact codes indexed.
    pub fn exact_count(&self) -> usize {
        self.exact.len() + self.exact_more.len()
    }

    /// Number of regex codes indexed (valid ones only).
    pub fn regex_count(&self) -> usize {
        self.regexes.len()
    }

    /// Finds the code that `entered` stands for at instant `at` (SPEC §6 step 1).
    ///
    /// 1. `entered` is trimmed; an empty code is `NoMatch`.
    /// 2. Exact codes (case-insensitive) active at `at`. Several (which the database forbids):
    ///    the oldest `created_at`, then the lowest id.
    /// 3. Otherwise regex codes active at `at` that match the whole trimmed code
    ///    (case-sensitive unless `(?i)`): the longest pattern ([`pattern_length`](super::pattern_length)), then the
    ///    oldest `created_at`, then the lowest id.
    /// 4. Otherwise, if some code matches but is not active at `at`: `OutsideWindow` for it.
    ///    Exact codes are preferred over regex codes; among several, the one whose window is
    ///    closest to `at` (time from `at` to its start, or from its end to `at`), ties broken
    ///    as in steps 2/3.
    /// 5. Otherwise `NoMatch`.
    pub fn lookup(&self, entered: &str, at: DateTime<Utc>) -> Lookup {
        let e = entered.trim();
        if e.is_empty() {
            return Lookup::NoMatch;
        }
        let head = self.exact_head(e);
        if let Some(head) = head {
            if head.next == NO_NEXT {
                if head.window.contains(at) {
                    return Lookup::Matched(head.id);
                }
            } else if let Some(best) = self
                .exact_chain(head)
                .filter(|x| x.window.contains(at))
                .min_by_key(|x| (x.created_at, x.id))
            {
                return Lookup::Matched(best.id);
            }
        }
        if let Some(rank) = self.best_active_regex(e, at) {
            return Lookup::Matched(self.regexes[rank].id);
        }
        if let Some(head) = head {
            return self.closest_exact(head, at);
        }
        match self.closest_regex(e, at) {
            Some((rank, not_yet_active)) => Lookup::OutsideWindow {
                code_id: self.regexes[rank].id,
                not_yet_active,
            },
            None => Lookup::NoMatch,
        }
    }

    /// The exact codes with the case-folded value of `e` (already trimmed): the head entry.
    #[inline]
    fn exact_head(&self, e: &str) -> Option<&ExactEntry> {
        if self.exact.is_empty() {
            return None;
        }
        let bytes = e.as_bytes();
        if bytes.is_ascii() {
            if !bytes.iter().any(u8::is_ascii_uppercase) {
                return self.exact.get(bytes);
            }
            if bytes.len() <= STACK_KEY_BYTES {
                let mut buf = [0u8; STACK_KEY_BYTES];
                let key = &mut buf[..bytes.len()];
                key.copy_from_slice(bytes);
                key.make_ascii_lowercase();
                return self.exact.get(&*key);
            }
        }
        self.exact.get(fold_key(e).as_bytes())
    }

    fn exact_chain<'a>(&'a self, head: &'a ExactEntry) -> impl Iterator<Item = &'a ExactEntry> {
        std::iter::successors(Some(head), move |x| {
            (x.next != NO_NEXT).then(|| &self.exact_more[x.next as usize])
        })
    }

    fn closest_exact(&self, head: &ExactEntry, at: DateTime<Utc>) -> Lookup {
        let best = self
            .exact_chain(head)
            .map(|x| {
                let (distance, not_yet_active) = x.window.distance(at);
                ((distance, x.created_at, x.id), not_yet_active)
            })
            .min_by_key(|&(key, _)| key);
        match best {
            Some(((_, _, code_id), not_yet_active)) => Lookup::OutsideWindow {
                code_id,
                not_yet_active,
            },
            None => Lookup::NoMatch,
        }
    }

    /// Calls `f` with every prefix-index node whose key is a (case-folded) prefix of `e`,
    /// starting with the root, when the node holds codes.
    #[inline]
    fn for_each_candidate_node(&self, e: &str, mut f: impl FnMut(&TrieNode)) {
        let Some(root) = self.nodes.first() else {
            return;
        };
        if !root.codes.is_empty() {
            f(root);
        }
        if root.children.is_empty() {
            return;
        }
        let mut node = root;
        let mut buf = [0u8; 4];
        for c in e.chars() {
            for &b in fold_char(c).encode_utf8(&mut buf).as_bytes() {
                match node.children.binary_search_by_key(&b, |&(k, _)| k) {
                    Ok(i) => node = &self.nodes[node.children[i].1],
                    Err(_) => return,
                }
            }
            if !node.codes.is_empty() {
                f(node);
            }
            if node.children.is_empty() {
                return;
            }
        }
    }

    /// The best-ranked regex code active at `at` that matches `e`.
    fn best_active_regex(&self, e: &str, at: DateTime<Utc>) -> Option<usize> {
        let mut best = usize::MAX;
        self.for_each_candidate_node(e, |node| {
            if node.codes.first().is_none_or(|&r| r >= best) {
                return;
            }
            match &node.set {
                Some(set) => {
                    if !node
                        .codes
                        .iter()
                        .any(|&r| r < best && self.regexes[r].window.contains(at))
                        || !set.is_match(e)
                    {
                        return;
                    }
                    for i in set.matches(e).iter() {
                        let r = node.codes[i];
                        if r >= best {
                            break;
                        }
                        if self.regexes[r].window.contains(at) {
                            best = r;
                            break;
                        }
                    }
                }
                None => {
                    for &r in &node.codes {
                        if r >= best {
                            break;
                        }
                        let x = &self.regexes[r];
                        if x.window.contains(at) && x.re.is_match(e) {
                            best = r;
                            break;
                        }
                    }
                }
            }
        });
        (best != usize::MAX).then_some(best)
    }

    /// Among regex codes that match `e` but are not active at `at`: the one whose window is
    /// closest to `at`, ties by rank. Returns (rank, not_yet_active).
    fn closest_regex(&self, e: &str, at: DateTime<Utc>) -> Option<(usize, bool)> {
        let mut best: Option<((TimeDelta, usize), bool)> = None;
        let mut consider = |r: usize| {
            let x = &self.regexes[r];
            if x.window.contains(at) {
                return;
            }
            let (distance, not_yet_active) = x.window.distance(at);
            if best.is_none_or(|(b, _)| (distance, r) < b) {
                best = Some(((distance, r), not_yet_active));
            }
        };
        self.for_each_candidate_node(e, |node| match &node.set {
            Some(set) => {
                if set.is_match(e) {
                    set.matches(e).iter().for_each(|i| consider(node.codes[i]));
                }
            }
            None => node
                .codes
                .iter()
                .filter(|&&r| self.regexes[r].re.is_match(e))
                .for_each(|&r| consider(r)),
        });
        best.map(|((_, r), not_yet_active)| (r, not_yet_active))
    }
}

/// Per-character fold used by the regex prefix index: ASCII lowercase, `ſ` → `s`, and simple
/// Unicode lowercase otherwise. Any fixed per-character map would be correct here; this one makes
/// the case variants that `(?i)` produces (`S`, `s`, `ſ`; `K`, `k`, Kelvin sign) share a key.
#[inline]
fn fold_char(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    if c == 'ſ' {
        return 's';
    }
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

fn fold_str(s: &str) -> String {
    s.chars().map(fold_char).collect()
}

/// Case-folded literal prefixes, one of which every code matched by `hir` starts with (after
/// folding); at most [`MAX_PREFIX_KEYS`], none a prefix of another. `[""]` (the root of the
/// index) when the pattern has no usable literal prefix.
fn prefix_keys(hir: &Hir) -> Vec<String> {
    let seq = Extractor::new().extract(hir);
    let Some(literals) = seq.literals() else {
        return vec![String::new()];
    };
    let mut keys: Vec<String> = literals
        .iter()
        .map(|lit| {
            let bytes = lit.as_bytes();
            let valid = match std::str::from_utf8(bytes) {
                Ok(s) => s,
                Err(e) => std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default(),
            };
            fold_str(valid)
        })
        .collect();
    if keys.is_empty() {
        return vec![String::new()];
    }
    keys.sort_unstable();
    keys.dedup();
    if keys.len() > MAX_PREFIX_KEYS {
        let longest = keys.iter().map(|k| k.chars().count()).max().unwrap_or(0);
        for len in (0..longest).rev() {
            let mut shorter: Vec<String> = keys
                .iter()
                .map(|k| k.chars().take(len).collect::<String>())
                .collect();
            shorter.sort_unstable();
            shorter.dedup();
            if shorter.len() <= MAX_PREFIX_KEYS {
                keys = shorter;
                break;
            }
        }
    }
    // Drop keys that extend another key: in sorted order they follow it directly.
    let mut minimal: Vec<String> = Vec::with_capacity(keys.len());
    for key in keys {
        if minimal
            .last()
            .is_some_and(|last| key.starts_with(last.as_str()))
        {
            continue;
        }
        minimal.push(key);
    }
    minimal
}

#[cfg(test)]
mod tests {
    use super::super::{compile_code_regex, pattern_length, sample_matches};
    use super::*;
    use chrono::TimeZone;

    fn t(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
    }

    fn code(id: i64, value: &str, kind: MatchKind) -> MatcherCode {
        MatcherCode {
            id,
            value: value.to_owned(),
            kind,
            active_start: None,
            active_end: None,
            created_at: t(2024, 1, 1),
        }
    }

    fn lit(id: i64, value: &str) -> MatcherCode {
        code(id, value, MatchKind::Literal)
    }

    fn re(id: i64, value: &str) -> MatcherCode {
        code(id, value, MatchKind::Regex)
    }

    fn windowed(
        mut c: MatcherCode,
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
    ) -> MatcherCode {
        c.active_start = start;
        c.active_end = end;
        c
    }

    fn created(mut c: MatcherCode, at: DateTime<Utc>) -> MatcherCode {
        c.created_at = at;
        c
    }

    fn matcher(codes: Vec<MatcherCode>) -> Matcher {
        let (m, errors) = Matcher::build(codes);
        assert!(errors.is_empty(), "unexpected errors: {errors:?}");
        m
    }

    fn outside(code_id: i64, not_yet_active: bool) -> Lookup {
        Lookup::OutsideWindow {
            code_id,
            not_yet_active,
        }
    }

    fn now() -> DateTime<Utc> {
        t(2025, 6, 15)
    }

    #[test]
    fn exact_codes_match_case_insensitively_after_trimming() {
        let m = matcher(vec![lit(1, "Summer24-AB12CD"), lit(2, "ÉTÉ-Ünï")]);
        for entered in [
            "Summer24-AB12CD",
            "summer24-ab12cd",
            "  SUMMER24-AB12CD \t",
            "sUmMeR24-aB12Cd",
        ] {
            assert_eq!(m.lookup(entered, now()), Lookup::Matched(1), "{entered:?}");
        }
        assert_eq!(m.lookup("été-ünï", now()), Lookup::Matched(2));
        assert_eq!(m.lookup(" ÉTÉ-ÜNÏ ", now()), Lookup::Matched(2));
        assert_eq!(m.lookup("SUMMER24-AB12C", now()), Lookup::NoMatch);
        assert_eq!(m.lookup("SUMMER24 AB12CD", now()), Lookup::NoMatch);
        // Long ASCII keys take the allocating path.
        let long = "X".repeat(100);
        let m = matcher(vec![lit(3, &long.to_lowercase())]);
        assert_eq!(m.lookup(&long, now()), Lookup::Matched(3));
    }

    #[test]
    fn empty_entered_code_is_no_match() {
        let m = matcher(vec![lit(1, "A"), re(2, "A.*")]);
        assert_eq!(m.lookup("", now()), Lookup::NoMatch);
        assert_eq!(m.lookup(" \t ", now()), Lookup::NoMatch);
        // An exact code that is empty after trimming can never match and is left out.
        let m = matcher(vec![lit(1, "   ")]);
        assert_eq!(m.exact_count(), 0);
    }

    #[test]
    fn active_windows_are_half_open() {
        let start = t(2025, 1, 1);
        let end = t(2025, 2, 1);
        let second = TimeDelta::seconds(1);
        for kind in [MatchKind::Literal, MatchKind::Regex] {
            let value = if kind == MatchKind::Literal {
                "WIN25"
            } else {
                "WIN2[0-9]"
            };
            let m = matcher(vec![windowed(code(1, value, kind), Some(start), Some(end))]);
            assert_eq!(m.lookup("WIN25", start - second), outside(1, true));
            assert_eq!(m.lookup("WIN25", start), Lookup::Matched(1));
            assert_eq!(m.lookup("WIN25", end - second), Lookup::Matched(1));
            assert_eq!(m.lookup("WIN25", end), outside(1, false));
            let m = matcher(vec![code(1, value, kind)]);
            assert_eq!(m.lookup("WIN25", t(1970, 1, 1)), Lookup::Matched(1));
            assert_eq!(m.lookup("WIN25", t(2999, 1, 1)), Lookup::Matched(1));
            let m = matcher(vec![windowed(code(1, value, kind), Some(start), None)]);
            assert_eq!(m.lookup("WIN25", t(2999, 1, 1)), Lookup::Matched(1));
            let m = matcher(vec![windowed(code(1, value, kind), None, Some(end))]);
            assert_eq!(m.lookup("WIN25", t(1970, 1, 1)), Lookup::Matched(1));
        }
    }

    #[test]
    fn exact_codes_come_before_regex_codes() {
        let m = matcher(vec![re(1, "SUMMER.*"), lit(2, "SUMMER24")]);
        assert_eq!(m.lookup("summer24", now()), Lookup::Matched(2));
        assert_eq!(m.lookup("SUMMER24", now()), Lookup::Matched(2));
        assert_eq!(m.lookup("SUMMER25", now()), Lookup::Matched(1));
        // An exact code outside its dates does not hide an active regex code.
        let m = matcher(vec![
            re(1, "SUMMER.*"),
            windowed(lit(2, "SUMMER24"), None, Some(t(2025, 1, 1))),
        ]);
        assert_eq!(m.lookup("SUMMER24", now()), Lookup::Matched(1));
        assert_eq!(m.lookup("SUMMER24", t(2024, 6, 1)), Lookup::Matched(2));
    }

    #[test]
    fn longest_pattern_then_oldest_then_lowest_id() {
        let m = matcher(vec![
            re(1, "SUMMER.*"),
            re(2, "^SUMMER2.*$"), // longer than SUMMER.* once the anchors are set aside
            created(re(3, "SUMMER3.*"), t(2024, 5, 1)),
            created(re(4, "SUMM.R3.*"), t(2024, 3, 1)),
            created(re(6, "WINTER[0-9]"), t(2024, 3, 1)),
            created(re(5, "WINT.R[0-9]"), t(2024, 3, 1)),
        ]);
        assert_eq!(m.lookup("SUMMER24", now()), Lookup::Matched(2));
        assert_eq!(m.lookup("SUMMER1", now()), Lookup::Matched(1));
        assert_eq!(m.lookup("SUMMER3X", now()), Lookup::Matched(4));
        assert_eq!(m.lookup("WINTER1", now()), Lookup::Matched(5));
        // The longest one is skipped when it is not active.
        let m = matcher(vec![
            re(1, "SUMMER.*"),
            windowed(re(2, "SUMMER2.*"), Some(t(2026, 1, 1)), None),
        ]);
        assert_eq!(m.lookup("SUMMER24", now()), Lookup::Matched(1));
        assert_eq!(m.lookup("SUMMER24", t(2026, 1, 1)), Lookup::Matched(2));
    }

    #[test]
    fn outside_window_is_reported() {
        let past = (Some(t(2024, 1, 1)), Some(t(2024, 2, 1)));
        let future = (Some(t(2025, 7, 1)), None);
        // Only a regex code, outside its dates.
        let m = matcher(vec![windowed(re(1, "FALL[0-9]{2}"), past.0, past.1)]);
        assert_eq!(m.lookup("FALL24", now()), outside(1, false));
        assert_eq!(m.lookup("FALL2", now()), Lookup::NoMatch);
        // Exact preferred over regex, even when the regex window is closer.
        let m = matcher(vec![
            windowed(re(1, "FALL[0-9]{2}"), future.0, future.1),
            windowed(lit(2, "FALL24"), past.0, past.1),
        ]);
        assert_eq!(m.lookup("fall24", now()), outside(2, false));
        // Among regex codes: the closest window.
        let m = matcher(vec![
            windowed(re(1, "FALL[0-9]{2}"), past.0, past.1),
            windowed(re(2, "FALL.*"), future.0, future.1),
        ]);
        assert_eq!(m.lookup("FALL24", now()), outside(2, true));
        // An active regex code wins over an exact code outside its dates.
        let m = matcher(vec![
            re(1, "FALL.*"),
            windowed(lit(2, "FALL24"), past.0, past.1),
        ]);
        assert_eq!(m.lookup("FALL24", now()), Lookup::Matched(1));
    }

    #[test]
    fn several_exact_codes_share_a_value_with_different_windows() {
        let m = matcher(vec![
            windowed(lit(1, "VIP"), Some(t(2025, 1, 1)), Some(t(2025, 2, 1))),
            windowed(lit(2, "vip"), Some(t(2025, 2, 1)), Some(t(2025, 3, 1))),
            windowed(lit(3, " Vip "), Some(t(2025, 5, 1)), Some(t(2025, 6, 1))),
        ]);
        assert_eq!(m.exact_count(), 3);
        assert_eq!(m.lookup("VIP", t(2025, 1, 15)), Lookup::Matched(1));
        assert_eq!(m.lookup("vip", t(2025, 2, 1)), Lookup::Matched(2));
        assert_eq!(m.lookup("Vip", t(2025, 5, 31)), Lookup::Matched(3));
        // Outside all of them: the closest window.
        assert_eq!(m.lookup("VIP", t(2024, 12, 1)), outside(1, true));
        assert_eq!(m.lookup("VIP", t(2025, 3, 10)), outside(2, false));
        assert_eq!(m.lookup("VIP", t(2025, 4, 25)), outside(3, true));
        assert_eq!(m.lookup("VIP", t(2025, 7, 1)), outside(3, false));
        // Overlapping windows (the database forbids it): the oldest, then the lowest id.
        let m = matcher(vec![
            created(lit(9, "DUP"), t(2024, 2, 1)),
            created(lit(8, "DUP"), t(2024, 3, 1)),
            created(lit(7, "DUP"), t(2024, 2, 1)),
        ]);
        assert_eq!(m.lookup("dup", now()), Lookup::Matched(7));
    }

    #[test]
    fn build_reports_bad_regexes_and_keeps_the_rest() {
        let (m, errors) = Matcher::build(vec![
            re(1, "SUMMER("),
            re(2, ".*"),
            re(3, "OK[0-9]"),
            lit(4, "PLAIN"),
        ]);
        let ids: Vec<i64> = errors.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, vec![1, 2]);
        assert_eq!(errors[1].1, RegexCodeError::MatchesEmpty);
        assert_eq!(m.regex_count(), 1);
        assert_eq!(m.lookup("OK1", now()), Lookup::Matched(3));
        assert_eq!(m.lookup("plain", now()), Lookup::Matched(4));
    }

    #[test]
    fn prefix_index_handles_case_insensitive_and_unprefixed_patterns() {
        let m = matcher(vec![
            re(1, "(?i)summer.*"),
            re(2, "(?i)KIWI[0-9]"),
            re(3, "[0-9]{3}-VIP"),
            re(4, "(AB|CD)[0-9]{4}"),
            re(5, "ÉTÉ[0-9]+"),
        ]);
        assert_eq!(m.lookup("SUMMER1", now()), Lookup::Matched(1));
        assert_eq!(m.lookup("ſUMMER1", now()), Lookup::Matched(1));
        assert_eq!(m.lookup("\u{212A}IWI1", now()), Lookup::Matched(2));
        assert_eq!(m.lookup("kiwi1", now()), Lookup::Matched(2));
        assert_eq!(m.lookup("123-VIP", now()), Lookup::Matched(3));
        assert_eq!(m.lookup("123-vip", now()), Lookup::NoMatch);
        assert_eq!(m.lookup("AB1234", now()), Lookup::Matched(4));
        assert_eq!(m.lookup("CD1234", now()), Lookup::Matched(4));
        assert_eq!(m.lookup("cd1234", now()), Lookup::NoMatch);
        assert_eq!(m.lookup("ÉTÉ2025", now()), Lookup::Matched(5));
        assert_eq!(m.lookup("été2025", now()), Lookup::NoMatch);
        assert_eq!(m.lookup("XYZ", now()), Lookup::NoMatch);
    }

    #[test]
    fn prefix_keys_are_folded_and_minimal() {
        let keys = |p: &str| prefix_keys(&prepare(p).unwrap().hir);
        assert_eq!(keys("SUMMER.*"), vec!["summer"]);
        assert_eq!(keys("(?i)SUMMER.*"), vec!["summer"]);
        assert_eq!(keys("(AB|CD)[0-9]"), vec!["ab", "cd"]);
        assert_eq!(keys("PARTNER123[0-9]{3}").len(), 10);
        assert_eq!(keys(".*X"), vec![""]);
        assert_eq!(keys("(SPRING|SPR)_1"), vec!["spr_1", "spring_1"]);
        assert_eq!(keys("(SPR|SPRING).*"), vec!["spr"]);
    }

    #[test]
    fn many_regexes_behind_one_prefix_use_a_set() {
        let mut codes: Vec<MatcherCode> = (1..=12)
            .map(|n| re(n, &format!("PROMO[A-Z]{{{n}}}X")))
            .collect();
        codes.push(re(100, "PROMO.*"));
        codes.push(windowed(
            re(101, "PROMO[A-Z]{3}X(Y)?"),
            Some(t(2026, 1, 1)),
            None,
        ));
        let m = matcher(codes);
        assert!(m.nodes.iter().any(|n| n.set.is_some()));
        assert_eq!(m.lookup("PROMOABCX", now()), Lookup::Matched(3));
        assert_eq!(m.lookup("PROMOABCX", t(2026, 1, 1)), Lookup::Matched(101));
        assert_eq!(m.lookup("PROMOABCXY", now()), Lookup::Matched(100));
        assert_eq!(m.lookup("PROMO", now()), Lookup::Matched(100));
        assert_eq!(m.lookup("PROM", now()), Lookup::NoMatch);
        let m = matcher(
            (1..=12)
                .map(|n| {
                    windowed(
                        re(n, &format!("PROMO[A-Z]{{{n}}}X")),
                        None,
                        Some(t(2025, 1, 1)),
                    )
                })
                .collect(),
        );
        assert_eq!(m.lookup("PROMOABX", now()), outside(2, false));
    }

    #[test]
    fn patterns_without_a_prefix_are_checked_at_the_root() {
        let mut codes: Vec<MatcherCode> = (1..=10)
            .map(|n| re(n, &format!("[A-Z]{{{n}}}-X")))
            .collect();
        codes.push(re(11, "\\d+"));
        codes.push(windowed(
            re(12, "[A-Z]{3}-X[0-9]"),
            None,
            Some(t(2025, 1, 1)),
        ));
        let m = matcher(codes);
        assert_eq!(m.nodes[0].codes.len(), 12);
        assert!(m.nodes[0].set.is_some());
        assert_eq!(m.lookup("ABC-X", now()), Lookup::Matched(3));
        assert_eq!(m.lookup("123", now()), Lookup::Matched(11));
        assert_eq!(m.lookup("abc-X", now()), Lookup::NoMatch);
        assert_eq!(m.lookup("ABC-X1", now()), outside(12, false));
        assert_eq!(m.lookup("ABC-X1", t(2024, 1, 1)), Lookup::Matched(12));
    }

    /// Brute-force reading of the rules, to check the indexed lookup against.
    /// `codes` come with their compiled regex (regex codes that do not compile: `None`).
    fn reference(
        codes: &[(MatcherCode, Option<Regex>)],
        entered: &str,
        at: DateTime<Utc>,
    ) -> Lookup {
        let e = entered.trim();
        if e.is_empty() {
            return Lookup::NoMatch;
        }
        let window = |c: &MatcherCode| Window {
            start: c.active_start,
            end: c.active_end,
        };
        let exact: Vec<&MatcherCode> = codes
            .iter()
            .map(|(c, _)| c)
            .filter(|c| c.kind == MatchKind::Literal)
            .filter(|c| !normalize_literal(&c.value).is_empty())
            .filter(|c| normalize_literal(&c.value) == normalize_literal(e))
            .collect();
        if let Some(c) = exact
            .iter()
            .filter(|c| window(c).contains(at))
            .min_by_key(|c| (c.created_at, c.id))
        {
            return Lookup::Matched(c.id);
        }
        let regex: Vec<&MatcherCode> = codes
            .iter()
            .filter(|(_, r)| r.as_ref().is_some_and(|r| r.is_match(e)))
            .map(|(c, _)| c)
            .collect();
        let rank = |c: &MatcherCode| {
            (
                std::cmp::Reverse(pattern_length(&c.value)),
                c.created_at,
                c.id,
            )
        };
        if let Some(c) = regex
            .iter()
            .filter(|c| window(c).contains(at))
            .min_by_key(|c| rank(c))
        {
            return Lookup::Matched(c.id);
        }
        let outside = |c: &MatcherCode| {
            let (d, not_yet_active) = window(c).distance(at);
            assert!(d >= TimeDelta::zero());
            Lookup::OutsideWindow {
                code_id: c.id,
                not_yet_active,
            }
        };
        if let Some(c) = exact
            .iter()
            .min_by_key(|c| (window(c).distance(at).0, c.created_at, c.id))
        {
            return outside(c);
        }
        if let Some(c) = regex
            .iter()
            .min_by_key(|c| (window(c).distance(at).0, rank(c)))
        {
            return outside(c);
        }
        Lookup::NoMatch
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[self.below(items.len())]
        }
    }

    #[test]
    fn indexed_lookup_agrees_with_brute_force() {
        const PIECES: &[&str] = &[
            "AB", "ab", "SUM", "sum", "ſ", "K", "É", "é", "X", "1", "-", "S",
        ];
        const ATOMS: &[&str] = &[
            "[0-9]", "[a-z]", ".", "(AB|S)", "[Ss]", "\\d", "X?", "X*", "X+", "(?i:ab)", "[A-Z]{2}",
        ];
        const TAILS: &[&str] = &["", "", ".*", "$", "[0-9]?"];
        let mut rng = Rng(2026);
        let times = [t(2025, 1, 1), t(2025, 3, 1), t(2025, 6, 1), t(2025, 9, 1)];
        let mut checked = 0;
        let mut kinds = [0usize; 3];
        for round in 0..50 {
            let mut codes = Vec::new();
            let mut entered: Vec<String> = Vec::new();
            for id in 0..24i64 {
                let kind = if rng.below(2) == 0 {
                    MatchKind::Literal
                } else {
                    MatchKind::Regex
                };
                let mut value = String::new();
                if kind == MatchKind::Regex {
                    if rng.below(4) == 0 {
                        value.push('^');
                    }
                    if rng.below(4) == 0 {
                        value.push_str("(?i)");
                    }
                    for _ in 0..=rng.below(3) {
                        if rng.below(2) == 0 {
                            value.push_str(rng.pick(PIECES));
                        } else {
                            value.push_str(rng.pick(ATOMS));
                        }
                    }
                    value.push_str(rng.pick(TAILS));
                    entered.extend(sample_matches(&value, 3));
                } else {
                    for _ in 0..=rng.below(3) {
                        value.push_str(rng.pick(PIECES));
                    }
                    entered.push(value.clone());
                }
                let start = (rng.below(3) == 0).then(|| times[rng.below(4)]);
                let end = (rng.below(3) == 0).then(|| times[rng.below(4)]);
                let created_at = times[rng.below(2)];
                codes.push(created(
                    windowed(code(round * 100 + id, &value, kind), start, end),
                    created_at,
                ));
            }
            // Case changes, extra text and whitespace around what the codes match.
            let mut probes = Vec::new();
            for e in &entered {
                probes.push(e.clone());
                probes.push(e.to_uppercase());
                probes.push(e.to_lowercase());
                probes.push(format!(" {e}\t"));
                probes.push(format!("{e}{}", rng.pick(PIECES)));
                probes.push(e.chars().skip(1).collect());
            }
            let (m, _) = Matcher::build(codes.clone());
            let codes: Vec<(MatcherCode, Option<Regex>)> = codes
                .into_iter()
                .map(|c| {
                    let r = (c.kind == MatchKind::Regex)
                        .then(|| compile_code_regex(&c.value).ok())
                        .flatten();
                    (c, r)
                })
                .collect();
            for probe in &probes {
                for &at in &times {
                    let at = at + TimeDelta::days(rng.below(3) as i64 - 1);
                    let got = m.lookup(probe, at);
                    assert_eq!(
                        got,
                        reference(&codes, probe, at),
                        "{probe:?} at {at} in {codes:#?}"
                    );
                    checked += 1;
                    match got {
                        Lookup::Matched(_) => kinds[0] += 1,
                        Lookup::OutsideWindow { .. } => kinds[1] += 1,
                        Lookup::NoMatch => kinds[2] += 1,
                    }
                }
            }
        }
        // Every outcome is well represented.
        assert!(
            kinds.iter().all(|&k| k > checked / 10),
            "{kinds:?} of {checked}"
        );
    }

    #[test]
    fn matcher_is_shareable() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Matcher>();
        assert_send_sync::<RegexCodeError>();
    }
}
