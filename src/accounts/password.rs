//! Passwords: the rule a new one must meet, and Argon2id hashing.
//!
//! The rule follows NCSC and NIST SP 800-63B: length over complexity (at
//! least 12 characters, any characters), refused when it is a commonly
//! used one or the account's own email. The hash is Argon2id with the
//! `argon2` crate's defaults (19 MiB, 2 passes: OWASP's recommended floor),
//! stored as a PHC string that names its parameters, so they can be raised
//! later without breaking stored hashes.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::domain::Email;

pub const MIN_CHARS: usize = 12;
/// Argon2 takes any length; a cap stops a megabyte "password" costing work.
pub const MAX_CHARS: usize = 128;

/// Why a new password was refused, in words for the person choosing it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("Enter a password")]
    Empty,
    #[error("Your password must be at least {MIN_CHARS} characters long")]
    TooShort,
    #[error("Your password must be {MAX_CHARS} characters or fewer")]
    TooLong,
    #[error(
        "This password is too common. Choose one that would be hard to guess, such as three random words"
    )]
    Common,
    #[error("Your password must not be your email address")]
    IsEmail,
    #[error("The passwords do not match")]
    Mismatch,
}

/// Many sites' most used passwords of 12 or more characters: the ones that
/// pass the length rule and are guessed first. Shorter ones fail on length.
const COMMON: &[&str] = &[
    "123456789012",
    "1234567890123",
    "12345678901234",
    "123456123456",
    "111111111111",
    "000000000000",
    "123123123123",
    "121212121212",
    "qwertyuiopas",
    "qwertyuiop12",
    "qwertyuiop123",
    "qwerty123456",
    "1qaz2wsx3edc",
    "1q2w3e4r5t6y",
    "zaq12wsxcde3",
    "asdfghjkl123",
    "password1234",
    "password12345",
    "password123456",
    "passwordpassword",
    "password1!password",
    "iloveyou1234",
    "welcome12345",
    "welcome123456",
    "letmein12345",
    "changeme1234",
    "changeme12345",
    "administrator",
    "administrator1",
    "admin1234567",
    "adminadmin12",
    "football1234",
    "baseball1234",
    "superman1234",
    "monkey123456",
    "sunshine1234",
    "princess1234",
    "dragon123456",
    "trustno1trustno1",
    "abcdefghijkl",
    "abc123abc123",
    "abcd12345678",
    "homeward1234",
    "homeward12345",
    "scotland1234",
    "glasgow12345",
    "edinburgh123",
    "passw0rd1234",
    "p@ssw0rd1234",
    "p@ssword1234",
    "correcthorsebatterystaple",
    "qwertyqwerty",
    "aaaaaaaaaaaa",
    "987654321098",
];

/// Check a new password and its confirmation for `email`'s account.
pub fn check(password: &str, confirm: &str, email: &Email) -> Result<(), PasswordError> {
    let chars = password.chars().count();
    if chars == 0 {
        return Err(PasswordError::Empty);
    }
    if chars < MIN_CHARS {
        return Err(PasswordError::TooShort);
    }
    if chars > MAX_CHARS {
        return Err(PasswordError::TooLong);
    }
    let folded = password.to_lowercase();
    if COMMON.contains(&folded.as_str()) || is_one_character_repeated(&folded) {
        return Err(PasswordError::Common);
    }
    if folded.trim() == email.as_str() {
        return Err(PasswordError::IsEmail);
    }
    if password != confirm {
        return Err(PasswordError::Mismatch);
    }
    Ok(())
}

fn is_one_character_repeated(password: &str) -> bool {
    let mut chars = password.chars();
    chars.next().is_some_and(|first| chars.all(|c| c == first))
}

/// Hash a password that passed [`check`].
pub fn hash(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("Argon2 with default parameters hashes any password")
        .to_string()
}

/// Whether `password` matches a stored PHC string (in constant time).
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A hash of a password no one has, checked when the email is unknown, so
/// an unknown email takes as long to refuse as a wrong password.
pub fn decoy() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash("decoy password that no account has"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email() -> Email {
        Email::parse("sam@example.org").unwrap()
    }

    #[test]
    fn a_long_uncommon_password_is_accepted_and_verifies() {
        let pw = "tractor purple harbour";
        assert_eq!(check(pw, pw, &email()), Ok(()));
        let stored = hash(pw);
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify(pw, &stored));
        assert!(!verify("tractor purple harbouR", &stored));
        assert!(!verify(pw, "not a hash"));
    }

    #[test]
    fn each_weak_password_is_refused_with_its_reason() {
        let e = email();
        assert_eq!(check("", "", &e), Err(PasswordError::Empty));
        assert_eq!(
            check("elevenchars", "elevenchars", &e),
            Err(PasswordError::TooShort)
        );
        assert_eq!(check(&"x".repeat(129), "", &e), Err(PasswordError::TooLong));
        assert_eq!(
            check("Password1234", "Password1234", &e),
            Err(PasswordError::Common)
        );
        assert_eq!(
            check("zzzzzzzzzzzzzz", "zzzzzzzzzzzzzz", &e),
            Err(PasswordError::Common)
        );
        assert_eq!(
            check("Sam@Example.org", "Sam@Example.org", &e),
            Err(PasswordError::IsEmail)
        );
        assert_eq!(
            check("tractor purple harbour", "tractor purple", &e),
            Err(PasswordError::Mismatch)
        );
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        let pw = "ŵŵŵŵŵŵŵŵŵŵŵ"; // 11 characters, 22 bytes
        assert_eq!(check(pw, pw, &email()), Err(PasswordError::TooShort));
    }
}
