//! Avro schemas as the core reads them: parsed once from JSON into an arena of nodes, named
//! types resolved by full name (a reference and its definition are the same node).
//!
//! Logical types follow fastavro's table: a logical type is honoured only on the base type
//! fastavro converts it for (`int`+`date`, `long`+`timestamp-millis`, ...); anywhere else it is
//! ignored, as fastavro ignores it.

use serde_json::Value as Json;
use std::collections::HashMap;

pub type NodeId = usize;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Logical {
    None,
    Date,
    TimestampMillis,
    TimestampMicros,
    LocalTimestampMillis,
    LocalTimestampMicros,
    TimeMillis,
    TimeMicros,
    Decimal,
    Uuid,
}

impl Logical {
    pub fn is_timestamp(self) -> bool {
        matches!(
            self,
            Logical::TimestampMillis
                | Logical::TimestampMicros
                | Logical::LocalTimestampMillis
                | Logical::LocalTimestampMicros
        )
    }

    pub fn is_local_timestamp(self) -> bool {
        matches!(
            self,
            Logical::LocalTimestampMillis | Logical::LocalTimestampMicros
        )
    }
}

#[derive(Clone, Debug)]
pub struct Field {
    pub name: String,
    pub aliases: Vec<String>,
    pub ty: NodeId,
    pub default: Option<Json>,
}

#[derive(Clone, Debug)]
pub enum Kind {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Fixed {
        size: usize,
    },
    Enum {
        symbols: Vec<String>,
        default: Option<String>,
    },
    Array(NodeId),
    Map(NodeId),
    Union(Vec<NodeId>),
    Record {
        fields: Vec<Field>,
    },
}

#[derive(Clone, Debug)]
pub struct Node {
    pub kind: Kind,
    pub logical: Logical,
    /// Full name of a named type (record, enum, fixed).
    pub name: Option<String>,
    pub aliases: Vec<String>,
    /// (precision, scale) of a decimal (`Logical::Decimal`); precision None when absent
    pub decimal: Option<(Option<i64>, i64)>,
}

impl Node {
    /// The Avro type name, as fastavro's `extract_record_type` gives it.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            Kind::Null => "null",
            Kind::Boolean => "boolean",
            Kind::Int => "int",
            Kind::Long => "long",
            Kind::Float => "float",
            Kind::Double => "double",
            Kind::Bytes => "bytes",
            Kind::String => "string",
            Kind::Fixed { .. } => "fixed",
            Kind::Enum { .. } => "enum",
            Kind::Array(_) => "array",
            Kind::Map(_) => "map",
            Kind::Union(_) => "union",
            Kind::Record { .. } => "record",
        }
    }

    pub fn is_named(&self) -> bool {
        matches!(
            self.kind,
            Kind::Fixed { .. } | Kind::Enum { .. } | Kind::Record { .. }
        )
    }

    /// The short (unqualified) name of a named type.
    pub fn short_name(&self) -> &str {
        self.name
            .as_deref()
            .map(|n| n.rsplit('.').next().unwrap_or(n))
            .unwrap_or("")
    }
}

#[derive(Clone, Debug)]
pub struct Schema {
    pub nodes: Vec<Node>,
    pub root: NodeId,
}

#[derive(Debug)]
pub struct SchemaError(pub String);

impl std::fmt::Display for SchemaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Schema {
    pub fn parse(text: &str) -> Result<Schema, SchemaError> {
        let json: Json =
            serde_json::from_str(text).map_err(|e| SchemaError(format!("invalid JSON: {e}")))?;
        Schema::from_json(&json)
    }

    pub fn from_json(json: &Json) -> Result<Schema, SchemaError> {
        let mut parser = Parser {
            nodes: Vec::new(),
            names: HashMap::new(),
        };
        let root = parser.parse(json, "")?;
        Ok(Schema {
            nodes: parser.nodes,
            root,
        })
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }

    /// For `["null", X]` (either order) the id of X; None for anything else.
    pub fn nullable_branch(&self, id: NodeId) -> Option<NodeId> {
        if let Kind::Union(branches) = &self.nodes[id].kind {
            if branches.len() == 2 {
                let null0 = matches!(self.nodes[branches[0]].kind, Kind::Null);
                let null1 = matches!(self.nodes[branches[1]].kind, Kind::Null);
                if null0 && !null1 {
                    return Some(branches[1]);
                }
                if null1 && !null0 {
                    return Some(branches[0]);
                }
            }
        }
        None
    }

    /// The type without its null branch, and whether it had one (like `split_nullable`).
    pub fn split_nullable(&self, id: NodeId) -> (bool, NodeId) {
        match self.nullable_branch(id) {
            Some(inner) => (true, inner),
            None => (false, id),
        }
    }

