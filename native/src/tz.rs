//! The city's time zone, read from the same TZif file Python's `zoneinfo` reads and applied
//! the way `zoneinfo`'s reference implementation (`zoneinfo/_zoneinfo.py`) applies it: UTC to
//! local (`fromutc`, with its `fold`), local to UTC (`utcoffset` of a wall time with a fold),
//! and the POSIX TZ rule for instants after the file's last transition. Offsets in seconds.

use crate::civil::{days_from_civil, days_in_month, is_leap, weekday};

#[derive(Debug)]
pub struct TzError(pub String);

#[derive(Clone, Debug)]
enum DayRule {
    /// `Jn` (julian: true) or `n`
    Day { d: i64, julian: bool, secs: i64 },
    /// `Mm.w.d`
    Month { m: u32, w: i64, d: i64, secs: i64 },
}

impl DayRule {
    fn year_to_epoch(&self, year: i64) -> i64 {
        // zoneinfo's _post_epoch_days_before_year: days from 1970-01-01 to Jan 1, minus one
        let before_year = days_from_civil(year, 1, 1) - 1;
        match *self {
            DayRule::Day { d, julian, secs } => {
                let d = if julian && d >= 59 && is_leap(year) {
                    d + 1
                } else {
                    d
                };
                (before_year + d) * 86_400 + secs
            }
            DayRule::Month { m, w, d, secs } => {
                let first = days_from_civil(year, m, 1);
                let first_day = i64::from(weekday(first));
                let mut month_day = (d - (first_day + 1)).rem_euclid(7) + 1;
                month_day += (w - 1) * 7;
                if month_day > i64::from(days_in_month(year, m)) {
                    month_day -= 7;
                }
                (first + month_day - 1) * 86_400 + secs
            }
        }
    }
}

#[derive(Clone, Debug)]
struct Rule {
    std: i64,
    dst: i64,
    dst_diff: i64,
    start: DayRule,
    end: DayRule,
}

impl Rule {
    fn transitions(&self, year: i64) -> (i64, i64) {
        (self.start.year_to_epoch(year), self.end.year_to_epoch(year))
    }

    fn trans_info(&self, ts: i64, year: i64, fold: bool) -> i64 {
        let (mut start, mut end) = self.transitions(year);
        if fold == (self.dst_diff >= 0) {
            end -= self.dst_diff;
        } else {
            start += self.dst_diff;
        }
        let isdst = if start < end {
            start <= ts && ts < end
        } else {
            !(end <= ts && ts < start)
        };
        if isdst {
            self.dst
        } else {
            self.std
        }
    }

    fn trans_info_fromutc(&self, ts: i64, year: i64) -> (i64, bool) {
        let (mut start, mut end) = self.transitions(year);
        start -= self.std;
        end -= self.dst;
        let isdst = if start < end {
            start <= ts && ts < end
        } else {
            !(end <= ts && ts < start)
        };
        let (ambig_start, ambig_end) = if self.dst_diff > 0 {
            (end, end + self.dst_diff)
        } else {
            (start, start - self.dst_diff)
        };
        let fold = ambig_start <= ts && ts < ambig_end;
        (if isdst { self.dst } else { self.std }, fold)
    }
}

#[derive(Clone, Debug)]
enum After {
    Fixed(i64),
    Rule(Rule),
}

/// A time zone: `zoneinfo.ZoneInfo` reduced to what the transforms ask of it.
#[derive(Clone, Debug)]
pub struct Zone {
    trans_utc: Vec<i64>,
    /// utcoffset after each transition
    offsets: Vec<i64>,
    trans_local: [Vec<i64>; 2],
    before: i64,
    after: After,
}

