//! An agreement's plan, as `hub.agreements.plan` exports it (JSON), bound to the source schema
//! the agreement was compiled against. Binding checks again that every transform fits its
//! field, and refuses what the core does not do exactly as the Python engine (a `Refusal`
//! names the field and why): that agreement then runs on the Python engine.

use crate::bucket::{Bucket, Num};
use crate::fail::{Fail, Result};
use crate::filter::{CmpOp, Expr, Operand};
use crate::keys::Keys;
use crate::schema::{Kind, Logical, NodeId, Schema};
use crate::transforms::{KeyTransform, Period, Transform, Unit};
use crate::value::Value;
use serde::Deserialize;
use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq)]
pub struct Refusal(pub String);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn refuse<T>(why: impl Into<String>) -> std::result::Result<T, Refusal> {
    Err(Refusal(why.into()))
}

// --- the JSON form ---------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct PlanJson {
    pub agreement: String,
    pub key_id: String,
    pub pseudonym_key: String,
    pub shift_key: String,
    pub key: KeyJson,
    #[serde(rename = "where")]
    pub filter: Option<ExprJson>,
    pub fields: Vec<OutJson>,
    pub output_schema: serde_json::Value,
}

#[derive(Deserialize)]
pub struct KeyJson {
    pub kind: String,
    pub constant: Option<String>,
    pub n: Option<usize>,
}

#[derive(Deserialize)]
pub struct OutJson {
    pub name: String,
    pub path: String,
    pub nullable: bool,
    pub transform: Option<TransformJson>,
    pub fields: Option<Vec<OutJson>>,
}

#[derive(Deserialize)]
pub struct TransformJson {
    pub kind: String,
    pub unit: Option<String>,
    pub n: Option<usize>,
    pub value: Option<ConstJson>,
    pub labels: Option<Vec<String>>,
    pub top: Option<String>,
    pub bounds: Option<Vec<NumJson>>,
    pub width: Option<NumJson>,
    pub res: Option<u8>,
    pub lat: Option<String>,
    pub lon: Option<String>,
    pub max_days: Option<u64>,
}

#[derive(Deserialize)]
pub struct ConstJson {
    #[serde(rename = "type")]
    pub ty: String,
    pub value: Option<serde_json::Value>,
}

/// A number as text: an int of any size, or a float's repr (`inf` and `nan` included).
#[derive(Deserialize)]
pub struct NumJson {
    pub int: Option<String>,
    pub float: Option<String>,
}

#[derive(Deserialize)]
pub struct ExprJson {
    pub all: Option<Vec<ExprJson>>,
    pub any: Option<Vec<ExprJson>>,
    pub not: Option<Box<ExprJson>>,
    pub path: Option<String>,
    pub op: Option<String>,
    pub operand: Option<OperandJson>,
    pub operands: Option<Vec<OperandJson>>,
    pub exists: Option<bool>,
}

#[derive(Deserialize)]
pub struct OperandJson {
    pub bool: Option<bool>,
    pub str: Option<String>,
    pub num: Option<NumJson>,
    pub date: Option<i64>,
    pub timestamp: Option<i64>,
    pub local_timestamp: Option<i64>,
}

// --- bound ---------------------------------------------------------------------------------

#[derive(Debug)]
pub struct OutField {
    pub name: String,
    pub path: String,
    /// index of the field in the source record of this level
    pub source: usize,
    pub nullable: bool,
    pub what: What,
}

#[derive(Debug)]
pub enum What {
    Leaf(Transform),
    Nested(Vec<OutField>),
}

pub struct Agreement {
    pub id: String,
    pub keys: Keys,
    pub key: KeyTransform,
    pub filter: Option<Expr>,
    pub fields: Vec<OutField>,
    pub output: Schema,
}

fn hex(text: &str) -> std::result::Result<Vec<u8>, Refusal> {
    if !text.len().is_multiple_of(2) {
        return refuse("a key of odd hex length");
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&text[i..i + 2], 16)
                .map_err(|_| Refusal("a key that is not hex".into()))
        })
        .collect()
}

fn num(n: &NumJson) -> std::result::Result<Num, Refusal> {
    match (&n.int, &n.float) {
        (Some(i), None) => i
            .parse::<i64>()
            .map(|i| Num::Int(i128::from(i)))
            .or_else(|_| refuse(format!("the number {i} is beyond 64 bits"))),
        (None, Some(f)) => f
            .parse::<f64>()
            .map(Num::Float)
            .or_else(|_| refuse(format!("not a float: {f}"))),
        _ => refuse("a number is an int or a float"),
    }
}

