//! Writing CSV that a spreadsheet opens as data, never as formulas.
//!
//! Excel, LibreOffice and Google Sheets run a cell that begins with `=`,
//! `+`, `-` or `@` as a formula, and a leading tab or carriage return can
//! hide one ("CSV injection"). Words typed by staff, such as an opt-out's
//! reason, may begin that way. Following OWASP's advice, such a cell gets a
//! single quote in front (which a spreadsheet shows as text) and is
//! otherwise kept exactly as it was; the `csv` crate quotes and escapes the
//! field as CSV requires. Every CSV Homeward writes goes through [`Writer`].

use std::borrow::Cow;
use std::io;

/// The characters that make a spreadsheet read a cell as a formula.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// `cell` as it is, or with a `'` in front if a spreadsheet would read it
/// as a formula.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(FORMULA_STARTS) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// A CSV writer whose every cell is [`neutralise`]d.
pub struct Writer<W: io::Write> {
    inner: csv::Writer<W>,
}

impl<W: io::Write> Writer<W> {
    pub fn from_writer(out: W) -> Self {
        Self {
            inner: csv::Writer::from_writer(out),
        }
    }

    pub fn write_record<I, T>(&mut self, record: I) -> csv::Result<()>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        self.inner.write_record(
            record
                .into_iter()
                .map(|cell| neutralise(cell.as_ref()).into_owned()),
        )
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_beginning_with_each_formula_character_gets_a_quote_in_front() {
        for start in ['=', '+', '-', '@', '\t', '\r'] {
            let cell = format!("{start}HYPERLINK(\"http://x\")");
            assert_eq!(neutralise(&cell), format!("'{cell}"), "{start:?}");
        }
    }

    #[test]
    fn other_cells_are_kept_exactly() {
        for cell in ["", "by letter", "a = b", "07400 123456", "'quoted", " =1+1"] {
            assert_eq!(neutralise(cell), cell);
        }
    }

    #[test]
    fn the_writer_neutralises_every_cell_and_still_writes_valid_csv() {
        let mut out = Writer::from_writer(Vec::new());
        out.write_record(["=1+1", "plain", "@SUM(A1), \"x\"", "-2"])
            .unwrap();
        out.flush().unwrap();
        let text = String::from_utf8(out.inner.into_inner().unwrap()).unwrap();
        assert_eq!(text, "'=1+1,plain,\"'@SUM(A1), \"\"x\"\"\",'-2\n");
        let file = format!("h1,h2,h3,h4\n{text}");
        let mut read = csv::Reader::from_reader(file.as_bytes());
        let row = read.records().next().unwrap().unwrap();
        assert_eq!(&row[2], "'@SUM(A1), \"x\"", "the rest is kept intact");
    }
}
