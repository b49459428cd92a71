//! `ingest::csv_file::parse` on any bytes, as a release file and as an
//! appointment file, with times in Europe/London.
//!
//! Properties: it never panics; it either refuses the file or returns
//! records and problems whose lines are data lines of the file (after the
//! header, at most one past the last line end of any style), records in file order,
//! one line per record; and a refused name or reference is never quoted
//! back.
#![no_main]

use chrono_tz::Europe::London;
use homeward::domain::MobilePolicy;
use homeward::ingest::csv_file::{self, FileError, ImportKind, ParsedFile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let last_line = line_breaks(data) + 1;
    for kind in [ImportKind::Releases, ImportKind::Appointments] {
        match csv_file::parse(kind, data, London, &MobilePolicy::uk()) {
            Ok(parsed) => read(&parsed, last_line),
            Err(FileError::Malformed { line, .. }) => {
                assert!(line <= last_line, "malformed at line {line} of {last_line}")
            }
            Err(_) => {}
        }
    }
});

/// Line ends as spreadsheets write them: `\r\n`, `\n`, or a lone `\r`.
fn line_breaks(data: &[u8]) -> u64 {
    let lone_cr = data
        .windows(2)
        .filter(|w| w[0] == b'\r' && w[1] != b'\n')
        .count()
        + usize::from(data.last() == Some(&b'\r'));
    (data.iter().filter(|b| **b == b'\n').count() + lone_cr) as u64
}

fn read(parsed: &ParsedFile, last_line: u64) {
    assert_eq!(
        parsed.records.len(),
        parsed.lines.len(),
        "a line per record"
    );
    assert!(
        parsed.lines.windows(2).all(|w| w[0] < w[1]),
        "records out of order"
    );
    let problem_lines = parsed.problems.iter().map(|p| p.line);
    for line in parsed.lines.iter().copied().chain(problem_lines) {
        assert!(
            (2..=last_line).contains(&line),
            "a row reported on line {line}; data lines are 2 to {last_line}"
        );
    }
    for problem in &parsed.problems {
        let personal = ["external_ref", "first_name", "establishment", "place"];
        if personal.contains(&problem.error.field.as_str()) {
            assert_eq!(
                problem.error.value, None,
                "{} quoted back",
                problem.error.field
            );
        }
    }
}
