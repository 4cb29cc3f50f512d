//! API auth tokens: generated from 32 random bytes, shown to the user once,
//! kept only as their SHA-256 hash and compared in constant time.
//!
//! A token has 256 bits of entropy, so a fast hash is enough: nobody can
//! guess one to match a leaked hash, and a slow password hash (Argon2) would
//! only add its cost to every API call.

use super::forms::{required_text, FieldErrors};
use base64::Engine;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The random bytes of a token.
pub const TOKEN_BYTES: usize = 32;
/// The length of a token's text: 32 bytes in URL-safe base64, unpadded.
pub const TOKEN_CHARS: usize = 43;
/// The length of a stored hash.
pub const HASH_BYTES: usize = 32;

/// A token's id in its brand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenId(pub i64);

impl std::fmt::Display for TokenId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The longest name a token may have.
pub const NAME_CHARS: usize = 100;

/// The form that creates a token: its name (what it is for, such as
/// "Shopify store").
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    pub name: String,
}

impl TokenForm {
    /// The trimmed name, or the message for the `name` field.
    pub fn parse(&self) -> Result<String, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = required_text(&mut errors, "name", &self.name, NAME_CHARS);
        errors.into_result(name)
    }
}

/// A new token from the thread's CSPRNG (ChaCha, seeded by the OS).
pub fn generate() -> String {
    encode(&rand::random::<[u8; TOKEN_BYTES]>())
}

/// The text of a token made of `bytes`: URL-safe base64 without padding, so
/// it can be pasted into a URL, a header or a config file as it is.
pub fn encode(bytes: &[u8; TOKEN_BYTES]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The SHA-256 hash of a token's text, as stored.
pub fn hash(token: &str) -> [u8; HASH_BYTES] {
    Sha256::digest(token.as_bytes()).into()
}

/// True when `token` hashes to `stored`, compared in constant time.
pub fn matches(token: &str, stored: &[u8]) -> bool {
    hash(token).ct_eq(stored).into()
}

/// The index of the stored hash `token` matches, if any. The token is
/// hashed once and compared with every hash in constant time (no early
/// exit), so the time taken tells nothing of which hash, if any, matched.
pub fn find<'a>(token: &str, stored: impl IntoIterator<Item = &'a [u8]>) -> Option<usize> {
    let h = hash(token);
    let mut found = None;
    for (i, s) in stored.into_iter().enumerate() {
        // `ct_eq` of slices of different lengths is false (in constant time
        // for the given lengths).
        if bool::from(h.ct_eq(s)) && found.is_none() {
            found = Some(i);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_required_and_at_most_100_characters() {
        let form = |n: &str| TokenForm { name: n.into() };
        assert_eq!(form("  Shopify store ").parse(), Ok("Shopify store".into()));
        assert_eq!(form(&"é".repeat(100)).parse(), Ok("é".repeat(100)));
        let e = form("   ").parse().expect_err("empty");
        assert_eq!(e.get("name"), Some("Required."));
        let e = form(&"x".repeat(101)).parse().expect_err("long");
        assert_eq!(e.get("name"), Some("At most 100 characters."));
    }

    #[test]
    fn tokens_are_43_url_safe_characters_and_differ() {
        let a = generate();
        let b = generate();
        assert_eq!(a.len(), TOKEN_CHARS);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'),
            "{a}"
        );
        assert_ne!(a, b);
    }

    #[test]
    fn encoding_is_unpadded_url_safe_base64() {
        let mut bytes = [0u8; TOKEN_BYTES];
        bytes[0] = 0xfb;
        bytes[1] = 0xff;
        let t = encode(&bytes);
        assert_eq!(t, "-_8AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        assert_eq!(t.len(), TOKEN_CHARS);
    }

    #[test]
    fn the_hash_is_sha256_of_the_text() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        let expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let hex: String = hash("abc").iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, expected);
        assert_eq!(hash("").len(), HASH_BYTES);
    }

    #[test]
    fn a_token_matches_only_its_own_hash() {
        let t = generate();
        let h = hash(&t);
        assert!(matches(&t, &h));
        assert!(!matches(&generate(), &h));
        // One character changed, one missing, whitespace: no match.
        let last = if t.ends_with('A') { "B" } else { "A" };
        assert!(!matches(&format!("{}{last}", &t[..TOKEN_CHARS - 1]), &h));
        assert!(!matches(&t[1..], &h));
        assert!(!matches(&format!("{t} "), &h));
        // A stored value of the wrong length never matches.
        assert!(!matches(&t, &h[..31]));
        assert!(!matches(&t, &[]));
    }

    #[test]
    fn find_names_the_matching_hash_among_several() {
        let tokens: Vec<String> = (0..4).map(|_| generate()).collect();
        let hashes: Vec<[u8; HASH_BYTES]> = tokens.iter().map(|t| hash(t)).collect();
        for (i, t) in tokens.iter().enumerate() {
            assert_eq!(find(t, hashes.iter().map(|h| &h[..])), Some(i));
        }
        assert_eq!(find(&generate(), hashes.iter().map(|h| &h[..])), None);
        assert_eq!(find(&tokens[0], std::iter::empty()), None);
        // A malformed stored value is skipped, not a match.
        let odd: Vec<&[u8]> = vec![&[1, 2, 3], &hashes[2]];
        assert_eq!(find(&tokens[2], odd), Some(1));
    }
}