    /// Whether the type holds a record anywhere, or a union of several non-null types: the
    /// shapes whose values the core does not carry through `keep`.
    pub fn has_record_or_wide_union(&self, id: NodeId) -> bool {
        let mut seen = vec![false; self.nodes.len()];
        self.walk_wide(id, &mut seen)
    }

    fn walk_wide(&self, id: NodeId, seen: &mut [bool]) -> bool {
        if seen[id] {
            return false;
        }
        seen[id] = true;
        match &self.nodes[id].kind {
            Kind::Record { .. } => true,
            Kind::Array(i) | Kind::Map(i) => self.walk_wide(*i, seen),
            Kind::Union(branches) => {
                self.nullable_branch(id).is_none()
                    || branches.iter().any(|b| self.walk_wide(*b, seen))
            }
            _ => false,
        }
    }
}

struct Parser {
    nodes: Vec<Node>,
    names: HashMap<String, NodeId>,
}

const PRIMITIVES: [&str; 8] = [
    "null", "boolean", "int", "long", "float", "double", "bytes", "string",
];

fn full_name(name: &str, namespace: &str) -> String {
    if name.contains('.') || namespace.is_empty() {
        name.to_string()
    } else {
        format!("{namespace}.{name}")
    }
}

fn logical_of(base: &str, logical: Option<&str>) -> Logical {
    match (base, logical) {
        ("int", Some("date")) => Logical::Date,
        ("int", Some("time-millis")) => Logical::TimeMillis,
        ("long", Some("timestamp-millis")) => Logical::TimestampMillis,
        ("long", Some("timestamp-micros")) => Logical::TimestampMicros,
        ("long", Some("local-timestamp-millis")) => Logical::LocalTimestampMillis,
        ("long", Some("local-timestamp-micros")) => Logical::LocalTimestampMicros,
        ("long", Some("time-micros")) => Logical::TimeMicros,
        ("bytes", Some("decimal")) | ("fixed", Some("decimal")) => Logical::Decimal,
        ("string", Some("uuid")) => Logical::Uuid,
        _ => Logical::None,
    }
}

/// (precision, scale) of a decimal's attributes, scale 0 when absent (as fastavro reads them)
fn decimal_of(map: &serde_json::Map<String, Json>) -> (Option<i64>, i64) {
    let precision = map.get("precision").and_then(Json::as_i64);
    let scale = map.get("scale").and_then(Json::as_i64).unwrap_or(0);
    (precision, scale)
}

