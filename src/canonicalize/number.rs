//! The native profile's number form: the exact decimal value, written one way only.
//!
//! JCS (RFC 8785) prints numbers through an IEEE double, so 9007199254740993 and
//! 9007199254740992 would share a canonical form. native-v1 instead keeps every digit:
//! the value `0.D × 10^n` (D without leading or trailing zeros) is printed with
//! ECMAScript's `Number::toString` layout applied to the exact digits:
//! `k ≤ n ≤ 21` → `D` then `n−k` zeros; `0 < n ≤ 21` → `D` with a point after `n` digits;
//! `−6 < n ≤ 0` → `0.` then `−n` zeros then `D`; otherwise `d.ddd` + `e±(n−1)`.
//! Zero (any spelling, `-0` included) is `0`. So `1`, `1.0`, `1e0` and `10E-1` are all `1`.

use std::fmt::Write as _;

/// Appends the canonical form of a JSON number lexeme (already validated by the scanner).
/// Allocation-free except for exponents longer than 30 digits.
pub(crate) fn exact_decimal_into(lexeme: &[u8], out: &mut String) {
    let (neg, rest) = match lexeme.split_first() {
        Some((b'-', r)) => (true, r),
        _ => (false, lexeme),
    };
    let exp_at = rest.iter().position(|&b| b == b'e' || b == b'E');
    let (mantissa, exp_text) = match exp_at {
        Some(p) => (&rest[..p], &rest[p + 1..]),
        None => (rest, &b""[..]),
    };
    let (int_part, frac_part) = match mantissa.iter().position(|&b| b == b'.') {
        Some(p) => (&mantissa[..p], &mantissa[p + 1..]),
        None => (mantissa, &b""[..]),
    };
    // The significant digits are int_part ++ frac_part without leading/trailing zeros,
    // addressed by index instead of being copied.
    let total = int_part.len() + frac_part.len();
    let digit = |i: usize| {
        if i < int_part.len() {
            int_part[i]
        } else {
            frac_part[i - int_part.len()]
        }
    };
    let lead = (0..total).take_while(|&i| digit(i) == b'0').count();
    if lead == total {
        out.push('0');
        return;
    }
    let trail = (0..total).rev().take_while(|&i| digit(i) == b'0').count();
    let (first, last) = (lead, total - trail); // digits[first..last]
    let k = (last - first) as i128;
    let push = |out: &mut String, from: usize, to: usize| {
        for i in from..to {
            out.push(digit(i) as char);
        }
    };
    // value = 0.digits × 10^n with n = exp + int_len - lead.
    let shift = int_part.len() as i128 - lead as i128;
    let exp = BigExp::parse(exp_text);
    if neg {
        out.push('-');
    }
    match exp.small().map(|e| e + shift) {
        Some(n) if k <= n && n <= 21 => {
            push(out, first, last);
            out.extend(std::iter::repeat_n('0', (n - k) as usize));
        }
        Some(n) if 0 < n && n <= 21 => {
            push(out, first, first + n as usize);
            out.push('.');
            push(out, first + n as usize, last);
        }
        Some(n) if -6 < n && n <= 0 => {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-n) as usize));
            push(out, first, last);
        }
        _ => {
            push(out, first, first + 1);
            if k > 1 {
                out.push('.');
                push(out, first + 1, last);
            }
            out.push('e');
            exp.add_and_write(shift - 1, out);
        }
    }
}

/// An exponent of any size: JSON puts no bound on its digits.
struct BigExp<'a> {
    neg: bool,
    /// Decimal digits without leading zeros (empty for 0).
    mag: &'a [u8],
}

impl<'a> BigExp<'a> {
    /// Beyond this many digits the exponent dwarfs any shift a body can produce.
    const SMALL_DIGITS: usize = 30;

