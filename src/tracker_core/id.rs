//! Identifiers: UUID v4 text from caller-supplied random bytes, and the check a stored id must
//! pass to be used again.

use crate::prelude::*;

/// Formats 16 random bytes as a version-4, RFC 4122 variant UUID (lowercase, hyphenated).
pub fn uuid_v4(mut b: [u8; 16]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut s = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push(HEX[(byte >> 4) as usize] as char);
        s.push(HEX[(byte & 0xf) as usize] as char);
    }
    s
}

/// Whether `s` is an acceptable stored identifier: 1 to 128 printable ASCII characters.
pub fn is_valid_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| (0x21..0x7f).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_and_variant_bits() {
        let u = uuid_v4([0xff; 16]);
        assert_eq!(u, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        let u = uuid_v4([0; 16]);
        assert_eq!(u, "00000000-0000-4000-8000-000000000000");
        assert!(is_valid_id(&u));
    }

    #[test]
    fn id_validation() {
        assert!(!is_valid_id(""));
        assert!(!is_valid_id("has space"));
        assert!(!is_valid_id(&"x".repeat(129)));
        assert!(is_valid_id("user-42@example.com"));
    }
}
