//! `bucket`: a number to its interval label, as `hub.agreements.transforms._bucket` computes it
//! with Python's int, float and Decimal arithmetic. Where an exact answer would need numbers
//! beyond 128 bits (labels of hundreds of digits), the core defers to the Python engine.

use crate::fail::{Fail, Result};
use crate::pyfmt::{float_repr, shortest_digits};
use std::cmp::Ordering;

/// A Python number as an agreement states it (YAML int or float).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Num {
    Int(i128),
    Float(f64),
}

#[derive(Clone, Debug)]
pub enum Bucket {
    /// ascending boundaries and their labels (computed by Python)
    Bounds {
        bounds: Vec<Num>,
        labels: Vec<String>,
    },
    /// an int or long field, an int width: `v // w * w`
    IntWidth(i128),
    /// a width that is a whole number (int, or a float like 2.0): float division and floor
    FloatWidth(Num),
    /// a width with a fraction (0.5, 2.5): Decimal arithmetic
    DecimalWidth(f64),
}

/// Exact comparison of a float with an integer (Python compares them exactly).
pub fn cmp_float_int(f: f64, i: i128) -> Option<Ordering> {
    if f.is_nan() {
        return None;
    }
    if f.is_infinite() {
        return Some(if f > 0.0 {
            Ordering::Greater
        } else {
            Ordering::Less
        });
    }
    // |i| < 2^127; a float beyond that range is beyond every i
    if f >= 1.7e38 {
        return Some(Ordering::Greater);
    }
    if f <= -1.7e38 {
        return Some(Ordering::Less);
    }
    let t = f.trunc();
    let ti = t as i128; // exact: t is integral and within range
    match ti.cmp(&i) {
        Ordering::Equal => {
            let frac = f - t;
            Some(if frac > 0.0 {
                Ordering::Greater
            } else if frac < 0.0 {
                Ordering::Less
            } else {
                Ordering::Equal
            })
        }
        other => Some(other),
    }
}

/// Python's comparison of two numbers (None: NaN is involved).
pub fn cmp_num(a: Num, b: Num) -> Option<Ordering> {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => Some(x.cmp(&y)),
        (Num::Float(x), Num::Float(y)) => x.partial_cmp(&y),
        (Num::Float(x), Num::Int(y)) => cmp_float_int(x, y),
        (Num::Int(x), Num::Float(y)) => cmp_float_int(y, x).map(Ordering::reverse),
    }
}

fn lt(a: Num, b: Num) -> bool {
    cmp_num(a, b) == Some(Ordering::Less)
}

fn cannot(v: Num) -> Fail {
    let text = match v {
        Num::Int(i) => i.to_string(),
        Num::Float(f) => float_repr(f),
    };
    Fail::transform(format!("cannot bucket {text}"))
}

/// `_fmt` of a float: a whole number as an int, anything else as repr.
fn fmt_float(x: f64) -> Result<String> {
    if x.is_finite() && x == x.trunc() {
        if x.abs() < 9.0e18 {
            return Ok((x as i128).to_string());
        }
        return Err(Fail::defer("a bucket bound beyond 64 bits"));
    }
    Ok(float_repr(x))
}

fn int_label(lo: i128, w: i128) -> String {
    format!("[{lo}, {})", lo + w)
}

impl Bucket {
    pub fn apply(&self, v: Num) -> Result<String> {
        match self {
            Bucket::Bounds { bounds, labels } => {
                if let Num::Float(f) = v {
                    if f.is_nan() {
                        return Err(Fail::transform("cannot bucket NaN"));
                    }
                }
                // bisect_right, with Python's `x < a[mid]`
                let (mut lo, mut hi) = (0usize, bounds.len());
                while lo < hi {
                    let mid = (lo + hi) / 2;
                    if lt(v, bounds[mid]) {
                        hi = mid;
                    } else {
                        lo = mid + 1;
                    }
                }
                Ok(labels[lo].clone())
            }
            Bucket::IntWidth(w) => match v {
                Num::Int(i) => Ok(int_label(i.div_euclid(*w) * w, *w)),
                Num::Float(_) => Err(Fail::defer("an int width on a float")),
            },
            Bucket::FloatWidth(w) => float_width(v, *w),
            Bucket::DecimalWidth(w) => decimal_width(v, *w),
        }
    }
}

