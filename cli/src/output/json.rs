//! JSON Lines: one object per report (documented in docs/json-format.md, schema in
//! docs/lockcheck-output.schema.json).
//!
//! Every JSON document lockcheck writes starts with two fields that say what it is:
//! `schema` (one of the `SCHEMA_*` names) and `version` ([`VERSION`]). A consumer checks
//! both; a new version changes or removes fields, new fields alone do not make one.

use std::io::{self, Write};

use serde::Serialize;

use super::Printer;
use crate::report::Report;

/// The version of every JSON document's layout.
pub const VERSION: u32 = 1;
/// `lockcheck parse --format json`: one report.
pub const SCHEMA_PARSE_REPORT: &str = "lockcheck.parse.report";
/// `lockcheck parse --summary --format json`: one title.
pub const SCHEMA_PARSE_SUMMARY: &str = "lockcheck.parse.summary";
/// `lockcheck replay --format json` of a trace: one report of the validator.
pub const SCHEMA_REPLAY_REPORT: &str = "lockcheck.replay.report";
/// `lockcheck replay --format json` of a kernel log: one circular report replayed.
pub const SCHEMA_REPLAY_SPLAT: &str = "lockcheck.replay.splat";
/// `lockcheck check --format json`: one report of the merged graph.
pub const SCHEMA_CHECK_REPORT: &str = "lockcheck.check.report";

/// A document: its `schema` and `version` first, then the fields of `body`.
#[derive(Serialize)]
pub struct Document<'a, T: Serialize> {
    /// What the document is (`SCHEMA_*`).
    pub schema: &'static str,
    /// [`VERSION`].
    pub version: u32,
    /// The fields.
    #[serde(flatten)]
    pub body: &'a T,
}

/// Writes `body` as one line of JSON with its `schema` and `version`; an I/O error keeps its
/// kind (a closed pipe stays a closed pipe).
pub fn write_line<T: Serialize>(
    out: &mut dyn Write,
    schema: &'static str,
    body: &T,
) -> io::Result<()> {
    let doc = Document {
        schema,
        version: VERSION,
        body,
    };
    serde_json::to_writer(&mut *out, &doc).map_err(io::Error::from)?;
    out.write_all(b"\n")
}

/// `value` (an object) with `schema` and `version` added.
pub fn with_header(schema: &'static str, value: serde_json::Value) -> serde_json::Value {
    let mut obj = serde_json::Map::new();
    obj.insert("schema".into(), schema.into());
    obj.insert("version".into(), VERSION.into());
    if let serde_json::Value::Object(fields) = value {
        obj.extend(fields);
    }
    serde_json::Value::Object(obj)
}

/// Prints each report as one line of JSON.
pub struct JsonPrinter;

impl Printer for JsonPrinter {
    fn report(&mut self, out: &mut dyn Write, report: &Report) -> io::Result<()> {
        write_line(out, SCHEMA_PARSE_REPORT, report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_start_with_schema_and_version() {
        let mut out = Vec::new();
        write_line(&mut out, SCHEMA_PARSE_SUMMARY, &serde_json::json!({"a": 1})).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"schema\":\"lockcheck.parse.summary\",\"version\":1,\"a\":1}\n"
        );
        let v = with_header(SCHEMA_CHECK_REPORT, serde_json::json!({"b": 2}));
        assert_eq!(
            v,
            serde_json::json!({"schema": "lockcheck.check.report", "version": 1, "b": 2})
        );
    }

    #[test]
    fn a_closed_pipe_keeps_its_kind() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let e = write_line(&mut Closed, SCHEMA_PARSE_REPORT, &1).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
    }
}