    fn parse(text: &'a [u8]) -> BigExp<'a> {
        let (neg, digits) = match text.split_first() {
            Some((b'-', r)) => (true, r),
            Some((b'+', r)) => (false, r),
            _ => (false, text),
        };
        let lead = digits.iter().take_while(|&&b| b == b'0').count();
        BigExp {
            neg,
            mag: &digits[lead..],
        }
    }

    fn small(&self) -> Option<i128> {
        if self.mag.len() > Self::SMALL_DIGITS {
            return None;
        }
        let v = self
            .mag
            .iter()
            .fold(0i128, |acc, &b| acc * 10 + (b - b'0') as i128);
        Some(if self.neg { -v } else { v })
    }

    /// Writes `self + delta` as `+N` / `-N`. `delta` is bounded by the body length.
    fn add_and_write(&self, delta: i128, out: &mut String) {
        if let Some(v) = self.small() {
            let r = v + delta;
            let _ = write!(out, "{}{}", if r < 0 { '-' } else { '+' }, r.unsigned_abs());
            return;
        }
        // |self| >= 10^30 > |delta|: the sign is self's, the magnitude is |self| ± |delta|.
        let toward_zero = (delta < 0) != self.neg;
        let mut d: Vec<u8> = self.mag.iter().map(|b| b - b'0').collect();
        let mut carry = delta.unsigned_abs();
        let mut i = d.len();
        while carry != 0 && i > 0 {
            i -= 1;
            let c = (carry % 10) as u8;
            carry /= 10;
            if toward_zero {
                if d[i] >= c {
                    d[i] -= c;
                } else {
                    d[i] = d[i] + 10 - c;
                    carry += 1;
                }
            } else {
                let s = d[i] + c;
                d[i] = s % 10;
                carry += (s / 10) as u128;
            }
        }
        out.push(if self.neg { '-' } else { '+' });
        if carry != 0 {
            let _ = write!(out, "{carry}");
        }
        let lead = if carry == 0 {
            d.iter().take_while(|&&x| x == 0).count()
        } else {
            0
        };
        out.extend(d[lead..].iter().map(|&x| (x + b'0') as char));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> String {
        let mut o = String::new();
        exact_decimal_into(s.as_bytes(), &mut o);
        o
    }

    #[test]
    fn equal_values_share_one_form() {
        for s in ["1", "1.0", "1e0", "10E-1", "0.1e1", "100e-2", "1.000E+0"] {
            assert_eq!(c(s), "1", "{s}");
        }
        for s in [
            "0",
            "-0",
            "0.0",
            "-0.0e+00",
            "0e99999999999999999999999999999999999999",
        ] {
            assert_eq!(c(s), "0", "{s}");
        }
        assert_eq!(c("9007199254740993"), "9007199254740993");
        assert_eq!(c("9007199254740992"), "9007199254740992");
        assert_eq!(c("0.5"), "0.5");
        assert_eq!(c("5e-1"), "0.5");
        assert_eq!(c("-1E2"), "-100");
        assert_eq!(c("4.096e3"), "4096");
        assert_eq!(c("1e20"), "100000000000000000000");
        assert_eq!(c("1e21"), "1e+21");
        assert_eq!(c("1e22"), "1e+22");
        assert_eq!(c("1.5e22"), "1.5e+22");
        assert_eq!(c("1e-6"), "0.000001");
        assert_eq!(c("1e-7"), "1e-7");
        assert_eq!(c("123.456e-300"), "1.23456e-298");
        assert_eq!(
            c("1.2345678901234567890123e22"),
            "1.2345678901234567890123e+22"
        );
        assert_eq!(c("123456789012345678901"), "123456789012345678901");
    }

    #[test]
    fn huge_exponents_are_exact() {
        let e = format!("1e{}", "9".repeat(40));
        assert_eq!(c(&e), format!("1e+{}", "9".repeat(40)));
        let e = format!("12.5e{}", "9".repeat(40));
        assert_eq!(c(&e), format!("1.25e+1{}", "0".repeat(40)));
        // 0.04 × 10^-(10^35) = 4 × 10^-(10^35 + 2)
        let e = format!("0.04e-1{}", "0".repeat(35));
        assert_eq!(c(&e), format!("4e-1{}2", "0".repeat(34)));
    }
}