impl Zone {
    /// Parse a TZif file (version 1 to 4), as `zoneinfo._common.load_data` does.
    pub fn from_tzif(data: &[u8]) -> Result<Zone, TzError> {
        let mut r = Reader { data, at: 0 };
        let mut header = r.header()?;
        let mut time_size = 4;
        if header.version >= 2 {
            let skip = header.timecnt * 5
                + header.typecnt * 6
                + header.charcnt
                + header.leapcnt * 8
                + header.isstdcnt
                + header.isutcnt;
            r.skip(skip)?;
            header = r.header()?;
            time_size = 8;
        }
        let mut trans_utc = Vec::with_capacity(header.timecnt);
        for _ in 0..header.timecnt {
            trans_utc.push(if time_size == 8 {
                r.i64()?
            } else {
                i64::from(r.i32()?)
            });
        }
        let trans_idx = r.bytes(header.timecnt)?.to_vec();
        let mut utcoff = Vec::with_capacity(header.typecnt);
        let mut isdst = Vec::with_capacity(header.typecnt);
        for _ in 0..header.typecnt {
            utcoff.push(i64::from(r.i32()?));
            isdst.push(r.bytes(1)?[0] != 0);
            r.bytes(1)?; // abbreviation index
        }
        r.skip(header.charcnt)?;
        let mut tz_str: Option<String> = None;
        if header.version >= 2 {
            r.skip(header.isutcnt + header.isstdcnt + header.leapcnt * 12)?;
            if r.bytes(1)? != b"\n" {
                return Err(TzError("TZif footer does not start with a newline".into()));
            }
            let rest = &data[r.at..];
            let end = rest
                .iter()
                .position(|&b| b == b'\n')
                .ok_or_else(|| TzError("TZif footer without its closing newline".into()))?;
            tz_str = Some(
                std::str::from_utf8(&rest[..end])
                    .map_err(|_| TzError("TZ string is not UTF-8".into()))?
                    .to_string(),
            );
        }
        for &i in &trans_idx {
            if usize::from(i) >= utcoff.len() {
                return Err(TzError("transition to an unknown local time type".into()));
            }
        }
        let offsets: Vec<i64> = trans_idx.iter().map(|&i| utcoff[usize::from(i)]).collect();
        let before = match isdst.iter().position(|d| !d) {
            Some(i) => utcoff[i],
            None => *offsets
                .first()
                .ok_or_else(|| TzError("no standard time in the zone".into()))?,
        };
        let after = match tz_str.as_deref() {
            Some(s) if !s.is_empty() => parse_tz_str(s)?,
            _ => After::Fixed(
                *offsets
                    .last()
                    .or(utcoff.last())
                    .ok_or_else(|| TzError("no time zone information found".into()))?,
            ),
        };
        let trans_local = ts_to_local(&trans_idx, &trans_utc, &utcoff);
        Ok(Zone {
            trans_utc,
            offsets,
            trans_local,
            before,
            after,
        })
    }

    /// `fromutc`: the offset of the UTC instant `ts` (seconds, floored) and whether its local
    /// time is the second of an ambiguous pair. `utc_year` is the instant's year in UTC.
    pub fn from_utc(&self, ts: i64, utc_year: i64) -> (i64, bool) {
        let n = self.trans_utc.len();
        if n >= 1 && ts < self.trans_utc[0] {
            return (self.before, false);
        }
        if n == 0 || ts > self.trans_utc[n - 1] {
            match &self.after {
                After::Rule(rule) => return rule.trans_info_fromutc(ts, utc_year),
                After::Fixed(off) if n == 0 => return (*off, false),
                After::Fixed(_) => {}
            }
        }
        let idx = self.trans_utc.partition_point(|&t| t <= ts);
        let (prev, off) = if n > 1 && ts >= self.trans_utc[1] {
            (self.offsets[idx - 2], self.offsets[idx - 1])
        } else if ts > self.trans_utc[n - 1] {
            let fixed = match &self.after {
                After::Fixed(off) => *off,
                After::Rule(_) => unreachable!("handled above"),
            };
            (self.offsets[n - 1], fixed)
        } else {
            (self.before, self.offsets[0])
        };
        let shift = prev - off;
        let fold = shift > ts - self.trans_utc[idx - 1];
        (off, fold)
    }

    /// `utcoffset` of a wall-clock time (seconds since 1970-01-01T00:00, floored) with `fold`.
    pub fn utc_offset(&self, local_ts: i64, local_year: i64, fold: bool) -> i64 {
        let lt = &self.trans_local[usize::from(fold)];
        let n = lt.len();
        if n > 0 && local_ts < lt[0] {
            return self.before;
        }
        if n == 0 || local_ts > lt[n - 1] {
            return match &self.after {
                After::Rule(rule) => rule.trans_info(local_ts, local_year, fold),
                After::Fixed(off) => *off,
            };
        }
        let idx = lt.partition_point(|&t| t <= local_ts) - 1;
        self.offsets[idx]
    }
}

fn ts_to_local(trans_idx: &[u8], trans_utc: &[i64], utcoff: &[i64]) -> [Vec<i64>; 2] {
    if trans_utc.is_empty() {
        return [Vec::new(), Vec::new()];
    }
    let mut wall = [trans_utc.to_vec(), trans_utc.to_vec()];
    let (mut o0, mut o1) = if utcoff.len() > 1 {
        (utcoff[0], utcoff[usize::from(trans_idx[0])])
    } else {
        (utcoff[0], utcoff[0])
    };
    if o1 > o0 {
        std::mem::swap(&mut o0, &mut o1);
    }
    wall[0][0] += o0;
    wall[1][0] += o1;
    for i in 1..trans_idx.len() {
        let mut a = utcoff[usize::from(trans_idx[i - 1])];
        let mut b = utcoff[usize::from(trans_idx[i])];
        if b > a {
            std::mem::swap(&mut a, &mut b);
        }
        wall[0][i] += a;
        wall[1][i] += b;
    }
    wall
}

