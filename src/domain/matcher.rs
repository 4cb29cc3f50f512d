//! Promo-code matching: which code of a program does an entered code stand for?
//!
//! Implements SPEC §3 ("Promo codes" rules) and §6 step 1 (matching an entered code):
//!
//! * Exact (`LI`) codes match case-insensitively after trimming surrounding whitespace
//!   ([`normalize_literal`]).
//! * Regex (`RE`) codes are case-sensitive, must match the *whole* entered (trimmed) code and may
//!   use `(?i)` (also after a leading `^`) to become case-insensitive ([`compile_code_regex`]).
//!   A regex must compile, must not match the empty code, and is limited in length (500
//!   characters), nesting (64 levels) and compiled size (1 MiB).
//! * [`Matcher::lookup`] finds the code active at a given instant: exact codes first, then regex
//!   codes (longest pattern, then oldest, then lowest id), and otherwise reports a code that
//!   matches but is outside its dates ([`Lookup::OutsideWindow`]).
//!
//! Dependencies: `regex` 1.x, `regex-syntax` 0.8, `chrono` 0.4 (no extra features), `std`.
//!
//! ## How a lookup is made fast (1M exact + 1k regex codes: ~0.1-0.2 µs for exact hits/misses)
//!
//! * Exact codes live in a `HashMap` keyed by the case-folded value, stored inline when it is at
//!   most 22 bytes, with the code's data in the same bucket: a hit reads one bucket.
//! * Regex codes are not asked one by one, nor through one `RegexSet` of all of them (measured:
//!   ~0.8 µs per miss and ~45 µs per hit with 1,000 patterns). Each regex's literal prefixes are
//!   taken from its syntax tree (`regex_syntax::hir::literal::Extractor`), case-folded per
//!   character (so `(?i)` patterns are indexed too) and put in a byte trie. A lookup walks the
//!   trie along the folded entered code and only tries the regexes found on that path, best rank
//!   first, stopping at the first active match. Patterns with no literal prefix (starting with
//!   `.`, `[A-Z]`, `\d`, …) sit at the root and are tried on every lookup that reaches the regex
//!   step; a trie node holding 8 or more patterns asks them through one `RegexSet`.

use std::borrow::Borrow;
use std::collections::hash_map::{Entry, HashMap};
use std::collections::HashSet;
use std::fmt;
use std::hash::{Hash, Hasher};

use chrono::{DateTime, TimeDelta, Utc};
use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use regex_syntax::ast;
use regex_syntax::hir::literal::Extractor;
use regex_syntax::hir::{self, Hir, HirKind};

/// Longest accepted regex pattern, in characters (after trimming surrounding whitespace).
pub const MAX_PATTERN_CHARS: usize = 500;
/// Compiled size limit of one regex code (`RegexBuilder::size_limit`).
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Nesting limit of one regex code (`RegexBuilder::nest_limit`).
pub const REGEX_NEST_LIMIT: u32 = 64;

/// Nodes of the regex prefix index with at least this many codes are matched with one
/// [`RegexSet`] instead of one regex at a time.
const NODE_SET_MIN: usize = 8;
/// At most this many prefix keys are indexed per regex code (see [`prefix_keys`]).
const MAX_PREFIX_KEYS: usize = 16;
/// Entered codes up to this length (ASCII) are case-folded on the stack during a lookup.
const STACK_KEY_BYTES: usize = 64;
/// Sample strings longer than this (bytes) are not produced by [`sample_matches`].
const MAX_SAMPLE_BYTES: usize = 1024;

/// How a code matches entered codes. The app maps its `MatchMode` (`LI` / `RE`) onto this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchKind {
    /// `LI`: exact value, case-insensitive after trimming.
    Literal,
    /// `RE`: regular expression over the whole (trimmed) entered code, case-sensitive.
    Regex,
}

