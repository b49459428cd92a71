//! `PhoneNumber::parse` (any country, as replies are read) and the UK
//! `MobilePolicy` (as people are taken in) on any text a person might type
//! or paste.
//!
//! Properties: it never panics; an accepted number is E.164 (`+` then 7 to
//! 15 digits), parses back to itself, and is masked when displayed; a
//! refusal never quotes the digits it was given (errors reach logs and API
//! responses).
#![no_main]

use homeward::domain::{MobilePolicy, PhoneNumber};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    match PhoneNumber::parse(&input) {
        Ok(number) => accepted(&number),
        Err(error) => refused(&input, &error.to_string()),
    }
    match MobilePolicy::uk().parse(&input) {
        Ok(number) => {
            accepted(&number);
            assert!(PhoneNumber::parse(&input).is_ok(), "the UK policy is stricter");
        }
        Err(error) => refused(&input, &error.to_string()),
    }
});

fn accepted(number: &PhoneNumber) {
    let e164 = number.as_e164();
    let digits = e164.strip_prefix('+').expect("E.164 starts with +");
    assert!(
        (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()),
        "not E.164: {e164:?}"
    );
    assert_eq!(
        PhoneNumber::parse(e164).as_ref(),
        Ok(number),
        "E.164 re-parses to itself"
    );
    assert!(
        !number.to_string().contains(digits),
        "Display shows the whole number"
    );
    assert!(
        !format!("{number:?}").contains(digits),
        "Debug shows the whole number"
    );
}

fn refused(input: &str, message: &str) {
    let digits: String = input.chars().filter(char::is_ascii_digit).collect();
    if digits.len() >= 7 {
        assert!(
            !message.contains(&digits),
            "the error quotes the number: {message}"
        );
    }
}
