//! Which codes a new regex code competes with: the exact codes it matches
//! and the patterns that match some code it matches too (by their example
//! codes, [`sample_matches`]). Pure, and heavy (a program may hold 200,000
//! candidates, each compiled): run it off the async workers, where the
//! candidates are read.

use super::code::MatchMode;
use super::matcher::{compile_code_regex, sample_matches};
use super::CodeId;
use std::fmt;

/// At most this many candidates are read for one check.
pub const MAX_CANDIDATES: i64 = 200_000;
/// The check stops at this many conflicts (and says there may be more).
pub const MAX_SHOWN: usize = 10;
/// Example codes of each pattern that the other pattern is tried on.
const SAMPLES: usize = 8;

/// A code of another partner (or a restricted code) in the same program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: CodeId,
    pub code: String,
    pub match_mode: MatchMode,
    /// Its partner's name; `None` for a restricted code.
    pub partner_name: Option<String>,
}

/// A code that the new pattern competes with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    /// The pattern matches this exact code.
    Exact {
        id: CodeId,
        code: String,
        owner: Option<String>,
    },
    /// Both patterns match `example`.
    Regex {
        id: CodeId,
        code: String,
        owner: Option<String>,
        example: String,
    },
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let owner = |o: &Option<String>| o.clone().unwrap_or_else(|| "restricted".into());
        match self {
            Conflict::Exact { id, code, owner: o } => {
                write!(f, "matches the exact code {code} (#{id}, {})", owner(o))
            }
            Conflict::Regex {
                id,
                code,
                owner: o,
                example,
            } => write!(
                f,
                "overlaps the regex code {code} (#{id}, {}): both match {example}",
                owner(o)
            ),
        }
    }
}

/// What the check found: the conflicts in candidate order, and whether it
/// stopped at [`MAX_SHOWN`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegexConflicts {
    pub found: Vec<Conflict>,
    pub cut_short: bool,
}

impl RegexConflicts {
    /// One line each, as the form lists them.
    pub fn messages(&self) -> Vec<String> {
        let mut out: Vec<String> = self.found.iter().map(Conflict::to_string).collect();
        if self.cut_short {
            out.push("… and possibly more.".into());
        }
        out
    }
}

/// The leading literal characters of a pattern (after `^`, `(?i)` and
/// opening groups), used to narrow the exact codes it is checked against:
/// empty when the pattern ignores case or has alternatives.
pub fn literal_prefix(pattern: &str) -> String {
    let mut rest = pattern.trim();
    loop {
        let before = rest;
        rest = rest
            .trim_start_matches('^')
            .trim_start_matches("(?i)")
            .trim_start_matches("(?:")
            .trim_start_matches('(');
        if rest == before {
            break;
        }
    }
    if pattern.contains("(?i)") || pattern.contains('|') {
        return String::new();
    }
    let mut out: Vec<char> = Vec::new();
    let chars: Vec<char> = rest.chars().collect();
    for (i, ch) in chars.iter().enumerate() {
        if ch.is_alphanumeric() || *ch == '-' || *ch == '_' {
            if matches!(chars.get(i + 1), Some('?' | '*' | '{')) {
                break;
            }
            out.push(*ch);
        } else {
            break;
        }
    }
    out.into_iter().collect()
}

/// The candidates that the regex code `pattern` competes with: exact codes
/// it matches, and regex codes that match one of its examples or whose
/// examples it matches. Nothing for a pattern that does not compile.
pub fn regex_conflicts(pattern: &str, candidates: &[Candidate]) -> RegexConflicts {
    let mut out = RegexConflicts::default();
    let Ok(re) = compile_code_regex(pattern) else {
        return out;
    };
    let samples = sample_matches(pattern, SAMPLES);
    for cand in candidates {
        let (id, code, owner) = (cand.id, cand.code.clone(), cand.partner_name.clone());
        if cand.match_mode == MatchMode::Literal {
            if re.is_match(cand.code.trim()) {
                out.found.push(Conflict::Exact { id, code, owner });
            }
        } else if let Ok(other) = compile_code_regex(&cand.code) {
            let theirs = sample_matches(&cand.code, SAMPLES);
            let hit = theirs
                .iter()
                .find(|s| re.is_match(s))
                .or_else(|| samples.iter().find(|s| other.is_match(s)));
            if let Some(example) = hit {
                out.found.push(Conflict::Regex {
                    id,
                    code,
                    owner,
                    example: example.clone(),
                });
            }
        }
        if out.found.len() >= MAX_SHOWN {
            out.cut_short = true;
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_narrow_the_conflict_search() {
        assert_eq!(literal_prefix("^(SUMMER).*"), "SUMMER");
        assert_eq!(literal_prefix("SUMMER.*"), "SUMMER");
        assert_eq!(literal_prefix("^AB[0-9]{4}$"), "AB");
        assert_eq!(literal_prefix("ABC?D"), "AB");
        assert_eq!(literal_prefix("^(?i)summer.*"), "");
        assert_eq!(literal_prefix("^(AB|CD)[0-9]{4}$"), "");
        assert_eq!(literal_prefix("[A-Z]+"), "");
    }

    fn cand(id: i64, code: &str, mode: MatchMode, partner: Option<&str>) -> Candidate {
        Candidate {
            id: CodeId(id),
            code: code.into(),
            match_mode: mode,
            partner_name: partner.map(String::from),
        }
    }

    #[test]
    fn exact_codes_the_pattern_matches_and_overlapping_patterns() {
        let candidates = [
            cand(1, " SUMMER10 ", MatchMode::Literal, Some("Ava")),
            cand(2, "WINTER10", MatchMode::Literal, Some("Ava")),
            cand(3, "^SUMMER1[0-9]$", MatchMode::Regex, None),
            cand(4, "^WINTER.*", MatchMode::Regex, Some("Bo")),
            cand(5, "SUMMER(", MatchMode::Regex, Some("Bo")),
        ];
        let found = regex_conflicts("SUMMER.*", &candidates);
        assert!(!found.cut_short);
        assert_eq!(found.found.len(), 2, "{found:?}");
        assert_eq!(
            found.found[0],
            Conflict::Exact {
                id: CodeId(1),
                code: " SUMMER10 ".into(),
                owner: Some("Ava".into())
            }
        );
        let messages = found.messages();
        assert_eq!(messages[0], "matches the exact code  SUMMER10  (#1, Ava)");
        assert!(
            messages[1].starts_with(
                "overlaps the regex code ^SUMMER1[0-9]$ (#3, restricted): both match SUMMER1"
            ),
            "{messages:?}"
        );
    }

    #[test]
    fn the_check_stops_at_ten() {
        let candidates: Vec<Candidate> = (1..=12)
            .map(|i| cand(i, &format!("AB{i:04}"), MatchMode::Literal, Some("Ava")))
            .collect();
        let found = regex_conflicts("^AB[0-9]{4}$", &candidates);
        assert_eq!(found.found.len(), MAX_SHOWN);
        assert!(found.cut_short);
        let messages = found.messages();
        assert_eq!(messages.len(), MAX_SHOWN + 1);
        assert_eq!(
            messages.last().map(String::as_str),
            Some("… and possibly more.")
        );
    }

    #[test]
    fn a_pattern_that_does_not_compile_competes_with_nothing() {
        let candidates = [cand(1, "SUMMER10", MatchMode::Literal, None)];
        assert_eq!(
            regex_conflicts("SUMMER(", &candidates),
            RegexConflicts::default()
        );
        assert!(regex_conflicts("SUMMER.*", &[]).messages().is_empty());
    }
}