fn strings(json: Option<&Json>) -> Vec<String> {
    json.and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

impl Parser {
    fn push(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    fn primitive(&mut self, name: &str, logical: Logical) -> Option<NodeId> {
        let kind = match name {
            "null" => Kind::Null,
            "boolean" => Kind::Boolean,
            "int" => Kind::Int,
            "long" => Kind::Long,
            "float" => Kind::Float,
            "double" => Kind::Double,
            "bytes" => Kind::Bytes,
            "string" => Kind::String,
            _ => return None,
        };
        Some(self.push(Node {
            kind,
            logical,
            name: None,
            aliases: Vec::new(),
            decimal: None,
        }))
    }

    fn parse(&mut self, json: &Json, namespace: &str) -> Result<NodeId, SchemaError> {
        match json {
            Json::String(name) => {
                if let Some(id) = self.primitive(name, Logical::None) {
                    return Ok(id);
                }
                let full = full_name(name, namespace);
                self.names
                    .get(&full)
                    .or_else(|| self.names.get(name))
                    .copied()
                    .ok_or_else(|| SchemaError(format!("unknown type {name:?}")))
            }
            Json::Array(branches) => {
                let ids = branches
                    .iter()
                    .map(|b| self.parse(b, namespace))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(self.push(Node {
                    kind: Kind::Union(ids),
                    logical: Logical::None,
                    name: None,
                    aliases: Vec::new(),
                    decimal: None,
                }))
            }
            Json::Object(map) => {
                let ty = map
                    .get("type")
                    .ok_or_else(|| SchemaError("a type without \"type\"".into()))?;
                let logical = map.get("logicalType").and_then(Json::as_str);
                let ty_name = match ty {
                    Json::String(s) => s.as_str(),
                    // {"type": {"type": "string"}}: the wrapped type itself
                    other => return self.parse(other, namespace),
                };
                if PRIMITIVES.contains(&ty_name) {
                    let l = logical_of(ty_name, logical);
                    let id = self.primitive(ty_name, l).expect("a primitive");
                    if l == Logical::Decimal {
                        self.nodes[id].decimal = Some(decimal_of(map));
                    }
                    return Ok(id);
                }
                match ty_name {
                    "record" | "error" | "enum" | "fixed" => {
                        self.parse_named(ty_name, map, namespace, logical)
                    }
                    "array" => {
                        let items = map
                            .get("items")
                            .ok_or_else(|| SchemaError("array without items".into()))?;
                        let id = self.parse(items, namespace)?;
                        Ok(self.push(Node {
                            kind: Kind::Array(id),
                            logical: Logical::None,
                            name: None,
                            aliases: Vec::new(),
                            decimal: None,
                        }))
                    }
                    "map" => {
                        let values = map
                            .get("values")
                            .ok_or_else(|| SchemaError("map without values".into()))?;
                        let id = self.parse(values, namespace)?;
                        Ok(self.push(Node {
                            kind: Kind::Map(id),
                            logical: Logical::None,
                            name: None,
                            aliases: Vec::new(),
                            decimal: None,
                        }))
                    }
                    // a named type referenced as {"type": "Name"}
                    other => self.parse(&Json::String(other.to_string()), namespace),
                }
            }
            _ => Err(SchemaError(format!("not an Avro type: {json}"))),
        }
    }

    fn parse_named(
        &mut self,
        ty: &str,
        map: &serde_json::Map<String, Json>,
        namespace: &str,
        logical: Option<&str>,
    ) -> Result<NodeId, SchemaError> {
        let name = map
            .get("name")
            .and_then(Json::as_str)
            .ok_or_else(|| SchemaError(format!("a {ty} without a name")))?;
        let ns = map
            .get("namespace")
            .and_then(Json::as_str)
            .unwrap_or(namespace);
        let full = full_name(name, ns);
        let own_ns = full
            .rsplit_once('.')
            .map(|(n, _)| n)
            .unwrap_or("")
            .to_string();
        let aliases = strings(map.get("aliases"))
            .into_iter()
            .map(|a| full_name(&a, &own_ns))
            .collect();
        // Reserve the node first, so a record may refer to itself (refused later, not here).
        let id = self.push(Node {
            kind: Kind::Null,
            logical: Logical::None,
            name: Some(full.clone()),
            aliases,
            decimal: None,
        });
        self.names.insert(full.clone(), id);
        let kind = match ty {
            "enum" => Kind::Enum {
                symbols: strings(map.get("symbols")),
                default: map
                    .get("default")
                    .and_then(Json::as_str)
                    .map(str::to_string),
            },
            "fixed" => Kind::Fixed {
                size: map
                    .get("size")
                    .and_then(Json::as_u64)
                    .ok_or_else(|| SchemaError(format!("fixed {full} without a size")))?
                    as usize,
            },
            _ => {
                let raw = map
                    .get("fields")
                    .and_then(Json::as_array)
                    .ok_or_else(|| SchemaError(format!("record {full} without fields")))?;
                let mut fields = Vec::with_capacity(raw.len());
                for f in raw {
                    let fname = f
                        .get("name")
                        .and_then(Json::as_str)
                        .ok_or_else(|| SchemaError(format!("a field of {full} without a name")))?;
                    let fty = f
                        .get("type")
                        .ok_or_else(|| SchemaError(format!("field {fname} without a type")))?;
                    let ty = self.parse(fty, &own_ns)?;
                    fields.push(Field {
                        name: fname.to_string(),
                        aliases: strings(f.get("aliases")),
                        ty,
                        default: f.get("default").cloned(),
                    });
                }
                Kind::Record { fields }
            }
        };
        let base = if ty == "fixed" { "fixed" } else { "" };
        self.nodes[id].kind = kind;
        self.nodes[id].logical = logical_of(base, logical);
        if self.nodes[id].logical == Logical::Decimal {
            self.nodes[id].decimal = Some(decimal_of(map));
        }
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_types_are_shared_and_logical_types_follow_fastavro() {
        let s = Schema::parse(
            r#"{"type":"record","name":"R","namespace":"a.b","fields":[
                {"name":"x","type":{"type":"record","name":"P","fields":[{"name":"v","type":"int"}]}},
                {"name":"y","type":["null","P"]},
                {"name":"d","type":{"type":"int","logicalType":"date"}},
                {"name":"s","type":{"type":"string","logicalType":"date"}}]}"#,
        )
        .unwrap();
        let Kind::Record { fields } = &s.node(s.root).kind else {
            panic!()
        };
        assert_eq!(s.nullable_branch(fields[1].ty), Some(fields[0].ty));
        assert_eq!(s.node(fields[0].ty).name.as_deref(), Some("a.b.P"));
        assert_eq!(s.node(fields[2].ty).logical, Logical::Date);
        assert_eq!(s.node(fields[3].ty).logical, Logical::None);
    }
}
