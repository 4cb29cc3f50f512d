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

mod index;
mod regex;
mod samples;

pub use self::index::{Lookup, Matcher, MatcherCode};
pub use self::regex::{
    compile_code_regex, pattern_length, test_pattern, RegexCodeError, MAX_PATTERN_CHARS,
    REGEX_NEST_LIMIT, REGEX_SIZE_LIMIT,
};
pub use self::samples::sample_matches;

/// How a code matches entered codes. The app maps its `MatchMode` (`LI` / `RE`) onto this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchKind {
    /// `LI`: exact value, case-insensitive after trimming.
    Literal,
    /// `RE`: regular expression over the whole (trimmed) entered code, case-sensitive.
    Regex,
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_literal_trims_and_folds_case() {
        assert_eq!(
            normalize_literal("  Summer24-AB12cd\t\n"),
            "summer24-ab12cd"
        );
        assert_eq!(normalize_literal(" ÉTÉ24 "), "été24");
        assert_eq!(normalize_literal("   "), "");
    }
}
