//! HTTP to the Opendatasoft Explore API v2.1 that Elia Open Data runs on: one export request per
//! time window, polite (a `User-Agent`, timeouts) and patient (retries with exponential backoff
//! and jitter on 5xx and connection failures, `Retry-After` honoured on 429), and plain about
//! what cannot be retried (a 4xx names the URL and the API's own message).

use crate::datasets::Dataset;
use crate::error::FetchError;
use chrono::{DateTime, Utc};
use rand::Rng;
use std::time::Duration;

/// Elia's Open Data portal.
pub const ELIA_URL: &str = "https://opendata.elia.be";

/// The environment variable that replaces `ELIA_URL` (a mirror, or a test server).
pub const URL_ENV: &str = "IMBARB_ELIA_URL";

/// The largest export body accepted (a month of quarter-hours is ~0.5 MB, a day of minutes ~0.2).
const MAX_BODY_BYTES: u64 = 256 << 20;

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Tries in all (1: no retry).
    pub attempts: u32,
    /// The wait before the first retry; it doubles with each further one.
    pub base_delay: Duration,
    /// The longest wait, also the cap on a server's `Retry-After`.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 6,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
        }
    }
}

/// Where and how to ask.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    /// The portal's base URL (`ELIA_URL` unless a mirror or test server).
    pub base_url: String,
    /// The longest one request may take, body included.
    pub timeout: Duration,
    /// Retries.
    pub retry: RetryPolicy,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            base_url: std::env::var(URL_ENV).unwrap_or_else(|_| ELIA_URL.to_string()),
            timeout: Duration::from_secs(120),
            retry: RetryPolicy::default(),
        }
    }
}

/// A client of one Opendatasoft portal.
pub struct EliaClient {
    agent: ureq::Agent,
    config: ClientConfig,
}

/// What one try gave.
enum Attempt {
    /// The body.
    Done(Vec<u8>),
    /// A failure worth another try after the server's wait (if it said) or the backoff.
    Retry(String, Option<Duration>),
}

impl EliaClient {
    /// A client for `config`.
    pub fn new(config: ClientConfig) -> EliaClient {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(config.timeout))
            .http_status_as_error(false)
            .user_agent(format!(
                "imbarb/{} (battery imbalance trading research; +https://example.invalid/imbarb)",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .into();
        EliaClient { agent, config }
    }

    /// The export URL of `dataset` (without its query).
    pub fn export_url(&self, dataset: &Dataset) -> String {
        format!(
            "{}/api/explore/v2.1/catalog/datasets/{}/exports/csv",
            self.config.base_url.trim_end_matches('/'),
            dataset.id
        )
    }

    /// The CSV export of `dataset`'s rows with `from <= datetime < to` (UTC), oldest first.
    pub fn export_csv(
        &self,
        dataset: &Dataset,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<u8>, FetchError> {
        let url = self.export_url(dataset);
        let stamp = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let filter = format!(
            "datetime >= date'{}' AND datetime < date'{}'",
            stamp(from),
            stamp(to)
        );
        let shown = format!("{url} ({}..{})", stamp(from), stamp(to));
        let policy = self.config.retry;
        let mut last = String::new();
        for attempt in 1..=policy.attempts.max(1) {
            match self.try_once(&url, &filter, &shown)? {
                Attempt::Done(body) => return Ok(body),
                Attempt::Retry(why, wait) => {
                    last = why;
                    if attempt < policy.attempts {
                        std::thread::sleep(wait.unwrap_or_else(|| backoff(&policy, attempt)));
                    }
                }
            }
        }
        Err(FetchError::GaveUp {
            url: shown,
            attempts: policy.attempts.max(1),
            last,
        })
    }

    /// One request: the body, a failure worth retrying, or an error that is not.
    fn try_once(&self, url: &str, filter: &str, shown: &str) -> Result<Attempt, FetchError> {
        let response = self
            .agent
            .get(url)
            .query("where", filter)
            .query("order_by", "datetime")
            .query("timezone", "UTC")
            .query("delimiter", ";")
            .call();
        let mut response = match response {
            Ok(r) => r,
            Err(e) => return Ok(Attempt::Retry(format!("connection: {e}"), None)),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|s| Duration::from_secs(s).min(self.config.retry.max_delay));
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY_BYTES)
            .read_to_vec();
        match status {
            200 => match body {
                Ok(bytes) => Ok(Attempt::Done(bytes)),
                Err(e) => Ok(Attempt::Retry(format!("incomplete body: {e}"), None)),
            },
            429 => Ok(Attempt::Retry("429 Too Many Requests".into(), retry_after)),
            500..=599 => Ok(Attempt::Retry(format!("HTTP {status}"), None)),
            _ => Err(FetchError::Http {
                url: shown.to_string(),
                status,
                message: api_message(&body.unwrap_or_default()),
            }),
        }
    }
}

/// The wait before retry `attempt` (1-based): the base delay doubled per earlier retry, capped,
/// times a random factor in [0.5, 1) so that many clients do not retry in step.
fn backoff(policy: &RetryPolicy, attempt: u32) -> Duration {
    let doubled = policy
        .base_delay
        .saturating_mul(1u32 << (attempt - 1).min(20))
        .min(policy.max_delay);
    doubled.mul_f64(rand::thread_rng().gen_range(0.5..1.0))
}

/// The API's explanation of an error: the `message` of its JSON body, else the body's start.
fn api_message(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(String::from))
        .unwrap_or_else(|| text.chars().take(300).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_stops_at_the_cap() {
        let p = RetryPolicy {
            attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
        };
        for (attempt, full) in [(1, 100), (2, 200), (3, 400), (4, 800), (5, 1000), (9, 1000)] {
            for _ in 0..20 {
                let w = backoff(&p, attempt).as_secs_f64() * 1000.0;
                assert!(
                    w >= 0.5 * full as f64 - 1e-9 && w < full as f64,
                    "{attempt}: {w}"
                );
            }
        }
    }

    #[test]
    fn the_apis_message_is_shown() {
        let body = br#"{"error_code": "ODSQLError", "message": "Unknown field: datetim"}"#;
        assert_eq!(api_message(body), "Unknown field: datetim");
        assert_eq!(api_message(b"plain text"), "plain text");
    }
}
