//! Reading release and appointment CSV files exported from prison and
//! council systems.
//!
//! A file-level fault (no header, a wrong header, the wrong delimiter) stops
//! the import before anything is written. A row-level fault rejects that row
//! only, naming its line, column, value and reason, and the good rows go on.
//! Spreadsheet habits are tolerated: a UTF-8 byte-order mark, CRLF line ends,
//! quoted fields with commas, spaces around values, blank lines,
//! DD/MM/YYYY dates, and numbers kept as text (`'07911 123459`,
//! `="07911123459"`; see `domain::phone`).

use std::collections::HashMap;
use std::io::Read;

use chrono::{LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::input::{EventInput, FieldError, PersonInput, parse_local_date};
use crate::domain::MobilePolicy;
use crate::store::ImportRecord;

/// Which kind of file is being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    Releases,
    Appointments,
}

impl ImportKind {
    fn required(self) -> &'static [&'static str] {
        match self {
            Self::Releases => &["external_ref", "first_name", "mobile", "release_date"],
            Self::Appointments => &[
                "external_ref",
                "event_ref",
                "date",
                "time",
                "appointment_type",
            ],
        }
    }

    fn optional(self) -> &'static [&'static str] {
        match self {
            Self::Releases => &["language", "establishment", "status", "event_ref"],
            Self::Appointments => &["place", "status"],
        }
    }

    pub fn noun(self) -> &'static str {
        match self {
            Self::Releases => "releases",
            Self::Appointments => "appointments",
        }
    }
}

/// The event reference a release row gets when the file has none: one
/// current liberation per person, so a moved date updates it.
pub const DEFAULT_LIBERATION_REF: &str = "liberation";

/// A row that was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RowProblem {
    pub line: u64,
    #[serde(flatten)]
    pub error: FieldError,
}

/// A file that cannot be imported at all. The first line is quoted back only
/// where it is surely a header: a file without one starts with a person's
/// details, which an error must not repeat.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("the file is empty; expected a header line with the columns: {expected}")]
    Empty { expected: String },
    #[error(
        "the header is a single column: the file looks {delimiter}-separated; save it as comma-separated values (CSV)"
    )]
    WrongDelimiter { delimiter: &'static str },
    #[error("the header lacks the required column(s) {missing}; it has {found}")]
    MissingColumns { missing: String, found: String },
    #[error("the header has unknown column(s) {unknown}; the columns are: {allowed}")]
    UnknownColumns { unknown: String, allowed: String },
    #[error("the header names the column {0:?} twice")]
    DuplicateColumn(String),
    #[error("the header is not valid UTF-8 text; save the file as UTF-8")]
    NotUtf8,
    #[error("line {line}: {message}")]
    Malformed { line: u64, message: String },
}

/// Rows checked: those to write and those refused.
#[derive(Debug, Default)]
pub struct ParsedFile {
    pub records: Vec<ImportRecord>,
    /// The line each record came from, in step with `records`.
    pub lines: Vec<u64>,
    pub problems: Vec<RowProblem>,
    /// How many of the file's rows these are, written or refused.
    pub rows: usize,
}

impl ParsedFile {
    fn append(&mut self, more: ParsedFile) {
        self.records.extend(more.records);
        self.lines.extend(more.lines);
        self.problems.extend(more.problems);
        self.rows += more.rows;
    }
}

/// Read and check a whole file. `zone` is the time zone appointment times
/// are in; `mobiles` says which numbers Homeward may text.
pub fn parse(
    kind: ImportKind,
    input: impl Read,
    zone: Tz,
    mobiles: &MobilePolicy,
) -> Result<ParsedFile, FileError> {
    let file = read(kind, input)?;
    let mut parsed = ParsedFile::default();
    file.check(zone, mobiles, usize::MAX, |rows| {
        parsed.append(rows);
        true
    });
    Ok(parsed)
}

/// A file read to the end as CSV: its header names the columns its kind
/// needs and no line is malformed, so nothing left to check can refuse the
/// whole file, only rows of it. Checking the rows (each number through
/// libphonenumber) is most of a file's reading time, and an import writes
/// each batch of checked rows while the next is checked.
pub struct CsvFile {
    kind: ImportKind,
    data: Vec<u8>,
    columns: Columns,
    rows: usize,
}