/// One record level of the source schema, as the plan walks it.
struct Level<'s> {
    schema: &'s Schema,
    record: NodeId,
}

impl<'s> Level<'s> {
    fn field(&self, name: &str) -> std::result::Result<(usize, NodeId), Refusal> {
        let Kind::Record { fields } = &self.schema.node(self.record).kind else {
            return refuse("not a record");
        };
        fields
            .iter()
            .position(|f| f.name == name)
            .map(|i| (i, fields[i].ty))
            .ok_or_else(|| Refusal(format!("no field {name} in the source schema")))
    }
}

/// Index path of a dotted path through (nullable) records; the field's type last.
pub fn resolve_path(
    schema: &Schema,
    path: &str,
) -> std::result::Result<(Vec<usize>, NodeId), Refusal> {
    let mut record = schema.root;
    let mut out = Vec::new();
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        let (i, ty) = Level { schema, record }.field(part)?;
        out.push(i);
        if parts.peek().is_none() {
            return Ok((out, ty));
        }
        let (_, inner) = schema.split_nullable(ty);
        if !matches!(schema.node(inner).kind, Kind::Record { .. }) {
            return refuse(format!("{path}: {part} is not a record"));
        }
        record = inner;
    }
    refuse("an empty path")
}

fn unit(text: Option<&str>) -> std::result::Result<Unit, Refusal> {
    Ok(match text {
        Some("hour") => Unit::Hour,
        Some("day") => Unit::Day,
        Some("month") => Unit::Month,
        Some("year") => Unit::Year,
        other => return refuse(format!("unknown unit {other:?}")),
    })
}

/// Whether a type carries only what `keep` can pass through unchanged: no logical type the
/// core keeps opaque (decimal, time of day), no union wider than null-or-one-type, no record.
fn keepable(schema: &Schema, id: NodeId, depth: usize) -> bool {
    if depth > 32 {
        return false;
    }
    let node = schema.node(id);
    match &node.kind {
        Kind::Record { .. } => false,
        Kind::Array(i) | Kind::Map(i) => keepable(schema, *i, depth + 1),
        Kind::Union(branches) => {
            schema.nullable_branch(id).is_some()
                && branches.iter().all(|b| keepable(schema, *b, depth + 1))
        }
        _ => !matches!(
            node.logical,
            Logical::Decimal | Logical::TimeMillis | Logical::TimeMicros
        ),
    }
}

struct Binder<'s> {
    source: &'s Schema,
    event_time: Option<usize>,
}

