//! What the HTTP providers share: one way to make a request and read what
//! comes back, one fallback that classes a failure by its HTTP status, and
//! one way to make provider error text fit for our records.
//!
//! Transport failures (timeouts, refused connections) are always transient:
//! the text may or may not have reached the provider, but waiting and trying
//! again is the only useful move. A provider that refuses our credentials
//! (401/403) is also treated as transient: the message is fine and the
//! account is not, so retrying lets the dispatcher's breaker hand over to
//! the next provider instead of failing every due text for good.
//!
//! Provider error text can quote the recipient's number (Twilio's does), and
//! reasons end up in the store and in logs, so [`scrub`] masks anything that
//! looks like a phone number before it becomes a reason.

use std::error::Error as _;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{RequestBuilder, StatusCode};

use super::SendError;
use crate::clock::Clock;
use crate::domain::mask;

/// The longest provider error text we keep in a reason.
const MAX_REASON_CHARS: usize = 300;

/// An HTTP client and the clock used to read `Retry-After` dates.
#[derive(Clone)]
pub(crate) struct Transport {
    pub client: reqwest::Client,
    pub clock: Arc<dyn Clock>,
}

/// A provider's answer, read in full.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub retry_after: Option<Duration>,
    pub body: Bytes,
}

impl Transport {
    /// Send the request and read the answer, or class why there is none.
    pub async fn execute(&self, request: RequestBuilder) -> Result<Reply, SendError> {
        let response = request.send().await.map_err(transport_error)?;
        let status = response.status();
        let retry_after = retry_after(response.headers(), self.clock.now());
        let body = match response.bytes().await {
            Ok(body) => body,
            // The provider said yes; losing the rest of its answer must not
            // turn into a retry that sends the text twice.
            Err(error) if status.is_success() => {
                tracing::warn!(error = %error.without_url(), "could not read a provider's success response");
                Bytes::new()
            }
            Err(error) => return Err(transport_error(error)),
        };
        Ok(Reply {
            status,
            retry_after,
            body,
        })
    }
}

/// Class a request that got no HTTP answer. The URL is left out of the
/// reason: a generic webhook's URL may carry a token.
pub(crate) fn transport_error(error: reqwest::Error) -> SendError {
    let reason = if error.is_timeout() {
        "the provider did not answer in time".to_string()
    } else if error.is_connect() {
        format!("could not connect to the provider: {}", chain(&error))
    } else {
        format!("the request to the provider failed: {}", chain(&error))
    };
    SendError::Transient {
        reason,
        retry_after: None,
    }
}

/// The error and its causes on one line, without the URL.
fn chain(error: &reqwest::Error) -> String {
    let mut text = String::from("request error");
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Read `Retry-After` as delay-seconds or an HTTP date (RFC 9110 §10.2.3).
/// A date in the past means "now".
pub(crate) fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (at.with_timezone(&Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

/// Class a failed answer by its status alone, for errors a provider does
/// not describe more precisely. `reason` says what the provider said.
pub(crate) fn by_status(
    status: StatusCode,
    retry_after: Option<Duration>,
    reason: String,
) -> SendError {
    match status.as_u16() {
        429 => SendError::RateLimited { retry_after },
        401 | 403 => SendError::Transient {
            reason: format!("the provider refused our credentials (HTTP {status}): {reason}"),
            retry_after,
        },
        408 | 500..=599 => SendError::Transient {
            reason: format!("HTTP {status}: {reason}"),
            retry_after,
        },
        _ => SendError::Permanent {
            reason: format!("HTTP {status}: {reason}"),
            invalid_number: false,
        },
    }
}

/// Provider text made safe to store and log: every run of seven or more
/// digits (a phone number, however it is spaced) is masked, and the text
/// is cut to a sensible length.
pub(crate) fn scrub(text: &str) -> String {
    let chars: Vec<char> = text.chars().take(MAX_REASON_CHARS).collect();
    let mut out = String::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        if !(chars[i].is_ascii_digit() || chars[i] == '+') {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let end = number_end(&chars, i);
        let run: String = chars[i..end].iter().collect();
        if run.chars().filter(char::is_ascii_digit).count() >= 7 {
            out.push_str(&mask(&run));
        } else {
            out.push_str(&run);
        }
        i = end;
    }
    out
}

/// Where a number that starts at `start` ends: digits, with the separators
/// people and providers put inside numbers, ending on a digit.
fn number_end(chars: &[char], start: usize) -> usize {
    let mut end = start + 1;
    let mut last_digit = if chars[start].is_ascii_digit() {
        end
    } else {
        start
    };
    while end < chars.len() && (chars[end].is_ascii_digit() || " -()+".contains(chars[end])) {
        end += 1;
        if chars[end - 1].is_ascii_digit() {
            last_digit = end;
        }
    }
    last_digit.max(start + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use reqwest::header::HeaderValue;

    fn headers(retry_after: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_str(retry_after).unwrap());
        headers
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = Utc.with_ymd_and_hms(2015, 10, 21, 7, 28, 0).unwrap();
        assert_eq!(
            retry_after(&headers("120"), now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            retry_after(&headers("Wed, 21 Oct 2015 07:28:30 GMT"), now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after(&headers("Wed, 21 Oct 2015 07:00:00 GMT"), now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&headers("soon"), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn statuses_without_detail_fall_into_the_right_class() {
        let class = |code: u16| by_status(StatusCode::from_u16(code).unwrap(), None, "x".into());
        assert_eq!(class(429), SendError::RateLimited { retry_after: None });
        assert!(matches!(class(503), SendError::Transient { .. }));
        assert!(matches!(class(401), SendError::Transient { .. }));
        assert!(matches!(
            class(400),
            SendError::Permanent {
                invalid_number: false,
                ..
            }
        ));
    }

    #[test]
    fn scrub_masks_numbers_however_they_are_written() {
        assert_eq!(
            scrub("The 'To' number +447400123456 is not a valid phone number."),
            "The 'To' number +44740****456 is not a valid phone number."
        );
        assert_eq!(scrub("call 07400 123 456 now"), "call 07400 ****456 now");
        assert_eq!(scrub("error 21211, status 400"), "error 21211, status 400");
    }

    #[test]
    fn scrub_cuts_long_text() {
        assert_eq!(scrub(&"a".repeat(1000)).chars().count(), MAX_REASON_CHARS);
    }
}