/// Read a whole file as CSV, without checking its rows yet.
pub fn read(kind: ImportKind, mut input: impl Read) -> Result<CsvFile, FileError> {
    let mut data = Vec::new();
    input
        .read_to_end(&mut data)
        .map_err(|e| FileError::Malformed {
            line: 0,
            message: format!("the file could not be read: {e}"),
        })?;
    let lines = LineStarts::new(&data);
    let malformed = |e: csv::Error| FileError::Malformed {
        line: e.position().map_or(0, |p| lines.line_of(p.byte())),
        message: e.to_string(),
    };
    let mut reader = csv_reader(&data);
    let columns = Columns::read(kind, reader.byte_headers().map_err(malformed)?)?;
    let mut rows = 0;
    let mut record = csv::ByteRecord::new();
    while reader.read_byte_record(&mut record).map_err(malformed)? {
        rows += 1;
    }
    Ok(CsvFile {
        kind,
        data,
        columns,
        rows,
    })
}

fn csv_reader(data: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(data)
}

impl CsvFile {
    /// The file's rows, not counting its header.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Check every row in file order and hand them to `each` `chunk` rows
    /// at a time (the last chunk may be shorter), until `each` says stop.
    /// A row repeating an earlier one's key is refused, whichever chunk
    /// holds the first.
    pub fn check(
        &self,
        zone: Tz,
        mobiles: &MobilePolicy,
        chunk: usize,
        mut each: impl FnMut(ParsedFile) -> bool,
    ) {
        let (kind, lines) = (self.kind, LineStarts::new(&self.data));
        let mut reader = csv_reader(&self.data);
        let mut seen: HashMap<String, u64> = HashMap::new();
        let mut parsed = ParsedFile::default();
        let mut record = csv::ByteRecord::new();
        // The reader skips the header itself, and `read` found every
        // record after it readable.
        while let Ok(true) = reader.read_byte_record(&mut record) {
            let line = record.position().map_or(0, |p| lines.line_of(p.byte()));
            parsed.rows += 1;
            match self
                .columns
                .row(&record)
                .and_then(|row| row.to_record(kind, zone, mobiles))
            {
                Ok((key, rec)) => match seen.insert(key, line) {
                    Some(first) => parsed.problems.push(duplicate(kind, line, first)),
                    None => {
                        parsed.records.push(rec);
                        parsed.lines.push(line);
                    }
                },
                Err(errors) => parsed
                    .problems
                    .extend(errors.into_iter().map(|error| RowProblem { line, error })),
            }
            if parsed.rows == chunk && !each(std::mem::take(&mut parsed)) {
                return;
            }
        }
        if parsed.rows > 0 {
            each(parsed);
        }
    }
}

/// Where each line of a file starts, so a record's byte offset names the
/// line a person sees in a text editor. The csv crate counts lines itself,
/// but counts a CRLF file's lines one short and a CR-only file (old Mac
/// Excel's "CSV (Macintosh)") as one line; here CRLF, LF and a lone CR
/// each end a line.
struct LineStarts<'a> {
    data: &'a [u8],
    starts: Vec<u64>,
}

impl<'a> LineStarts<'a> {
    fn new(data: &'a [u8]) -> Self {
        let mut starts = vec![0];
        let mut i = 0;
        while i < data.len() {
            match data[i] {
                b'\r' if data.get(i + 1) == Some(&b'\n') => i += 1,
                b'\r' | b'\n' => {}
                _ => {
                    i += 1;
                    continue;
                }
            }
            i += 1;
            starts.push(i as u64);
        }
        Self { data, starts }
    }

    /// The line (from 1) holding the first byte of the record that starts
    /// at or just before `byte`: line ends the reader stopped on are
    /// skipped.
    fn line_of(&self, byte: u64) -> u64 {
        let mut at = byte as usize;
        while matches!(self.data.get(at), Some(b'\r' | b'\n')) {
            at += 1;
        }
        self.starts.partition_point(|&start| start <= at as u64) as u64
    }
}

fn duplicate(kind: ImportKind, line: u64, first: u64) -> RowProblem {
    let field = match kind {
        ImportKind::Releases => "external_ref",
        ImportKind::Appointments => "event_ref",
    };
    let reason =
        format!("repeats the record on line {first}; each record may appear once per file");
    RowProblem {
        line,
        error: FieldError::new(field, None, reason),
    }
}

/// Where each known column sits in the file.
struct Columns {
    index: HashMap<&'static str, usize>,
    width: usize,
}