impl Binder<'_> {
    fn transform(
        &self,
        t: &TransformJson,
        path: &str,
        ty: NodeId,
    ) -> std::result::Result<Transform, Refusal> {
        let s = self.source;
        let (_, base) = s.split_nullable(ty);
        let node = s.node(base);
        let at = |what: &str| {
            Refusal(format!(
                "{path}: {} on a {} field is not the core's",
                t.kind, what
            ))
        };
        let is_str = matches!(node.kind, Kind::String) && node.logical == Logical::None;
        let is_date = matches!(node.kind, Kind::Int) && node.logical == Logical::Date;
        let is_ts = matches!(node.kind, Kind::Long) && node.logical.is_timestamp();
        Ok(match t.kind.as_str() {
            "keep" => {
                if !keepable(s, base, 0) {
                    return Err(at("record, wide union, decimal or time"));
                }
                Transform::Keep
            }
            "drop" => return refuse(format!("{path}: a dropped field has no output")),
            "redact" => {
                let c = t.value.as_ref().ok_or_else(|| at("missing constant"))?;
                Transform::Redact(match (c.ty.as_str(), &c.value) {
                    ("null", _) => Value::Null,
                    ("string", Some(serde_json::Value::String(v))) => {
                        Value::Str(Cow::Owned(v.clone()))
                    }
                    ("boolean", Some(serde_json::Value::Bool(v))) => Value::Bool(*v),
                    ("long", Some(serde_json::Value::String(v))) => {
                        Value::Int(v.parse().map_err(|_| at("constant beyond 64 bits"))?)
                    }
                    // the double's bits, so a NaN keeps its sign and payload
                    ("double", Some(serde_json::Value::String(v))) => {
                        Value::Float(f64::from_bits(v.parse().map_err(|_| at("constant"))?))
                    }
                    _ => return Err(at("constant")),
                })
            }
            "pseudonymize" => {
                let fits = match &node.kind {
                    Kind::String | Kind::Enum { .. } => node.logical == Logical::None,
                    Kind::Bytes | Kind::Fixed { .. } => node.logical != Logical::Decimal,
                    Kind::Int | Kind::Long => node.logical == Logical::None,
                    _ => false,
                };
                if !fits {
                    return Err(at(node.type_name()));
                }
                Transform::Pseudonymize
            }
            "mask" | "postcode_prefix" => {
                if !is_str {
                    return Err(at(node.type_name()));
                }
                let n = t.n.ok_or_else(|| at("missing length"))?;
                if t.kind == "mask" {
                    Transform::Mask(n)
                } else {
                    Transform::PostcodePrefix(n)
                }
            }
            "truncate" => {
                let u = unit(t.unit.as_deref())?;
                if is_ts {
                    Transform::TruncateTimestamp(u)
                } else if is_date && matches!(u, Unit::Month | Unit::Year) {
                    Transform::TruncateDate(u)
                } else {
                    return Err(at(node.type_name()));
                }
            }
            "generalize" => {
                if !(is_date || is_ts) {
                    return Err(at(node.type_name()));
                }
                Transform::Generalize(match t.unit.as_deref() {
                    Some("year") => Period::Year,
                    Some("quarter") => Period::Quarter,
                    Some("month") => Period::Month,
                    other => return refuse(format!("{path}: unknown period {other:?}")),
                })
            }
            "age_band" => {
                if !is_date {
                    return Err(at(node.type_name()));
                }
                let event_time = self
                    .event_time
                    .ok_or_else(|| at("source without occurred_at"))?;
                Transform::AgeBand {
                    labels: t.labels.clone().ok_or_else(|| at("missing labels"))?,
                    top: t.top.clone().ok_or_else(|| at("missing top label"))?,
                    event_time,
                }
            }
            "bucket" => {
                let numeric = matches!(
                    node.kind,
                    Kind::Int | Kind::Long | Kind::Float | Kind::Double
                ) && node.logical == Logical::None;
                if !numeric {
                    return Err(at(node.type_name()));
                }
                let int_field = matches!(node.kind, Kind::Int | Kind::Long);
                Transform::Bucket(match (&t.bounds, &t.width) {
                    (Some(bounds), None) => {
                        let labels = t.labels.clone().ok_or_else(|| at("missing labels"))?;
                        let bounds = bounds
                            .iter()
                            .map(num)
                            .collect::<std::result::Result<Vec<_>, _>>()?;
                        if labels.len() != bounds.len() + 1 {
                            return Err(at("labels not matching the bounds"));
                        }
                        Bucket::Bounds { bounds, labels }
                    }
                    (None, Some(w)) => match num(w)? {
                        Num::Int(i) if int_field => Bucket::IntWidth(i),
                        Num::Int(i) => Bucket::FloatWidth(Num::Int(i)),
                        Num::Float(f) if f.is_finite() && f == f.trunc() => {
                            Bucket::FloatWidth(Num::Float(f))
                        }
                        Num::Float(f) if f.is_finite() => Bucket::DecimalWidth(f),
                        Num::Float(_) => return Err(at("non-finite width")),
                    },
                    _ => return Err(at("neither bounds nor a width")),
                })
            }
            "h3" => {
                let Kind::Record { fields } = &node.kind else {
                    return Err(at(node.type_name()));
                };
                let find = |name: &Option<String>| -> std::result::Result<usize, Refusal> {
                    let name = name
                        .as_deref()
                        .ok_or_else(|| at("missing coordinate names"))?;
                    let i = fields
                        .iter()
                        .position(|f| f.name == name)
                        .ok_or_else(|| at("geo record"))?;
                    // exactly double or float, as `_geo_fields` wants (not nullable)
                    match s.node(fields[i].ty).kind {
                        Kind::Double | Kind::Float => Ok(i),
                        _ => Err(at("geo record")),
                    }
                };
                let res = t.res.ok_or_else(|| at("missing resolution"))?;
                Transform::H3 {
                    res: h3o::Resolution::try_from(res).map_err(|_| at("resolution"))?,
                    lat: find(&t.lat)?,
                    lon: find(&t.lon)?,
                }
            }
            "date_shift" => {
                if !(is_date || is_ts) {
                    return Err(at(node.type_name()));
                }
                let max = t.max_days.ok_or_else(|| at("missing shift"))?;
                if max == 0 || max > 10_000_000 {
                    return Err(at("shift out of range"));
                }
                Transform::DateShift(max)
            }
            other => return refuse(format!("{path}: unknown transform {other}")),
        })
    }

    fn fields(
        &self,
        level: NodeId,
        items: &[OutJson],
    ) -> std::result::Result<Vec<OutField>, Refusal> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let name = item.path.rsplit('.').next().unwrap_or(&item.path);
            if name != item.name {
                return refuse(format!(
                    "{}: output name {} differs from the path",
                    item.path, item.name
                ));
            }
            let (source, ty) = Level {
                schema: self.source,
                record: level,
            }
            .field(name)?;
            let (nullable, base) = self.source.split_nullable(ty);
            if nullable != item.nullable {
                return refuse(format!(
                    "{}: the core and the plan disagree on nullability",
                    item.path
                ));
            }
            let what = match (&item.transform, &item.fields) {
                (Some(t), None) => What::Leaf(self.transform(t, &item.path, ty)?),
                (None, Some(sub)) => {
                    if !matches!(self.source.node(base).kind, Kind::Record { .. }) {
                        return refuse(format!("{}: not a record", item.path));
                    }
                    What::Nested(self.fields(base, sub)?)
                }
                _ => return refuse(format!("{}: a field is a transform or a record", item.path)),
            };
            out.push(OutField {
                name: item.name.clone(),
                path: item.path.clone(),
                source,
                nullable: item.nullable,
                what,
            });
        }
        Ok(out)
    }

    fn operand(&self, o: &OperandJson, ty: NodeId) -> std::result::Result<Operand, Refusal> {
        let (_, base) = self.source.split_nullable(ty);
        let node = self.source.node(base);
        let op = match (&node.kind, node.logical) {
            (Kind::Boolean, _) => o.bool.map(Operand::Bool),
            (Kind::String, Logical::None) | (Kind::Enum { .. }, _) => {
                o.str.clone().map(Operand::Str)
            }
            (Kind::Int, Logical::Date) => o.date.map(Operand::Date),
            (Kind::Long, Logical::TimestampMillis | Logical::TimestampMicros) => {
                o.timestamp.map(Operand::Timestamp)
            }
            (Kind::Long, Logical::LocalTimestampMillis | Logical::LocalTimestampMicros) => {
                o.local_timestamp.map(Operand::LocalTimestamp)
            }
            (Kind::Int | Kind::Long, Logical::None) => match &o.num {
                Some(n) => match num(n)? {
                    Num::Int(i) => Some(Operand::Num(Num::Int(i))),
                    Num::Float(_) => None,
                },
                None => None,
            },
            (Kind::Float | Kind::Double, _) => match &o.num {
                Some(n) => Some(Operand::Num(num(n)?)),
                None => None,
            },
            _ => None,
        };
        op.ok_or_else(|| {
            Refusal(format!(
                "a filter operand the core does not compare on a {} field",
                node.type_name()
            ))
        })
    }

    fn expr(&self, e: &ExprJson) -> std::result::Result<Expr, Refusal> {
        if let Some(items) = &e.all {
            return Ok(Expr::All(
                items
                    .iter()
                    .map(|x| self.expr(x))
                    .collect::<std::result::Result<_, _>>()?,
            ));
        }
        if let Some(items) = &e.any {
            return Ok(Expr::Any(
                items
                    .iter()
                    .map(|x| self.expr(x))
                    .collect::<std::result::Result<_, _>>()?,
            ));
        }
        if let Some(inner) = &e.not {
            return Ok(Expr::Not(Box::new(self.expr(inner)?)));
        }
        let path = e
            .path
            .as_deref()
            .ok_or_else(|| Refusal("a filter without a path".into()))?;
        let (indices, ty) = resolve_path(self.source, path)?;
        if let Some(want) = e.exists {
            return Ok(Expr::Exists {
                path: indices,
                want,
            });
        }
        let op = e.op.as_deref().unwrap_or("");
        if op == "in" || op == "not_in" {
            let operands = e
                .operands
                .as_ref()
                .ok_or_else(|| Refusal(format!("{path}: {op} without operands")))?
                .iter()
                .map(|o| self.operand(o, ty))
                .collect::<std::result::Result<_, _>>()?;
            return Ok(Expr::In {
                path: indices,
                negate: op == "not_in",
                operands,
            });
        }
        let cmp = match op {
            "eq" => CmpOp::Eq,
            "ne" => CmpOp::Ne,
            "lt" => CmpOp::Lt,
            "lte" => CmpOp::Lte,
            "gt" => CmpOp::Gt,
            "gte" => CmpOp::Gte,
            other => return refuse(format!("unknown filter operator {other}")),
        };
        let (_, base) = self.source.split_nullable(ty);
        let node = self.source.node(base);
        if cmp != CmpOp::Eq
            && cmp != CmpOp::Ne
            && matches!(node.kind, Kind::Boolean | Kind::Enum { .. })
        {
            return refuse(format!("{path}: {op} on a {}", node.type_name()));
        }
        let operand = e
            .operand
            .as_ref()
            .ok_or_else(|| Refusal(format!("{path}: {op} without an operand")))?;
        Ok(Expr::Cmp {
            path: indices,
            op: cmp,
            operand: self.operand(operand, ty)?,
        })
    }
}

