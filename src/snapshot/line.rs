//! Reading one case line of a snapshot: the JSON array that `row_of` writes, field by
//! field, without building a JSON tree or a serde visitor per field. Restoring a desk is
//! mostly this loop, and a dedicated reader does it several times faster than a derived
//! `Deserialize`; strings are borrowed from the snapshot text unless they hold escapes.
//!
//! It accepts exactly JSON's syntax for the values a row holds (with optional whitespace
//! between tokens) and says which field of which shape it expected where.

use std::borrow::Cow;

use serde::de::DeserializeOwned;
use serde::de::value::{Error as ValueError, StrDeserializer};

/// A cursor over one case line.
pub(super) struct Fields<'a> {
    line: &'a str,
    at: usize,
    /// How many fields were read: the next one needs a comma first.
    read: usize,
}

/// What went wrong, and where.
pub(super) type Bad = String;

impl<'a> Fields<'a> {
    /// A cursor after the line's opening `[`.
    pub(super) fn open(line: &'a str) -> Result<Fields<'a>, Bad> {
        let mut fields = Fields {
            line,
            at: 0,
            read: 0,
        };
        fields.skip_space();
        fields.expect(b'[', "a case row `[`")?;
        Ok(fields)
    }

    /// Checks that the row ends here: `]` and nothing after it.
    pub(super) fn close(mut self) -> Result<(), Bad> {
        self.skip_space();
        self.expect(b']', "the end of the row (`]`): too many fields")?;
        self.skip_space();
        if self.at != self.line.len() {
            return Err(self.bad("nothing after the row"));
        }
        Ok(())
    }

    fn bad(&self, what: &str) -> Bad {
        format!(
            "field {}: expected {what} at byte {}",
            self.read + 1,
            self.at
        )
    }

    fn peek(&self) -> Option<u8> {
        self.line.as_bytes().get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn expect(&mut self, byte: u8, what: &str) -> Result<(), Bad> {
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.bad(what))
        }
    }

    /// Moves to the start of the next field (past its comma).
    #[inline]
    fn next(&mut self) -> Result<(), Bad> {
        if self.read > 0 {
            if self.peek() == Some(b',') {
                self.at += 1; // compact rows, as `snapshot` writes them
            } else {
                self.skip_space();
                self.expect(b',', "`,` and another field: too few fields")?;
            }
        }
        self.skip_space();
        self.read += 1;
        Ok(())
    }

    fn word(&mut self, word: &str) -> bool {
        let rest = self.line.as_bytes().get(self.at..).unwrap_or_default();
        let found = rest.starts_with(word.as_bytes());
        if found {
            self.at += word.len();
        }
        found
    }

    /// `Some` field read by `read`, or `None` for `null`.
    pub(super) fn opt<T>(
        &mut self,
        read: impl FnOnce(&mut Self) -> Result<T, Bad>,
    ) -> Result<Option<T>, Bad> {
        let before = (self.at, self.read);
        self.next()?;
        if self.word("null") {
            return Ok(None);
        }
        // Not null: `read` reads this same field from its start.
        (self.at, self.read) = before;
        read(self).map(Some)
    }

    pub(super) fn boolean(&mut self) -> Result<bool, Bad> {
        self.next()?;
        if self.word("true") {
            Ok(true)
        } else if self.word("false") {
            Ok(false)
        } else {
            Err(self.bad("`true` or `false`"))
        }
    }

    /// An integer (JSON syntax: an optional minus, no leading zeros, no fraction).
    pub(super) fn int(&mut self) -> Result<i64, Bad> {
        self.next()?;
        self.bare_int()
    }

    fn bare_int(&mut self) -> Result<i64, Bad> {
        let start = self.at;
        let negative = self.peek() == Some(b'-');
        let digits = &self.line.as_bytes()[start + usize::from(negative)..];
        let length = digits.iter().take_while(|b| b.is_ascii_digit()).count();
        let after = digits.get(length).copied();
        if length == 0
            || (length > 1 && digits[0] == b'0')
            || matches!(after, Some(b'.' | b'e' | b'E'))
        {
            return Err(self.bad("an integer"));
        }
        // Eighteen digits cannot overflow; longer numbers are checked digit by digit.
        let value = digits[..length].iter().try_fold(0i64, |v, d| {
            let digit = i64::from(d - b'0');
            if length <= 18 {
                Some(v * 10 + digit)
            } else {
                v.checked_mul(10).and_then(|v| v.checked_add(digit))
            }
        });
        let value = match value {
            Some(v) if negative => Some(-v),
            v => v,
        };
        // i64::MIN itself is out of reach, and not an instant or an id anyway.
        let value = value.ok_or_else(|| self.bad("a 64-bit integer"))?;
        self.at = start + usize::from(negative) + length;
        Ok(value)
    }

    /// A non-negative integer.
    pub(super) fn uint(&mut self) -> Result<u64, Bad> {
        let n = self.int()?;
        u64::try_from(n).map_err(|_| self.bad("a non-negative integer"))
    }