struct Header {
    version: u8,
    isutcnt: usize,
    isstdcnt: usize,
    leapcnt: usize,
    timecnt: usize,
    typecnt: usize,
    charcnt: usize,
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], TzError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| TzError("truncated TZif file".into()))?;
        let out = &self.data[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn skip(&mut self, n: usize) -> Result<(), TzError> {
        self.bytes(n).map(|_| ())
    }

    fn i32(&mut self) -> Result<i32, TzError> {
        Ok(i32::from_be_bytes(
            self.bytes(4)?.try_into().expect("4 bytes"),
        ))
    }

    fn i64(&mut self) -> Result<i64, TzError> {
        Ok(i64::from_be_bytes(
            self.bytes(8)?.try_into().expect("8 bytes"),
        ))
    }

    fn count(&mut self) -> Result<usize, TzError> {
        usize::try_from(self.i32()?).map_err(|_| TzError("negative count in TZif header".into()))
    }

    fn header(&mut self) -> Result<Header, TzError> {
        if self.bytes(4)? != b"TZif" {
            return Err(TzError("invalid TZif file: magic not found".into()));
        }
        let v = self.bytes(1)?[0];
        let version = match v {
            0 => 1,
            b'2'..=b'9' => v - b'0',
            _ => return Err(TzError("unknown TZif version".into())),
        };
        self.skip(15)?;
        Ok(Header {
            version,
            isutcnt: self.count()?,
            isstdcnt: self.count()?,
            leapcnt: self.count()?,
            timecnt: self.count()?,
            typecnt: self.count()?,
            charcnt: self.count()?,
        })
    }
}

// --- the POSIX TZ string, as zoneinfo's _parse_tz_str reads it ---------------------------

fn parse_tz_str(s: &str) -> Result<After, TzError> {
    let bad = || TzError(format!("{s} is not a valid TZ string"));
    let (offset_str, rules) = match s.split_once(',') {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    };
    let mut p = Cursor {
        s: offset_str.as_bytes(),
        at: 0,
    };
    p.abbr().ok_or_else(bad)?;
    let std = match p.offset() {
        Some(o) => o?,
        None if p.at == p.s.len() => 0,
        None => return Err(bad()), // a DST part needs the standard offset first
    };
    if p.at == p.s.len() {
        if rules.is_some() {
            return Err(TzError(format!("Transition rule present without DST: {s}")));
        }
        return Ok(After::Fixed(std));
    }
    p.abbr().ok_or_else(bad)?;
    let dst = match p.offset() {
        Some(o) => o?,
        None => std + 3600,
    };
    if p.at != p.s.len() {
        return Err(bad());
    }
    let rules = rules.ok_or_else(|| TzError(format!("Missing transition rules: {s}")))?;
    let (a, b) = rules
        .split_once(',')
        .ok_or_else(|| TzError(format!("Invalid TZ string: {s}")))?;
    Ok(After::Rule(Rule {
        std,
        dst,
        dst_diff: dst - std,
        start: parse_day_rule(a).ok_or_else(|| TzError(format!("Invalid TZ string: {s}")))?,
        end: parse_day_rule(b).ok_or_else(|| TzError(format!("Invalid TZ string: {s}")))?,
    }))
}

struct Cursor<'a> {
    s: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    /// `[^<0-9:.+-]+` or `<[a-zA-Z0-9+-]+>`
    fn abbr(&mut self) -> Option<()> {
        let start = self.at;
        if self.s.get(self.at) == Some(&b'<') {
            self.at += 1;
            while let Some(&c) = self.s.get(self.at) {
                if c.is_ascii_alphanumeric() || c == b'+' || c == b'-' {
                    self.at += 1;
                } else {
                    break;
                }
            }
            if self.s.get(self.at) != Some(&b'>') || self.at == start + 1 {
                return None;
            }
            self.at += 1;
            return Some(());
        }
        while let Some(&c) = self.s.get(self.at) {
            if c.is_ascii_digit() || b"<:.+-".contains(&c) {
                break;
            }
            self.at += 1;
        }
        (self.at > start).then_some(())
    }

    /// `[+-]?\d{1,3}(:\d{2}(:\d{2})?)?`, as a UTC offset ("+5" is five hours west)
    fn offset(&mut self) -> Option<Result<i64, TzError>> {
        let start = self.at;
        let (sign, h, m, sec) = parse_hms(self.s, &mut self.at)?;
        if h > 24 {
            let text = String::from_utf8_lossy(&self.s[start..self.at]).into_owned();
            return Some(Err(TzError(format!(
                "Offset hours must be in [0, 24]: {text}"
            ))));
        }
        let total = h * 3600 + m * 60 + sec;
        Some(Ok(if sign < 0 { total } else { -total }))
    }
}