/// Where the source record's top-level `occurred_at` is, when it is a UTC timestamp.
pub fn event_time_field(source: &Schema) -> std::result::Result<Option<usize>, Refusal> {
    let Kind::Record { fields } = &source.node(source.root).kind else {
        return refuse("the source schema is not a record");
    };
    let Some(i) = fields.iter().position(|f| f.name == "occurred_at") else {
        return Ok(None);
    };
    let (_, base) = source.split_nullable(fields[i].ty);
    let node = source.node(base);
    Ok(match (&node.kind, node.logical) {
        (Kind::Long, Logical::TimestampMillis | Logical::TimestampMicros) => Some(i),
        (Kind::Long, l) if l.is_local_timestamp() => {
            // Python's naive datetime.timestamp() reads the machine's zone: not the core's
            return refuse("occurred_at is a local timestamp");
        }
        _ => None,
    })
}

impl Agreement {
    pub fn bind(plan: &PlanJson, source: &Schema) -> std::result::Result<Agreement, Refusal> {
        let output = Schema::from_json(&plan.output_schema)
            .map_err(|e| Refusal(format!("output schema: {e}")))?;
        let binder = Binder {
            source,
            event_time: event_time_field(source)?,
        };
        let fields = binder.fields(source.root, &plan.fields)?;
        check_output(&output, output.root, &fields)?;
        let key = match plan.key.kind.as_str() {
            "drop" => KeyTransform::Drop,
            "keep" => KeyTransform::Keep,
            "pseudonymize" => KeyTransform::Pseudonymize,
            "redact" => KeyTransform::Redact(
                plan.key
                    .constant
                    .clone()
                    .ok_or_else(|| Refusal("key redact without constant".into()))?,
            ),
            "mask" => KeyTransform::Mask(
                plan.key
                    .n
                    .ok_or_else(|| Refusal("key mask without length".into()))?,
            ),
            other => return refuse(format!("key: unknown transform {other}")),
        };
        Ok(Agreement {
            id: plan.agreement.clone(),
            keys: Keys::new(
                &plan.key_id,
                &hex(&plan.pseudonym_key)?,
                &hex(&plan.shift_key)?,
            ),
            key,
            filter: plan.filter.as_ref().map(|e| binder.expr(e)).transpose()?,
            fields,
            output,
        })
    }
}

