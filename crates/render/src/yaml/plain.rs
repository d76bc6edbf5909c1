//! Which strings serde-saphyr writes plain, decided in one byte scan each: the one decision the
//! YAML writer takes itself. Both rules are stricter than serde-saphyr's; `false` says only "ask
//! serde-saphyr". A property test holds every string they pass to serde-saphyr's plain output.

/// Whether serde-saphyr writes `s` plain as a map key, decided in one byte scan; `false` says only
/// "ask serde-saphyr". Stricter than serde-saphyr: an ASCII letter or `/` first, then letters,
/// digits, `-`, `.`, `_`, `/` and inner spaces, and none of the YAML 1.1 words.
pub(super) fn plain_key(s: &str) -> bool {
    let bytes = s.as_bytes();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    CLASS[usize::from(first)] == FIRST
        && last != b' '
        && bytes.iter().all(|&b| CLASS[usize::from(b)] != 0)
        && !is_yaml_word(s)
}

/// Whether serde-saphyr writes `s` plain as a value (a map value or a sequence item in block
/// style), decided in one byte scan; `false` says only "ask serde-saphyr". Stricter than
/// serde-saphyr: printable ASCII only; an ASCII letter or `/` first, or a digit when a letter that
/// no number or date spells follows (`30s`, `512Mi`, not `0x1f`, `1e3`, `2001-12-14t1`); no space
/// last, no `:` last, no `: `, no ` #`; none of the YAML 1.1 words.
pub(super) fn plain_value(s: &str) -> bool {
    let bytes = s.as_bytes();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    if last == b' ' || last == b':' {
        return false;
    }
    // Branch-free over the bytes: which properties all of them have, and which any of them has.
    let (all, any) = bytes.iter().fold((u8::MAX, 0u8), |(all, any), &b| {
        let class = VALUE_CLASS[usize::from(b)];
        (all & class, any | class)
    });
    if all & PRINTABLE == 0
        || (any & COLON != 0 && s.contains(": "))
        || (any & HASH != 0 && s.contains(" #"))
    {
        return false;
    }
    match CLASS[usize::from(first)] {
        FIRST => !is_yaml_word(s),
        INNER if first.is_ascii_digit() => any & NOT_A_NUMBER != 0,
        _ => false,
    }
}

/// Printable ASCII (a space to `~`).
const PRINTABLE: u8 = 1;
/// A letter that no number or date spells (not `a`-`f`, `o`, `t`, `x`, `z` in either case).
const NOT_A_NUMBER: u8 = 2;
const COLON: u8 = 4;
const HASH: u8 = 8;

/// The properties of each byte for [`plain_value`].
const VALUE_CLASS: [u8; 256] = {
    let mut class = [0; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let mut bits = 0;
        if c >= b' ' && c <= b'~' {
            bits |= PRINTABLE;
        }
        if c.is_ascii_alphabetic()
            && !matches!(
                c.to_ascii_lowercase(),
                b'a'..=b'f' | b'o' | b't' | b'x' | b'z'
            )
        {
            bits |= NOT_A_NUMBER;
        }
        if c == b':' {
            bits |= COLON;
        }
        if c == b'#' {
            bits |= HASH;
        }
        class[b] = bits;
        b += 1;
    }
    class
};

/// Words a YAML 1.1 or 1.2 reader takes for a boolean, null or number.
fn is_yaml_word(s: &str) -> bool {
    s.len() <= 5
        && [
            "y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf",
        ]
        .iter()
        .any(|word| s.eq_ignore_ascii_case(word))
}

/// May begin a plain key (and appear anywhere in it).
const FIRST: u8 = 2;
/// May appear after the first byte.
const INNER: u8 = 1;

/// The class of each byte for [`plain_key`].
const CLASS: [u8; 256] = {
    let mut class = [0; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        class[b] = if c.is_ascii_alphabetic() || c == b'/' {
            FIRST
        } else if c.is_ascii_digit() || matches!(c, b'-' | b'.' | b'_' | b' ') {
            INNER
        } else {
            0
        };
        b += 1;
    }
    class
};