impl Columns {
    fn read(kind: ImportKind, header: &csv::ByteRecord) -> Result<Self, FileError> {
        let names = header_names(header)?;
        let known: Vec<&'static str> = kind
            .required()
            .iter()
            .chain(kind.optional())
            .copied()
            .collect();
        if names.iter().all(|n| n.is_empty()) {
            return Err(FileError::Empty {
                expected: kind.required().join(","),
            });
        }
        if names.len() == 1 {
            if let Some(delimiter) = [(';', "semicolon"), ('\t', "tab"), ('|', "pipe")]
                .iter()
                .find(|(c, _)| names[0].contains(*c))
                .map(|(_, name)| *name)
            {
                return Err(FileError::WrongDelimiter { delimiter });
            }
        }
        let mut index = HashMap::new();
        let mut unknown = Vec::new();
        for (i, name) in names.iter().enumerate() {
            match known.iter().find(|k| **k == name) {
                Some(k) if index.insert(*k, i).is_some() => {
                    return Err(FileError::DuplicateColumn(name.clone()));
                }
                Some(_) => {}
                None => unknown.push(name.clone()),
            }
        }
        let missing: Vec<_> = kind
            .required()
            .iter()
            .filter(|c| !index.contains_key(*c))
            .copied()
            .collect();
        if !missing.is_empty() {
            return Err(FileError::MissingColumns {
                missing: missing.join(", "),
                found: known_columns_found(&names, &known),
            });
        }
        if !unknown.is_empty() {
            return Err(FileError::UnknownColumns {
                unknown: unknown.join(", "),
                allowed: known.join(", "),
            });
        }
        Ok(Self {
            index,
            width: names.len(),
        })
    }

    fn row<'r>(&self, record: &'r csv::ByteRecord) -> Result<Row<'r>, Vec<FieldError>> {
        if record.len() != self.width {
            let reason = format!(
                "has {} fields but the header has {}",
                record.len(),
                self.width
            );
            return Err(vec![FieldError::new("row", None, reason)]);
        }
        let mut values = HashMap::new();
        let mut errors = Vec::new();
        for (name, i) in &self.index {
            match std::str::from_utf8(&record[*i]) {
                Ok(text) => {
                    values.insert(*name, text);
                }
                Err(_) => errors.push(FieldError::new(
                    name,
                    None,
                    "is not valid UTF-8 text; save the file as UTF-8",
                )),
            }
        }
        if errors.is_empty() {
            Ok(Row { values })
        } else {
            Err(errors)
        }
    }
}

/// The known columns a faulty header has. Other names are only counted: with
/// required columns missing, the first line may be a row of data.
fn known_columns_found(names: &[String], known: &[&str]) -> String {
    let found: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|n| known.contains(n))
        .collect();
    let others = names.len() - found.len();
    let unnamed = "not repeated here, as the first line may be data rather than a header";
    match (found.is_empty(), others) {
        (true, _) => format!("no known column ({others} others, {unnamed})"),
        (false, 0) => found.join(", "),
        (false, _) => format!("{} and {others} other(s) ({unnamed})", found.join(", ")),
    }
}

/// Header names, folded so `Mobile ` and `mobile` are the same column.
fn header_names(header: &csv::ByteRecord) -> Result<Vec<String>, FileError> {
    header
        .iter()
        .enumerate()
        .map(|(i, raw)| {
            let raw = if i == 0 {
                raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw)
            } else {
                raw
            };
            let text = std::str::from_utf8(raw).map_err(|_| FileError::NotUtf8)?;
            Ok(text.trim().to_ascii_lowercase().replace([' ', '-'], "_"))
        })
        .collect()
}

/// One row's values by column name.
struct Row<'r> {
    values: HashMap<&'static str, &'r str>,
}

