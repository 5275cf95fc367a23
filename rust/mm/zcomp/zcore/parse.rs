// SPDX-License-Identifier: GPL-2.0

//! Numbers as user space writes them to the block frontend's sysfs files.
//!
//! zram parses sizes with `memparse()` and numbers with `kstrtoul()` and its kin. These
//! accept the same inputs with one difference: anything after the number (and its size
//! suffix) other than the one newline `echo` adds is an error, where `memparse()` stops and
//! ignores it. A write that is not entirely understood changes nothing.

/// `s` without the one trailing newline that `echo` adds.
pub fn trim_newline(s: &[u8]) -> &[u8] {
    s.strip_suffix(b"\n").unwrap_or(s)
}

/// The digits of `s` in `radix`, at least one, with no overflow.
fn digits(s: &[u8], radix: u32) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |n, &c| {
        let d = (c as char).to_digit(radix)?;
        n.checked_mul(radix as u64)?.checked_add(d as u64)
    })
}

/// An unsigned decimal number, as `kstrtoull(s, 10)` takes it: an optional `+`, then digits.
pub fn parse_u64(s: &[u8]) -> Option<u64> {
    let s = trim_newline(s);
    digits(s.strip_prefix(b"+").unwrap_or(s), 10)
}

/// A number in C notation: `0x` hexadecimal, a leading `0` octal, otherwise decimal.
fn c_number(s: &[u8]) -> Option<u64> {
    if let Some(hex) = s.strip_prefix(b"0x").or_else(|| s.strip_prefix(b"0X")) {
        digits(hex, 16)
    } else if s.len() > 1 && s[0] == b'0' {
        digits(&s[1..], 8)
    } else {
        digits(s, 10)
    }
}

/// An unsigned number in C notation, as `kstrtoull(s, 0)` takes it: an optional `+`, then
/// the number.
pub fn parse_c_u64(s: &[u8]) -> Option<u64> {
    let s = trim_newline(s);
    c_number(s.strip_prefix(b"+").unwrap_or(s))
}

/// A signed decimal number, as `kstrtoint(s, 10)` takes it: an optional sign, then digits,
/// within `i32`.
pub fn parse_i32(s: &[u8]) -> Option<i32> {
    let s = trim_newline(s);
    let (negative, s) = match s.split_first()? {
        (b'-', rest) => (true, rest),
        (b'+', rest) => (false, rest),
        _ => (false, s),
    };
    let n = i64::try_from(digits(s, 10)?).ok()?;
    i32::try_from(if negative { -n } else { n }).ok()
}

/// A size in bytes, as `memparse()` takes it: a number in C notation and an optional binary
/// suffix from `K` to `E`. As with `memparse()`, the digits take what they can: `0x1E` is 30
/// bytes, not 1 EiB.
pub fn parse_size(s: &[u8]) -> Option<u64> {
    let s = trim_newline(s);
    if let Some(n) = c_number(s) {
        return Some(n);
    }
    let (suffix, number) = s.split_last()?;
    let shift = match suffix.to_ascii_uppercase() {
        b'K' => 10,
        b'M' => 20,
        b'G' => 30,
        b'T' => 40,
        b'P' => 50,
        b'E' => 60,
        _ => return None,
    };
    c_number(number)?.checked_mul(1u64 << shift)
}

/// The `key=value` words of a write such as `type=idle max_pages=100`, separated by white
/// space as zram's `next_arg()` splits them; a word that is not a key, `=` and a value, both
/// non-empty, comes out as `None`. zram ignores keys it does not know; callers refuse them.
pub fn key_values(s: &[u8]) -> impl Iterator<Item = Option<(&[u8], &[u8])>> {
    s.split(u8::is_ascii_whitespace)
        .filter(|word| !word.is_empty())
        .map(|word| {
            let eq = word.iter().position(|&c| c == b'=')?;
            let (key, value) = (&word[..eq], &word[eq + 1..]);
            (!key.is_empty() && !value.is_empty()).then_some((key, value))
        })
}
