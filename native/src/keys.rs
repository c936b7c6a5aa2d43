//! Pseudonyms and date-shift offsets of one agreement, from the keys Python derived (HKDF stays
//! in Python: the keys arrive ready). Same output as `hub.agreements.keys`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const PSEUDONYM_BYTES: usize = 16;

#[derive(Clone)]
pub struct Keys {
    /// "<key_id>."
    prefix: String,
    pseudonym: HmacSha256,
    shift: HmacSha256,
}

impl Keys {
    pub fn new(key_id: &str, pseudonym_key: &[u8], shift_key: &[u8]) -> Keys {
        Keys {
            prefix: format!("{key_id}."),
            pseudonym: HmacSha256::new_from_slice(pseudonym_key).expect("HMAC takes any key"),
            shift: HmacSha256::new_from_slice(shift_key).expect("HMAC takes any key"),
        }
    }

    /// `"<key_id>.<base64url(HMAC-SHA256(data))[:16 bytes], unpadded>"`
    pub fn pseudonym(&self, data: &[u8]) -> String {
        let mut mac = self.pseudonym.clone();
        mac.update(data);
        let digest = mac.finalize().into_bytes();
        let mut out = String::with_capacity(self.prefix.len() + 22);
        out.push_str(&self.prefix);
        URL_SAFE_NO_PAD.encode_string(&digest[..PSEUDONYM_BYTES], &mut out);
        out
    }

    /// The entity's offset in days, in [-max_days, max_days].
    pub fn shift_days(&self, entity: &[u8], max_days: u64) -> i64 {
        let mut mac = self.shift.clone();
        mac.update(entity);
        let digest = mac.finalize().into_bytes();
        let head = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
        let span = 2 * max_days + 1;
        (head % span) as i64 - max_days as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonym_shape() {
        let k = Keys::new("abcd1234", b"k", b"s");
        let p = k.pseudonym(b"R-1");
        assert!(p.starts_with("abcd1234.") && p.len() == 9 + 22);
        assert!((-3..=3).contains(&k.shift_days(b"R-1", 3)));
    }
}