/// Why a regex code was refused. `Display` gives a message meant for the person who typed the
/// pattern (not for a programmer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegexCodeError {
    /// The pattern is empty or whitespace only.
    Empty,
    /// The pattern is longer than [`MAX_PATTERN_CHARS`].
    TooLong { chars: usize, max: usize },
    /// The pattern does not parse. `position` is the 1-based character position in the pattern
    /// as given, `fragment` the offending text when it is short.
    Invalid {
        reason: String,
        fragment: Option<String>,
        position: Option<usize>,
        hint: Option<&'static str>,
    },
    /// Groups/repetitions nested deeper than the limit.
    TooDeeplyNested { limit: u32 },
    /// The compiled pattern would exceed the size limit (bytes).
    TooLarge { limit: usize },
    /// The pattern matches the empty code.
    MatchesEmpty,
    /// The pattern can never match anything (e.g. an empty character class).
    NeverMatches,
}

impl fmt::Display for RegexCodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegexCodeError::Empty => write!(
                f,
                "The pattern is empty. Enter the codes to match as a pattern, \
                 for example `SUMMER[0-9]{{2}}`."
            ),
            RegexCodeError::TooLong { chars, max } => write!(
                f,
                "The pattern is too long ({chars} characters; at most {max} are allowed). \
                 Shorten it, or split it into several codes."
            ),
            RegexCodeError::Invalid {
                reason,
                fragment,
                position,
                hint,
            } => {
                write!(f, "The pattern is not valid: {reason}")?;
                if let Some(fragment) = fragment {
                    write!(f, " `{fragment}`")?;
                }
                if let Some(position) = position {
                    write!(f, " at position {position}")?;
                }
                write!(f, ".")?;
                if let Some(hint) = hint {
                    write!(f, " {hint}")?;
                }
                Ok(())
            }
            RegexCodeError::TooDeeplyNested { limit } => write!(
                f,
                "The pattern is too complex: its groups and repetitions are nested more than \
                 {limit} levels deep. Simplify it, for example by removing unneeded brackets."
            ),
            RegexCodeError::TooLarge { limit } => {
                let size = if limit % (1 << 20) == 0 {
                    format!("{} MiB", limit >> 20)
                } else {
                    format!("{} KiB", limit.div_ceil(1024))
                };
                write!(
                    f,
                    "The pattern is too large: once expanded it exceeds the limit of {size}. \
                     Large counted repetitions (such as `{{500}}`) or broad classes (such as \
                     `\\w`) repeated many times are the usual cause; use smaller counts or \
                     narrower classes such as `[A-Z0-9]`."
                )
            }
            RegexCodeError::MatchesEmpty => write!(
                f,
                "The pattern matches an empty code; a promo code must have at least one \
                 character. Make at least one part required, e.g. use `+` instead of `*` \
                 (`SUMMER.+`), or remove the `?` after the only group."
            ),
            RegexCodeError::NeverMatches => write!(
                f,
                "The pattern can never match any code (it contains a character class with no \
                 characters in it, such as `[^\\s\\S]`). Check the square brackets."
            ),
        }
    }
}

impl std::error::Error for RegexCodeError {}

/// Case-folds an exact code for comparison: trims surrounding whitespace and lowercases each
/// character (Unicode-aware, `char::to_lowercase`, no context rules such as a final sigma, like
/// PostgreSQL's `lower()`).
pub fn normalize_literal(s: &str) -> String {
    fold_key(s.trim())
}

fn fold_key(s: &str) -> String {
    if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        s.chars().flat_map(char::to_lowercase).collect()
    }
}

/// The length used to rank regex codes ("the longest pattern wins"): characters of the pattern
/// after trimming surrounding whitespace and removing one optional leading `^` and trailing
/// (unescaped) `$`, so `^SUMMER.*$` and `SUMMER.*` rank the same.
pub fn pattern_length(pattern: &str) -> usize {
    let (trimmed, _) = trim_pattern(pattern);
    let (inner, _) = strip_anchors(trimmed);
    inner.chars().count()
}

