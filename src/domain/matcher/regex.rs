//! Regex codes: compiling a pattern by the rules of SPEC §3 (whole-code match, `(?i)`, limits,
//! no empty match), and the messages that tell the person who typed it what to fix.

use std::fmt;

use regex::{Regex, RegexBuilder};
use regex_syntax::ast;
use regex_syntax::hir::{self, Hir};

/// Longest accepted regex pattern, in characters (after trimming surrounding whitespace).
pub const MAX_PATTERN_CHARS: usize = 500;
/// Compiled size limit of one regex code (`RegexBuilder::size_limit`).
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Nesting limit of one regex code (`RegexBuilder::nest_limit`).
pub const REGEX_NEST_LIMIT: u32 = 64;

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

// ---------------------------------------------------------------------------------------------
// Pattern preparation

pub(super) struct Prepared<'a> {
    /// The pattern without surrounding whitespace and without the optional anchors.
    pub(super) inner: &'a str,
    pub(super) hir: Hir,
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

pub(super) fn prepare(pattern: &str) -> Result<Prepared<'_>, RegexCodeError> {
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

pub(super) fn compile_prepared(p: &Prepared<'_>) -> Result<Regex, RegexCodeError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, s: &str) -> bool {
        compile_code_regex(pattern).unwrap().is_match(s)
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
}
