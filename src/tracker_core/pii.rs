//! `hashPii`: the `email` and `phone` traits leave the page (and enter storage) only as the
//! SHA-256 of their normalised form, as ad platforms match them (an email trimmed and
//! lowercased; a phone as its digits, with the `+` of an international number kept). SHA-256 is
//! written here, in a few hundred bytes of wasm, rather than taken from a crate.

use super::json::{self, scan};
use crate::prelude::*;

/// The traits hashed.
pub const HASHED: [&str; 2] = ["email", "phone"];

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// SHA-256 of `data`, as 64 lowercase hex digits.
pub fn sha256_hex(data: &[u8]) -> String {
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in msg.chunks(64) {
        let mut w = [0u32; 64];
        for (i, c) in block.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let mut v = h;
        for i in 0..64 {
            let [a, b, c, d, e, f, g, hh] = v;
            let t1 = hh
                .wrapping_add(e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25))
                .wrapping_add((e & f) ^ (!e & g))
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let t2 = (a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22))
                .wrapping_add((a & b) ^ (a & c) ^ (b & c));
            v = [t1.wrapping_add(t2), a, b, c, d.wrapping_add(t1), e, f, g];
        }
        for (x, y) in h.iter_mut().zip(v) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = String::with_capacity(64);
    for word in h {
        for b in word.to_be_bytes() {
            for n in [b >> 4, b & 15] {
                out.push(char::from_digit(n as u32, 16).unwrap_or('0'));
            }
        }
    }
    out
}

/// The form a trait is hashed in: an email trimmed, its ASCII letters lowercased (as the
/// engage form normalises it; Unicode case tables would cost kilobytes), a phone's digits (with a
/// leading `+` kept).
pub fn normalise(trait_name: &str, value: &str) -> String {
    let v = value.trim();
    if trait_name == "phone" {
        let plus = v.starts_with('+');
        let digits = v.chars().filter(char::is_ascii_digit);
        return (if plus { Some('+') } else { None })
            .into_iter()
            .chain(digits)
            .collect();
    }
    v.to_ascii_lowercase()
}

fn is_hash(v: &str) -> bool {
    v.len() == 64 && v.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `traits` (JSON object text) with `email` and `phone` string values replaced by their hash;
/// a value that already is a SHA-256 hex digest is kept.
pub fn hash_traits(traits: &str) -> String {
    let Some(members) = scan::object_members(traits) else {
        return traits.into();
    };
    let mut out = String::from("{");
    for m in members {
        if out.len() > 1 {
            out.push(',');
        }
        out.push('"');
        out.push_str(m.key);
        out.push_str("\":");
        let name = scan::unescape(m.key).unwrap_or_default();
        match scan::string_value(m.value) {
            Some(v) if HASHED.contains(&name.as_str()) && !is_hash(&v) => {
                json::push_str(&mut out, &sha256_hex(normalise(&name, &v).as_bytes()))
            }
            _ => out.push_str(m.value),
        }
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_the_standard_vectors() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // Two blocks.
        assert_eq!(
            sha256_hex(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
    }

    #[test]
    fn email_and_phone_are_hashed_in_their_normal_form_the_rest_kept() {
        let t = hash_traits(
            r#"{"email":"  Ada@Example.COM ","phone":"+1 (555) 010-9999","plan":"pro","n":3}"#,
        );
        // Independent values (Python's hashlib) of the normal forms.
        assert_eq!(
            scan::member(&t, "email"),
            Some("\"b5fc85e55755f9e0d030a10ab4429b6b2944855f9a0d60077fe832becbc41d72\"")
        );
        assert_eq!(
            scan::member(&t, "phone"),
            Some("\"d6793cafee143dab64595a0d6ef1f17cd3e7e39c1b87fdd338410e4c71cc4aaf\"")
        );
        assert!(t.ends_with(r#""plan":"pro","n":3}"#), "{t}");
        // Hashing twice changes nothing.
        assert_eq!(hash_traits(&t), t);
    }
}