/// Compiles a regex code by the rules of SPEC §3: whole-code match (`^(?:…)$`, after removing
/// one optional leading `^` and trailing unescaped `$`), case-sensitive unless `(?i)`, at most
/// [`MAX_PATTERN_CHARS`] characters, size and nesting limits, and no match of the empty code.
/// Surrounding whitespace of the pattern is ignored (entered codes are trimmed too).
pub fn compile_code_regex(pattern: &str) -> Result<Regex, RegexCodeError> {
    let prepared = prepare(pattern)?;
    compile_prepared(&prepared)
}

/// The live regex tester: compiles `pattern` like [`compile_code_regex`] and tells, for each
/// sample, whether an order with that entered code would match it (samples are trimmed as in
/// crediting; an empty sample never matches).
pub fn test_pattern(pattern: &str, samples: &[&str]) -> Result<Vec<bool>, RegexCodeError> {
    let re = compile_code_regex(pattern)?;
    Ok(samples
        .iter()
        .map(|s| {
            let s = s.trim();
            !s.is_empty() && re.is_match(s)
        })
        .collect())
}

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

// ---------------------------------------------------------------------------------------------
// Pattern preparation

struct Prepared<'a> {
    /// The pattern without surrounding whitespace and without the optional anchors.
    inner: &'a str,
    hir: Hir,
}

/// Trims surrounding whitespace, keeping a trailing whitespace character that is escaped
/// (`A\ `). Returns the trimmed pattern and the number of characters removed at the start.
fn trim_pattern(pattern: &str) -> (&str, usize) {
    let start_trimmed = pattern.trim_start();
    let lead = pattern[..pattern.len() - start_trimmed.len()]
        .chars()
        .count();
    let mut t = start_trimmed.trim_end();
    if t.len() < start_trimmed.len() && is_escaped(t, t.len()) {
        let next = start_trimmed[t.len()..]
            .chars()
            .next()
            .map_or(0, char::len_utf8);
        t = &start_trimmed[..t.len() + next];
    }
    (t, lead)
}

/// True when the character starting at byte `idx` of `s` is preceded by an odd number of
/// backslashes (i.e. it is escaped).
fn is_escaped(s: &str, idx: usize) -> bool {
    s.as_bytes()[..idx]
        .iter()
        .rev()
        .take_while(|&&b| b == b'\\')
        .count()
        % 2
        == 1
}

/// Removes one leading `^` and one trailing unescaped `$`. Returns the rest and whether a `^`
/// was removed.
fn strip_anchors(t: &str) -> (&str, bool) {
    let (mut inner, caret) = match t.strip_prefix('^') {
        Some(rest) => (rest, true),
        None => (t, false),
    };
    if inner.ends_with('$') && !is_escaped(inner, inner.len() - 1) {
        inner = &inner[..inner.len() - 1];
    }
    (inner, caret)
}

fn prepare(pattern: &str) -> Result<Prepared<'_>, RegexCodeError> {
    let (trimmed, lead) = trim_pattern(pattern);
    if trimmed.is_empty() {
        return Err(RegexCodeError::Empty);
    }
    let chars = trimmed.chars().count();
    if chars > MAX_PATTERN_CHARS {
        return Err(RegexCodeError::TooLong {
            chars,
            max: MAX_PATTERN_CHARS,
        });
    }
    let (inner, caret) = strip_anchors(trimmed);
    let lead = lead + usize::from(caret);
    // Parse the inner pattern on its own: positions in messages refer to what the user wrote,
    // and a pattern such as `A)|(.*` cannot escape the `^(?:…)$` wrapper.
    let hir = regex_syntax::ParserBuilder::new()
        .nest_limit(REGEX_NEST_LIMIT)
        .build()
        .parse(inner)
        .map_err(|e| syntax_error(&e, inner, lead))?;
    Ok(Prepared { inner, hir })
}