impl Row<'_> {
    fn get(&self, column: &str) -> Option<&str> {
        self.values.get(column).copied().filter(|v| !v.is_empty())
    }

    fn text(&self, column: &str) -> String {
        self.get(column).unwrap_or_default().to_owned()
    }

    fn owned(&self, column: &str) -> Option<String> {
        self.get(column).map(str::to_owned)
    }

    /// The record and the key that must be unique within the file.
    fn to_record(
        &self,
        kind: ImportKind,
        zone: Tz,
        mobiles: &MobilePolicy,
    ) -> Result<(String, ImportRecord), Vec<FieldError>> {
        match kind {
            ImportKind::Releases => self.release(mobiles),
            ImportKind::Appointments => self.appointment(zone),
        }
    }

    fn release(&self, mobiles: &MobilePolicy) -> Result<(String, ImportRecord), Vec<FieldError>> {
        let person = PersonInput {
            external_ref: self.text("external_ref"),
            first_name: self.text("first_name"),
            mobile: self.text("mobile"),
            language: self.owned("language"),
        };
        let event = EventInput {
            event_ref: self
                .owned("event_ref")
                .unwrap_or_else(|| DEFAULT_LIBERATION_REF.to_owned()),
            kind: "liberation".to_owned(),
            status: self.owned("status"),
            date: Some(self.text("release_date")),
            establishment: self.owned("establishment"),
            ..Default::default()
        };
        let person = person.parse(mobiles);
        let liberation = event
            .parse()
            .map_err(|errors| rename(errors, "date", "release_date"));
        match (person, liberation) {
            (Ok(person), Ok(liberation)) => {
                let key = person.external_ref.as_str().to_owned();
                Ok((key, ImportRecord::Release { person, liberation }))
            }
            (p, l) => Err(p.err().into_iter().chain(l.err()).flatten().collect()),
        }
    }

    fn appointment(&self, zone: Tz) -> Result<(String, ImportRecord), Vec<FieldError>> {
        let mut errors = Vec::new();
        let person = crate::domain::ExternalRef::parse(&self.text("external_ref"))
            .map_err(|e| errors.push(FieldError::new("external_ref", self.get("external_ref"), e)))
            .ok();
        let starts_at = self.local_instant(zone).map_err(|e| errors.push(e)).ok();
        let event = EventInput {
            event_ref: self.text("event_ref"),
            kind: "appointment".to_owned(),
            status: self.owned("status"),
            starts_at: starts_at.map(|at| at.to_rfc3339()),
            place: self.owned("place"),
            appointment_type: Some(self.text("appointment_type")),
            ..Default::default()
        };
        let appointment = event
            .parse()
            .map_err(|e| errors.extend(e.into_iter().filter(|e| e.field != "starts_at")))
            .ok();
        match (person, appointment) {
            (Some(person), Some(appointment)) if errors.is_empty() => {
                let key = format!("{}\u{0}{}", person.as_str(), appointment.event_ref.as_str());
                Ok((
                    key,
                    ImportRecord::Appointment {
                        person,
                        appointment,
                    },
                ))
            }
            _ => Err(errors),
        }
    }

    /// `date` + `time` read in the configured zone.
    fn local_instant(&self, zone: Tz) -> Result<chrono::DateTime<Utc>, FieldError> {
        let date_text = self.text("date");
        let date: NaiveDate = parse_local_date(&date_text)
            .map_err(|e| FieldError::new("date", Some(&date_text), e))?;
        let time_text = self.text("time");
        let time = NaiveTime::parse_from_str(&time_text, "%H:%M")
            .or_else(|_| NaiveTime::parse_from_str(&time_text, "%H:%M:%S"))
            .map_err(|_| {
                FieldError::new(
                    "time",
                    Some(&time_text),
                    "is not a time; write it as HH:MM (24-hour), e.g. 14:30",
                )
            })?;
        match zone.from_local_datetime(&date.and_time(time)) {
            LocalResult::Single(at) => Ok(at.with_timezone(&Utc)),
            // The earlier of the two, when clocks go back, is the one people mean
            // by default; appointments are almost never booked for 01:xx.
            LocalResult::Ambiguous(first, _) => Ok(first.with_timezone(&Utc)),
            LocalResult::None => Err(FieldError::new(
                "time",
                Some(&time_text),
                format!("does not exist on {date} in {zone} (the clocks go forward)"),
            )),
        }
    }
}