/// `[+-]?\d{1,3}(:\d{2}(:\d{2})?)?` at `*at`: (sign, h, m, s); None (and `*at` unchanged) if
/// there is none.
fn parse_hms(s: &[u8], at: &mut usize) -> Option<(i64, i64, i64, i64)> {
    let mut i = *at;
    let mut sign = 1;
    if matches!(s.get(i), Some(b'+') | Some(b'-')) {
        if s[i] == b'-' {
            sign = -1;
        }
        i += 1;
    }
    let digits = |i: &mut usize, min: usize, max: usize| -> Option<i64> {
        let start = *i;
        while *i < s.len() && *i - start < max && s[*i].is_ascii_digit() {
            *i += 1;
        }
        if *i - start < min {
            return None;
        }
        std::str::from_utf8(&s[start..*i]).ok()?.parse().ok()
    };
    let h = digits(&mut i, 1, 3)?;
    let mut m = 0;
    let mut sec = 0;
    if s.get(i) == Some(&b':') {
        let mut j = i + 1;
        if let Some(v) = digits(&mut j, 2, 2) {
            m = v;
            i = j;
            if s.get(i) == Some(&b':') {
                let mut k = i + 1;
                if let Some(v) = digits(&mut k, 2, 2) {
                    sec = v;
                    i = k;
                }
            }
        }
    }
    *at = i;
    Some((sign, h, m, sec))
}

fn parse_day_rule(text: &str) -> Option<DayRule> {
    let (date, time) = match text.split_once('/') {
        Some((d, t)) => (d, Some(t)),
        None => (text, None),
    };
    let secs = match time {
        Some(t) => {
            let b = t.as_bytes();
            let mut at = 0;
            let (sign, h, m, s) = parse_hms(b, &mut at)?;
            if at != b.len() || h > 167 {
                return None;
            }
            sign * (h * 3600 + m * 60 + s)
        }
        None => 2 * 3600,
    };
    let bytes = date.as_bytes();
    if bytes.first() == Some(&b'M') {
        // M(\d{1,2})\.(\d).(\d) -- the second separator is any character, as in zoneinfo
        let rest = &date[1..];
        let (m, rest) = rest.split_once('.')?;
        if m.is_empty() || m.len() > 2 || !m.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let r = rest.as_bytes();
        if r.len() != 3 || !r[0].is_ascii_digit() || !r[2].is_ascii_digit() {
            return None;
        }
        let m: u32 = m.parse().ok()?;
        let w = i64::from(r[0] - b'0');
        let d = i64::from(r[2] - b'0');
        if !(1..=12).contains(&m) || !(1..=5).contains(&w) || !(0..=6).contains(&d) {
            return None;
        }
        return Some(DayRule::Month { m, w, d, secs });
    }
    let (julian, digits) = match date.strip_prefix('J') {
        Some(d) => (true, d),
        None => (false, date),
    };
    let d: i64 = digits.trim().parse().ok()?;
    let min = i64::from(julian);
    if !(min..=365).contains(&d) {
        return None;
    }
    Some(DayRule::Day { d, julian, secs })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn berlin_rule_from_its_tz_string() {
        let After::Rule(rule) = parse_tz_str("CET-1CEST,M3.5.0,M10.5.0/3").unwrap() else {
            panic!("a rule")
        };
        assert_eq!((rule.std, rule.dst), (3600, 7200));
        // 2026: DST from Mar 29 01:00 UTC to Oct 25 01:00 UTC
        let mar29 = days_from_civil(2026, 3, 29) * 86_400;
        assert_eq!(
            rule.trans_info_fromutc(mar29 + 3600 - 1, 2026),
            (3600, false)
        );
        assert_eq!(rule.trans_info_fromutc(mar29 + 3600, 2026), (7200, false));
        let oct25 = days_from_civil(2026, 10, 25) * 86_400;
        assert_eq!(rule.trans_info_fromutc(oct25 + 3600, 2026), (3600, true));
        assert_eq!(rule.trans_info_fromutc(oct25 + 7200, 2026), (3600, false));
    }

    #[test]
    fn fixed_zone() {
        assert!(matches!(parse_tz_str("UTC0").unwrap(), After::Fixed(0)));
        assert!(matches!(
            parse_tz_str("<+0530>-5:30").unwrap(),
            After::Fixed(19_800)
        ));
    }
}
