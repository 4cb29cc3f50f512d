//! The header row of a bulk-upload file (SPEC §5): which column is where.
//!
//! Header names are matched exactly (case and spaces). A missing required column is an error
//! naming it, with the closest header of the file when it looks like a typo; a duplicate column
//! is an error; an unknown column is a warning and is ignored.

use std::collections::HashSet;

/// A column of the bulk-upload template.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Column {
    PromoCode,
    ProgramId,
    MediaId,
    Type,
    CreditRule,
    MatchMode,
    DealId,
    DealName,
    ActiveStart,
    ActiveEnd,
    Timezone,
}

const COLUMN_COUNT: usize = 11;

/// The alias of `Program Id` (the reference product's older name).
pub const CAMPAIGN_ID: &str = "Campaign Id";

/// The header of the code export (`GET /codes.csv`): the upload's columns and some that an
/// upload does not read (ignored with one warning), so that an exported list uploads again.
pub const EXPORT_HEADER: [&str; 18] = [
    "Code Id",
    "Promo Code",
    "Program Id",
    "Program",
    "Media Id",
    "Partner",
    "Type",
    "Credit Rule",
    "Match Mode",
    "Deal Id",
    "Deal Name",
    "Status",
    "Active Start Date",
    "Active End Date",
    "Timezone",
    "Payout Percent",
    "Payout Flat",
    "Comments",
];

/// A column with this name is ignored without a warning: it is the column the downloadable
/// error report adds, so a fixed error report can be uploaded again as it is.
pub const ERROR_COLUMN: &str = "Error";

impl Column {
    /// All columns, in template order.
    pub const ALL: [Column; COLUMN_COUNT] = [
        Column::PromoCode,
        Column::ProgramId,
        Column::MediaId,
        Column::Type,
        Column::CreditRule,
        Column::MatchMode,
        Column::DealId,
        Column::DealName,
        Column::ActiveStart,
        Column::ActiveEnd,
        Column::Timezone,
    ];

    /// The canonical header, as in the template.
    pub fn name(self) -> &'static str {
        match self {
            Column::PromoCode => "Promo Code",
            Column::ProgramId => "Program Id",
            Column::MediaId => "Media Id",
            Column::Type => "Type",
            Column::CreditRule => "Credit Rule",
            Column::MatchMode => "Match Mode",
            Column::DealId => "Deal Id",
            Column::DealName => "Deal Name",
            Column::ActiveStart => "Active Start Date",
            Column::ActiveEnd => "Active End Date",
            Column::Timezone => "Timezone",
        }
    }

    /// True for the columns a file must have. `Media Id` and `Credit Rule` are required
    /// columns even though RESTRICTED rows leave them empty: TRACKING rows need them.
    pub fn required(self) -> bool {
        matches!(
            self,
            Column::PromoCode
                | Column::ProgramId
                | Column::MediaId
                | Column::Type
                | Column::CreditRule
                | Column::MatchMode
        )
    }

    /// The column a header names exactly (`Campaign Id` is `Program Id`).
    pub fn from_header(name: &str) -> Option<Column> {
        if name == CAMPAIGN_ID {
            return Some(Column::ProgramId);
        }
        Column::ALL.into_iter().find(|c| c.name() == name)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Where each known column is in the file's records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderMap {
    index: [Option<usize>; COLUMN_COUNT],
    campaign_alias: bool,
}

impl HeaderMap {
    /// The raw (untrimmed) value of column `c` in `record`; `""` when the file has no such
    /// column or the record is shorter.
    pub fn get<'a>(&self, c: Column, record: &'a [String]) -> &'a str {
        self.index[c.index()]
            .and_then(|i| record.get(i))
            .map_or("", String::as_str)
    }

    /// True when the file has column `c`.
    pub fn has(&self, c: Column) -> bool {
        self.index[c.index()].is_some()
    }

    /// The position of column `c` in the records, when the file has it.
    pub fn position(&self, c: Column) -> Option<usize> {
        self.index[c.index()]
    }

    /// The header of column `c` as the file names it (`Campaign Id` when the file uses the
    /// alias), for messages.
    pub fn header_name(&self, c: Column) -> &'static str {
        if c == Column::ProgramId && self.campaign_alias {
            CAMPAIGN_ID
        } else {
            c.name()
        }
    }
}