/// The output schema must have the plan's shape: the same fields, in order, nullable where
/// the plan says, only ["null", T] unions.
fn check_output(
    schema: &Schema,
    record: NodeId,
    fields: &[OutField],
) -> std::result::Result<(), Refusal> {
    let Kind::Record { fields: out } = &schema.node(record).kind else {
        return refuse("the output schema is not a record");
    };
    if out.len() != fields.len() {
        return refuse("the output schema and the plan differ in their fields");
    }
    for (o, f) in out.iter().zip(fields) {
        if o.name != f.name {
            return refuse(format!(
                "output field {} where the plan has {}",
                o.name, f.name
            ));
        }
        let (nullable, inner) = schema.split_nullable(o.ty);
        if nullable != f.nullable {
            return refuse(format!("{}: output nullability differs", f.path));
        }
        if let Kind::Union(_) = schema.node(inner).kind {
            return refuse(format!(
                "{}: a union of several types in the output",
                f.path
            ));
        }
        if let What::Nested(sub) = &f.what {
            check_output(schema, inner, sub)?;
        }
    }
    Ok(())
}

/// A runtime failure of an output field that is null but not nullable.
pub fn missing(path: &str) -> Fail {
    Fail::transform(format!("{path} is missing or null but not nullable"))
}

pub type PlanResult<T> = Result<T>;
