//! A stand-in for opendata.elia.be on 127.0.0.1: it answers the Explore API's export requests
//! with rows of a real Elia export (`../shared/data/raw`), filtered by the request's `where`
//! window and headed by field ids as the API writes them, after any scripted failures (5xx, 429
//! with `Retry-After`, a body cut short, a 4xx with the API's JSON error). It binds loopback only
//! and serves until the test process ends.
#![allow(dead_code)]

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// A failure served instead of the export, in order.
#[derive(Debug, Clone)]
pub enum Scripted {
    /// This status with this body.
    Status(u16, String),
    /// 429 with `Retry-After: seconds`.
    TooMany(u64),
    /// 200 whose body stops halfway.
    Truncated,
    /// No answer for this many seconds, then the export.
    Stall(u64),
}

/// What the server holds and has seen.
#[derive(Default)]
pub struct Server {
    /// The export's header line (field ids).
    pub header: Mutex<String>,
    /// The export's rows with their times.
    pub rows: Mutex<Vec<(DateTime<Utc>, String)>>,
    /// Failures still to serve.
    pub script: Mutex<VecDeque<Scripted>>,
    /// Every request's `where` and `User-Agent`.
    pub seen: Mutex<Vec<(String, String)>>,
}

/// The ods047 labels as the API's field ids.
const IDS: &str = "datetime;qualitystatus;resolutioncode;netregulationvolume;systemimbalance;alpha;marginalincrementalprice;marginaldecrementalprice;strategicreserveprice;positiveimbalanceprice;negativeimbalanceprice";

impl Server {
    /// A server of the raw ods047 export (oldest first, as `order_by=datetime` asks); `None` (a
    /// visible skip) without the shared data.
    pub fn ods047(test: &str) -> Option<Arc<Server>> {
        let path = imbarb_util::testdata::require_shared_data(test)?
            .join("raw/elia_ods047_export_2023-01_2023-05.csv");
        let text = std::fs::read_to_string(path).expect("raw export");
        let mut rows: Vec<(DateTime<Utc>, String)> = text
            .lines()
            .skip(1)
            .map(|l| {
                let t = DateTime::parse_from_rfc3339(l.split(';').next().unwrap_or_default())
                    .expect("time")
                    .with_timezone(&Utc);
                (t, l.to_string())
            })
            .collect();
        rows.sort_by_key(|r| r.0);
        let s = Server {
            header: Mutex::new(IDS.to_string()),
            rows: Mutex::new(rows),
            ..Server::default()
        };
        Some(Arc::new(s))
    }

    /// Serves on 127.0.0.1 (a free port) from a background thread; returns the base URL.
    pub fn start(self: &Arc<Server>) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let app = axum::Router::new()
            .route(
                "/api/explore/v2.1/catalog/datasets/{id}/exports/csv",
                axum::routing::get(export),
            )
            .with_state(self.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let l = tokio::net::TcpListener::from_std(listener).expect("listener");
                let _ = axum::serve(l, app).await;
            });
        });
        format!("http://{addr}")
    }

    /// Queues failures to serve before the export.
    pub fn script(&self, s: &[Scripted]) {
        self.script
            .lock()
            .expect("script")
            .extend(s.iter().cloned());
    }

    /// Requests received so far.
    pub fn requests(&self) -> usize {
        self.seen.lock().expect("seen").len()
    }

    /// Rewrites every row with `f` (quality, prices).
    pub fn edit_rows(&self, f: impl Fn(&str) -> String) {
        for r in self.rows.lock().expect("rows").iter_mut() {
            r.1 = f(&r.1);
        }
    }
}

/// The two `date'...'` bounds of the client's `where`.
fn window(filter: &str) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let stamps: Vec<DateTime<Utc>> = filter
        .split("date'")
        .skip(1)
        .filter_map(|s| s.split('\'').next())
        .filter_map(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
        .collect();
    match stamps[..] {
        [a, b] => Some((a, b)),
        _ => None,
    }
}

async fn export(
    State(s): State<Arc<Server>>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let filter = q.get("where").cloned().unwrap_or_default();
    let agent = headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    s.seen.lock().expect("seen").push((filter.clone(), agent));
    let next = s.script.lock().expect("script").pop_front();
    let Some((from, to)) = window(&filter) else {
        let body =
            r#"{"error_code": "ODSQLError", "message": "where: expected a datetime window"}"#;
        return (StatusCode::BAD_REQUEST, body).into_response();
    };
    let mut text = format!("\u{feff}{}\n", s.header.lock().expect("header"));
    for (t, line) in s.rows.lock().expect("rows").iter() {
        if *t >= from && *t < to {
            text.push_str(line);
            text.push('\n');
        }
    }
    match next {
        Some(Scripted::Status(code, body)) => {
            (StatusCode::from_u16(code).expect("status"), body).into_response()
        }
        Some(Scripted::TooMany(secs)) => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", secs.to_string())],
            "slow down",
        )
            .into_response(),
        Some(Scripted::Truncated) => {
            let half = text.as_bytes()[..text.len() / 2].to_vec();
            let parts: Vec<Result<Vec<u8>, std::io::Error>> = vec![
                Ok(half),
                Err(std::io::Error::other("connection reset mid-body")),
            ];
            Body::from_stream(futures_util::stream::iter(parts)).into_response()
        }
        Some(Scripted::Stall(secs)) => {
            tokio::time::sleep(std::time::Duration::from_secs(secs)).await;
            text.into_response()
        }
        None => text.into_response(),
    }
}
