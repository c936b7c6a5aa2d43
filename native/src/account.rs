//! What the router records beside its deliveries, for each event it routes: a receipt entry
//! (keyed hashes of the direct identifiers, `hub.receipts`) and quality figures (late events,
//! null shares, ce_id fingerprints). Same output as `hub.receipts` and
//! `consumers.router.process` (`Accounting`).

use crate::encode::write_long;
use crate::plan::{resolve_path, Refusal};
use crate::schema::{Kind, Logical, Schema};
use crate::value::{get_path, Value};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

pub const HASH_BYTES: usize = 16;

/// The direct identifiers of a source schema, and the receipts key.
pub struct Receipts {
    mac: HmacSha256,
    paths: Vec<Vec<usize>>,
    /// the encoded entries of one receipt record stay below this (Kafka's message size)
    pub chunk_bytes: usize,
}

impl Receipts {
    /// `paths`: dotted paths of string, int or long fields (nullable or not) through records.
    pub fn new(
        schema: &Schema,
        key: &[u8],
        paths: &[String],
        chunk_bytes: usize,
    ) -> Result<Receipts, Refusal> {
        let mut resolved = Vec::with_capacity(paths.len());
        for path in paths {
            let (at, ty) = resolve_path(schema, path)?;
            let (_, inner) = schema.split_nullable(ty);
            let node = schema.node(inner);
            match (&node.kind, node.logical) {
                (Kind::String | Kind::Int | Kind::Long, Logical::None) => resolved.push(at),
                _ => {
                    return Err(Refusal(format!(
                        "{path}: not a string, int or long identifier"
                    )))
                }
            }
        }
        Ok(Receipts {
            mac: HmacSha256::new_from_slice(key).expect("HMAC takes any key"),
            paths: resolved,
            chunk_bytes,
        })
    }

    /// One `ReceiptEntry` in Avro binary (`hub.receipts.encode_entry`).
    pub fn entry(&self, record: &Value<'_>, offset: i64, millis: i64, out: &mut Vec<u8>) {
        write_long(out, offset);
        write_long(out, millis);
        if !self.paths.is_empty() {
            write_long(out, self.paths.len() as i64);
            let mut digits = String::new();
            for path in &self.paths {
                let data: Option<&[u8]> = match get_path(record, path) {
                    Some(Value::Str(s)) => Some(s.as_bytes()),
                    Some(Value::Int(n)) => {
                        digits.clear();
                        digits.push_str(&n.to_string());
                        Some(digits.as_bytes())
                    }
                    _ => None,
                };
                match data {
                    None => out.push(0),
                    Some(data) => {
                        let mut mac = self.mac.clone();
                        mac.update(data);
                        out.push(2);
                        out.extend_from_slice(&mac.finalize().into_bytes()[..HASH_BYTES]);
                    }
                }
            }
        }
        out.push(0);
    }
}

/// The optional fields of a source schema and when an event is late.
pub struct Quality {
    optional: Vec<Vec<usize>>,
    late_after_us: i64,
}

/// The figures of one batch (`consumers.router.process.Measured`).
#[derive(Default)]
pub struct Measured {
    pub late: u64,
    pub nulls: Vec<u64>,
}

impl Quality {
    pub fn new(
        schema: &Schema,
        optional: &[String],
        late_after_us: i64,
    ) -> Result<Quality, Refusal> {
        let mut resolved = Vec::with_capacity(optional.len());
        for path in optional {
            resolved.push(resolve_path(schema, path)?.0);
        }
        Ok(Quality {
            optional: resolved,
            late_after_us,
        })
    }

    pub fn start(&self) -> Measured {
        Measured {
            late: 0,
            nulls: vec![0; self.optional.len()],
        }
    }

    /// Count a decoded event; `event_us`: its `occurred_at` (a UTC timestamp), if any.
    pub fn count(
        &self,
        record: &Value<'_>,
        event_us: Option<i64>,
        timestamp_ms: i64,
        m: &mut Measured,
    ) {
        if let Some(us) = event_us {
            if i128::from(timestamp_ms) * 1000 - i128::from(us) > i128::from(self.late_after_us) {
                m.late += 1;
            }
        }
        for (i, path) in self.optional.iter().enumerate() {
            if get_path(record, path).is_none() {
                m.nulls[i] += 1;
            }
        }
    }
}

/// 64 bits of SHA-256 of a ce_id (`hub.quality.summary.fingerprint`).
pub fn fingerprint(ce_id: &[u8]) -> u64 {
    let digest = Sha256::digest(ce_id);
    u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_hashes_identifiers_and_writes_null_for_absent_ones() {
        let schema = Schema::parse(
            r#"{"type":"record","name":"R","fields":[
                {"name":"id","type":"string"},{"name":"mail","type":["null","string"]}]}"#,
        )
        .unwrap();
        let r = Receipts::new(&schema, b"key", &["id".into(), "mail".into()], 1 << 16).unwrap();
        let record = Value::Record(vec![Value::Str("R-1".into()), Value::Null]);
        let mut out = Vec::new();
        r.entry(&record, 3, 1000, &mut out);
        // offset 3 (6), millis 1000 (zig-zag 2000 = d0 0f), 2 items (4), hash, null, end
        assert_eq!(&out[..5], &[6, 0xd0, 0x0f, 4, 2]);
        assert_eq!(out.len(), 5 + HASH_BYTES + 2);
        assert_eq!(&out[5 + HASH_BYTES..], &[0, 0]);
    }

    #[test]
    fn a_date_is_no_identifier() {
        let schema = Schema::parse(
            r#"{"type":"record","name":"R","fields":[
                {"name":"d","type":{"type":"int","logicalType":"date"}}]}"#,
        )
        .unwrap();
        assert!(Receipts::new(&schema, b"k", &["d".into()], 1 << 16).is_err());
    }
}