/// True when the pattern might switch on verbose mode (`x` flag), where `#` starts a comment
/// that would swallow the closing `)$` of the wrapper.
fn may_use_verbose_mode(inner: &str) -> bool {
    inner.match_indices("(?").any(|(i, _)| {
        inner[i + 2..]
            .chars()
            .take_while(|c| c.is_ascii_alphabetic() || *c == '-')
            .any(|c| c == 'x')
    })
}

fn compile_prepared(p: &Prepared<'_>) -> Result<Regex, RegexCodeError> {
    let wrapped = if may_use_verbose_mode(p.inner) {
        // The HIR printer gives an equivalent pattern without verbose mode or comments.
        format!("^(?:{})$", p.hir)
    } else {
        format!("^(?:{})$", p.inner)
    };
    let re = RegexBuilder::new(&wrapped)
        .size_limit(REGEX_SIZE_LIMIT)
        .nest_limit(REGEX_NEST_LIMIT + 2)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(limit) => RegexCodeError::TooLarge { limit },
            regex::Error::Syntax(msg) => RegexCodeError::Invalid {
                reason: last_line(&msg),
                fragment: None,
                position: None,
                hint: None,
            },
            other => RegexCodeError::Invalid {
                reason: last_line(&other.to_string()),
                fragment: None,
                position: None,
                hint: None,
            },
        })?;
    if p.hir.properties().minimum_len().is_none() {
        return Err(RegexCodeError::NeverMatches);
    }
    if re.is_match("") {
        return Err(RegexCodeError::MatchesEmpty);
    }
    Ok(re)
}

fn last_line(msg: &str) -> String {
    let line = msg
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(msg);
    line.trim().trim_start_matches("error:").trim().to_owned()
}

fn syntax_error(err: &regex_syntax::Error, inner: &str, lead: usize) -> RegexCodeError {
    let (reason, span, hint) = match err {
        regex_syntax::Error::Parse(e) => {
            if let ast::ErrorKind::NestLimitExceeded(limit) = e.kind() {
                return RegexCodeError::TooDeeplyNested { limit: *limit };
            }
            (e.kind().to_string(), *e.span(), ast_hint(e.kind()))
        }
        regex_syntax::Error::Translate(e) => (e.kind().to_string(), *e.span(), hir_hint(e.kind())),
        other => {
            return RegexCodeError::Invalid {
                reason: last_line(&other.to_string()),
                fragment: None,
                position: None,
                hint: None,
            }
        }
    };
    let start = span.start.offset.min(inner.len());
    let end = span.end.offset.clamp(start, inner.len());
    let fragment = inner
        .get(start..end)
        .filter(|s| !s.is_empty() && s.chars().count() <= 20)
        .map(str::to_owned);
    let position = inner
        .get(..start)
        .map(|before| lead + before.chars().count() + 1);
    RegexCodeError::Invalid {
        reason,
        fragment,
        position,
        hint,
    }
}

fn ast_hint(kind: &ast::ErrorKind) -> Option<&'static str> {
    use ast::ErrorKind as K;
    Some(match kind {
        K::GroupUnclosed => "Add the missing `)`, or write `\\(` to match a bracket character.",
        K::GroupUnopened => "Remove the extra `)`, or write `\\)` to match a bracket character.",
        K::ClassUnclosed => {
            "Add the missing `]`, or write `\\[` to match a square bracket character."
        }
        K::RepetitionMissing => {
            "`*`, `+`, `?` and `{…}` must follow a character or group; write `\\*`, `\\+`, \
             `\\?` or `\\{` to match the character itself."
        }
        K::RepetitionCountUnclosed | K::RepetitionCountDecimalEmpty => {
            "A count is written `{3}` or `{2,5}`; write `\\{` to match a brace character."
        }
        K::RepetitionCountInvalid => "In `{m,n}` the first number must not exceed the second.",
        K::EscapeUnexpectedEof => {
            "The pattern ends with a lone `\\`; write `\\\\` to match a backslash."
        }
        K::EscapeUnrecognized | K::ClassEscapeInvalid => {
            "Write `\\\\` to match a backslash character."
        }
        K::ClassRangeInvalid => "Write ranges from low to high, e.g. `[A-Z]` or `[0-9]`.",
        K::UnsupportedLookAround => {
            "Look-ahead and look-behind such as `(?=…)` or `(?!…)` are not supported."
        }
        K::UnsupportedBackreference => "Back-references such as `\\1` are not supported.",
        K::FlagUnrecognized | K::FlagUnexpectedEof | K::FlagDanglingNegation => {
            "The supported inline flag is `(?i)` (ignore case)."
        }
        _ => return None,
    })
}

