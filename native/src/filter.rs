//! An agreement's row filter (`where:`), evaluated on the decoded record with Python's
//! comparison semantics: a missing or null value (or a null record on the way) has no value,
//! so `eq`, `in` and the order operators are false for it and `ne`, `not_in` true.

use crate::bucket::{cmp_num, Num};
use crate::fail::{Fail, Result};
use crate::value::{get_path, Value};
use std::cmp::Ordering;

/// An operand, already in the type Python's `_coerce` gave it for the field.
#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    Bool(bool),
    Str(String),
    Num(Num),
    Date(i64),
    Timestamp(i64),
    LocalTimestamp(i64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Lte,
    Gt,
    Gte,
}

#[derive(Clone, Debug)]
pub enum Expr {
    All(Vec<Expr>),
    Any(Vec<Expr>),
    Not(Box<Expr>),
    Cmp {
        path: Vec<usize>,
        op: CmpOp,
        operand: Operand,
    },
    In {
        path: Vec<usize>,
        negate: bool,
        operands: Vec<Operand>,
    },
    Exists {
        path: Vec<usize>,
        want: bool,
    },
}

fn unexpected(v: &Value<'_>) -> Fail {
    Fail::defer(format!("a filter value of an unexpected type: {v:?}"))
}

/// Python's `value <op> operand` ordering; None where Python says False to every order (NaN).
fn compare(v: &Value<'_>, operand: &Operand) -> Result<Option<Ordering>> {
    Ok(match (v, operand) {
        (Value::Str(s), Operand::Str(o)) => Some(s.as_bytes().cmp(o.as_bytes())),
        (Value::Enum(s), Operand::Str(o)) => Some(s.as_bytes().cmp(o.as_bytes())),
        (Value::Bool(b), Operand::Bool(o)) => Some(b.cmp(o)),
        (Value::Int(i), Operand::Num(n)) => cmp_num(Num::Int(i128::from(*i)), *n),
        (Value::Float(f), Operand::Num(n)) => cmp_num(Num::Float(*f), *n),
        (Value::Date(d), Operand::Date(o)) => Some(i64::from(*d).cmp(o)),
        (Value::Timestamp(t), Operand::Timestamp(o)) => Some(t.cmp(o)),
        (Value::LocalTimestamp(t), Operand::LocalTimestamp(o)) => Some(t.cmp(o)),
        _ => return Err(unexpected(v)),
    })
}

fn equal(v: &Value<'_>, operand: &Operand) -> Result<bool> {
    Ok(compare(v, operand)? == Some(Ordering::Equal))
}

impl Expr {
    pub fn matches(&self, record: &Value<'_>) -> Result<bool> {
        Ok(match self {
            Expr::All(items) => {
                for e in items {
                    if !e.matches(record)? {
                        return Ok(false);
                    }
                }
                true
            }
            Expr::Any(items) => {
                for e in items {
                    if e.matches(record)? {
                        return Ok(true);
                    }
                }
                false
            }
            Expr::Not(e) => !e.matches(record)?,
            Expr::Exists { path, want } => get_path(record, path).is_some() == *want,
            Expr::Cmp { path, op, operand } => match get_path(record, path) {
                None => *op == CmpOp::Ne,
                Some(v) => {
                    let ord = compare(v, operand)?;
                    match op {
                        CmpOp::Eq => ord == Some(Ordering::Equal),
                        CmpOp::Ne => ord != Some(Ordering::Equal),
                        CmpOp::Lt => ord == Some(Ordering::Less),
                        CmpOp::Lte => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
                        CmpOp::Gt => ord == Some(Ordering::Greater),
                        CmpOp::Gte => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
                    }
                }
            },
            Expr::In {
                path,
                negate,
                operands,
            } => match get_path(record, path) {
                None => *negate,
                Some(v) => {
                    let mut found = false;
                    for o in operands {
                        if equal(v, o)? {
                            found = true;
                            break;
                        }
                    }
                    found != *negate
                }
            },
        })
    }
}
