//! Small text encodings shared by the layers (no HTTP, no SQL).

/// Percent-encodes `s` for a URL: ASCII letters, digits, `-`, `_`, `.`, `~`
/// and `/` stay, every other byte becomes `%XX` (a path or a `next=` value
/// keeps its slashes; a socket directory fits in a connection URL).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::percent_encode;

    #[test]
    fn only_unreserved_characters_and_slashes_stay() {
        assert_eq!(
            percent_encode("/codes?page=2&q=a b"),
            "/codes%3Fpage%3D2%26q%3Da%20b"
        );
        assert_eq!(percent_encode("/tmp/pd-1.x~"), "/tmp/pd-1.x~");
        assert_eq!(percent_encode("é"), "%C3%A9");
    }
}