fn hir_hint(kind: &hir::ErrorKind) -> Option<&'static str> {
    match kind {
        hir::ErrorKind::UnicodePropertyNotFound | hir::ErrorKind::UnicodePropertyValueNotFound => {
            Some("Check the name in `\\p{…}`, e.g. `\\p{L}` for letters.")
        }
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Matcher

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
    ///    (case-sensitive unless `(?i)`): the longest pattern ([`pattern_length`]), then the
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

// ---------------------------------------------------------------------------------------------
// Sample generation

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

    fn now() -> DateTime<Utc> {
        t(2025, 6, 15)
    }

    fn matches(pattern: &str, s: &str) -> bool {
        compile_code_regex(pattern).unwrap().is_match(s)
    }

    #[test]
    fn normalize_literal_trims_and_folds_case() {
        assert_eq!(
            normalize_literal("  Summer24-AB12cd\t\n"),
            "summer24-ab12cd"
        );
        assert_eq!(normalize_literal(" ÉTÉ24 "), "été24");
        assert_eq!(normalize_literal("   "), "");
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
    fn regex_must_match_the_whole_code() {
        for p in [
            "SUMMER.*",
            "^(SUMMER).*",
            "^(SUMMER).*$",
            "(SUMMER).*$",
            "  SUMMER.*  ",
        ] {
            assert!(matches(p, "SUMMER"), "{p}");
            assert!(matches(p, "SUMMER1"), "{p}");
            assert!(!matches(p, "XSUMMER1"), "{p}");
            assert!(!matches(p, "SUMME"), "{p}");
        }
        assert!(matches("SUMMER[0-9]{2}", "SUMMER24"));
        assert!(!matches("SUMMER[0-9]{2}", "SUMMER245"));
        // Alternation is whole-code too.
        assert!(matches("A|B", "A"));
        assert!(!matches("A|B", "AB"));
        assert!(!matches("A|B", "XB"));
        // An escaped trailing dollar is a literal dollar.
        assert!(matches("SUMMER\\$", "SUMMER$"));
        assert!(!matches("SUMMER\\$", "SUMMER"));
        // An escaped backslash followed by the end anchor.
        assert!(matches("A\\\\$", "A\\"));
        // A pattern cannot escape the wrapper.
        assert!(compile_code_regex("A)|(.*").is_err());
        assert_eq!(pattern_length("^SUMMER.*$"), pattern_length("SUMMER.*"));
        assert_eq!(pattern_length("SUMMER\\$"), 8);
    }

    #[test]
    fn regex_is_case_sensitive_unless_flagged() {
        assert!(!matches("SUMMER.*", "summer1"));
        assert!(matches("(?i)SUMMER.*", "summer1"));
        for p in ["^(?i)(SUMMER).*", "^(?i)(SUMMER).*$", "(?i)^SUMMER.*"] {
            assert!(matches(p, "sUmMeR99"), "{p}");
            assert!(matches(p, "SUMMER"), "{p}");
            assert!(!matches(p, "xsummer"), "{p}");
        }
        // The flag can be scoped.
        assert!(matches("SUMMER(?i:ab)", "SUMMERaB"));
        assert!(!matches("SUMMER(?i:ab)", "summerAB"));
    }

    #[test]
    fn verbose_mode_comment_does_not_break_the_wrapper() {
        let p = "(?x) SUMMER [0-9]+   # seasonal codes";
        assert!(matches(p, "SUMMER12"));
        assert!(!matches(p, "SUMMER"));
        assert!(!matches(p, "XSUMMER12"));
    }

    #[test]
    fn patterns_matching_the_empty_code_are_refused() {
        for p in [".*", "a*", "(x)?", "^$", "^", "$", "(?i)(a|b)*", "^(.*)$"] {
            assert_eq!(
                compile_code_regex(p).unwrap_err(),
                RegexCodeError::MatchesEmpty,
                "{p}"
            );
        }
        assert_eq!(compile_code_regex("").unwrap_err(), RegexCodeError::Empty);
        assert_eq!(
            compile_code_regex("  \t").unwrap_err(),
            RegexCodeError::Empty
        );
        assert_eq!(
            compile_code_regex("[^\\s\\S]").unwrap_err(),
            RegexCodeError::NeverMatches
        );
        let msg = RegexCodeError::MatchesEmpty.to_string();
        assert!(msg.contains("matches an empty code"), "{msg}");
    }

    #[test]
    fn bad_pattern_gives_a_clear_message_with_position() {
        let err = compile_code_regex("SUMMER(").unwrap_err();
        assert!(
            matches!(
                err,
                RegexCodeError::Invalid {
                    position: Some(7),
                    ..
                }
            ),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.starts_with("The pattern is not valid: unclosed group `(` at position 7."),
            "{msg}"
        );
        // Positions count from the pattern as written, including a leading `^` and spaces.
        let err = compile_code_regex("  ^SUMMER(").unwrap_err();
        assert!(
            matches!(
                err,
                RegexCodeError::Invalid {
                    position: Some(10),
                    ..
                }
            ),
            "{err:?}"
        );
        // Positions are in characters, not bytes.
        let err = compile_code_regex("ÉTÉ[0-9").unwrap_err();
        assert!(
            matches!(
                err,
                RegexCodeError::Invalid {
                    position: Some(4),
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("unclosed character class"),
            "{err}"
        );
        let err = compile_code_regex("*SUMMER").unwrap_err();
        assert!(
            err.to_string()
                .contains("repetition operator missing expression"),
            "{err}"
        );
        let err = compile_code_regex("SUMMER(?=1)").unwrap_err();
        assert!(err.to_string().contains("not supported"), "{err}");
        let err = compile_code_regex("\\p{Foo}").unwrap_err();
        assert!(
            err.to_string().starts_with("The pattern is not valid: "),
            "{err}"
        );
    }

    #[test]
    fn size_length_and_nesting_limits() {
        let err = compile_code_regex("(\\w{100}){100}").unwrap_err();
        assert_eq!(
            err,
            RegexCodeError::TooLarge {
                limit: REGEX_SIZE_LIMIT
            }
        );
        assert!(err.to_string().contains("too large"), "{err}");
        assert!(err.to_string().contains("1 MiB"), "{err}");
        let err = compile_code_regex(&"A".repeat(501)).unwrap_err();
        assert_eq!(
            err,
            RegexCodeError::TooLong {
                chars: 501,
                max: 500
            }
        );
        assert!(compile_code_regex(&"A".repeat(500)).is_ok());
        let deep = format!("{}a{}", "(".repeat(70), ")".repeat(70));
        let err = compile_code_regex(&deep).unwrap_err();
        assert_eq!(err, RegexCodeError::TooDeeplyNested { limit: 64 });
        let ok = format!("{}a{}", "(".repeat(60), ")".repeat(60));
        assert!(compile_code_regex(&ok).is_ok());
    }

    #[test]
    fn escaped_trailing_space_is_kept() {
        assert!(compile_code_regex("A\\ ").is_ok());
        assert!(matches("A\\ B", "A B"));
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
            assert_eq!(
                m.lookup("WIN25", start - second),
                Lookup::OutsideWindow {
                    code_id: 1,
                    not_yet_active: true
                }
            );
            assert_eq!(m.lookup("WIN25", start), Lookup::Matched(1));
            assert_eq!(m.lookup("WIN25", end - second), Lookup::Matched(1));
            assert_eq!(
                m.lookup("WIN25", end),
                Lookup::OutsideWindow {
                    code_id: 1,
                    not_yet_active: false
                }
            );
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
        assert_eq!(
            m.lookup("FALL24", now()),
            Lookup::OutsideWindow {
                code_id: 1,
                not_yet_active: false
            }
        );
        assert_eq!(m.lookup("FALL2", now()), Lookup::NoMatch);
        // Exact preferred over regex, even when the regex window is closer.
        let m = matcher(vec![
            windowed(re(1, "FALL[0-9]{2}"), future.0, future.1),
            windowed(lit(2, "FALL24"), past.0, past.1),
        ]);
        assert_eq!(
            m.lookup("fall24", now()),
            Lookup::OutsideWindow {
                code_id: 2,
                not_yet_active: false
            }
        );
        // Among regex codes: the closest window.
        let m = matcher(vec![
            windowed(re(1, "FALL[0-9]{2}"), past.0, past.1),
            windowed(re(2, "FALL.*"), future.0, future.1),
        ]);
        assert_eq!(
            m.lookup("FALL24", now()),
            Lookup::OutsideWindow {
                code_id: 2,
                not_yet_active: true
            }
        );
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
        assert_eq!(
            m.lookup("VIP", t(2024, 12, 1)),
            Lookup::OutsideWindow {
                code_id: 1,
                not_yet_active: true
            }
        );
        assert_eq!(
            m.lookup("VIP", t(2025, 3, 10)),
            Lookup::OutsideWindow {
                code_id: 2,
                not_yet_active: false
            }
        );
        assert_eq!(
            m.lookup("VIP", t(2025, 4, 25)),
            Lookup::OutsideWindow {
                code_id: 3,
                not_yet_active: true
            }
        );
        assert_eq!(
            m.lookup("VIP", t(2025, 7, 1)),
            Lookup::OutsideWindow {
                code_id: 3,
                not_yet_active: false
            }
        );
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
        assert_eq!(
            m.lookup("PROMOABX", now()),
            Lookup::OutsideWindow {
                code_id: 2,
                not_yet_active: false
            }
        );
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
        assert_eq!(
            m.lookup("ABC-X1", now()),
            Lookup::OutsideWindow {
                code_id: 12,
                not_yet_active: false
            }
        );
        assert_eq!(m.lookup("ABC-X1", t(2024, 1, 1)), Lookup::Matched(12));
    }

    #[test]
    fn test_pattern_trims_samples_like_crediting() {
        let got = test_pattern(
            "^(?i)(SUMMER).*",
            &["summer1", "  SUMMER2  ", "XSUMMER", "", "  "],
        )
        .unwrap();
        assert_eq!(got, vec![true, true, false, false, false]);
        assert_eq!(
            test_pattern("a*", &["a"]).unwrap_err(),
            RegexCodeError::MatchesEmpty
        );
    }

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

    #[test]
    fn messages_are_plain_sentences() {
        let errors = [
            RegexCodeError::Empty,
            RegexCodeError::TooLong {
                chars: 600,
                max: 500,
            },
            RegexCodeError::TooDeeplyNested { limit: 64 },
            RegexCodeError::TooLarge {
                limit: REGEX_SIZE_LIMIT,
            },
            RegexCodeError::MatchesEmpty,
            RegexCodeError::NeverMatches,
        ];
        for e in errors {
            let msg = e.to_string();
            assert!(msg.starts_with("The pattern "), "{msg}");
            assert!(msg.ends_with('.'), "{msg}");
        }
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
