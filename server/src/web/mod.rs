//! What every feature's HTTP handlers share, and nothing else: the JSON body extractor, the error
//! envelope (and its OpenAPI description), the client's address, and the headers every answer
//! carries. A leaf: it depends on no feature module, and every feature depends on it.

pub mod client_address;
pub mod error;
pub mod headers;
pub mod json;
pub mod openapi;

pub use client_address::ClientAddress;
pub use error::{ok, ApiError, ApiResult};
pub use json::{parse_body, ApiJson};
pub use openapi::ErrorEnvelope;