/// `lo = math.floor(v / width) * width`, then the two corrections, with Python's mixed int and
/// float arithmetic.
fn float_width(v: Num, w: Num) -> Result<String> {
    let vf = match v {
        Num::Int(i) => i as f64,
        Num::Float(f) => f,
    };
    let wf = match w {
        Num::Int(i) => i as f64,
        Num::Float(f) => f,
    };
    let x = vf / wf;
    if !x.is_finite() {
        return Err(cannot(v)); // math.floor: OverflowError (inf) or ValueError (nan)
    }
    let q = x.floor();
    match w {
        Num::Int(wi) => {
            // q is a Python int; lo = q * w stays an int
            if q.abs() >= 9.0e18 {
                return Err(Fail::defer("a bucket bound beyond 64 bits"));
            }
            let mut lo = q as i128 * wi;
            if lt(v, Num::Int(lo)) {
                lo -= wi;
            } else if !lt(v, Num::Int(lo + wi)) {
                lo += wi;
            }
            Ok(int_label(lo, wi))
        }
        Num::Float(wf) => {
            // int * float: the int (a float's floor, so exact) times the float
            let mut lo = q * wf;
            if lt(v, Num::Float(lo)) {
                lo -= wf;
            } else if !lt(v, Num::Float(lo + wf)) {
                lo += wf;
            }
            Ok(format!("[{}, {})", fmt_float(lo)?, fmt_float(lo + wf)?))
        }
    }
}

// --- Decimal --------------------------------------------------------------------------------

/// A finite Decimal: (-1)^neg × coef × 10^exp, as Python keeps it (trailing zeros count).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Dec {
    neg: bool,
    coef: u128,
    exp: i32,
}

const MAX_DIGITS: u32 = 28; // the default context's precision

fn digits(n: u128) -> u32 {
    if n == 0 {
        1
    } else {
        n.ilog10() + 1
    }
}

fn pow10(n: u32) -> Option<u128> {
    10u128.checked_pow(n)
}

/// `Decimal(repr(x))` of a finite float.
fn dec_of_float(x: f64) -> Dec {
    let neg = x.is_sign_negative();
    if x == 0.0 {
        // repr is "0.0" or "-0.0": coefficient 0, exponent -1
        return Dec {
            neg,
            coef: 0,
            exp: -1,
        };
    }
    let (ds, decpt) = shortest_digits(x);
    let n = ds.len() as i32;
    let coef: u128 = ds.parse().expect("digits");
    // repr writes fixed notation for -4 < decpt <= 16, with at least one fractional digit
    if decpt > -4 && decpt <= 16 {
        if decpt >= n {
            // "123.0": digits then zeros, ".0"
            let zeros = (decpt - n) as u32;
            return Dec {
                neg,
                coef: coef * pow10(zeros + 1).expect("small"),
                exp: -1,
            };
        }
        return Dec {
            neg,
            coef,
            exp: decpt - n,
        };
    }
    Dec {
        neg,
        coef,
        exp: decpt - n,
    }
}

fn dec_of_int(i: i128) -> Dec {
    Dec {
        neg: i < 0,
        coef: i.unsigned_abs(),
        exp: 0,
    }
}

impl Dec {
    fn is_integral(&self) -> bool {
        if self.exp >= 0 || self.coef == 0 {
            return true;
        }
        match pow10((-self.exp) as u32) {
            Some(p) => self.coef.is_multiple_of(p),
            None => false,
        }
    }

    /// `_fmt`: a whole number as `str(int(d))`, anything else as `str(d)`.
    fn fmt(&self) -> Result<String> {
        if self.is_integral() {
            let value = if self.exp >= 0 {
                pow10(self.exp as u32)
                    .and_then(|p| self.coef.checked_mul(p))
                    .ok_or_else(|| Fail::defer("a bucket bound beyond 128 bits"))?
            } else {
                self.coef / pow10((-self.exp) as u32).expect("checked")
            };
            let sign = if self.neg && value != 0 { "-" } else { "" };
            return Ok(format!("{sign}{value}"));
        }
        // Decimal.__str__ (exp < 0 here)
        let ds = self.coef.to_string();
        let left = self.exp + ds.len() as i32;
        let sign = if self.neg { "-" } else { "" };
        let body = if left > -6 {
            if left <= 0 {
                format!("0.{}{ds}", "0".repeat((-left) as usize))
            } else {
                let (a, b) = ds.split_at(left as usize);
                format!("{a}.{b}")
            }
        } else {
            let (a, b) = ds.split_at(1);
            let frac = if b.is_empty() {
                String::new()
            } else {
                format!(".{b}")
            };
            format!("{a}{frac}E{:+}", left - 1)
        };
        Ok(format!("{sign}{body}"))
    }
}

fn trailing_zeros(mut n: u128) -> u32 {
    let mut z = 0;
    while n != 0 && n.is_multiple_of(10) {
        n /= 10;
        z += 1;
    }
    z
}

fn too_big() -> Fail {
    Fail::defer("a bucket of more than 28 digits")
}

