//! A JSON object read as flat fields, keeping each number's exact text.
//!
//! serde_json (without `arbitrary_precision`, which the project does not enable) reads a number
//! as `f64` when it is not an integer that fits 64 bits: `19.990` would come back as `19.99`,
//! and a 25-digit SKU sent as a number would lose digits. This reader checks the whole body
//! against the JSON grammar (RFC 8259) and hands back, for each member of the top-level object,
//! its name and its value: a string (borrowed from the body unless it has escapes), a number's
//! text as sent, `true`/`false`, `null`, or the raw text of a nested object or array (which is
//! checked too, down to [`MAX_DEPTH`] levels, as serde_json does).

use std::borrow::Cow;

/// Deepest nesting accepted (serde_json's default recursion limit).
pub(super) const MAX_DEPTH: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum JsonValue<'a> {
    Str(Cow<'a, str>),
    /// A number's text exactly as sent (valid JSON number grammar).
    Number(&'a str),
    Bool(bool),
    Null,
    /// A nested object or array, as raw JSON text.
    Nested(&'a str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct JsonError {
    /// Byte offset of the problem in the text.
    pub offset: usize,
    pub what: &'static str,
}

/// Reads `s` as one JSON object (surrounding whitespace allowed) into its members, in order;
/// repeated names are all kept.
pub(super) fn parse_object(s: &str) -> Result<Vec<(Cow<'_, str>, JsonValue<'_>)>, JsonError> {
    let mut p = Parser {
        s,
        b: s.as_bytes(),
        i: 0,
    };
    p.ws();
    p.expect(b'{', "expected a JSON object ({ … })")?;
    let mut out = Vec::with_capacity(16);
    p.ws();
    if p.peek() == Some(b'}') {
        p.i += 1;
    } else {
        loop {
            p.ws();
            if p.peek() != Some(b'"') {
                return Err(p.err("expected a field name in double quotes"));
            }
            let name = p.string()?;
            p.ws();
            p.expect(b':', "expected : after the field name")?;
            p.ws();
            let value = p.value()?;
            out.push((name, value));
            p.ws();
            match p.peek() {
                Some(b',') => p.i += 1,
                Some(b'}') => {
                    p.i += 1;
                    break;
                }
                _ => return Err(p.err("expected , or } after a value")),
            }
        }
    }
    p.ws();
    if p.i != p.b.len() {
        return Err(p.err("unexpected text after the JSON object"));
    }
    Ok(out)
}

struct Parser<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn err(&self, what: &'static str) -> JsonError {
        JsonError {
            offset: self.i,
            what,
        }
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    fn expect(&mut self, c: u8, what: &'static str) -> Result<(), JsonError> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.err(what))
        }
    }

    /// A member's value.
    fn value(&mut self) -> Result<JsonValue<'a>, JsonError> {
        match self.peek() {
            Some(b'"') => Ok(JsonValue::Str(self.string()?)),
            Some(b'-' | b'0'..=b'9') => Ok(JsonValue::Number(self.number()?)),
            Some(b't') => self.literal("true").map(|()| JsonValue::Bool(true)),
            Some(b'f') => self.literal("false").map(|()| JsonValue::Bool(false)),
            Some(b'n') => self.literal("null").map(|()| JsonValue::Null),
            Some(b'{' | b'[') => {
                let start = self.i;
                self.skip_value(1)?;
                Ok(JsonValue::Nested(&self.s[start..self.i]))
            }
            _ => Err(self.err("expected a value")),
        }
    }

    fn literal(&mut self, word: &'static str) -> Result<(), JsonError> {
        if self.b[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Ok(())
        } else {
            Err(self.err("expected a value"))
        }
    }

    /// Checks any value (nested ones included) and moves past it.
    fn skip_value(&mut self, depth: usize) -> Result<(), JsonError> {
        match self.peek() {
            Some(b'"') => self.string().map(drop),
            Some(b'-' | b'0'..=b'9') => self.number().map(drop),
            Some(b't') => self.literal("true"),
            Some(b'f') => self.literal("false"),
            Some(b'n') => self.literal("null"),
            Some(open @ (b'{' | b'[')) => {
                if depth > MAX_DEPTH {
                    return Err(self.err("nested too deeply"));
                }
                let close = if open == b'{' { b'}' } else { b']' };
                self.i += 1;
                self.ws();
                if self.peek() == Some(close) {
                    self.i += 1;
                    return Ok(());
                }
                loop {
                    self.ws();
                    if open == b'{' {
                        if self.peek() != Some(b'"') {
                            return Err(self.err("expected a field name in double quotes"));
                        }
                        self.string()?;
                        self.ws();
                        self.expect(b':', "expected : after the field name")?;
                        self.ws();
                    }
                    self.skip_value(depth + 1)?;
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(c) if c == close => {
                            self.i += 1;
                            return Ok(());
                        }
                        _ => return Err(self.err("expected , or a closing bracket")),
                    }
                }
            }
            _ => Err(self.err("expected a value")),
        }
    }

    /// A number (`-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`): its text.
    fn number(&mut self) -> Result<&'a str, JsonError> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.err("expected a digit")),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.err("expected a digit after the decimal point"));
            }
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.err("expected a digit in the exponent"));
            }
            self.digits();
        }
        Ok(&self.s[start..self.i])
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let Some(h) = self.b.get(self.i..self.i + 4) else {
            return Err(self.err("expected four hex digits after \\u"));
        };
        let mut v = 0u32;
        for &c in h {
            let d = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                b'A'..=b'F' => c - b'A' + 10,
                _ => return Err(self.err("expected four hex digits after \\u")),
            };
            v = v * 16 + u32::from(d);
        }
        self.i += 4;
        Ok(v)
    }

    /// A string at `"`: borrowed when it has no escapes.
    fn string(&mut self) -> Result<Cow<'a, str>, JsonError> {
        self.i += 1;
        let start = self.i;
        loop {
            match self.peek() {
                None => return Err(self.err("unterminated string")),
                Some(b'"') => {
                    let s = &self.s[start..self.i];
                    self.i += 1;
                    return Ok(Cow::Borrowed(s));
                }
                Some(b'\\') => break,
                Some(c) if c < 0x20 => {
                    return Err(self.err("control character in a string (escape it)"))
                }
                Some(_) => self.i += 1,
            }
        }
        // With escapes: copy runs of plain text (their ends are ASCII, so char boundaries).
        let mut out = String::with_capacity(self.i - start + 16);
        out.push_str(&self.s[start..self.i]);
        let mut run = self.i;
        loop {
            match self.peek() {
                None => return Err(self.err("unterminated string")),
                Some(b'"') => {
                    out.push_str(&self.s[run..self.i]);
                    self.i += 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {
                    out.push_str(&self.s[run..self.i]);
                    self.i += 1;
                    let c = match self.peek() {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.i += 1;
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                if !self.b[self.i..].starts_with(b"\\u") {
                                    return Err(self.err("unpaired surrogate in \\u escape"));
                                }
                                self.i += 2;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.err("unpaired surrogate in \\u escape"));
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else if (0xDC00..0xE000).contains(&hi) {
                                return Err(self.err("unpaired surrogate in \\u escape"));
                            } else {
                                hi
                            };
                            // Surrogates were handled above: every other value is a char.
                            let Some(c) = char::from_u32(code) else {
                                return Err(self.err("invalid \\u escape"));
                            };
                            out.push(c);
                            run = self.i;
                            continue;
                        }
                        _ => return Err(self.err("invalid escape in a string")),
                    };
                    out.push(c);
                    self.i += 1;
                    run = self.i;
                }
                Some(c) if c < 0x20 => {
                    return Err(self.err("control character in a string (escape it)"))
                }
                Some(_) => self.i += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(s: &str) -> Vec<(String, JsonValue<'_>)> {
        parse_object(s)
            .unwrap()
            .into_iter()
            .map(|(k, v)| (k.into_owned(), v))
            .collect()
    }

    #[test]
    fn numbers_keep_their_text() {
        let f = fields(
            r#"{"a":19.99,"b":19.990,"c":123456789012345678901234567890,"d":-0,"e":1.5E+3,"f":0}"#,
        );
        let texts: Vec<_> = f
            .iter()
            .map(|(_, v)| match v {
                JsonValue::Number(n) => *n,
                _ => "?",
            })
            .collect();
        assert_eq!(
            texts,
            [
                "19.99",
                "19.990",
                "123456789012345678901234567890",
                "-0",
                "1.5E+3",
                "0"
            ]
        );
    }

    #[test]
    fn strings_literals_and_nested_values() {
        let f = fields(
            r#" { "s" : "a\"b\\c\/d\u00e9\ud83d\ude00\n" , "plain":"héllo", "t":true,"f":false,"n":null,
                "o":{"x":[1,{"y":"}"}]},"arr":[ ],"dup":"1","dup":"2" } "#,
        );
        assert_eq!(f[0], ("s".into(), JsonValue::Str("a\"b\\c/dé😀\n".into())));
        assert!(matches!(&f[1].1, JsonValue::Str(Cow::Borrowed("héllo"))));
        assert_eq!(f[2].1, JsonValue::Bool(true));
        assert_eq!(f[3].1, JsonValue::Bool(false));
        assert_eq!(f[4].1, JsonValue::Null);
        assert_eq!(f[5].1, JsonValue::Nested(r#"{"x":[1,{"y":"}"}]}"#));
        assert_eq!(f[6].1, JsonValue::Nested("[ ]"));
        assert_eq!(f.len(), 9, "repeated names are kept");
        assert!(fields("{}").is_empty());
    }

    #[test]
    fn refuses_what_is_not_json() {
        for bad in [
            "",
            "[]",
            "{",
            "{\"a\"}",
            "{\"a\":}",
            "{\"a\":1,}",
            "{a:1}",
            "{\"a\":01}",
            "{\"a\":1.}",
            "{\"a\":.5}",
            "{\"a\":1e}",
            "{\"a\":+1}",
            "{\"a\":NaN}",
            "{\"a\":tru}",
            "{\"a\":\"x}",
            "{\"a\":\"\\x\"}",
            "{\"a\":\"\\ud800\"}",
            "{\"a\":\"\\udc00\"}",
            "{\"a\":\"\\u12\"}",
            "{\"a\":\"tab\there\"}",
            "{\"a\":[1,]}",
            "{\"a\":{\"b\"}}",
            "{\"a\":1} x",
            "{\"a\":1}{}",
            "{'a':1}",
        ] {
            assert!(parse_object(bad).is_err(), "{bad:?}");
            assert!(
                serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(bad).is_err(),
                "serde_json agrees: {bad:?}"
            );
        }
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(200), "]".repeat(200));
        assert_eq!(parse_object(&deep).unwrap_err().what, "nested too deeply");
        let ok = format!("{{\"a\":{}{}}}", "[".repeat(100), "]".repeat(100));
        assert!(parse_object(&ok).is_ok());
    }
}
