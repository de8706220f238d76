//! imbarb-fetch: Elia Open Data (the Opendatasoft Explore API v2.1 at opendata.elia.be) into
//! imbarb's canonical CSV. `datasets` says what is read, `client` how it is asked for, `fetch`
//! how windows become one file that later fetches extend.

pub mod client;
pub mod datasets;
pub mod error;
pub mod fetch;

pub use client::{ClientConfig, EliaClient, RetryPolicy, ELIA_URL, URL_ENV};
pub use datasets::{Dataset, Resolution, DATASETS};
pub use error::FetchError;
pub use fetch::{fetch, windows, FetchReport, FetchRequest, WindowDone};