fn rename(errors: Vec<FieldError>, from: &str, to: &str) -> Vec<FieldError> {
    errors
        .into_iter()
        .map(|mut e| {
            if e.field == from {
                e.field = to.to_owned();
            }
            e
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(csv: &str) -> Result<ParsedFile, FileError> {
        let london = chrono_tz::Europe::London;
        parse(
            ImportKind::Releases,
            csv.as_bytes(),
            london,
            &MobilePolicy::uk(),
        )
    }

    fn file_error(csv: &str) -> String {
        match read(csv) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("{csv:?} was read"),
        }
    }

    #[test]
    fn rows_are_checked_a_chunk_at_a_time_and_a_repeat_in_a_later_chunk_is_refused() {
        let csv = "external_ref,first_name,mobile,release_date\n\
                   SPS-1,Ann,07911 123459,2026-12-01\n\
                   SPS-2,Bea,not a number,2026-12-01\n\
                   SPS-3,Cat,07911 123457,2026-12-01\n\
                   SPS-4,Dee,07911 123456,2026-12-01\n\
                   SPS-1,Ann,07911 123459,2026-12-01\n";
        let file = super::read(ImportKind::Releases, csv.as_bytes()).unwrap();
        assert_eq!(file.rows(), 5);
        let mut chunks = Vec::new();
        let london = chrono_tz::Europe::London;
        file.check(london, &MobilePolicy::uk(), 2, |chunk| {
            let problems: Vec<u64> = chunk.problems.iter().map(|p| p.line).collect();
            chunks.push((chunk.rows, chunk.lines, problems));
            true
        });
        assert_eq!(
            chunks,
            [
                (2, vec![2], vec![3]),
                (2, vec![4, 5], vec![]),
                (1, vec![], vec![6])
            ]
        );
        let mut asked = 0;
        file.check(london, &MobilePolicy::uk(), 2, |_| {
            asked += 1;
            false
        });
        assert_eq!(asked, 1, "checking stops when told");
    }

    #[test]
    fn lines_are_numbered_as_an_editor_shows_them_whatever_ends_them() {
        for end in ["\n", "\r\n", "\r"] {
            let csv = [
                "external_ref,first_name,mobile,release_date",
                "SPS-1,Ann,07911 123459,2026-12-01",
                "",
                "SPS-2,Bea,not a number,2026-12-01",
                "SPS-1,Ann,07911 123459,2026-12-01",
                "SPS-3,\"Cat\nMay\",07911 123457,2026-12-01",
                "SPS-4,Dee,07911 123456,2026-12-01",
            ]
            .join(end);
            let parsed = read(&csv).unwrap();
            let problems: Vec<(u64, &str)> = parsed
                .problems
                .iter()
                .map(|p| (p.line, p.error.field.as_str()))
                .collect();
            assert_eq!(
                problems,
                [(4, "mobile"), (5, "external_ref"), (6, "first_name")],
                "{end:?}"
            );
            assert_eq!(parsed.lines, [2, 8], "{end:?}");
            let repeat = parsed.problems[1].error.to_string();
            assert!(repeat.contains("line 2"), "{end:?}: {repeat}");
        }
    }

    #[test]
    fn numbers_a_spreadsheet_kept_as_text_are_read() {
        let csv = concat!(
            "external_ref,first_name,mobile,release_date\n",
            "SPS-1,Ann,'07911 123459,2026-12-01\n",
            "SPS-2,Bea,=\"07911123458\",2026-12-01\n",
            "SPS-3,Cat,\"=\"\"07911123457\"\"\",2026-12-01\n",
            "SPS-4,Dee,\u{200B}07911\u{00A0}123456\u{200E},2026-12-01\n",
        );
        let parsed = read(csv).unwrap();
        assert_eq!(parsed.problems, []);
        let mobiles: Vec<&str> = parsed
            .records
            .iter()
            .map(|r| match r {
                ImportRecord::Release { person, .. } => person.mobile.as_e164(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            mobiles,
            [
                "+447911123459",
                "+447911123458",
                "+447911123457",
                "+447911123456"
            ]
        );
    }

    #[test]
    fn a_file_without_a_header_is_refused_without_repeating_its_first_row() {
        for csv in [
            "SPS-1,Siobhan,07911 123456,2026-12-01\n",
            "SPS-1;Siobhan;07911 123456;2026-12-01\n",
            "external_ref,Siobhan,07911 123456,2026-12-01\n",
        ] {
            let message = file_error(csv);
            for personal in ["siobhan", "07911", "sps"] {
                assert!(!message.to_lowercase().contains(personal), "{message}");
            }
        }
        assert!(file_error("a;b\n").contains("semicolon"));
        let message = file_error("external_ref,siobhan,07911 123456,2026-12-01\n");
        assert!(
            message.contains("it has external_ref and 3 other(s)"),
            "{message}"
        );
    }

    #[test]
    fn unknown_columns_of_a_real_header_are_named() {
        let message = file_error("external_ref,first_name,mobile,release_date,nickname\n");
        assert!(message.contains("nickname"), "{message}");
    }
}