/// `(d / w).to_integral_value(ROUND_FLOOR) * w` and the label, exactly as Decimal gives it.
fn decimal_width(v: Num, width: f64) -> Result<String> {
    let d = match v {
        Num::Int(i) => dec_of_int(i),
        Num::Float(f) if !f.is_finite() => return Err(cannot(v)),
        Num::Float(f) => dec_of_float(f),
    };
    let w = dec_of_float(width); // positive, with a fraction
    let ideal = d.exp - w.exp;
    // X = d / w = ±N / D, exactly
    let (floor_abs, integral): (u128, bool) = if d.coef == 0 {
        (0, true)
    } else if ideal > 20 {
        return Err(too_big());
    } else if ideal < -21 {
        (0, false) // |X| < 1
    } else {
        let (n, den) = if ideal >= 0 {
            (
                d.coef
                    .checked_mul(pow10(ideal as u32).unwrap())
                    .ok_or_else(too_big)?,
                w.coef,
            )
        } else {
            (
                d.coef,
                w.coef
                    .checked_mul(pow10((-ideal) as u32).unwrap())
                    .ok_or_else(too_big)?,
            )
        };
        (n / den, n % den == 0)
    };
    // floor of the signed quotient
    let (q_neg, q_abs) = if d.neg && d.coef != 0 {
        (true, if integral { floor_abs } else { floor_abs + 1 })
    } else {
        (d.neg && d.coef == 0, floor_abs)
    };
    if q_abs >= 100_000_000_000_000_000_000 {
        return Err(too_big());
    }
    // the exponent the quotient keeps (Decimal division gets as close to `ideal` as it can)
    let e_q: i32 = if d.coef == 0 {
        ideal.max(0)
    } else if integral && ideal > 0 {
        ideal.min(trailing_zeros(q_abs) as i32)
    } else {
        0
    };
    let q_coef = q_abs / pow10(e_q as u32).expect("small");
    let lo_coef = q_coef.checked_mul(w.coef).ok_or_else(too_big)?;
    // the quotient may have rounded up to the next integer: that product must be exact too
    let next = (q_coef + 1).checked_mul(w.coef).ok_or_else(too_big)?;
    if digits(lo_coef) > MAX_DIGITS || digits(next) > MAX_DIGITS - 1 {
        return Err(too_big());
    }
    let lo = Dec {
        neg: q_neg,
        coef: lo_coef,
        exp: e_q + w.exp,
    };
    // hi = lo + w, at the smaller exponent (w's)
    let lo_at_w = lo_coef
        .checked_mul(pow10(e_q as u32).unwrap())
        .ok_or_else(too_big)?;
    let (hi_neg, hi_coef) = if lo.neg && lo_at_w != 0 {
        if lo_at_w > w.coef {
            (true, lo_at_w - w.coef)
        } else {
            (false, w.coef - lo_at_w)
        }
    } else {
        (false, lo_at_w + w.coef)
    };
    if digits(hi_coef) > MAX_DIGITS {
        return Err(too_big());
    }
    let hi = Dec {
        neg: hi_neg,
        coef: hi_coef,
        exp: w.exp,
    };
    Ok(format!("[{}, {})", lo.fmt()?, hi.fmt()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(b: Bucket, v: Num) -> String {
        b.apply(v).unwrap()
    }

    #[test]
    fn the_python_cases() {
        let bounds = Bucket::Bounds {
            bounds: vec![Num::Int(0), Num::Int(100_000), Num::Int(500_000)],
            labels: [
                "(-inf, 0)",
                "[0, 100000)",
                "[100000, 500000)",
                "[500000, inf)",
            ]
            .map(String::from)
            .to_vec(),
        };
        assert_eq!(run(bounds.clone(), Num::Int(100_000)), "[100000, 500000)");
        assert_eq!(run(bounds, Num::Float(-5.0)), "(-inf, 0)");
        assert_eq!(
            run(Bucket::IntWidth(1000), Num::Int(-1001)),
            "[-2000, -1000)"
        );
        assert_eq!(
            run(Bucket::FloatWidth(Num::Int(2)), Num::Float(-5e-324)),
            "[-2, 0)"
        );
        assert_eq!(run(Bucket::DecimalWidth(0.5), Num::Float(1.2)), "[1, 1.5)");
        assert_eq!(
            run(Bucket::DecimalWidth(0.1), Num::Float(0.3)),
            "[0.3, 0.4)"
        );
        assert_eq!(
            run(Bucket::DecimalWidth(0.1), Num::Float(-0.05)),
            "[-0.1, 0)"
        );
        assert_eq!(run(Bucket::DecimalWidth(2.5), Num::Float(5.0)), "[5, 7.5)");
        assert_eq!(
            run(Bucket::DecimalWidth(0.25), Num::Float(300.5)),
            "[300.50, 300.75)"
        );
        assert_eq!(
            run(Bucket::FloatWidth(Num::Int(100)), Num::Float(812.5)),
            "[800, 900)"
        );
        assert!(Bucket::FloatWidth(Num::Int(10))
            .apply(Num::Float(f64::INFINITY))
            .is_err());
    }
}