/// An accepted header row.
#[derive(Debug, Clone, PartialEq)]
pub struct HeaderCheck {
    pub map: HeaderMap,
    /// E.g. "Unknown column `Notes` is ignored."
    pub warnings: Vec<String>,
}

/// A refused header row: one message per problem.
#[derive(Debug, Clone, PartialEq)]
pub struct HeaderError(pub Vec<String>);

impl std::fmt::Display for HeaderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

impl std::error::Error for HeaderError {}

/// Removes a leading UTF-8 byte order mark.
pub fn strip_bom(s: &str) -> &str {
    s.strip_prefix('\u{feff}').unwrap_or(s)
}

/// Lowercase letters and digits only: `Promo_code ` and `promocode` compare equal.
fn loose(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// How far a header may be from a column name to be taken for a typo of it.
fn typo_limit(name: &str) -> usize {
    (name.chars().count() / 3).clamp(1, 3)
}

/// How far `found` is from the column name `name`, if it looks like a typo of it: equal
/// ignoring case, spaces and punctuation (distance 0), or within a few edits (transpositions
/// count as one).
fn typo_distance(name: &str, found: &str) -> Option<usize> {
    let found = found.trim();
    if found.is_empty() {
        return None;
    }
    let (a, b) = (loose(name), loose(found));
    if a == b {
        return Some(0);
    }
    let d = strsim::osa_distance(&name.to_lowercase(), &found.to_lowercase())
        .min(strsim::osa_distance(&a, &b));
    (d <= typo_limit(name)).then_some(d)
}

/// True when at least one field of a first row names (or nearly names) a template column: a
/// row without any is data, not a header.
pub fn looks_like_header(fields: &[String]) -> bool {
    let mut names: Vec<&str> = Column::ALL.iter().map(|c| c.name()).collect();
    names.push(CAMPAIGN_ID);
    fields.iter().enumerate().any(|(i, f)| {
        let f = if i == 0 { strip_bom(f) } else { f };
        names.iter().any(|n| typo_distance(n, f).is_some())
    })
}

/// Checks the header row and maps the columns. Errors name every problem at once.
pub fn check_header(fields: &[String]) -> Result<HeaderCheck, HeaderError> {
    let mut map = HeaderMap::default();
    let mut seen_as: [Option<&str>; COLUMN_COUNT] = [None; COLUMN_COUNT];
    let mut errors = Vec::new();
    let mut unknown: Vec<&str> = Vec::new();
    let mut reported: HashSet<&str> = HashSet::new();
    for (i, field) in fields.iter().enumerate() {
        let name = if i == 0 {
            strip_bom(field)
        } else {
            field.as_str()
        };
        if name.trim().is_empty() || name == ERROR_COLUMN {
            continue;
        }
        let Some(col) = Column::from_header(name) else {
            if !unknown.contains(&name) {
                unknown.push(name);
            }
            continue;
        };
        match seen_as[col.index()] {
            None => {
                seen_as[col.index()] = Some(name);
                map.index[col.index()] = Some(i);
                map.campaign_alias |= name == CAMPAIGN_ID;
            }
            Some(first) if first == name => {
                if reported.insert(name) {
                    errors.push(format!("Column `{name}` appears twice."));
                }
            }
            Some(first) => {
                if reported.insert(name) {
                    errors.push(format!(
                        "Columns `{first}` and `{name}` are the same column: keep only one."
                    ));
                }
            }
        }
    }
    let mut suggested: HashSet<&str> = HashSet::new();
    for col in Column::ALL {
        if !col.required() || map.has(col) {
            continue;
        }
        let mut names = vec![col.name()];
        if col == Column::ProgramId {
            names.push(CAMPAIGN_ID);
        }
        let close = unknown
            .iter()
            .filter_map(|u| {
                names
                    .iter()
                    .filter_map(|n| typo_distance(n, u))
                    .min()
                    .map(|d| (d, *u))
            })
            .min_by_key(|(d, _)| *d);
        let mut msg = format!("Missing required column `{}`", col.name());
        if col == Column::ProgramId {
            msg.push_str(&format!(" (or `{CAMPAIGN_ID}`)"));
        }
        match close {
            Some((_, found)) => {
                suggested.insert(found);
                msg.push_str(&format!(" (found `{found}` — headers must match exactly)."));
            }
            None => msg.push('.'),
        }
        errors.push(msg);
    }
    if !errors.is_empty() {
        return Err(HeaderError(errors));
    }
    let (export_only, unknown): (Vec<&str>, Vec<&str>) = unknown
        .into_iter()
        .filter(|u| !suggested.contains(u))
        .partition(|u| EXPORT_HEADER.contains(u));
    let mut warnings: Vec<String> = Vec::new();
    if !export_only.is_empty() {
        let names: Vec<String> = export_only.iter().map(|n| format!("`{n}`")).collect();
        warnings.push(format!(
            "Columns of the code export that an upload does not read are ignored: {}. \
             A code's payout and comments are changed on its page.",
            names.join(", ")
        ));
    }
    warnings.extend(unknown.into_iter().map(|u| {
            let close = Column::ALL
                .into_iter()
                .filter(|c| !map.has(*c))
                .filter_map(|c| typo_distance(c.name(), u).map(|d| (d, c.name())))
                .min_by_key(|(d, _)| *d);
            match close {
                Some((_, name)) => format!(
                    "Unknown column `{u}` is ignored (did you mean `{name}`? Headers must match exactly)."
                ),
                None => format!("Unknown column `{u}` is ignored."),
            }
        }));
    Ok(HeaderCheck { map, warnings })
}

/// Every column's header as written in the upload template, in its order
/// (for the tests of the upload's modules).
#[cfg(test)]
pub(crate) const TEST_HEADER: [&str; COLUMN_COUNT] = [
    "Promo Code",
    "Program Id",
    "Media Id",
    "Type",
    "Credit Rule",
    "Match Mode",
    "Deal Id",
    "Deal Name",
    "Active Start Date",
    "Active End Date",
    "Timezone",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    /// The template's header (no Deal Name: the template names deals by id).
    const TEMPLATE: &[&str] = &[
        TEST_HEADER[0],
        TEST_HEADER[1],
        TEST_HEADER[2],
        TEST_HEADER[3],
        TEST_HEADER[4],
        TEST_HEADER[5],
        TEST_HEADER[6],
        TEST_HEADER[8],
        TEST_HEADER[9],
        TEST_HEADER[10],
    ];

    #[test]
    fn the_template_header_maps_every_column() {
        let h = check_header(&fields(TEMPLATE)).expect("valid");
        assert!(h.warnings.is_empty(), "{:?}", h.warnings);
        let record = fields(&[
            "SUMMER10", "1", "1001", "TRACKING", "ALWAYS", "LI", "", "", "", "UTC",
        ]);
        assert_eq!(h.map.get(Column::PromoCode, &record), "SUMMER10");
        assert_eq!(h.map.get(Column::Timezone, &record), "UTC");
        assert_eq!(h.map.get(Column::DealName, &record), "");
        assert!(!h.map.has(Column::DealName));
        assert!(h.map.has(Column::DealId));
        assert_eq!(h.map.header_name(Column::ProgramId), "Program Id");
        // A short record reads missing fields as empty.
        assert_eq!(h.map.get(Column::Timezone, &fields(&["X"])), "");
        for c in Column::ALL {
            assert_eq!(Column::from_header(c.name()), Some(c));
        }
    }

    #[test]
    fn campaign_id_is_program_id_and_the_order_is_free() {
        let h = check_header(&fields(&[
            "Match Mode",
            "Campaign Id",
            "Promo Code",
            "Type",
            "Credit Rule",
            "Media Id",
            "Deal Name",
            "Deal Id",
        ]))
        .expect("valid");
        assert!(h.warnings.is_empty());
        let record = fields(&["LI", "7", "X", "RESTRICTED", "", "", "Summer", "3"]);
        assert_eq!(h.map.get(Column::ProgramId, &record), "7");
        assert_eq!(h.map.get(Column::MatchMode, &record), "LI");
        assert_eq!(h.map.get(Column::DealName, &record), "Summer");
        assert_eq!(h.map.get(Column::DealId, &record), "3");
        assert_eq!(h.map.header_name(Column::ProgramId), "Campaign Id");
    }

    #[test]
    fn a_leading_bom_is_ignored() {
        let mut f = fields(TEMPLATE);
        f[0] = "\u{feff}Promo Code".into();
        let h = check_header(&f).expect("valid");
        assert_eq!(h.map.position(Column::PromoCode), Some(0));
    }

    #[test]
    fn a_missing_column_is_named_with_the_typo_found() {
        let mut f = fields(TEMPLATE);
        f[0] = "Promo code".into();
        f[4] = "CreditRule".into();
        f[2] = "Partner".into();
        let err = check_header(&f).expect_err("missing");
        assert_eq!(
            err.0,
            vec![
                "Missing required column `Promo Code` (found `Promo code` — headers must match exactly).",
                "Missing required column `Media Id`.",
                "Missing required column `Credit Rule` (found `CreditRule` — headers must match exactly).",
            ]
        );
        let mut f = fields(TEMPLATE);
        f[5] = "Mach Mode".into();
        f[3] = "Tpye".into();
        let err = check_header(&f).expect_err("typos");
        assert_eq!(
            err.0,
            vec![
                "Missing required column `Type` (found `Tpye` — headers must match exactly).",
                "Missing required column `Match Mode` (found `Mach Mode` — headers must match exactly).",
            ]
        );
        let err = check_header(&fields(&["Promo Code"])).expect_err("missing");
        assert_eq!(err.0.len(), 5);
        assert_eq!(
            err.0[0],
            "Missing required column `Program Id` (or `Campaign Id`)."
        );
        // A far-off header is not offered as a typo.
        let mut f = fields(TEMPLATE);
        f[3] = "Name".into();
        let err = check_header(&f).expect_err("missing");
        assert_eq!(err.0, vec!["Missing required column `Type`."]);
    }

    #[test]
    fn unknown_columns_are_warnings() {
        let mut f = fields(TEMPLATE);
        f.push("Notes".into());
        f[6] = "Deal ID".into();
        f.push("".into());
        f.push("Error".into());
        let h = check_header(&f).expect("valid");
        assert_eq!(
            h.warnings,
            vec![
                "Unknown column `Deal ID` is ignored (did you mean `Deal Id`? Headers must match exactly).",
                "Unknown column `Notes` is ignored.",
            ]
        );
    }

    #[test]
    fn the_code_export_reads_with_one_warning_for_its_other_columns() {
        let mut f = fields(&EXPORT_HEADER);
        f.push("Notes".into());
        let h = check_header(&f).expect("valid");
        assert_eq!(
            h.warnings,
            vec![
                "Columns of the code export that an upload does not read are ignored: `Code Id`, \
                 `Program`, `Partner`, `Status`, `Payout Percent`, `Payout Flat`, `Comments`. \
                 A code's payout and comments are changed on its page.",
                "Unknown column `Notes` is ignored.",
            ]
        );
        for c in Column::ALL {
            assert!(h.map.has(c), "{c:?}");
        }
        // A missing column still points at an export column that looks like it.
        let f: Vec<String> = fields(&EXPORT_HEADER)
            .into_iter()
            .filter(|n| n != "Program Id")
            .collect();
        assert_eq!(
            check_header(&f).expect_err("missing").0,
            vec!["Missing required column `Program Id` (or `Campaign Id`) (found `Program` — headers must match exactly)."]
        );
    }

    #[test]
    fn duplicate_columns_are_errors() {
        let mut f = fields(TEMPLATE);
        f.push("Type".into());
        f.push("Type".into());
        f.push("Campaign Id".into());
        let err = check_header(&f).expect_err("duplicates");
        assert_eq!(
            err.0,
            vec![
                "Column `Type` appears twice.",
                "Columns `Program Id` and `Campaign Id` are the same column: keep only one.",
            ]
        );
    }

    #[test]
    fn data_rows_do_not_look_like_a_header() {
        assert!(looks_like_header(&fields(TEMPLATE)));
        assert!(looks_like_header(&fields(&["\u{feff}promo code", "x"])));
        assert!(!looks_like_header(&fields(&[
            "SUMMER10", "1", "1001", "TRACKING", "ALWAYS", "RE", "LI"
        ])));
        assert!(!looks_like_header(&fields(&["", ""])));
    }
}