    /// A string, borrowed unless it holds escapes.
    pub(super) fn text(&mut self) -> Result<Cow<'a, str>, Bad> {
        self.next()?;
        self.bare_text()
    }

    fn bare_text(&mut self) -> Result<Cow<'a, str>, Bad> {
        let start = self.at;
        self.expect(b'"', "a string")?;
        let bytes = self.line.as_bytes();
        let mut escaped = false;
        loop {
            let rest = &bytes[self.at..];
            let Some(stop) = rest
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
            else {
                self.at = start;
                return Err(self.bad("a closed string"));
            };
            self.at += stop;
            match rest[stop] {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    self.at += 2;
                }
                _ => return Err(self.bad("no control character in a string")),
            }
        }
        self.at += 1;
        if !escaped {
            return Ok(Cow::Borrowed(&self.line[start + 1..self.at - 1]));
        }
        // Escapes are rare (quotes, backslashes, control characters in names or subjects):
        // JSON's own decoder handles them.
        let text = self.line.get(start..self.at).unwrap_or_default();
        serde_json::from_str(text)
            .map(Cow::Owned)
            .map_err(|e| format!("field {}: {e}", self.read))
    }

    /// A string naming a variant of `T` (a case type, priority, channel or date).
    pub(super) fn named<T: DeserializeOwned>(&mut self, what: &str) -> Result<T, Bad> {
        let text = self.text()?;
        let de = StrDeserializer::<ValueError>::new(&text);
        T::deserialize(de).map_err(|e| format!("field {}: {what}: {e}", self.read))
    }

    /// An array of strings.
    pub(super) fn texts(&mut self) -> Result<Vec<Cow<'a, str>>, Bad> {
        self.next()?;
        self.array(Self::bare_text)
    }

    /// An array of `N` integers, each possibly `null`.
    pub(super) fn ints<const N: usize>(&mut self) -> Result<[Option<i64>; N], Bad> {
        self.next()?;
        let mut values = [None; N];
        let mut n = 0;
        let read = |f: &mut Self| {
            let value = if f.word("null") {
                None
            } else {
                Some(f.bare_int()?)
            };
            if let Some(slot) = values.get_mut(n) {
                *slot = value;
            }
            n += 1;
            Ok(())
        };
        self.array::<(), ()>(read)?;
        if n != N {
            return Err(format!(
                "field {}: expected {N} integers, not {n}",
                self.read
            ));
        }
        Ok(values)
    }

    /// Reads an array's items with `item`, collected.
    fn array<T, C: Default + Extend<T>>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<T, Bad>,
    ) -> Result<C, Bad> {
        self.expect(b'[', "an array")?;
        let mut items = C::default();
        self.skip_space();
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(items);
        }
        loop {
            self.skip_space();
            items.extend([item(self)?]);
            self.skip_space();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(items);
                }
                _ => return Err(self.bad("`,` or `]` in an array")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Fields;

    fn row(line: &str) -> Fields<'_> {
        Fields::open(line).unwrap()
    }

    #[test]
    fn reads_each_shape_of_field() {
        let mut f =
            row(r#" [ 12 , null, "a\"b\\c\u00e9", true,false,-3,["x","y"],[1,null,3],"plain"] "#);
        assert_eq!(f.uint().unwrap(), 12);
        assert_eq!(f.opt(Fields::int).unwrap(), None);
        assert_eq!(f.text().unwrap(), "a\"b\\cé");
        assert!(f.boolean().unwrap());
        assert!(!f.boolean().unwrap());
        assert_eq!(f.int().unwrap(), -3);
        assert_eq!(f.texts().unwrap(), ["x", "y"]);
        assert_eq!(f.ints::<3>().unwrap(), [Some(1), None, Some(3)]);
        assert!(matches!(
            f.text().unwrap(),
            std::borrow::Cow::Borrowed("plain")
        ));
        f.close().unwrap();
    }

    #[test]
    fn refuses_what_json_refuses() {
        for (line, why) in [
            ("[01]", "an integer"),
            ("[1.5]", "an integer"),
            ("[1e3]", "an integer"),
            ("[-]", "an integer"),
            ("[99999999999999999999]", "a 64-bit integer"),
            ("[\"open]", "a closed string"),
            ("[\"a\tb\"]", "no control character"),
            ("[\"bad \\q escape\"]", "escape"),
            ("[tru]", "`true` or `false`"),
        ] {
            let mut f = row(line);
            let err = match line.as_bytes()[1] {
                b'"' => f.text().map(|_| ()),
                b't' => f.boolean().map(|_| ()),
                _ => f.int().map(|_| ()),
            }
            .unwrap_err();
            assert!(err.contains(why), "{line}: {err}");
        }
        assert!(row("[1] x").int().is_ok());
        let mut f = row("[1] x");
        f.int().unwrap();
        assert!(f.close().unwrap_err().contains("nothing after the row"));
        let mut f = row("[1,2]");
        f.int().unwrap();
        assert!(f.close().unwrap_err().contains("too many fields"));
        let mut f = row("[1]");
        f.int().unwrap();
        assert!(f.int().unwrap_err().contains("too few fields"));
        assert!(
            row("[[1,2]]")
                .ints::<3>()
                .unwrap_err()
                .contains("expected 3 integers")
        );
    }
}
