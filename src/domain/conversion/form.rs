//! `application/x-www-form-urlencoded` pairs (bodies and query strings), borrowed from the input
//! when a name or value has nothing to decode.
//!
//! As browsers and the `url` crate do: pairs are split on `&`, a pair without `=` has an empty
//! value, empty pairs are skipped, `+` is a space, and a `%` not followed by two hex digits is
//! kept as is. The decoded bytes must be UTF-8: a value that is not is refused rather than
//! patched with replacement characters (an order id or a code must arrive exactly).

use std::borrow::Cow;

/// A pair whose decoded bytes are not UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct NotUtf8 {
    /// The name as decoded (lossily), for the message.
    pub name: String,
}

/// Hands each decoded name and value of `s` to `each`, in order.
pub(super) fn parse_pairs<'a>(
    s: &'a str,
    mut each: impl FnMut(Cow<'a, str>, Cow<'a, str>),
) -> Result<(), NotUtf8> {
    for pair in s.split('&') {
        if pair.is_empty() {
            continue;
        }
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let not_utf8 = || NotUtf8 {
            name: String::from_utf8_lossy(&decode_bytes(name)).into_owned(),
        };
        let name = decode(name).ok_or_else(not_utf8)?;
        let value = decode(value).ok_or_else(not_utf8)?;
        each(name, value);
    }
    Ok(())
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn decode_bytes(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                b.get(i + 1).and_then(|&c| hex(c)),
                b.get(i + 2).and_then(|&c| hex(c)),
            ) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// Decodes one name or value; `None` when the result is not UTF-8.
fn decode(s: &str) -> Option<Cow<'_, str>> {
    if !s.bytes().any(|c| c == b'+' || c == b'%') {
        return Some(Cow::Borrowed(s));
    }
    String::from_utf8(decode_bytes(s)).ok().map(Cow::Owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    type Pair<'a> = (Cow<'a, str>, Cow<'a, str>);

    fn pairs(s: &str) -> Result<Vec<Pair<'_>>, NotUtf8> {
        let mut out = Vec::new();
        parse_pairs(s, |n, v| out.push((n, v)))?;
        Ok(out)
    }

    #[test]
    fn decodes_like_a_browser() {
        let p = pairs("a=1&&b=x+y%20z&c&d=%zz%4&e=%C3%A9&=v&f==").unwrap();
        let p: Vec<(&str, &str)> = p.iter().map(|(k, v)| (k.as_ref(), v.as_ref())).collect();
        assert_eq!(
            p,
            [
                ("a", "1"),
                ("b", "x y z"),
                ("c", ""),
                ("d", "%zz%4"),
                ("e", "é"),
                ("", "v"),
                ("f", "="),
            ]
        );
        assert!(matches!(
            &pairs("OrderId=A1").unwrap()[0].1,
            Cow::Borrowed("A1")
        ));
        assert_eq!(
            pairs("OrderId=%E9t%E9").unwrap_err(),
            NotUtf8 {
                name: "OrderId".into()
            }
        );
        assert!(pairs("").unwrap().is_empty());
    }
}
